"""Is there a beat? Periodicity of the onset function against shuffled surrogates, and onset contrast.

A beat is a periodic onset structure. Two measures of the recent onset
function decide whether there is one, independently of loudness:

* **periodicity**: the comb over the autocorrelation (lag plus 2-4 times it,
  as in :mod:`.tempo`, minus its median over the lags) *at the beat period
  tracked*, divided by the best value that block-shuffled surrogates of the
  same onsets reach at any lag. Shuffling blocks of 0.15-0.4 s keeps each
  onset and its local shape but destroys any periodicity longer than a
  block, so the surrogates give the level chance alone reaches *for this
  signal*. The ratio is averaged over estimates (from a start at chance,
  skipping windows with too few onsets, one estimate capped): noise and
  speech stay near 1 (their best lag is a fluke that moves), music with a
  beat reaches 2-20.
* **contrast**: the 95th percentile of the onset function after removing its
  local mean. The flux is a difference of log magnitudes, so this is a level
  ratio (how sharply sounds start), not an energy: a steady or vibrato tone
  (after SuperFlux's vibrato suppression), a pad's slow swells (whose
  beating partials *are* periodic) or silence stay below 0.02 however loud
  they are, while drums, plucks and strums reach 0.03-0.2.

A window whose onset function is *dense* (many samples above half its onset
level: a vibrato chord's or a pad's beating partials, noise) brings its ratio
into the average scaled down, to nothing at ``DENSITY_NONE``: onsets are
sparse, so periodic density is no beat. The confidence is the product of the
two measures, each mapped linearly to 0-1. A third, the *alignment* of the beats
the tracker predicted with the onsets that then arrived (:mod:`.alignment`),
counts as periodicity where it is higher (through the same density factor):
a few seconds of music can pass it, where the surrogate test needs about 6 s.
A fourth, *steady periodicity*, covers the running mean's blind spot: estimates at
a wrong early tempo pull the mean below chance for seconds after the tempo
turns right, and soft onsets (a waltz's strings) keep the contrast factor
low. When the last ``STEADY_ESTIMATES`` ratios, each as the running mean
counts it (density-scaled, none below the contrast floor), were measured at one
tempo (within ``STEADY_TEMPO``) and all reach ``steady``, their smallest
counts as periodicity on its own, without the contrast factor. Speech's and
noise's flukes come one or two at a time at a wandering tempo (three running
read at most 0.91 at 94 onset samples/s and 1.12 at 31 on the beatless set).
The constants below were set from the noise floor and the generated
beatless set (nodes/audio/testsignals.py) and compared on the 27 gtzan16k
development clips (bench/beat_accuracy.py): they are development choices,
not cross-validated ones.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from .alignment import BeatPredictions
from .bands import _raw_c2r, _raw_r2c

__all__ = ["Periodicity", "contrast", "onset_level"]

#: Periodicity ratio (to the surrogates) at which the confidence starts, and its span to 1.
RATIO_FLOOR, RATIO_SPAN = 0.75, 1.0
#: Largest ratio one estimate brings into the running average.
RATIO_CAP = 4.0
#: Weight of the newest estimate in the ratio's running average.
TREND_WEIGHT = 0.15
#: Onset contrast (95th percentile of the detrended onset function) at which it starts, and its span to 1.
CONTRAST_FLOOR, CONTRAST_SPAN = 0.018, 0.015
#: A window whose rising samples are fewer than this share of it (and at least MIN_RISES: one or two
#: onsets are no evidence) reads its contrast at one sample per beat (:func:`contrast`).
SPARSE_RISES, MIN_RISES = 0.15, 8
#: Onset density (the share of the window's samples above half its onset level) up to which a window's
#: periodicity counts in full, and from which it does not count at all (linear between), at DENSITY_RATE
#: onset samples/s (hop 512 at 48 kHz). At lower rates an onset covers at least one longer sample, so
#: both scale with DENSITY_RATE / rate (at 31 Hz, hop 512 at 16 kHz, music reads 0.05-0.15).
DENSITY_FULL, DENSITY_NONE, DENSITY_RATE = 0.085, 0.10, 93.75


#: Estimates running, at one tempo, whose periodicity ratios make it *steady*, and how far their tempi
#: (tracked periods) may differ, as a fraction of the shortest.
STEADY_ESTIMATES, STEADY_TEMPO = 3, 0.04


#: Lags tested, as multiples of the beat period tracked: the period and half of it (the off-beat
#: eighths often carry a short window's periodicity). Double and dotted periods were tried: they let
#: speech's chance periodicity through.
_RELATED = (1.0, 0.5)


def contrast(x: np.ndarray, lag: float = 0.0) -> float:
    """95th percentile of ``x`` (the detrended onset function, ≥ 0), 0 for an empty window.

    A kick or a click alone on each beat, silence between, makes so few samples rise (``x > 0``) that the
    percentile falls at or near 0, and such a track never locked (a kick-only intro, a click track). So in
    a window whose rises are sparse (under ``SPARSE_RISES`` of it, at least ``MIN_RISES`` of them) the
    contrast is the k-th largest sample instead, k the number of beats the window holds at the beat period
    ``lag`` (onset samples; 0 = none known): how sharply the beats' onsets rise. Music rises in more
    (gtzan16k's windows: 17-48 % of their samples), noise, pads and tones in about half, so they read the
    percentile as before; speech rises in 9-20 %, but its percentile was already past the contrast's span.
    """
    if x.size == 0:
        return 0.0
    k = int(0.95 * (x.size - 1))
    if lag > 0:
        rises = int(np.count_nonzero(x))
        if MIN_RISES <= rises < SPARSE_RISES * x.size:
            k = max(k, x.size - max(1, int(x.size / lag)))
    return float(np.partition(x, k)[k])


def onset_level(x: np.ndarray) -> float:
    """Mean of the top 5 % of ``x`` (the detrended onset function): how strong its onsets are, 0 if empty.

    Steadier than a percentile on sparse onsets (a few kicks in a short window).
    """
    if x.size == 0:
        return 0.0
    k = max(1, x.size // 20)
    return float(np.partition(x, x.size - k)[x.size - k :].mean())


class Periodicity:
    """Beat evidence of a window of the detrended onset function.

    Args:
        rate: Onset samples per second (Hz).
        min_lag: Shortest beat period considered, in onset samples.
        max_lag: Longest beat period considered, in onset samples.
        surrogates: Shuffled copies compared with. Default 8.
        block_s: Length of the shuffled blocks, in s. Default 0.25.
        alignment: Share of the predicted beats that met an onset (:mod:`.alignment`) from which
            it counts as periodicity, full at 1 (a short window's evidence of a beat; 1 = never). Default 0.6.
        steady: Periodicity ratio that the last ``STEADY_ESTIMATES`` estimates at one tempo must all
            reach for the smallest of them to count as periodicity without the contrast factor (0 = never).
            Default 1.3.
    """

    def __init__(self, rate: float, min_lag: float, max_lag: float, surrogates: int = 8, block_s: float = 0.25,
                 alignment: float = 0.6, steady: float = 1.3) -> None:
        self._align = alignment
        self._steady_min = steady
        self._lags = np.arange(max(1, int(min_lag)), int(np.ceil(max_lag)) + 1)
        self._block = max(2, round(block_s * rate))
        self._count = surrogates
        self._dense = max(1.0, DENSITY_RATE / rate)  # the density thresholds' scale at this rate
        self._perms: dict[int, np.ndarray] = {}
        # Per window length and dtype: the window and its surrogates, zero-padded to the FFT length.
        self._rows: dict[tuple[int, np.dtype], np.ndarray] = {}
        self._plans: dict[int, tuple[int, int, np.ndarray, np.ndarray]] = {}
        self._mult = np.arange(1, 5)
        self._mweight = 1.0 / np.sqrt(self._mult)
        self._mweight /= self._mweight.sum()
        #: The last ratio, contrast, onset level and onset density measured.
        self.ratio = 0.0
        self.contrast = 0.0
        self.level = 0.0
        self.density = 0.0
        #: The ratio averaged over the last few estimates (exponentially): what the confidence follows.
        self.trend = 1.0
        self._seen = 0
        #: (tracked period, counted ratio) of the last STEADY_ESTIMATES estimates, oldest first.
        self._runs: deque[tuple[float, float]] = deque(maxlen=STEADY_ESTIMATES)
        #: The smallest counted ratio of the last STEADY_ESTIMATES estimates when they were at one tempo, else 0.
        self.steady = 0.0
        #: The beats the tracker predicted, checked against the onsets at each estimate (``end`` given).
        self.predictions = BeatPredictions(rate)

    def _combs(self, x: np.ndarray) -> np.ndarray:
        """Comb minus its median over the lags, for the window ``x`` and each surrogate: ``[1 + surrogates, lags]``.

        The comb at lag L is the normalised autocorrelation at L, 2L, 3L and 4L weighted 1/√k (of
        each row with its mean removed); lags beyond half the window are left out (too few products
        to be trusted).
        """
        x = x.astype(np.float32, copy=False)  # half the memory of float64 for the transforms and gathers
        n = x.shape[0]
        plan = self._plans.get(n)
        if plan is None:
            plan = self._plans[n] = self._plan(n)
        nfft, half, index, weight = plan
        rows = self._rows.get((n, x.dtype))
        if rows is None:
            rows = self._rows[n, x.dtype] = np.zeros((1 + self._count, nfft), x.dtype)  # the padding stays 0
        # Row 0 is the window itself, the others its shuffles: one gather, then the mean out of all.
        window = rows[:, :n]
        window[...] = x[self._shuffles(n)]
        window -= float(x.mean())
        if _raw_r2c is not None:  # the entry point scipy.fft's rfft/irfft end in, without their dispatch
            spec = _raw_r2c(rows, (1,), True, 0, None, 1)
            np.multiply(spec, spec.conj(), out=spec)
            acf = _raw_c2r(spec, (1,), nfft, False, 2, None, 1)  # norm 2: irfft's 1/nfft
        else:  # pragma: no cover - other scipy layouts
            spec = rfft(rows, axis=1, workers=1)
            np.multiply(spec, spec.conj(), out=spec)
            acf = irfft(spec, nfft, axis=1, workers=1)
        # One gather of every (multiple, lag) pair; the unbiasing and the 1/√k weights are folded into
        # `weight`, the normalisation by acf[0] is applied to the (linear) comb.
        comb = np.dot(acf[:, index], weight)
        comb *= 1.0 / (acf[:, :1] + 1e-12)
        m = comb.shape[1]
        mid = np.partition(comb, ((m - 1) // 2, m // 2), axis=1)  # the median over the lags, without np.median's overhead
        comb -= 0.5 * (mid[:, (m - 1) // 2 : (m - 1) // 2 + 1] + mid[:, m // 2 : m // 2 + 1])
        return comb

    def _plan(self, n: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        """FFT length, longest lag, and the comb as a gather plus a matrix: ``acf[:, index] @ weight``."""
        half = n // 2
        nfft = next_fast_len(n + half, real=True)  # lags up to `half` stay free of wrap-around
        lags = self._lags * self._mult[:, None]
        weight = np.where(lags <= half, self._mweight[:, None], 0.0)
        keep = weight[0] > 0
        weight = weight[:, keep] / weight[:, keep].sum(axis=0)
        index = np.minimum(lags[:, keep], half)
        weight = weight / (1.0 - index / n)  # unbiased: long lags see fewer products
        # Gathered lags: the distinct ones; the matrix sums each comb's k = 1-4 terms.
        used, where = np.unique(index, return_inverse=True)
        matrix = np.zeros((used.size, index.shape[1]))
        np.add.at(matrix, (where.reshape(index.shape), np.arange(index.shape[1])[None, :]), weight)
        return nfft, half, used, matrix.astype(np.float32)

    def _shuffles(self, n: int) -> np.ndarray:
        """Gather indices ``[1 + surrogates, n]``: the window (row 0), then cut into blocks of 0.6-1.6 × ``block_s``, reordered.

        Irregular block lengths matter: blocks of one length reordered keep a strictly periodic
        signal's phases on a grid of the length, so a drum machine would look like chance.
        """
        idx = self._perms.get(n)
        if idx is None:
            rng = np.random.default_rng(n)  # fixed: the same window always gives the same answer
            cuts = np.cumsum(rng.uniform(0.6, 1.6, n // self._block + 2) * self._block).astype(int)
            edges = np.concatenate(([0], cuts[cuts < n], [n]))
            parts = [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
            idx = self._perms[n] = np.stack([np.arange(n)] + [
                np.concatenate([parts[i] for i in rng.permutation(len(parts))]) for _ in range(self._count)])
        return idx

    def reset(self) -> None:
        """Forget the running average (the onsets stopped: what comes next is new evidence)."""
        self.trend = 1.0
        self._seen = 0
        self._runs.clear()
        self.steady = 0.0
        self.predictions.reset()

    @property
    def aligned(self) -> float:
        """The predicted beats' alignment mapped to 0-1 (0 up to ``alignment``): evidence of a beat a short window gives."""
        if self._align >= 1.0:
            return 0.0
        return min(1.0, max(0.0, (self.predictions.aligned - self._align) / (1.0 - self._align)))

    @property
    def steadied(self) -> bool:
        """Whether the steady periodicity reached ``steady`` (then it counts as periodicity on its own)."""
        return 0.0 < self._steady_min <= self.steady

    def _run(self, lag: float, counted: float) -> None:
        """Note one estimate's tracked period and counted ratio; update :attr:`steady`."""
        runs = self._runs
        runs.append((lag, counted))
        lo, hi = min(r[0] for r in runs), max(r[0] for r in runs)
        same = len(runs) == STEADY_ESTIMATES and lo > 0 and hi <= (1.0 + STEADY_TEMPO) * lo
        self.steady = min(r[1] for r in runs) if same else 0.0

    def confidence(self, x: np.ndarray, lag: float = 0.0, end: int | None = None) -> float:
        """Confidence 0-1 that the detrended onset window ``x`` (oldest first) holds a beat.

        ``lag`` is the beat period tracked, in onset samples: its comb value is what is tested
        (a beat must be at the tempo followed); 0 tests the best lag. ``end`` (the absolute index
        of the sample after ``x``'s last) checks the predicted beats ``x`` now covers.
        """
        self.contrast = c = contrast(x, lag)
        self.level = onset_level(x)
        self.density = float(np.count_nonzero(x > 0.5 * self.level)) / x.size if x.size else 0.0
        if end is not None:
            self.predictions.check(x, end)
        if x.size < 4 * self._block or c <= 0:
            self.ratio = 0.0
            self._run(lag, 0.0)
            return 0.0
        combs = self._combs(x)
        if combs.shape[1] == 0:
            self.ratio = 0.0
            self._run(lag, 0.0)
            return 0.0
        floor = float(combs[1:].max(axis=1).mean())  # what chance reaches at the best lag
        value = 0.0
        for rel in _RELATED if lag > 0 else ():
            # ±1 lag: the tempo states are finer than the lags
            i = int(round(lag * rel)) - int(self._lags[0])
            lo, hi = max(0, i - 1), min(combs.shape[1], i + 2)
            if lo < hi:
                value = max(value, float(combs[0, lo:hi].max()))
        if lag <= 0:
            value = float(combs[0].max())
        self.ratio = value / floor if floor > 0 else 0.0
        # Onsets are sparse: a dense onset function (a vibrato chord's or a pad's partials beating,
        # noise) is no beat however periodic or aligned it looks, so its evidence counts less, down to none.
        sparse = min(1.0, max(0.0, (DENSITY_NONE * self._dense - self.density) / ((DENSITY_NONE - DENSITY_FULL) * self._dense)))
        counted = min(self.ratio, RATIO_CAP) * sparse if c >= CONTRAST_FLOOR else 0.0
        if c >= CONTRAST_FLOOR:  # too few onsets make the ratio a fluke: it does not count then
            # A running mean until there are enough estimates for the running average; it starts from
            # one estimate at chance level (1), and one estimate counts at most RATIO_CAP.
            self._seen += 1
            self.trend += max(TREND_WEIGHT, 1.0 / (self._seen + 1)) * (counted - self.trend)
        self._run(lag, counted)
        periodic = min(1.0, max(0.0, (self.trend - RATIO_FLOOR) / RATIO_SPAN))
        periodic = max(periodic, self.aligned * sparse)
        sharp = min(1.0, max(0.0, (c - CONTRAST_FLOOR) / CONTRAST_SPAN))
        if self.steadied:  # periodic at one tempo for several estimates running: soft onsets suffice
            return max(periodic * sharp, min(1.0, (self.steady - RATIO_FLOOR) / RATIO_SPAN))
        return periodic * sharp
