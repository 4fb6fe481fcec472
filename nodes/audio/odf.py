"""The onset detection function: log-filtered spectral flux with vibrato suppression (SuperFlux).

Böck & Widmer's SuperFlux (DAFx 2013), computed for all hops of a block at
once: the magnitude spectrum goes through a bank of triangular filters spaced
``bands_per_octave`` per octave (bins narrower than a filter are merged, so
the low end keeps one filter per bin), is compressed as ``log(1 + γ·|X|)``,
and each band is compared with the *loudest of its neighbours* (±1 band) one
hop earlier. Only rises count (half-wave rectification), summed over the
bands. On a log-frequency axis every note is equally wide, so a melody or a
vibrato moving under one band is not an onset, while drums and plucked or
struck notes, which raise many bands at once, are.
"""

from __future__ import annotations

import numpy as np

__all__ = ["OnsetFunction", "log_filterbank"]

_ZERO = np.float32(0.0)


def log_filterbank(
    size: int, sample_rate: int, bands_per_octave: int = 12, fmin: float = 30.0, fmax: float = 16000.0
) -> np.ndarray:
    """Triangular filters on a log-frequency axis: float32 ``[size//2 + 1, bands]``, each column summing to 1.

    Centres are ``fmin·2^(i/bands_per_octave)`` up to ``fmax`` (Hz, capped at Nyquist), snapped to
    the nearest ``rfft`` bin; duplicates are dropped, so where bins are wider than the spacing each
    filter is one bin. A filter rises from the previous centre to its own and falls to the next.
    """
    nbins = size // 2 + 1
    bin_hz = sample_rate / size
    fmax = min(fmax, sample_rate / 2 - bin_hz)
    count = int(np.floor(bands_per_octave * np.log2(fmax / fmin))) + 1
    centres = np.unique(np.round(fmin * 2.0 ** (np.arange(count) / bands_per_octave) / bin_hz).astype(int))
    centres = centres[(centres >= 1) & (centres < nbins - 1)]
    fb = np.zeros((nbins, centres.size - 2), np.float32)
    for j, (lo, mid, hi) in enumerate(zip(centres[:-2], centres[1:-1], centres[2:])):
        rise = np.arange(lo + 1, mid + 1)  # zero at the neighbours' centres
        fall = np.arange(mid, hi)
        fb[rise, j] = (rise - lo) / (mid - lo)
        fb[fall, j] = (hi - fall) / (hi - mid)
        fb[:, j] /= fb[:, j].sum()
    return fb


class OnsetFunction:
    """SuperFlux over a log-frequency filterbank, one value per hop (stream state: the previous hop's bands).

    Args:
        size: FFT length in samples.
        sample_rate: Sample rate in Hz.
        bands_per_octave: Filterbank resolution. Default 12 (semitones).
        fmin: Lowest filter centre in Hz. Default 30.
        fmax: Highest filter centre in Hz. Default 16000 (capped below Nyquist).
    """

    def __init__(
        self, size: int, sample_rate: int, bands_per_octave: int = 12, fmin: float = 30.0, fmax: float = 16000.0
    ) -> None:
        self.filterbank = log_filterbank(size, sample_rate, bands_per_octave, fmin, fmax)
        self.bands = self.filterbank.shape[1]
        # The bank with its edge bands repeated outside: the ±1-band maximum then needs no edge case.
        self._padded = np.ascontiguousarray(self.filterbank[:, np.r_[0, : self.bands, self.bands - 1]])
        self._prev: np.ndarray | None = None  # the previous hop's log bands, max over ±1 band

    def compute(self, mag: np.ndarray) -> np.ndarray:
        """The onset function of ``count`` hops, float32 ``[count]``, from their scaled magnitudes ``[count, bins]``.

        ``mag`` is ``γ·|X|`` (|X| = 1 for a full-scale sine). The unit of the result is a sum of
        natural-log level rises over the bands (0 for a steady sound; the first hop of a stream is 0).
        """
        logs = np.log1p(np.dot(mag, self._padded))
        # Each hop's reference: the previous hop's bands, widened by a maximum over ±1 band.
        wide = np.maximum(np.maximum(logs[:, :-2], logs[:, 1:-1]), logs[:, 2:])
        prev = wide[0] if self._prev is None else self._prev
        self._prev = wide[-1]  # `wide` is this call's own array: a view of its last row is safe to keep
        diff = logs[:, 1:-1] - np.concatenate((prev[None, :], wide[:-1]))
        return np.add.reduce(np.maximum(diff, _ZERO, out=diff), axis=1)
