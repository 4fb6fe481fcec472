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

from collections.abc import Sequence

import numpy as np

from mcav.nodes.presets import Preset
from mcav.runtime.frames import NUM_BANDS

from .agc import BandAgc
from .bands import BAND_EDGES_HZ, BandDft, HopSpectra, band_bins
from .bass_lane import BassLane, peak_abs
from .level import InputLevel
from .odf import OnsetFunction

__all__ = ["BAND_EDGES_HZ", "SpectrumAnalyzer", "band_bins"]

# The reduction itself: ndarray.max() adds a Python-level wrapper call.
_max = np.maximum.reduce
_NO_FLUX = np.zeros((0, NUM_BANDS), np.float32)
_NO_ODF = np.zeros(0, np.float32)
_NO_MAG = np.zeros((0, 0), np.float32)
# Shared by every frame without a long hop:
_NO_FLUX.flags.writeable = _NO_ODF.flags.writeable = _NO_MAG.flags.writeable = False


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
        self.level = InputLevel(self._hop_s)  # the onset rows' input at full scale (:mod:`.level`)

    def analyze(self, mono: np.ndarray, preset: Preset) -> dict | None:
        """Feed a block of mono samples; return the fields of a Spectrum, or None if no band hop ended."""
        return self.analyze_many((mono,), preset)[0]

    def analyze_many(self, blocks: Sequence[np.ndarray], preset: Preset) -> list[dict | None]:
        """:meth:`analyze` for each of ``blocks`` in turn, with one transform per window length for all of them.

        Returns what ``analyze`` would have returned block by block (the same fields, equal to float32
        rounding). A file read flat out hands several blocks at once: the transforms, the onset rows
        and the band sums then run once over all their hops, which costs far less than once per block
        (numpy's per-call cost), while AGC, gate and bass lane still advance block by block.
        """
        keep, hop, band_hop = self._keep, self.hop, self.band_hop
        pos0 = self._pos
        # One call both joins the previous tail and converts to float32.
        data = np.concatenate((self._tail, *blocks), dtype=np.float32)
        base = pos0 - keep  # the sample index of data[0]
        # Plan each block with the stream's index arithmetic alone: its long hops, then its band hops.
        # Long hops end on multiples of `hop`, and each block takes the band hops up to its newest
        # long hop (or band hop when no long hop ended), so both runs are contiguous over the blocks.
        ends: list[int] = []
        plans: list[tuple[int, int, int, int, int] | None] = []  # long hops (first, count), band hops, end
        pos, next_band = pos0, self._next_band
        first_long = (pos0 // hop + 1) * hop  # the first long window end after the stream's position
        longs = bands = 0  # hops planned so far
        aligned = True  # every frame's band windows end with its long ones (the default band_hop = hop)
        oldest_band = next_band  # the end of the first frame's oldest band window
        for mono in blocks:
            end = pos + mono.shape[0]
            ends.append(end - pos0)
            first = (pos // hop + 1) * hop  # first long window end inside this block
            count = (end - first) // hop + 1 if first <= end else 0
            last = first + (count - 1) * hop if count else end // band_hop * band_hop
            if last < next_band:  # no band hop ended (hence no long hop either)
                plans.append(None)
            else:
                oldest = next_band  # the end of the frame's oldest band window
                bcount = (last - oldest) // band_hop + 1
                plans.append((longs, count, bands, bcount, last))
                aligned = aligned and count == bcount and oldest == first
                longs, bands, next_band = longs + count, bands + bcount, last + band_hop
            pos = end
        self._pos, self._next_band = pos, next_band
        self._tail = data[-keep:]
        kicks = self.bass.update_many(data[keep:], ends)
        if not bands:
            return [None] * len(blocks)
        mag, flux_all, odf_all = _NO_MAG, _NO_FLUX, _NO_ODF  # read only when `longs`
        if longs:
            start = first_long - self.size - base
            mag = self.long.magnitudes(data, start, hop, longs)
            newest = np.ndarray((longs, hop), np.float32, data, (start + self.size - hop) * 4, (hop * 4, 4))
            flux_all, odf_all = self.onsets.compute(self.level.scale(mag, newest))  # each hop's newest samples
        bstart = oldest_band - self.band_size - base  # the oldest band window's start in `data`
        short = self.short
        bmag = mag if short is self.long else short.magnitudes(data, bstart, band_hop, bands)
        raw = short.amplitudes(bmag)
        if self._bass is not None:
            # The bass band keeps the long window's resolution: the long transform holds its windows when
            # the band windows end with the long ones; else its own direct DFT.
            if aligned:
                raw[:, 0] = self.long.bass_amplitudes(mag)
            else:
                raw[:, 0] = self._bass.amplitudes(data, oldest_band - self.size - base, band_hop, bands)
        out: list[dict | None] = []
        fresh_end = bstart + self.band_size  # the newest hop of each band window: the noise gate looks there
        for plan, (level, kick) in zip(plans, kicks):
            if plan is None:
                out.append(None)
                continue
            l0, count, b0, bcount, last = plan
            b1 = b0 + bcount
            if not count:
                # No flux rows, so no flux spacing: the beat node reports its state without advancing it, and
                # flags beats only in frames with onset samples, exactly as a single-window analysis would.
                flux, odf, hop_s = _NO_FLUX, _NO_ODF, 0.0
            elif count == longs:  # the run's only frame with long hops (always, live): no slices to make
                flux, odf, hop_s = flux_all, odf_all, self._hop_s
            else:
                flux, odf, hop_s = flux_all[l0 : l0 + count], odf_all[l0 : l0 + count], self._hop_s
            amplitude = peak_abs(data[fresh_end + (b0 - 1) * band_hop : fresh_end + (b1 - 1) * band_hop])
            # AGC and smoothing run once per output frame, on the loudest hop of the
            # frame; their factors are per second, so this matches per-hop updates
            # when a frame is one hop (live) and costs less when it is many (files).
            rows = raw if bcount == bands else raw[b0:b1]
            out.append({
                "t_audio": last / self.sr,
                "bands": self.agc.update(_max(rows, axis=0), amplitude, self._band_hop_s * bcount, preset),
                "raw_bands": rows[-1],
                "peak": max(self.agc.smoothed),
                "magnitudes": bmag[b1 - 1] * short.mag_scale,
                "hop_s": hop_s,
                "flux": flux,
                "odf": odf,
                "window_s": self._window_s,
                "amplitude": amplitude,
                "instant_bass": level,
                "instant_kick": kick,
            })
        return out
