"""Spectral analysis of a mono stream: all hops of a block in one batch → MCAV bands, AGC, flux, bass lane.

The state machine behind the ``fft`` node (:mod:`.fft`), usable without a graph.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

try:  # scipy.fft.rfft's dispatch and argument checks cost as much as a 4 × 1024 float32 transform
    from scipy.fft._pocketfft.pypocketfft import r2c as _raw_r2c
except ImportError:  # pragma: no cover - other scipy layouts
    _raw_r2c = None

from mcav.nodes.presets import Preset
from mcav.runtime.frames import NUM_BANDS

from .agc import BandAgc
from .bass_lane import BassLane, peak_abs
from .odf import OnsetFunction

__all__ = ["BAND_EDGES_HZ", "SpectrumAnalyzer", "band_bins"]

#: The MCAV bands (WIRE.md 6.1), in Hz: bass, low-mid, mid, high-mid, treble.
BAND_EDGES_HZ: tuple[tuple[float, float], ...] = (
    (40.0, 250.0),
    (250.0, 500.0),
    (500.0, 2000.0),
    (2000.0, 6000.0),
    (6000.0, 20000.0),
)

# The reduction itself: ndarray.max() adds a Python-level wrapper call.
_max = np.maximum.reduce
_ZERO = np.float32(0.0)  # a float32 scalar spares numpy the Python float's type resolution

#: Compression inside the log of the flux: log(1 + γ·|X|), |X| = 1 for a full-scale sine.
_LOG_GAMMA = 1000.0


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


class _Plan:
    """Buffers and views reused by every block of ``count`` hops (no allocation per hop).

    Only intermediate results live here: every array a Spectrum carries is a
    fresh result, since frames may be held downstream.
    """

    __slots__ = (
        "band_mag", "count", "first", "frames", "last_log", "mag", "new_logs", "prev_log", "prev_logs", "spectrum",
        "widened",
    )  # fmt: skip

    def __init__(self, count: int, size: int, lo: int, hi: int) -> None:
        self.count = count
        self.frames = np.empty((count, size), np.float32)  # windowed frames, one per row
        self.spectrum = np.empty((count, size // 2 + 1), np.complex64)
        self.mag = np.empty((count, size // 2 + 1), np.float32)
        self.band_mag = self.mag[:, lo:hi]  # the bins inside a band
        # Log-magnitudes of the band bins: row 0 is the hop before the block, rows 1… its hops.
        logs = np.empty((count + 1, hi - lo), np.float32)
        self.prev_log, self.last_log = logs[0], logs[-1]
        self.new_logs, self.prev_logs = logs[1:], logs[:-1]
        self.widened = np.empty((count, hi - lo), np.float32)  # previous hop's logs, max over ±1 bin
        self.first = False  # True until the first hop of the stream is analysed


class SpectrumAnalyzer:
    """The stream state of one ``fft`` node at one sample rate (usable without a graph).

    All hops that end inside a block are analysed together: one 2-D ``rfft``
    over a strided view of the windows, band sums as matrix products. The
    per-call cost of numpy (a few µs) then counts once per block instead of
    once per hop, which is what limits analysis speed on short hops.
    Computation is float32 (band values, flux and magnitudes are float32
    anyway); inputs of any float dtype are accepted.

    Args:
        sample_rate: Input rate in Hz.
        size: FFT length in samples.
        hop: Samples between analyses.
        gate: Noise gate threshold on the largest absolute sample, 0-1.
        agc_half_life: Fall time to half of each band's AGC peak, in s.
        bass_cutoff: Corner of the bass lane's low-pass, in Hz.
        start_sample: Index of the first sample fed (so times follow the source's audio time).
    """

    def __init__(
        self,
        sample_rate: int,
        size: int = 1024,
        hop: int = 512,
        gate: float = 0.02,
        agc_half_life: float = 2.3,
        bass_cutoff: float = 120.0,
        start_sample: int = 0,
    ) -> None:
        self.sr = sample_rate
        self.size = size
        self.hop = hop
        bands = band_bins(size, sample_rate)
        member = np.stack([bands == b for b in range(NUM_BANDS)], axis=1).astype(np.float64)
        # Only bins inside a band enter the band sums and the flux: slice them once.
        used = np.flatnonzero(bands >= 0)
        self._lo, self._hi = int(used[0]), int(used[-1]) + 1
        member = member[self._lo : self._hi]
        self._bass_bins = int(member[:, 0].sum())  # the first bins of the band slice are the bass band's
        hann = np.hanning(size)
        # The window carries the flux's scale, so |rfft| is already γ·|X| (one multiply less per hop):
        # |X| = 1 for a full-scale sine (2/Σw), and the flux is log(1 + γ·|X|).
        log_scale = _LOG_GAMMA * 2.0 / float(np.sum(hann))
        self._window = (hann * log_scale).astype(np.float32)
        self._mag_scale = np.float32(1.0 / _LOG_GAMMA)  # scaled |rfft| → |X|
        # Σ|X_k|² over a band, times 4/(N·Σw²), is the amplitude² of a sine in that band (Parseval);
        # the window's log_scale is divided back out here.
        power_scale = 4.0 / (size * float(np.sum(hann**2))) / log_scale**2
        self._power_member = (member * power_scale).astype(np.float32)
        self._flux_member = (member / member.sum(axis=0)).astype(np.float32)  # mean flux per bin of each band
        self._tail = np.zeros(size, np.float32)  # the last `size` samples before the current block
        self._pos = start_sample  # index of the next sample
        self._plans: dict[int, _Plan] = {}
        self._plan: _Plan | None = None  # the plan of the last block (None before the first hop)
        self._hop_s = hop / sample_rate
        self._window_s = size / sample_rate
        self.agc = BandAgc(NUM_BANDS, agc_half_life, gate)
        self.bass = BassLane(sample_rate, bass_cutoff)
        self.onsets = OnsetFunction(size, sample_rate)

    def _plan_for(self, count: int) -> _Plan:
        """The buffers for blocks of ``count`` hops; the previous hop's log row follows the switch."""
        plan = self._plans.get(count)
        if plan is None:
            plan = self._plans[count] = _Plan(count, self.size, self._lo, self._hi)
        last = self._plan
        if last is not plan:
            if last is None:
                plan.first = True
            else:
                plan.prev_log[...] = last.prev_log
            self._plan = plan
        return plan

    def analyze(self, mono: np.ndarray, preset: Preset) -> dict | None:
        """Feed a block of mono samples; return the fields of a Spectrum, or None if no hop ended."""
        n = mono.shape[0]
        size, hop, pos = self.size, self.hop, self._pos
        # One call both joins the previous tail and converts to float32.
        data = np.concatenate((self._tail, mono), dtype=np.float32)
        self._pos = pos + n
        self._tail = data[-size:]
        level, kick = self.bass.update(data[size:])
        first = (pos // hop + 1) * hop  # first window end inside this block
        if first > pos + n:
            return None
        count = (pos + n - first) // hop + 1
        start = first - pos  # that window's start inside `data` (its end relative to the block start)
        # The windows as rows of a strided view of `data` (no copy): the ndarray constructor
        # costs far less than as_strided or sliding_window_view.
        rows = np.ndarray((count, size), np.float32, data, start * 4, (hop * 4, 4))
        plan = self._plan
        if plan is None or plan.count != count:
            plan = self._plan_for(count)
        np.multiply(rows, self._window, out=plan.frames)
        if _raw_r2c is not None:
            spectrum = _raw_r2c(plan.frames, (1,), True, 0, plan.spectrum, 1)
        else:  # pragma: no cover - other scipy layouts
            spectrum = scipy.fft.rfft(plan.frames, axis=1, workers=1)
        mag = np.abs(spectrum, out=plan.mag)
        band_mag = plan.band_mag
        raw = np.sqrt(np.dot(np.square(band_mag), self._power_member))  # np.dot: less dispatch than @
        np.log1p(band_mag, out=plan.new_logs)
        if plan.first:
            plan.first = False
            plan.prev_log[...] = plan.new_logs[0]  # no hop before the first: its flux is 0
        # SuperFlux (Böck & Widmer 2013): above the bass band, compare each bin with the loudest of its
        # neighbours one hop earlier, so a vibrato or a glide moving by under a bin is not an onset.
        prev, wide = plan.prev_logs, plan.widened
        np.maximum(prev[:, :-1], prev[:, 1:], out=wide[:, :-1])
        wide[:, -1] = prev[:, -1]
        np.maximum(wide[:, 1:], prev[:, :-1], out=wide[:, 1:])
        # Not in the bass band: a kick's pitch drop is a fast glide, and it is the beat.
        wide[:, : self._bass_bins] = prev[:, : self._bass_bins]
        diff = np.subtract(plan.new_logs, wide, out=wide)
        flux = np.dot(np.maximum(diff, _ZERO, out=diff), self._flux_member)
        plan.prev_log[...] = plan.last_log  # the previous row of the next block
        odf = self.onsets.compute(mag)
        # The noise gate looks at the newest hop of every window ending in this block.
        fresh = data[start + size - hop : start + size + (count - 1) * hop]
        amplitude = peak_abs(fresh)
        hop_s = self._hop_s
        # AGC and smoothing run once per output frame, on the loudest hop of the
        # frame; their factors are per second, so this matches per-hop updates
        # when a frame is one hop (live) and costs less when it is many (files).
        bands = self.agc.update(_max(raw, axis=0), amplitude, hop_s * count, preset)
        return {
            "t_audio": (first + (count - 1) * hop) / self.sr,
            "bands": bands,
            "raw_bands": raw[-1],
            "peak": max(self.agc.smoothed),
            "magnitudes": mag[-1] * self._mag_scale,
            "hop_s": hop_s,
            "flux": flux,
            "odf": odf,
            "window_s": self._window_s,
            "amplitude": amplitude,
            "instant_bass": level,
            "instant_kick": kick,
        }
