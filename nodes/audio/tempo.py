"""Causal tempo estimation: autocorrelation of the onset function, a comb over metrical multiples, a prior.

Octave errors (half or double tempo) are the usual failure of tempo
estimators. Three things handle them here: the comb scores a period by the
autocorrelation at 1-4 times the period, so a period whose multiples (bar
lengths) are also periodic wins over its double-time neighbour; a log-normal
prior over tempo prefers the range people tap in; and the estimate is
smoothed over time as a belief over tempo states, so one ambiguous window
cannot flip the metrical level.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TempoEstimator"]


class TempoEstimator:
    """Estimates tempo from the recent onset-strength function.

    Args:
        rate: Onset function samples per second (Hz).
        min_bpm: Slowest tempo considered. Default 60.
        max_bpm: Fastest tempo considered. Default 200.
        prior_bpm: Centre of the log-normal tempo prior. Default 110.
        prior_octaves: Standard deviation of the prior, in octaves. Default 0.9.
        step: Ratio between neighbouring tempo states, minus 1. Default 0.005 (0.5 %).
        drift: Standard deviation of tempo change between two estimates, as a fraction. Default 0.02.
    """

    def __init__(
        self,
        rate: float,
        min_bpm: float = 60.0,
        max_bpm: float = 200.0,
        prior_bpm: float = 110.0,
        prior_octaves: float = 0.9,
        step: float = 0.005,
        drift: float = 0.02,
    ) -> None:
        self.rate = rate
        # Log-spaced states (step 0.5 %): tempo drift is then the same kernel everywhere.
        count = int(np.log(max_bpm / min_bpm) / np.log1p(step)) + 1
        self.bpms = min_bpm * (1.0 + step) ** np.arange(count)
        self.lags = 60.0 * rate / self.bpms  # period of each state in onset samples
        self.prior = np.exp(-0.5 * (np.log2(self.bpms / prior_bpm) / prior_octaves) ** 2)
        half = int(3 * drift / np.log1p(step)) + 1
        kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * np.log1p(step) / drift) ** 2)
        self._kernel = kernel / kernel.sum()
        self._step = step
        self.belief = np.full(self.bpms.size, 1.0 / self.bpms.size)
        self.bpm = 0.0
        self.confidence = 0.0
        self._recent: list[float] = []

    def _comb(self, acf: np.ndarray) -> np.ndarray:
        score = np.zeros(self.bpms.size)
        grid = np.arange(acf.size)
        for k in (1, 2, 3, 4):
            lags = self.lags * k
            ok = lags < acf.size - 1
            score[ok] += np.interp(lags[ok], grid, acf) / k**0.5
        return score

    def update(self, odf: np.ndarray) -> tuple[float, float]:
        """Re-estimate from the onset function ``odf`` (oldest first); return ``(bpm, confidence 0-1)``."""
        x = np.asarray(odf, dtype=np.float64)
        n = x.size
        if n < 2 * self.lags.max():
            return self.bpm, self.confidence
        # Adaptive threshold: remove the local mean so the ACF sees onsets, not loudness.
        k = max(3, int(0.1 * self.rate)) | 1
        local = np.convolve(x, np.ones(k) / k, mode="same")
        x = np.maximum(x - local, 0.0)
        if not np.any(x):
            return self.bpm, self.confidence
        spec = np.fft.rfft(x, 2 * n)
        acf = np.fft.irfft(spec * np.conj(spec))[:n]
        acf /= n - np.arange(n)  # unbiased: long lags see fewer products
        acf /= acf[0]
        score = np.maximum(self._comb(acf), 0.0)
        obs = score * self.prior
        if obs.max() <= 0:
            return self.bpm, self.confidence
        obs /= obs.max()
        spread = np.convolve(self.belief, self._kernel, mode="same")
        self.belief = (spread / spread.sum() + 1e-3) * obs**2
        self.belief /= self.belief.sum()
        best = int(np.argmax(self.belief))
        # Refine between states with a parabola through the neighbours (in log tempo).
        off = 0.0
        if 0 < best < self.bpms.size - 1:
            a, b, c = np.log(self.belief[best - 1 : best + 2] + 1e-12)
            d = a - 2 * b + c
            off = 0.5 * (a - c) / d if d < 0 else 0.0
        self.bpm = float(self.bpms[best] * (1.0 + self._step) ** off)
        # Confidence: how much the periodicity stands out, times how steady the estimate is.
        salience = float(np.clip((score.max() - np.median(score)) / (score.max() + 1e-9), 0.0, 1.0))
        self._recent = (self._recent + [self.bpm])[-8:]
        steady = float(np.mean([abs(b / self.bpm - 1.0) < 0.03 for b in self._recent]))
        self.confidence = salience * steady
        return self.bpm, self.confidence
