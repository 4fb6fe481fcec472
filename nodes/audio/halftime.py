"""Half time or not: does the fast level's bass alternate strong and weak beats?

The tempo estimator (:mod:`.tempo`) picks a metrical level from the
periodicity of the onsets and a prior, and a fast song and a slow one with
busy drums look alike there: a rock ballad at 76 BPM with eighth-note hats
has its strongest periodicity at 152. What tells them apart is *where the
bass sits*: at the level listeners tap, each beat carries the kick or the
bass; at double time every other "beat" is an off-beat, where the bass band
is weak. So above ``above`` BPM (a tempo that could be double time) this
measures the **alternation** of the bass-band flux over the fast level's
beats — ``|mean(even) − mean(odd)| / mean(all)`` of the strongest bass
onset near each beat of the last window — and, once its running mean
reaches ``alternation``, reports half the tempo until it falls below half
of that (hysteresis: the half-time level's own beats do not flip it back).
A kick on every beat (four on the floor, drum and bass) alternates little
and keeps the fast level.

The thresholds were chosen by cross-validation on gtzan16k (see
bench/beat_accuracy.py); which level is "right" is the annotators' choice:
GTZAN's slow songs are annotated at 50-78 BPM.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HalfTime"]

#: Weight of the newest measurement in the alternation's running mean (one per tempo estimate).
_SMOOTH = 0.3
#: Fewest fast-level beats in the window for a measurement.
_MIN_BEATS = 8
#: How far from a beat its bass onset is looked for, in s (at least one sample).
_NEAR_S = 0.021


class HalfTime:
    """The metrical-level decision between a fast tempo and half of it.

    Args:
        rate: Onset samples per second (Hz).
        above: Tempo (BPM) from which half time is considered; 0 = never. Default 125.
        alternation: Alternation (running mean, 0-2) from which the tempo is halved. Default 0.5.
    """

    def __init__(self, rate: float, above: float = 125.0, alternation: float = 0.5) -> None:
        self.rate = rate
        self._near = max(1, round(_NEAR_S * rate))
        self.above = above
        self.on = alternation
        #: The alternation's running mean (0 until measured) and whether half time is in force.
        self.alternation = 0.0
        self.half = False

    def reset(self) -> None:
        """Forget the evidence (the music stopped)."""
        self.alternation = 0.0
        self.half = False

    def level(self, bpm: float, bass: np.ndarray, beat: float | None) -> float:
        """The tempo to follow, given the estimator's ``bpm``.

        ``bass`` is the bass-band flux of the window (oldest first), ``beat`` the index in it of a
        recent beat of the tracker (``None``: no phase yet, no decision).
        """
        if self.above <= 0 or bpm < self.above or beat is None:
            self.reset()
            return bpm
        step = 60.0 * self.rate / bpm  # the fast level's beat period, in samples
        pos = np.round(beat - step * np.arange(int(beat / step) + 1)).astype(np.intp)
        h = self._near
        pos = pos[(pos >= h) & (pos < bass.size - h)]
        if pos.size >= _MIN_BEATS:
            near = np.max(np.stack([bass[pos + d] for d in range(-h, h + 1)]), axis=0)
            mean = float(near.mean())
            alt = abs(float(near[::2].mean()) - float(near[1::2].mean())) / mean if mean > 0 else 0.0
            self.alternation += _SMOOTH * (alt - self.alternation)
            if not self.half and self.alternation >= self.on:
                self.half = True
            elif self.half and self.alternation < 0.5 * self.on:
                self.half = False
        return bpm / 2 if self.half else bpm
