"""Spectral analysis of a mono stream: the MCAV bands from a short window, the beat's flux from a long one.

The state machine behind the ``fft`` node (:mod:`.fft`), usable without a graph. Two windows run
side by side on the same samples: the **long** window (``size``/``hop``, 1024/512) gives the flux
and the onset function the beat tracker reads, exactly as a single-window analysis would; the
**short** window (``band_size``/``band_hop``, 512/512: the newest half of the long one) gives the
bands, AGC and peak that patterns and the wire show, so a sound reaches them after a short window's
worth of audio instead of a long one's. A Spectrum is emitted at each band hop; it carries flux rows
only for the long hops that ended in it, and ``hop_s`` (their spacing) is 0 when there are none (a
``band_hop`` shorter than ``hop``).
"""

from __future__ import annotations

import numpy as np

from mcav.nodes.presets import Preset
from mcav.runtime.frames import NUM_BANDS

from .agc import BandAgc
from .bands import BAND_EDGES_HZ, BandDft, HopSpectra, band_bins
from .bass_lane import BassLane, peak_abs
from .odf import OnsetFunction

__all__ = ["BAND_EDGES_HZ", "SpectrumAnalyzer", "band_bins"]

# The reduction itself: ndarray.max() adds a Python-level wrapper call.
_max = np.maximum.reduce
_ZERO = np.float32(0.0)  # a float32 scalar spares numpy the Python float's type resolution
_NO_FLUX = np.zeros((0, NUM_BANDS), np.float32)
_NO_ODF = np.zeros(0, np.float32)
_NO_FLUX.flags.writeable = _NO_ODF.flags.writeable = False  # shared by every frame without a long hop


class _Plan:
    """The flux's buffers for blocks of ``count`` long hops (no allocation per hop).

    Only intermediate results live here: every array a Spectrum carries is a
    fresh result, since frames may be held downstream.
    """

    __slots__ = ("count", "first", "flat_prev", "flat_wide", "last_log", "new_logs", "prev_log", "prev_logs", "widened")

    def __init__(self, count: int, width: int) -> None:
        self.count = count
        # Log-magnitudes of the band bins: row 0 is the hop before the block, rows 1… its hops.
        logs = np.empty((count + 1, width), np.float32)
        self.prev_log, self.last_log = logs[0], logs[-1]
        self.new_logs, self.prev_logs = logs[1:], logs[:-1]
        self.widened = np.empty((count, width), np.float32)  # previous hop's logs, max over ±1 bin
        # The same two blocks as flat vectors: a shifted maximum over a contiguous vector costs a
        # third of one over 2-D column slices (the row ends it mixes are rewritten after).
        self.flat_prev, self.flat_wide = self.prev_logs.reshape(-1), self.widened.reshape(-1)
        self.first = False  # True until the first hop of the stream is analysed


