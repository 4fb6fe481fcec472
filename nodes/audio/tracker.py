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
        alpha: Weight of the past in the score (0-1). Default 0.8 (lower follows onsets more closely).
        tightness: How strictly beats must be one period apart. Default 3 (Ellis used 5;
            3 tracked the benchmark clips better).
    """

    def __init__(self, rate: float, history_s: float = 6.0, alpha: float = 0.8, tightness: float = 3.0) -> None:
        self.rate = rate
        self.alpha = alpha
        self.tightness = tightness
        self.score = History(int(history_s * rate))
        self._period_key = -1.0
        self._period = -1.0  # the last period given (the tables follow it rounded to 0.1)
        self._weights = np.zeros(0)
        self._dvals = np.zeros(0, np.int64)
        self._dmin = 1
        self._dmax = 2

    def _set_period(self, period: float) -> None:
        self._period = period
        key = round(period, 1)
        if key == self._period_key:
            return
        self._period_key = key
        self._dmin = max(1, round(period / 2))
        self._dmax = min(self.score.size - 1, max(self._dmin + 1, round(2 * period)))
        self._dvals = np.arange(self._dmax, self._dmin - 1, -1)  # lags, aligned with oldest-first history
        self._weights = np.exp(-0.5 * (self.tightness * np.log(self._dvals / period)) ** 2)
        # α folded into the weights: max(α·w·C) = α·max(w·C), one array operation less per call.
        self._alpha_weights = self.alpha * self._weights
        # Row j: offset of the candidates of the j-th new sample from the first new sample's index.
        self._offsets = np.arange(self._dmin)[:, None] - self._dvals[None, :]
        # The same, as indices into the last dmax scores.
        self._rows = self._dmax + self._offsets

    def push(self, onsets: np.ndarray, period: float) -> None:
        """Add onset-strength samples (oldest first), with the current beat period in samples (0 = unknown).

        Up to ``P/2`` new scores depend only on scores already known, so they
        are computed together.
        """
        score = self.score
        if period <= 0:
            score.extend(onsets)
            return
        if period != self._period:
            self._set_period(period)
        i, total = 0, len(onsets)
        while i < total:
            k = min(total - i, self._dmin)
            past = np.maximum.reduce(score.last(self._dmax)[self._rows[:k]] * self._alpha_weights, axis=1)
            past += (1 - self.alpha) * (onsets[i : i + k] if k < total else onsets)
            score.extend(past)
            i += k

    def _project(self, scores: np.ndarray, steps: int) -> np.ndarray:
        """Extend ``scores`` (oldest first) by ``steps`` samples with no onsets."""
        dmin = self._dmin
        out = np.empty(scores.size + steps)
        out[: scores.size] = scores
        i, end = scores.size, scores.size + steps
        while i < end:
            k = min(end - i, dmin)  # these samples depend only on values already known
            out[i : i + k] = np.maximum.reduce(out[i + self._offsets[:k]] * self._alpha_weights, axis=1)
            i += k
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
