"""The drop: bass coming back strongly after a breakdown with little bass. Without I/O.

The rule, on each frame's bass band (0-1, as the ``fft`` node delivers it):

1. **Envelope.** ``level`` follows the bass's peaks and falls back slowly
   (``release``, 1.0 s), so the gaps between two kicks do not read as "no bass".
2. **Reference.** ``reference`` is how loud the bass is when the music is full:
   it rises towards a higher ``level`` quickly (``rise``, 1 s) and follows it
   down slowly (``settle``, 8 s) — and it holds still during a breakdown, so a
   long breakdown never becomes the new normal.
3. **Breakdown.** It starts when ``level`` falls under ``low`` (0.35) ×
   ``reference`` and lasts while ``level`` stays under ``high`` (0.7) ×
   ``reference`` (a riser with a little bass does not end it).
4. **Drop.** The first frame whose ``level`` reaches ``high`` × ``reference``
   after a breakdown of at least ``min_bars`` (1) ends it: :meth:`DropDetector.update`
   returns a :class:`Drop` with the breakdown's length — from the last frame
   whose bass itself reached ``high`` × ``reference`` to this one — in s and in
   bars at the frames' tempo (``bpm``; 120 while none is known; a bar is 4 beats).

A cue's ``{drop: BARS}`` trigger fires on the first drop after a breakdown of
at least ``BARS`` bars (default 8): a one-bar gap in the kick is not a
breakdown a show waits for. The drop is seen on the first frame of the first
kick back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Drop", "DropDetector", "DropRule"]


@dataclass(frozen=True)
class DropRule:
    """The drop rule's parameters (see the module's docstring); times in s, ratios of the reference."""

    release: float = 1.0
    rise: float = 1.0
    settle: float = 8.0
    low: float = 0.35
    high: float = 0.7
    min_bars: float = 1.0
    #: Below this reference (bands are 0-1) there is no bass to lose: no breakdown starts.
    floor: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high <= 1:
            raise ValueError(f"drop rule needs 0 < low < high <= 1, got low {self.low}, high {self.high}")
        if min(self.release, self.rise, self.settle) <= 0 or self.min_bars < 0:
            raise ValueError("drop rule: release, rise and settle must be above 0 s, min_bars at least 0")


@dataclass(frozen=True)
class Drop:
    """A drop: when (the frame's time, s), the breakdown before it (s and bars) and the bass levels."""

    t: float
    breakdown_s: float
    breakdown_bars: float
    level: float
    reference: float


class DropDetector:
    """Finds drops in a stream of frames (:meth:`update` once per frame, in time order)."""

    def __init__(self, rule: DropRule | None = None) -> None:
        self.rule = rule or DropRule()
        self.level = 0.0
        self.reference = 0.0
        self.breakdown_since: float | None = None  # when the breakdown started (the last full bass before it)
        self.bpm = 120.0  # the last known tempo
        self._last_full: float | None = None  # the last frame time the bass itself reached high × reference
        self._t: float | None = None

    def update(self, t: float, bass: float, bpm: float = 0.0) -> Drop | None:
        """Account one frame (``t`` s, ``bass`` 0-1, the tempo now); the drop it completes, if any."""
        r = self.rule
        dt = 0.0 if self._t is None else max(0.0, t - self._t)
        self._t = t
        bass = bass if math.isfinite(bass) and bass > 0 else 0.0
        if bpm > 0 and math.isfinite(bpm):
            self.bpm = bpm
        self.level = max(bass, self.level * math.exp(-dt / r.release))
        if self.breakdown_since is not None:
            if self.level < r.high * self.reference:
                return None
            seconds = t - self.breakdown_since
            drop = Drop(t, seconds, seconds * self.bpm / 240.0, self.level, self.reference)
            self.breakdown_since, self._last_full = None, t
            return drop if drop.breakdown_bars >= r.min_bars else None
        if self.reference >= r.floor and self.level < r.low * self.reference:
            # The envelope's release noticed it late: the breakdown began after the last full bass.
            self.breakdown_since = self._last_full if self._last_full is not None else t
            return None
        if bass >= r.high * self.reference:
            self._last_full = t
        tau = r.rise if self.level > self.reference else r.settle
        self.reference += (self.level - self.reference) * (1.0 - math.exp(-dt / tau))
        return None
