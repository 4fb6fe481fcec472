"""The beats the visuals follow, as a multiple of the tracker's: every other beat, as tracked, or twice per beat.

A beat tracker can lock at double or half the tempo a listener taps (slow
metal, some country: the metrical level is ambiguous, and no rule found on the
development clips tells it; ``bench/BEATS.md``, round 8). VJ software answers
with ÷2 / ×2 next to its tempo, and so does this: :class:`BeatRate` rewrites
a stream of :class:`~mcav.runtime.frames.Features` before the patterns see
them, so flashes, pulses, the quantiser's beat grid and what Minecraft and the
browsers are sent all follow the corrected beat.

* **0.5** flags every other tracked beat, halves ``bpm`` and spans
  ``beat_phase`` over two tracked beats. Which beats count is set by when
  the rate was chosen: the first tracked beat after it is flagged.
* **2** also flags the point half way between two tracked beats (at the
  frame nearest to it), doubles ``bpm`` and doubles the phase's speed.

Flags come from frame times and the tracked beats' times, not from
``beat_phase``, so they work with producers that send no phase (MCAV's DJ
clients). Pure state, no I/O, no clock: the caller's lock orders calls.
"""

from __future__ import annotations

from dataclasses import replace

from mcav.runtime.frames import Features

__all__ = ["BEAT_RATES", "BeatRate", "check_rate"]

#: The rates a VJ can choose: every other beat, as tracked, twice per beat.
BEAT_RATES = (0.5, 1.0, 2.0)


def check_rate(rate: object) -> float:
    """``rate`` as a float if it is one of :data:`BEAT_RATES`, else ValueError naming the valid rates."""
    if not isinstance(rate, bool) and isinstance(rate, (int, float)) and float(rate) in BEAT_RATES:
        return float(rate)
    raise ValueError(f"beat rate must be one of 0.5, 1 or 2 (times the tracker's beats), got {rate!r}")


class BeatRate:
    """Rewrites a stream of Features to ``rate`` times the tracker's beats.

    Args:
        rate: One of :data:`BEAT_RATES`. Default 1 (frames pass unchanged, the same objects).
    """

    def __init__(self, rate: float = 1.0) -> None:
        self.rate = check_rate(rate)
        self._count = 0  # tracked beats since the rate was set: at 0.5 the odd ones are flagged
        self._beat_t: float | None = None  # audio time of the last tracked beat (s)
        self._intensity = 0.0  # its intensity: the half-way beat's
        self._mid_done = False  # the half-way point after it was flagged
        self._prev_t: float | None = None  # the previous frame's audio time (s)

    def set(self, rate: float) -> None:
        """Follow ``rate`` from the next frame; the count of tracked beats restarts (0.5: the next one is flagged)."""
        self.rate = check_rate(rate)
        self._count = 0

    def apply(self, f: Features) -> Features:
        """The frame as the visuals should see it (``f`` itself at rate 1)."""
        t, prev = f.t_audio, self._prev_t
        self._prev_t = t
        if f.beat:
            self._count += 1
            self._beat_t = f.beat_time or t
            self._intensity = f.beat_intensity
            self._mid_done = False
        if self.rate == 1.0:
            return f
        if self.rate == 2.0:
            return self._double(f, t, prev)
        return self._halve(f)

    def _double(self, f: Features, t: float, prev: float | None) -> Features:
        bpm, phase = 2.0 * f.bpm, (2.0 * f.beat_phase) % 1.0
        if f.bpm <= 0 or self._beat_t is None:
            return replace(f, bpm=bpm, beat_phase=phase)
        period = 60.0 / f.bpm
        mid = self._beat_t + period / 2
        if f.beat:
            return replace(f, bpm=bpm, beat_phase=phase, next_beat_s=mid)
        if self._mid_done or t - self._beat_t >= period:  # placed already, or the tracker missed a beat / stopped
            return replace(f, bpm=bpm, beat_phase=phase)
        half_frame = 0.5 * (t - prev) if prev is not None and t > prev else 0.0
        if t + half_frame >= mid:  # the frame nearest to the half-way point, as the tracker flags its beats
            self._mid_done = True
            return replace(f, bpm=bpm, beat_phase=phase, beat=True, beat_time=mid, beat_intensity=self._intensity)
        return replace(f, bpm=bpm, beat_phase=phase, next_beat_s=mid)

    def _halve(self, f: Features) -> Features:
        # An odd count: the last tracked beat was flagged, this frame is in the first half of the slow beat.
        first_half = self._count % 2 == 1
        keep = f.beat and first_half
        phase = 0.5 * f.beat_phase if first_half else 0.5 * (1.0 + f.beat_phase)
        next_s = f.next_beat_s
        if first_half and next_s > 0 and f.bpm > 0:
            next_s += 60.0 / f.bpm  # the next tracked beat is skipped
        if f.beat and not keep:
            return replace(f, beat=False, beat_time=0.0, beat_intensity=0.0, bpm=f.bpm / 2, beat_phase=phase,
                           next_beat_s=next_s)
        return replace(f, bpm=f.bpm / 2, beat_phase=phase, next_beat_s=next_s)
