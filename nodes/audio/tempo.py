"""Causal tempo estimation: autocorrelation of the onset function, a comb over metrical multiples, a prior.

Octave errors (half or double tempo) are the usual failure of tempo
estimators. Three things handle them here: the comb scores a period by the
autocorrelation at 1-4 times the period, so a period whose multiples (bar
lengths) are also periodic wins over its double-time neighbour; a log-normal
prior over tempo prefers the range people tap in; and the estimate is
smoothed over time as a belief over tempo states, so one ambiguous window
cannot flip the metrical level. The belief forgets: consecutive windows share
all but one second of onsets, so multiplying their evidence counts the same
onsets up to eight times, and a wrong early tempo (from the first, short
windows) would outlive its evidence; spreading ``jump`` (42 %) of the belief
over all tempi at each estimate keeps its memory to a few estimates. The
confidence (is there a beat at this tempo at all?) comes from :mod:`.periodicity`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.fft import next_fast_len

from .periodicity import Periodicity

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
        drift: Standard deviation of tempo change between two estimates, as a fraction. Default 0.014.
        jump: Share of the belief spread evenly over all tempo states at each estimate (the tempo may
            have changed to anything: a new song, a wrong start). Default 0.42.
    """

    def __init__(
        self,
        rate: float,
        min_bpm: float = 60.0,
        max_bpm: float = 200.0,
        prior_bpm: float = 110.0,
        prior_octaves: float = 0.9,
        step: float = 0.005,
        drift: float = 0.014,
        jump: float = 0.42,
    ) -> None:
        if not 0.0 <= jump < 1.0:
            raise ValueError(f"tempo jump must be at least 0 and below 1, got {jump}")
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
        # Added to each state of the normalised belief, it is `jump` of the mass after renormalising.
        self._jump = jump / ((1.0 - jump) * count)
        self.belief = np.full(self.bpms.size, 1.0 / self.bpms.size)
        self.bpm = 0.0
        self.confidence = 0.0
        # Adaptive threshold: a moving average over 0.1 s (odd length, so "same" stays centred).
        box = max(3, int(0.1 * rate)) | 1
        self._box = np.ones(box) / box
        self._n = 0  # length of the onset window the tables below are made for
        self.evidence = Periodicity(rate, float(self.lags.min()), float(self.lags.max()))

    def _prepare(self, n: int) -> None:
        """Tables for an onset window of ``n`` samples, made once (the window length rarely changes).

        The comb reads the autocorrelation at 1-4 times each state's lag, by linear
        interpolation; one gather of the two neighbours of every (multiple, state) pair
        and one weighted sum replace four ``np.interp`` calls per estimate.
        """
        self._n = n
        mult = np.arange(1, 5)[:, None]
        lags = self.lags[None, :] * mult
        ok = lags < n - 1
        lags = np.where(ok, lags, 0.0)
        low = np.floor(lags).astype(np.intp)
        frac = lags - low
        weight = np.where(ok, 1.0 / np.sqrt(mult), 0.0)
        self._need = int(low.max()) + 2  # autocorrelation lags read
        # Zero-padding to n + need − 1 keeps lags below `need` free of wrap-around (an exact linear
        # correlation there) with a shorter transform than 2n.
        self._nfft = next_fast_len(n + self._need - 1, real=True)
        self._comb_index = np.concatenate((low, low + 1))
        self._comb_weight = np.concatenate(((1.0 - frac) * weight, frac * weight))
        self._unbias = 1.0 / (n - np.arange(self._need))  # unbiased: long lags see fewer products

    def _comb(self, acf: np.ndarray) -> np.ndarray:
        """Score of each tempo state: Σ over k = 1-4 of acf(k·lag) / √k (acf linearly interpolated)."""
        return np.add.reduce(acf[self._comb_index] * self._comb_weight, axis=0)

    def update(self, odf: np.ndarray, valid: int | None = None, evidence: np.ndarray | None = None) -> tuple[float, float]:
        """Re-estimate from the onset function ``odf`` (oldest first); return ``(bpm, confidence 0-1)``.

        Only the newest ``valid`` samples (default: all) are evidence of a beat; older ones are
        zeros standing for the time before a (re)start. The confidence is measured on ``evidence``
        (default ``odf``), an onset function of the same samples: the beat node passes its band flux,
        the scale the beatless test's constants were set for (:mod:`.periodicity`).
        """
        x = np.asarray(odf, dtype=np.float64)
        n = x.size
        if n < 2 * self.lags.max():
            return self.bpm, self.confidence
        if n != self._n:
            self._prepare(n)
        # Adaptive threshold: remove the local mean so the ACF sees onsets, not loudness.
        x = np.maximum(x - np.convolve(x, self._box, mode="same"), 0.0)
        if not x.any():
            self.confidence = 0.0
            return self.bpm, self.confidence
        spec = np.fft.rfft(x, self._nfft)
        spec *= spec.conj()
        acf = np.fft.irfft(spec, self._nfft)[: self._need]
        acf *= self._unbias
        # The comb is linear in the ACF: normalising its output by acf[0] equals normalising the ACF.
        score = self._comb(acf)
        score *= 1.0 / acf[0]
        np.maximum(score, 0.0, out=score)
        obs = score * self.prior
        top = float(obs.max())
        if top <= 0:
            self.confidence = 0.0
            return self.bpm, self.confidence
        obs *= 1.0 / top
        spread = np.convolve(self.belief, self._kernel, mode="same")
        spread *= 1.0 / spread.sum()
        spread += self._jump
        obs *= obs
        spread *= obs
        belief = self.belief = spread / spread.sum()
        best = int(belief.argmax())
        # Refine between states with a parabola through the neighbours (in log tempo).
        off = 0.0
        if 0 < best < self.bpms.size - 1:
            a, b, c = (math.log(v + 1e-12) for v in belief[best - 1 : best + 2].tolist())
            d = a - 2 * b + c
            off = 0.5 * (a - c) / d if d < 0 else 0.0
        self.bpm = float(self.bpms[best] * (1.0 + self._step) ** off)
        if evidence is not None:
            x = np.asarray(evidence, dtype=np.float64)
            x = np.maximum(x - np.convolve(x, self._box, mode="same"), 0.0)
        self.confidence = self.evidence.confidence(x[-valid:] if valid else x, 60.0 * self.rate / self.bpm)
        return self.bpm, self.confidence
