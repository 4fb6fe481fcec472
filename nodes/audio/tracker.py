"""Causal beat phase tracking: a cumulative beat score and one-beat-ahead prediction.

The cumulative score (Ellis's dynamic-programming beat tracker, run online as
in Stark, Davies & Plumbley's real-time variant) is, for onset sample ``n``:

    C[n] = (1 − α)·o[n] + α·max_d W(d)·C[n − d],   d ∈ [P/2, 2P]

with ``W`` a log-Gaussian around the beat period ``P``: a sample scores high
when it is an onset *and* one period after another high score. Half a beat
after each beat, the score is projected forward with no new onsets; the best
projected sample near ``last beat + P`` is the next beat. The node flags it in
the frame where it is due, instead of waiting to detect it.
"""

from __future__ import annotations

import numpy as np

from .onset import History

__all__ = ["BeatTracker"]


class BeatTracker:
    """Cumulative beat score over the onset function, in onset-sample units.

    Args:
        rate: Onset samples per second (Hz).
        history_s: Seconds of score kept. Default 6 s (enough for 2 periods at 40 BPM).
        alpha: Weight of the past in the score (0-1). Default 0.9.
        tightness: How strictly beats must be one period apart. Default 5.
    """

    def __init__(self, rate: float, history_s: float = 6.0, alpha: float = 0.9, tightness: float = 5.0) -> None:
        self.rate = rate
        self.alpha = alpha
        self.tightness = tightness
        self.score = History(int(history_s * rate))
        self._period_key = -1.0
        self._weights = np.zeros(0)
        self._dmin = 1
        self._dmax = 2

    def _set_period(self, period: float) -> None:
        key = round(period, 1)
        if key == self._period_key:
            return
        self._period_key = key
        self._dmin = max(1, round(period / 2))
        self._dmax = min(self.score.size - 1, max(self._dmin + 1, round(2 * period)))
        d = np.arange(self._dmax, self._dmin - 1, -1, dtype=np.float64)  # aligned with oldest-first history
        self._weights = np.exp(-0.5 * (self.tightness * np.log(d / period)) ** 2)

    def push(self, onset: float, period: float) -> None:
        """Add one onset-strength sample, with the current beat period in samples (0 = unknown)."""
        if period <= 0:
            self.score.push(onset)
            return
        self._set_period(period)
        past = self.score.last(self._dmax)[: self._dmax - self._dmin + 1]
        self.score.push((1 - self.alpha) * onset + self.alpha * float(np.max(past * self._weights)))

    def _project(self, scores: np.ndarray, steps: int) -> np.ndarray:
        """Extend ``scores`` (oldest first) by ``steps`` samples with no onsets."""
        dmin = self._dmin
        out = scores
        while steps > 0:
            k = min(steps, dmin)  # these samples depend only on values already known
            m = out.size
            rows = (m + np.arange(k))[:, None] - np.arange(self._dmax, dmin - 1, -1)[None, :]
            new = self.alpha * np.max(out[rows] * self._weights[None, :], axis=1)
            out = np.concatenate((out, new))
            steps -= k
        return out

    def predict(self, period: float, expected: float) -> float:
        """The next beat, in samples from now (≥ 1), searched around ``expected`` samples from now."""
        self._set_period(period)
        sigma = max(1.0, period / 8.0)
        horizon = max(2, int(expected + 3 * sigma) + 1)
        base = self.score.last(self._dmax)
        proj = self._project(base, horizon)[base.size :]
        ahead = np.arange(1, horizon + 1, dtype=np.float64)
        window = np.exp(-0.5 * ((ahead - expected) / sigma) ** 2)
        return float(ahead[int(np.argmax(proj * window))])
