"""Ableton Link's timeline → the beat fields of a Features frame, without I/O.

A :class:`LinkSample` is what the Link session says at one instant: the beat
position on the shared timeline (beats since the session's origin, aligned to
the ``quantum`` of every peer), the tempo and how many peers there are. With at
least one peer, :class:`BeatMapper` rewrites a frame's beat fields from it —
exact, with no detection lag — and flags ``beat`` in the frame during which a
beat boundary was crossed since the previous frame; alone, the audio tracker's
fields pass through unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from mcav.runtime.frames import Features

__all__ = ["BeatMapper", "LinkSample"]


@dataclass(frozen=True, slots=True)
class LinkSample:
    """The Link session at one instant.

    Attributes:
        beat: Position on the session's timeline, in beats (may be negative just after a session starts).
        tempo: Beats per minute.
        peers: Other Link peers in the session (0: alone).
    """

    beat: float
    tempo: float
    peers: int


class BeatMapper:
    """Rewrites Features frames from Link while a session has peers.

    Args:
        intensity: ``beat_intensity`` 0-1 given to a Link beat the audio tracker did not flag in that frame
            (0.8; a beat the tracker also flagged keeps the tracker's intensity).
    """

    def __init__(self, intensity: float = 0.8) -> None:
        self.intensity = intensity
        self.source = "audio"  # where the last frame's beat fields came from: "link" or "audio"
        self.beats = 0  # Link beats flagged so far
        self._last_beat: float | None = None

    def apply(self, frame: Features, sample: LinkSample | None) -> Features:
        """``frame`` with Link's beat fields (``sample`` has peers), else ``frame`` itself.

        The beat flag is set when ``floor(beat)`` grew since the previous Link frame (once, even if a stall
        skipped several beats); a timeline that moved back (a peer re-aligned it) flags nothing.
        """
        if sample is None or sample.peers < 1 or sample.tempo <= 0:
            self.source, self._last_beat = "audio", None
            return frame
        self.source = "link"
        previous, self._last_beat = self._last_beat, sample.beat
        crossed = previous is not None and math.floor(sample.beat) > math.floor(previous)
        if crossed:
            self.beats += 1
        phase = sample.beat - math.floor(sample.beat)
        period = 60.0 / sample.tempo
        intensity = frame.beat_intensity if frame.beat and frame.beat_intensity > 0 else self.intensity
        return replace(
            frame,
            beat=crossed,
            beat_time=frame.t_audio - phase * period if crossed else 0.0,
            locked=True,
            bpm=sample.tempo,
            tempo_confidence=1.0,
            beat_phase=phase,
            next_beat_s=frame.t_audio + (1.0 - phase) * period,
            beat_intensity=intensity if crossed else frame.beat_intensity,
        )