class SpectrumAnalyzer:
    """The stream state of one ``fft`` node at one sample rate (usable without a graph).

    All hops that end inside a block are analysed together: one 2-D ``rfft``
    per window length over a strided view of the windows, band sums as matrix
    products. The per-call cost of numpy (a few µs) then counts once per block
    instead of once per hop, which is what limits analysis speed on short hops.
    Computation is float32 (band values, flux and magnitudes are float32
    anyway); inputs of any float dtype are accepted.

    Band hops end on multiples of ``band_hop`` and long hops on multiples of
    ``hop`` (sample indices from the stream's start), so every long hop ends
    with a band hop. A frame ends at the newest band hop of its block, or at
    the newest long hop when one ended in the block: band hops after it wait
    for the next block, so the flux's newest row always ends at ``t_audio``
    (only blocks that are not a multiple or divisor of ``band_hop`` and
    ``hop`` ever wait).

    Args:
        sample_rate: Input rate in Hz.
        size: Long FFT length in samples (flux and onset function).
        hop: Samples between long analyses.
        gate: Noise gate threshold on the largest absolute sample, 0-1.
        agc_half_life: Fall time to half of each band's AGC peak, in s.
        bass_cutoff: Corner of the bass lane's low-pass, in Hz.
        start_sample: Index of the first sample fed (so times follow the source's audio time).
        band_size: Short FFT length for the bands, in samples (None = ``size``).
        band_hop: Samples between band analyses (None = ``hop``); must divide ``hop``.

    Raises:
        ValueError: when ``band_hop`` does not divide ``hop``, or a window has no bin in a band.
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
        band_size: int | None = 512,
        band_hop: int | None = 512,
    ) -> None:
        band_size = size if band_size is None else band_size
        band_hop = hop if band_hop is None else band_hop
        if band_hop > hop or hop % band_hop:
            raise ValueError(f"band_hop {band_hop} must divide hop {hop} (so every long hop ends with a band hop)")
        self.sr = sample_rate
        self.size, self.hop = size, hop
        self.band_size, self.band_hop = band_size, band_hop
        self.long = HopSpectra(size, sample_rate)
        # One transform serves both when the windows are the same.
        self.short = self.long if (band_size, band_hop) == (size, hop) else HopSpectra(band_size, sample_rate)
        # The bass band keeps the long window's resolution at the band hop (a short window blurs 40-100 Hz).
        self._bass = BandDft(size, sample_rate) if band_size < size else None
        member = self.long.member
        self._flux_member = (member / member.sum(axis=0)).astype(np.float32)  # mean flux per bin of each band
        # The samples kept before each block: a window that waited up to a hop.
        self._keep = max(size, band_size) + hop
        self._tail = np.zeros(self._keep, np.float32)
        self._pos = start_sample  # index of the next sample
        self._next_band = (start_sample // band_hop + 1) * band_hop  # end of the next band window
        self._plans: dict[int, _Plan] = {}
        self._plan: _Plan | None = None  # the plan of the last block with long hops (None before the first)
        self._hop_s = hop / sample_rate
        self._band_hop_s = band_hop / sample_rate
        self._window_s = size / sample_rate
        self.agc = BandAgc(NUM_BANDS, agc_half_life, gate)
        self.bass = BassLane(sample_rate, bass_cutoff)
        self.onsets = OnsetFunction(size, sample_rate)

    def _plan_for(self, count: int) -> _Plan:
        """The buffers for blocks of ``count`` hops; the previous hop's log row follows the switch."""
        plan = self._plans.get(count)
        if plan is None:
            plan = self._plans[count] = _Plan(count, self.long.hi - self.long.lo)
        last = self._plan
        if last is not plan:
            if last is None:
                plan.first = True
            else:
                plan.prev_log[...] = last.prev_log
            self._plan = plan
        return plan

    def analyze(self, mono: np.ndarray, preset: Preset) -> dict | None:
        """Feed a block of mono samples; return the fields of a Spectrum, or None if no band hop ended."""
        n = mono.shape[0]
        keep, hop, pos = self._keep, self.hop, self._pos
        # One call both joins the previous tail and converts to float32.
        data = np.concatenate((self._tail, mono), dtype=np.float32)
        end = self._pos = pos + n
        self._tail = data[-keep:]
        level, kick = self.bass.update(data[keep:])
        last = end // self.band_hop * self.band_hop  # the newest band window end in reach
        if last < self._next_band:
            return None
        base = pos - keep  # the sample index of data[0]
        first = (pos // hop + 1) * hop  # first long window end inside this block
        count = (end - first) // hop + 1 if first <= end else 0
        if count:
            last = first + (count - 1) * hop  # the frame ends with its newest long hop
            mag = self.long.magnitudes(data, first - self.size - base, hop, count)
            flux, odf, hop_s = self._flux(mag, count), self.onsets.compute(mag), self._hop_s
        else:
            # No flux rows, so no flux spacing: the beat node reports its state without advancing it, and
            # flags beats only in frames with onset samples, exactly as a single-window analysis would.
            flux, odf, hop_s = _NO_FLUX, _NO_ODF, 0.0
        short, band_hop = self.short, self.band_hop
        oldest = self._next_band  # the end of the frame's oldest band window
        bcount = (last - oldest) // band_hop + 1
        bstart = oldest - self.band_size - base  # that window's start in `data`
        self._next_band = last + band_hop
        bmag = mag if short is self.long else short.magnitudes(data, bstart, band_hop, bcount)
        raw = short.amplitudes(bmag)
        if self._bass is not None:
            if count and oldest == first and bcount == count:  # the band windows end with the long ones
                raw[:, 0] = self.long.bass_amplitudes(mag)  # (the default band_hop = hop): already transformed
            else:
                raw[:, 0] = self._bass.amplitudes(data, oldest - self.size - base, band_hop, bcount)
        # The noise gate looks at the newest hop of every band window ending in this frame.
        fresh = data[bstart + self.band_size - band_hop : bstart + self.band_size + (bcount - 1) * band_hop]
        amplitude = peak_abs(fresh)
        # AGC and smoothing run once per output frame, on the loudest hop of the
        # frame; their factors are per second, so this matches per-hop updates
        # when a frame is one hop (live) and costs less when it is many (files).
        bands = self.agc.update(_max(raw, axis=0), amplitude, self._band_hop_s * bcount, preset)
        return {
            "t_audio": last / self.sr,
            "bands": bands,
            "raw_bands": raw[-1],
            "peak": max(self.agc.smoothed),
            "magnitudes": bmag[-1] * short.mag_scale,
            "hop_s": hop_s,
            "flux": flux,
            "odf": odf,
            "window_s": self._window_s,
            "amplitude": amplitude,
            "instant_bass": level,
            "instant_kick": kick,
        }

    def _flux(self, mag: np.ndarray, count: int) -> np.ndarray:
        """Positive log-magnitude flux per band of ``count`` long hops, float32 ``[count, 5]``."""
        plan = self._plan
        if plan is None or plan.count != count:
            plan = self._plan_for(count)
        bass_bins = self.long.bass_bins
        np.log1p(mag[:, self.long.lo : self.long.hi], out=plan.new_logs)
        if plan.first:
            plan.first = False
            plan.prev_log[...] = plan.new_logs[0]  # no hop before the first: its flux is 0
        # SuperFlux (Böck & Widmer 2013): above the bass band, compare each bin with the loudest of its
        # neighbours one hop earlier, so a vibrato or a glide moving by under a bin is not an onset.
        prev, wide, flat, flat_prev = plan.prev_logs, plan.widened, plan.flat_wide, plan.flat_prev
        np.maximum(flat_prev[:-1], flat_prev[1:], out=flat[:-1])
        np.maximum(flat[1:], flat_prev[:-1], out=flat[1:])
        # Each row's last bin has one neighbour (the flat maxima mixed in the next row's first).
        np.maximum(prev[:, -1], prev[:, -2], out=wide[:, -1])
        # Not in the bass band (which holds each row's first bin, mixed with the previous row's
        # last above): a kick's pitch drop is a fast glide, and it is the beat.
        wide[:, :bass_bins] = prev[:, :bass_bins]
        diff = np.subtract(plan.new_logs, wide, out=wide)
        flux = np.dot(np.maximum(diff, _ZERO, out=diff), self._flux_member)
        plan.prev_log[...] = plan.last_log  # the previous row of the next block
        return flux
