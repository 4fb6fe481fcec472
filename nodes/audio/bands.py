"""The MCAV bands of a Hann-windowed FFT: band edges, bin membership, and the spectra of a block's hops.

:class:`HopSpectra` is one window length's transform, shared by the two analyses of the ``fft`` node
(:mod:`.spectrum`): the long window whose hops feed the beat's flux and onset function, and the short
window whose hops give the bands that patterns and the wire show.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

try:  # scipy.fft.rfft's dispatch and argument checks cost as much as a 4 × 1024 float32 transform
    from scipy.fft._pocketfft.pypocketfft import c2r as _raw_c2r
    from scipy.fft._pocketfft.pypocketfft import r2c as _raw_r2c
except ImportError:  # pragma: no cover - other scipy layouts
    _raw_r2c = _raw_c2r = None

from mcav.runtime.frames import NUM_BANDS

__all__ = ["BAND_EDGES_HZ", "LOG_GAMMA", "BandDft", "HopSpectra", "band_bins"]

#: The MCAV bands (WIRE.md 6.1), in Hz: bass, low-mid, mid, high-mid, treble.
BAND_EDGES_HZ: tuple[tuple[float, float], ...] = (
    (40.0, 250.0),
    (250.0, 500.0),
    (500.0, 2000.0),
    (2000.0, 6000.0),
    (6000.0, 20000.0),
)

#: Compression inside the log of the flux: log(1 + γ·|X|), |X| = 1 for a full-scale sine.
LOG_GAMMA = 1000.0


def band_bins(size: int, sample_rate: int) -> np.ndarray:
    """The band of each ``rfft`` bin of a ``size``-point FFT: int8 ``[size//2 + 1]``, −1 = no band.

    A bin belongs to a band when its centre frequency ``k·sr/size`` lies in
    ``[low, high)``; DC and bins above 20 kHz belong to none.

    Raises:
        ValueError: when a band has no bin (FFT too short or sample rate too low).
    """
    freqs = np.arange(size // 2 + 1) * sample_rate / size
    out = np.full(freqs.shape, -1, np.int8)
    for b, (lo, hi) in enumerate(BAND_EDGES_HZ):
        out[(freqs >= lo) & (freqs < hi)] = b
    empty = [f"{lo:g}-{hi:g} Hz" for b, (lo, hi) in enumerate(BAND_EDGES_HZ) if not np.any(out == b)]
    if empty:
        raise ValueError(
            f"an FFT of {size} points at {sample_rate} Hz has no bin in band(s) {', '.join(empty)}; "
            "use a larger size or a higher sample rate"
        )
    return out


class HopSpectra:
    """Hann-windowed magnitude spectra of all hops of a block in one 2-D ``rfft``, and their band amplitudes.

    The magnitudes are ``γ·|X|`` (``γ`` = :data:`LOG_GAMMA`, |X| = 1 for a full-scale sine): the
    window carries the log-flux's scale, which spares a multiply per hop. Buffers are reused per
    hop count, so a result is only valid until the next call.

    Args:
        size: FFT length in samples.
        sample_rate: Input rate in Hz.

    Raises:
        ValueError: when a band has no bin (see :func:`band_bins`).
    """

    def __init__(self, size: int, sample_rate: int) -> None:
        self.size = size
        bands = band_bins(size, sample_rate)
        member = np.stack([bands == b for b in range(NUM_BANDS)], axis=1).astype(np.float64)
        # Only bins inside a band enter the band sums and the flux: slice them once.
        used = np.flatnonzero(bands >= 0)
        self.lo, self.hi = int(used[0]), int(used[-1]) + 1
        #: Band membership of the bins ``lo:hi``, float64 ``[hi - lo, 5]``.
        self.member = member[self.lo : self.hi]
        self.bass_bins = int(self.member[:, 0].sum())  # the first bins of the band slice are the bass band's
        hann = np.hanning(size)
        # |X| = 1 for a full-scale sine (2/Σw); the window carries γ.
        log_scale = LOG_GAMMA * 2.0 / float(np.sum(hann))
        self.window = (hann * log_scale).astype(np.float32)
        #: scaled |rfft| → |X|.
        self.mag_scale = np.float32(1.0 / LOG_GAMMA)
        # Σ|X_k|² over a band, times 4/(N·Σw²), is the amplitude² of a sine in that band (Parseval);
        # the window's log_scale is divided back out here.
        power_scale = 4.0 / (size * float(np.sum(hann**2))) / log_scale**2
        self._power_member = (self.member * power_scale).astype(np.float32)
        self._bass_power = self._power_member[: self.bass_bins, 0].copy()
        self._buffers: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def magnitudes(self, data: np.ndarray, start: int, hop: int, count: int) -> np.ndarray:
        """``γ·|X|`` of the ``count`` windows of contiguous float32 ``data`` starting at ``start``, ``hop`` apart.

        Returns a reused float32 buffer ``[count, size//2 + 1]``.
        """
        size = self.size
        bufs = self._buffers.get(count)
        if bufs is None:
            bufs = self._buffers[count] = (
                np.empty((count, size), np.float32),  # windowed frames, one per row
                np.empty((count, size // 2 + 1), np.complex64),
                np.empty((count, size // 2 + 1), np.float32),
            )
        frames, spectrum, mag = bufs
        # The windows as rows of a strided view of `data` (no copy): the ndarray constructor
        # costs far less than as_strided or sliding_window_view.
        rows = np.ndarray((count, size), np.float32, data, start * 4, (hop * 4, 4))
        np.multiply(rows, self.window, out=frames)
        if _raw_r2c is not None:
            spectrum = _raw_r2c(frames, (1,), True, 0, spectrum, 1)
        else:  # pragma: no cover - other scipy layouts
            spectrum = scipy.fft.rfft(frames, axis=1, workers=1)
        return np.abs(spectrum, out=mag)

    def amplitudes(self, mag: np.ndarray) -> np.ndarray:
        """Each band's sine amplitude per hop, float32 ``[count, 5]``, from :meth:`magnitudes`' result."""
        return np.sqrt(np.dot(np.square(mag[:, self.lo : self.hi]), self._power_member))  # np.dot: less dispatch


    def bass_amplitudes(self, mag: np.ndarray) -> np.ndarray:
        """The bass band's column of :meth:`amplitudes`, float32 ``[count]`` (its few bins alone)."""
        return np.sqrt(np.dot(np.square(mag[:, self.lo : self.lo + self.bass_bins]), self._bass_power))


class BandDft:
    """One MCAV band's amplitude from a direct DFT of only its bins: a long window's resolution at any hop.

    The bass band of a 512-sample window has two bins 94 Hz apart, and what a 40-60 Hz tone leaks
    into DC is lost (−1.3 to −5.9 dB by phase); a 1024-sample window reads it within 1.5 dB. Its
    5 bins cost one float32 matrix product per block (``[count, size] × [size, 10]``), far less than
    a second full transform at the short hop. The result equals :meth:`HopSpectra.amplitudes`' column
    for the band, to float32 rounding; when the band hop is the long hop (the default), the long
    transform already holds these windows and :meth:`HopSpectra.bass_amplitudes` reads them there.

    Args:
        size: Window length in samples.
        sample_rate: Input rate in Hz.
        band: Index of the MCAV band (0 = bass).
    """

    def __init__(self, size: int, sample_rate: int, band: int = 0) -> None:
        self.size = size
        bins = np.flatnonzero(band_bins(size, sample_rate) == band)
        hann = np.hanning(size)
        phase = 2.0 * np.pi * np.outer(np.arange(size), bins) / size
        self._basis = np.concatenate((np.cos(phase), np.sin(phase)), axis=1) * hann[:, None]
        self._basis = self._basis.astype(np.float32)
        self._power_scale = np.float32(4.0 / (size * float(np.sum(hann**2))))  # as in HopSpectra, unscaled window

    def amplitudes(self, data: np.ndarray, start: int, hop: int, count: int) -> np.ndarray:
        """The band's sine amplitude, float32 ``[count]``, of the windows of ``data`` from ``start``, ``hop`` apart."""
        rows = np.ndarray((count, self.size), np.float32, data, start * 4, (hop * 4, 4))
        parts = np.dot(rows, self._basis)
        return np.sqrt(np.add.reduce(np.square(parts, out=parts), axis=1) * self._power_scale)
