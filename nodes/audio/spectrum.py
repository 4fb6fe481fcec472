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
_NO_FLUX = np.zeros((0, NUM_BANDS), np.float32)
_NO_ODF = np.zeros(0, np.float32)
_NO_FLUX.flags.writeable = _NO_ODF.flags.writeable = False  # shared by every frame without a long hop


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
        # The samples kept before each block: a window that waited up to a hop.
        self._keep = max(size, band_size) + hop
        self._tail = np.zeros(self._keep, np.float32)
        self._pos = start_sample  # index of the next sample
        self._next_band = (start_sample // band_hop + 1) * band_hop  # end of the next band window
        self._hop_s = hop / sample_rate
        self._band_hop_s = band_hop / sample_rate
        self._window_s = size / sample_rate
        self.agc = BandAgc(NUM_BANDS, agc_half_life, gate)
        self.bass = BassLane(sample_rate, bass_cutoff)
        self.onsets = OnsetFunction(self.long, sample_rate)

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
            (flux, odf), hop_s = self.onsets.compute(mag), self._hop_s
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
