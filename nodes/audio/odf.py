"""The beat's onset rows: the band flux and the onset detection function (SuperFlux).

Böck & Widmer's SuperFlux (DAFx 2013), computed for all hops of a block at
once. The **onset function**: the magnitude spectrum goes through a bank of triangular filters spaced
``bands_per_octave`` per octave (bins narrower than a filter are merged, so
the low end keeps one filter per bin), is compressed as ``log(1 + γ·|X|)``,
and each band is compared with the *loudest of its neighbours* (±1 band) one
hop earlier. Only rises count (half-wave rectification), summed over the
bands. On a log-frequency axis every note is equally wide, so a melody or a
vibrato moving under one band is not an onset, while drums and plucked or
struck notes, which raise many bands at once, are. The **band flux**: the same
rule on the FFT bins themselves (the bass band's bins compared with themselves
alone: a kick's pitch drop is a fast glide, and it is the beat), the rises
averaged per MCAV band.

Both run as one pipeline over one row of columns per hop (the band bins, then
the filterbank's bands): one log, one widening, one difference and one matrix
product give all the rows, which is what the per-call cost of numpy rewards.
"""

from __future__ import annotations

import numpy as np

from .bands import HopSpectra

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


class _Plan:
    """The buffers for blocks of ``count`` hops (no allocation per hop).

    Only intermediate results live here: the rows a Spectrum carries are a fresh
    result, since frames may be held downstream.
    """

    __slots__ = ("bank", "count", "first", "flat_prev", "flat_wide", "last_log", "new_logs", "prev_log", "prev_logs", "widened")

    def __init__(self, count: int, width: int, bands: int) -> None:
        self.count = count
        # Log levels, one row per hop: row 0 is the hop before the block, rows 1… its hops.
        logs = np.empty((count + 1, width), np.float32)
        self.prev_log, self.last_log = logs[0], logs[-1]
        self.new_logs, self.prev_logs = logs[1:], logs[:-1]
        self.bank = np.empty((count, bands), np.float32)  # the filterbank's output, before its log
        # The previous hop's levels, max over ±1 column (zeros: a pad column's value is never read).
        self.widened = np.zeros((count, width), np.float32)
        # The same two blocks as flat vectors: a shifted maximum over a contiguous vector costs a
        # third of one over 2-D column slices (the row ends it mixes are rewritten or unused).
        self.flat_prev, self.flat_wide = self.prev_logs.reshape(-1), self.widened.reshape(-1)
        self.first = False  # True until the first hop of the stream is analysed


class OnsetFunction:
    """The band flux and the onset function of a block of hops (stream state: the previous hop's levels).

    Args:
        spectra: The long window's transform (its band bins, membership and bass band).
        sample_rate: Sample rate in Hz.
        bands_per_octave: Filterbank resolution. Default 12 (semitones).
        fmin: Lowest filter centre in Hz. Default 30.
        fmax: Highest filter centre in Hz. Default 16000 (capped below Nyquist).
    """

    def __init__(
        self, spectra: HopSpectra, sample_rate: int, bands_per_octave: int = 12, fmin: float = 30.0,
        fmax: float = 16000.0,
    ) -> None:
        self.filterbank = log_filterbank(spectra.size, sample_rate, bands_per_octave, fmin, fmax)
        self.bands = self.filterbank.shape[1]
        # The bank with its edge bands repeated outside: the ±1-band maximum then needs no edge case.
        # Only the bins it covers (30 Hz-16 kHz: two thirds of them at 48 kHz): a smaller matrix to
        # stream through the cache each block.
        used = np.flatnonzero(self.filterbank.any(axis=1))
        self._span = slice(int(used[0]), int(used[-1]) + 1)
        padded = self.filterbank[self._span][:, np.r_[0, : self.bands, self.bands - 1]]
        self._padded = np.ascontiguousarray(padded)
        self._lo, self._hi, self._bass = spectra.lo, spectra.hi, spectra.bass_bins
        bins = self._hi - self._lo
        self._bins = bins
        self._width = bins + self.bands + 2  # columns: the band bins, then the padded bank
        # Rises → (mean per bin of each MCAV band, sum over the filterbank's bands); pads count 0.
        total = np.zeros((self._width, 6), np.float32)
        total[:bins, :5] = spectra.member / spectra.member.sum(axis=0)
        total[bins + 1 : bins + 1 + self.bands, 5] = 1.0
        self._total = total
        self._plans: dict[int, _Plan] = {}
        self._plan: _Plan | None = None  # the plan of the last block (None before the first)

    def _plan_for(self, count: int) -> _Plan:
        """The buffers for blocks of ``count`` hops; the previous hop's levels follow the switch."""
        plan = self._plans.get(count)
        if plan is None:
            plan = self._plans[count] = _Plan(count, self._width, self.bands + 2)
        last = self._plan
        if last is None:
            plan.first = True
        else:
            plan.prev_log[...] = last.prev_log
        self._plan = plan
        return plan

    def compute(self, mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band flux, float32 ``[count, 5]``, and the onset function, float32 ``[count]``, of ``count`` hops.

        ``mag`` is ``γ·|X|`` ``[count, bins]`` (|X| = 1 for a full-scale sine). Units: the flux is the
        mean natural-log level rise per bin of each band, the onset function a sum of natural-log
        level rises over the filterbank's bands (0 for a steady sound; the first hop of a stream is 0).
        """
        count = mag.shape[0]
        plan = self._plan
        if plan is None or plan.count != count:
            plan = self._plan_for(count)
        bins, new = self._bins, plan.new_logs
        np.log1p(mag[:, self._lo : self._hi], out=new[:, :bins])
        np.log1p(np.dot(mag[:, self._span], self._padded, out=plan.bank), out=new[:, bins:])
        if plan.first:
            plan.first = False
            plan.prev_log[...] = new[0]  # no hop before the first: its rises are 0
        # Each column's reference: the loudest of its neighbours one hop earlier.
        prev, wide, flat, flat_prev = plan.prev_logs, plan.widened, plan.flat_wide, plan.flat_prev
        np.maximum(flat_prev[:-1], flat_prev[1:], out=flat[:-1])
        np.maximum(flat[1:], flat_prev[:-1], out=flat[1:])
        # The last band bin has one neighbour (the flat maxima mixed in the bank's first pad); the
        # bass bins, which begin each row, are compared with themselves alone.
        np.maximum(prev[:, bins - 1], prev[:, bins - 2], out=wide[:, bins - 1])
        wide[:, : self._bass] = prev[:, : self._bass]
        diff = np.subtract(new, wide, out=wide)
        rows = np.dot(np.maximum(diff, _ZERO, out=diff), self._total)
        plan.prev_log[...] = plan.last_log  # the previous row of the next block
        return rows[:, :5], rows[:, 5]
