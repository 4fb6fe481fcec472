"""Beat-quantised changes: a pattern switch or an effect that lands on the next beat, bar or phrase.

Without I/O: the pattern node hands :class:`Quantizer` each frame's features
and the changes asked for; the quantizer says which are due. Its grid is the
beat tracker's: beats flagged while it is locked (or, for a remote DJ whose
wire carries no lock flag, while its tempo confidence is at least
:data:`GRID_CONFIDENCE`). Bars are 4 beats and phrases 16 (4 bars), counted
from the first beat of the lock — the tracker finds beats, not downbeats, so a
bar boundary is a multiple of four beats since the lock, not the song's "one".
When there is no grid (silence, a pad, a lost lock) a change is applied at
once, never held.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mcav.runtime.frames import Features

__all__ = ["GRID_CONFIDENCE", "QUANTIZE", "Pending", "Quantizer"]

QUANTIZE = ("off", "beat", "bar", "phrase")
_BEATS = {"beat": 1, "bar": 4, "phrase": 16}
#: Tempo confidence that counts as a beat grid when the frame carries no ``locked`` flag (a remote DJ).
GRID_CONFIDENCE = 0.5


@dataclass
class Pending:
    """A change waiting for its beat."""

    label: str
    unit: str
    apply: Callable[[], None]
    beats_left: int = 0


class Quantizer:
    """Holds changes until the beat, bar or phrase they asked for."""

    def __init__(self) -> None:
        self.grid = False  # is there a beat grid now
        self.beat_index = 0  # beats flagged since the grid appeared (0 = none yet)
        self.pending: list[Pending] = []

    def _on_grid(self, frame: Features) -> bool:
        return bool(frame.locked) or (frame.tempo_confidence >= GRID_CONFIDENCE and frame.bpm > 0 and frame.beat)

    def schedule(self, label: str, unit: str, apply: Callable[[], None]) -> bool:
        """Hold ``apply`` until the next ``unit`` boundary; False (and nothing held) when it must run now."""
        if unit not in QUANTIZE:
            raise ValueError(f"quantize must be one of {', '.join(QUANTIZE)}, got {unit!r}")
        if unit == "off" or not self.grid:
            return False
        n = _BEATS[unit]
        # beats until the next boundary; the grid's first beat (index 1) starts bar and phrase one
        left = n - (self.beat_index - 1) % n if self.beat_index else 1
        self.pending.append(Pending(label, unit, apply, left))
        return True

    def frame(self, frame: Features) -> list[Pending]:
        """Account one frame; the changes due now (in the order asked for)."""
        grid = self._on_grid(frame) or (self.grid and frame.tempo_confidence >= GRID_CONFIDENCE)
        if not grid:
            due, self.pending = self.pending, []  # the grid is gone: never hold a change
            self.grid, self.beat_index = False, 0
            return due
        self.grid = True
        if not frame.beat:
            return []
        self.beat_index += 1
        due = []
        for p in self.pending:
            p.beats_left -= 1
        due = [p for p in self.pending if p.beats_left <= 0]
        self.pending = [p for p in self.pending if p.beats_left > 0]
        return due

    def describe(self) -> list[dict[str, object]]:
        """The waiting changes, for ``state()``: ``{change, quantize, beats_left}``."""
        return [{"change": p.label, "quantize": p.unit, "beats_left": p.beats_left} for p in self.pending]
