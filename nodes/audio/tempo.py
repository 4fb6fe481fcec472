"""Causal tempo estimation: autocorrelation of the onset function, a comb over metrical multiples, a prior.

Octave errors (half or double tempo) are the usual failure of tempo
estimators. Three things handle them here: the comb scores a period by the
autocorrelation at 1-4 times the period, so a period whose multiples (bar
lengths) are also periodic wins over its double-time neighbour; a log-normal
prior over tempo prefers the range people tap in; and the estimate is
smoothed over time as a belief over tempo states, so one ambiguous window
cannot flip the metrical level. A fourth thing handles the other usual
failure, a tempo 3:4 or 2:3 of the beat (a dotted or triplet pattern as
periodic as the beat): the comb also reads the *tatum*, the periodicity at
the octave-equivalents of each period (L·2^k) weighted around the
sixteenth-to-eighth-note range — the same for T, T/2 and 2T, so it leaves
the metrical level to the comb and prior, but only the beat's own
subdivisions are there. The belief forgets: consecutive windows share
all but one second of onsets, so multiplying their evidence counts the same
onsets up to eight times, and a wrong early tempo (from the first, short
windows) would outlive its evidence; spreading ``jump`` (42 %) of the belief
over all tempi at each estimate keeps its memory to a few estimates. The
confidence (is there a beat at this tempo at all?) comes from :mod:`.periodicity`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.fft import next_fast_len

from .periodicity import Periodicity

__all__ = ["TATUM_OCTAVES", "TempoEstimator"]

#: Width (s.d., octaves) of the tatum's weights around the period of ``tatum_bpm``.
TATUM_OCTAVES = 0.5
#: Octave-equivalents of each period read for the tatum (from 2 samples up: 2-128 samples at least).
_TATUM_LAGS = 6


class _Comb(NamedTuple):
    """The comb's tables for one window length (see :meth:`TempoEstimator._prepare`)."""

    need: int  # autocorrelation lags read
    nfft: int  # transform length
    at: np.ndarray  # [2, 10, states]: the two neighbours of each lag read (4 multiples, 6 octave-equivalents)
    weight: np.ndarray  # their interpolation weights times the lag's weight (0 beyond the window)
    unbias: np.ndarray  # 1 / products per lag


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
        recent: Seconds of the newest onsets whose comb multiplies the window's (they count twice:
            a DJ's tempo change wins sooner); 0 = the window's comb squared. Default 0.
        alignment: Share of the predicted beats that met an onset from which the confidence may
            rise before the periodicity test passes (:class:`.periodicity.Periodicity`). Default 0.6.
        steady: Periodicity ratio that three estimates running at one tempo must all reach for the
            confidence to rise on them alone, soft onsets or not (:class:`.periodicity.Periodicity`; 0 = never).
            Default 1.3.
        tatum: Weight of the *tatum*, the normalised autocorrelation at each period's octave-equivalents
            (L·2^k) weighted by a log-Gaussian of ``TATUM_OCTAVES`` around the period of ``tatum_bpm``:
            the comb is multiplied by 1 + tatum × that (≥ 0); 0 = none. Default 2.
        tatum_bpm: Centre of the tatum's weights, in BPM (300: sixteenths at 75, eighths at 150). Default 300.
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
        recent: float = 0.0,
        alignment: float = 0.6,
        steady: float = 1.3,
        tatum: float = 2.0,
        tatum_bpm: float = 300.0,
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
        self._tatum, self._tatum_lag = tatum, 60.0 * rate / tatum_bpm
        self._tables: dict[int, _Comb] = {}  # the comb's tables per window length
        self._recent = int(round(recent * rate))
        self.evidence = Periodicity(rate, float(self.lags.min()), float(self.lags.max()), alignment=alignment,
                                   steady=steady)

    def _prepare(self, n: int) -> _Comb:
        """Tables for an onset window of ``n`` samples, made once per length (the lengths rarely change).

        The comb reads the autocorrelation at 1-4 times each state's lag (weights 1/√k) and at
        its octave-equivalents from 2 samples up (the tatum: ``L·2^k``, the same six lags for a
        state and its double or half), by linear interpolation; one gather of the two neighbours
        of every (lag, state) pair and one weighted sum replace ten ``np.interp`` calls per estimate.
        """
        tables = self._tables.get(n)
        if tables is not None:
            return tables
        mult = np.arange(1, 5)[:, None]
        lags = self.lags[None, :] * mult
        weight = np.broadcast_to(1.0 / np.sqrt(mult), lags.shape)
        if self._tatum > 0:
            # k from the smallest with L·2^k ≥ 2 samples: a state, its double and its half read the same lags.
            first = np.ceil(np.log2(2.0 / self.lags))
            octave = self.lags * 2.0 ** (first + np.arange(_TATUM_LAGS)[:, None])
            near = np.exp(-0.5 * (np.log2(octave / self._tatum_lag) / TATUM_OCTAVES) ** 2)
            lags = np.concatenate((lags, octave))
            weight = np.concatenate((weight, self._tatum * near / near.sum(axis=0)))
        ok = lags < n - 1
        lags = np.where(ok, lags, 0.0)
        low = np.floor(lags).astype(np.intp)
        frac = lags - low
        weight = np.where(ok, weight, 0.0)
        need = int(low.max()) + 2  # autocorrelation lags read
        # Zero-padding to n + need − 1 keeps lags below `need` free of wrap-around (an exact linear
        # correlation there) with a shorter transform than 2n.
        tables = self._tables[n] = _Comb(
            need=need,
            nfft=next_fast_len(n + need - 1, real=True),
            at=np.stack((low, low + 1)),
            weight=np.stack(((1.0 - frac) * weight, frac * weight)),
            unbias=1.0 / (n - np.arange(need)),  # unbiased: long lags see fewer products
        )
        return tables

    @staticmethod
    def _comb(acf: np.ndarray, tables: _Comb) -> tuple[np.ndarray, np.ndarray | None]:
        """Per tempo state: Σ over k = 1-4 of acf(k·lag) / √k, and the tatum's weighted sum (None: off).

        acf is read by linear interpolation.
        """
        read = np.add.reduce(acf[tables.at] * tables.weight, axis=0)  # [lags read, states]
        return np.add.reduce(read[:4], axis=0), (np.add.reduce(read[4:], axis=0) if read.shape[0] > 4 else None)

    def _score(self, x: np.ndarray) -> np.ndarray | None:
        """The comb of the detrended onset window ``x``, times the prior, over its maximum (None: no onsets)."""
        if not x.any():
            return None
        tables = self._prepare(x.size)
        spec = np.fft.rfft(x, tables.nfft)
        spec *= spec.conj()
        acf = np.fft.irfft(spec, tables.nfft)[: tables.need]
        acf *= tables.unbias
        # The comb is linear in the ACF: normalising its output by acf[0] equals normalising the ACF.
        score, tatum = self._comb(acf, tables)
        score *= 1.0 / acf[0]
        np.maximum(score, 0.0, out=score)
        if tatum is not None:
            # A factor, the same for a state, its double and its half: their ratio (the metrical level)
            # stays the comb's and the prior's.
            score *= 1.0 + np.maximum(tatum * (1.0 / acf[0]), 0.0)
        score *= self.prior
        top = float(score.max())
        if top <= 0:
            return None
        score *= 1.0 / top
        return score

    def update(self, odf: np.ndarray, valid: int | None = None, evidence: np.ndarray | None = None,
               end: int | None = None) -> tuple[float, float]:
        """Re-estimate from the onset function ``odf`` (oldest first); return ``(bpm, confidence 0-1)``.

        Only the newest ``valid`` samples (default: all) are evidence of a beat; older ones are
        zeros standing for the time before a (re)start. The confidence is measured on ``evidence``
        (default ``odf``), an onset function of the same samples: the beat node passes its band flux,
        the scale the beatless test's constants were set for (:mod:`.periodicity`); ``end`` is the
        absolute index of the sample after the window's last (checks the predicted beats).
        """
        x = np.asarray(odf, dtype=np.float64)
        n = x.size
        if n < 2 * self.lags.max():
            return self.bpm, self.confidence
        # Adaptive threshold: remove the local mean so the ACF sees onsets, not loudness.
        x = np.maximum(x - np.convolve(x, self._box, mode="same"), 0.0)
        obs = self._score(x)
        if obs is None:
            self.confidence = 0.0
            return self.bpm, self.confidence
        # The newest `recent` samples count twice: the window's comb times theirs (the window's squared
        # when there are too few of them), so a new tempo wins once it fills about the newest part
        # rather than half of the whole window.
        m = self._recent
        newest = self._score(x[-m:]) if 0 < m < n and (valid is None or valid >= m) else None
        obs *= obs if newest is None else newest
        spread = np.convolve(self.belief, self._kernel, mode="same")
        spread *= 1.0 / spread.sum()
        spread += self._jump
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
        self.confidence = self.evidence.confidence(x[-valid:] if valid else x, 60.0 * self.rate / self.bpm, end)
        return self.bpm, self.confidence
