"""Is there a beat? Periodicity of the onset function against shuffled surrogates, and onset contrast.

A beat is a periodic onset structure. Two measures of the recent onset
function decide whether there is one, independently of loudness:

* **periodicity**: the comb over the autocorrelation (beat lag plus 2-4 times
  it, as in :mod:`.tempo`), peak minus median, divided by the same statistic
  on block-shuffled surrogates of the same onsets. Shuffling blocks of a
  quarter second keeps each onset and its local shape but destroys any
  periodicity longer than a block, so the surrogates give the level that
  chance alone reaches *for this signal*: noise and speech score about 1
  (their best lag is a fluke), music with a beat 2-10.
* **contrast**: the 95th percentile of the onset function after removing its
  local mean. The flux is a difference of log magnitudes, so this is a level
  ratio (how sharply sounds start), not an energy: a steady or vibrato tone
  (after SuperFlux's vibrato suppression), a pad's slow swells or silence
  stay near 0 however loud they are, while drums, plucks and strums reach
  0.03-0.2.

The confidence is the product of the two, each mapped to 0-1; both
thresholds were set from the noise floor and the generated beatless set,
and checked (not tuned) on the music of the benchmark (see bench/).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Periodicity", "contrast", "onset_level"]

#: Periodicity ratio (to the surrogates) at which the confidence starts, and its span to 1.
RATIO_FLOOR, RATIO_SPAN = 1.3, 1.5
#: Onset contrast (95th percentile of the detrended onset function) at which it starts, and its span to 1.
CONTRAST_FLOOR, CONTRAST_SPAN = 0.015, 0.02


def contrast(x: np.ndarray) -> float:
    """95th percentile of ``x`` (the detrended onset function), 0 for an empty window."""
    if x.size == 0:
        return 0.0
    k = int(0.95 * (x.size - 1))
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
        surrogates: Shuffled copies compared with. Default 6.
        block_s: Length of the shuffled blocks, in s. Default 0.25.
    """

    def __init__(self, rate: float, min_lag: float, max_lag: float, surrogates: int = 6, block_s: float = 0.25) -> None:
        self._lags = np.arange(max(1, int(min_lag)), int(np.ceil(max_lag)) + 1)
        self._block = max(2, round(block_s * rate))
        self._count = surrogates
        self._perms: dict[int, list[np.ndarray]] = {}
        self._mult = np.arange(1, 5)
        self._mweight = 1.0 / np.sqrt(self._mult)
        self._mweight /= self._mweight.sum()
        #: The last ratio, contrast and onset level measured.
        self.ratio = 0.0
        self.contrast = 0.0
        self.level = 0.0

    def _strength(self, y: np.ndarray) -> float:
        """Comb peak minus median over the lags, of the normalised autocorrelation of ``y`` (mean removed)."""
        n = y.size
        nfft = 1 << int(np.ceil(np.log2(2 * n)))
        spec = np.fft.rfft(y, nfft)
        acf = np.fft.irfft(spec * spec.conj(), nfft)[:n]
        if acf[0] <= 0:
            return 0.0
        half = n // 2  # longer lags have too few products to be trusted
        acf = acf[: half + 1] / (acf[0] * (1.0 - np.arange(half + 1) / n))
        lags = self._lags * self._mult[:, None]
        weight = np.where(lags <= half, self._mweight[:, None], 0.0)
        comb = (weight * acf[np.minimum(lags, half)]).sum(axis=0) / np.maximum(weight.sum(axis=0), 1e-12)
        comb = comb[weight[0] > 0]
        return float(comb.max() - np.median(comb)) if comb.size else 0.0

    def _shuffles(self, blocks: int) -> list[np.ndarray]:
        perms = self._perms.get(blocks)
        if perms is None:
            rng = np.random.default_rng(blocks)  # fixed: the same window always gives the same answer
            perms = self._perms[blocks] = [rng.permutation(blocks) for _ in range(self._count)]
        return perms

    def confidence(self, x: np.ndarray) -> float:
        """Confidence 0-1 that the detrended onset window ``x`` (oldest first) holds a beat."""
        self.contrast = c = contrast(x)
        self.level = onset_level(x)
        b = self._block
        blocks = x.size // b
        if blocks < 4 or c <= 0:
            self.ratio = 0.0
            return 0.0
        y = x[x.size - blocks * b :] - float(x.mean())
        peak = self._strength(y)
        rows = y.reshape(blocks, b)
        floor = np.mean([self._strength(rows[p].ravel()) for p in self._shuffles(blocks)])
        self.ratio = peak / floor if floor > 0 else 0.0
        periodic = min(1.0, max(0.0, (self.ratio - RATIO_FLOOR) / RATIO_SPAN))
        sharp = min(1.0, max(0.0, (c - CONTRAST_FLOOR) / CONTRAST_SPAN))
        return periodic * sharp
