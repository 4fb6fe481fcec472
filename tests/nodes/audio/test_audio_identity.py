"""The analysis's fast paths equal plain references computed here, bit for bit.

The ``fft`` and ``beat`` nodes are written for speed (flat vectors, raw transform
entry points, buffers reused per block); each test below recomputes one result the
obvious way and asks for the very same bits, so a speed-up cannot change an output.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcav.nodes.audio.spectrum import SpectrumAnalyzer
from mcav.nodes.audio.synth import SynthSignal
from mcav.nodes.presets import get_preset


def _reference_flux(an: SpectrumAnalyzer, mags: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """SuperFlux hop by hop: per band, each bin against the loudest of its ±1 neighbours one hop earlier;
    the onset function, each filterbank band against the loudest of its ±1 neighbour bands."""
    lo, hi, bass = an.long.lo, an.long.hi, an.long.bass_bins
    member = (an.long.member / an.long.member.sum(axis=0)).astype(np.float32)
    bank = an.onsets.filterbank
    blocks, odf, prev, prev_bank = [], [], None, None
    for mag in mags:
        rises = []
        for row in mag:
            logs, bands = np.log1p(row[lo:hi]), np.log1p(row @ bank)
            if prev is None:
                prev, prev_bank = logs, bands
            wide = prev.copy()
            wide[:-1] = np.maximum(wide[:-1], prev[1:])
            wide[1:] = np.maximum(wide[1:], prev[:-1])
            wide[:bass] = prev[:bass]
            rises.append(np.maximum(logs - wide, np.float32(0.0)))
            wide = prev_bank.copy()
            wide[:-1] = np.maximum(wide[:-1], prev_bank[1:])
            wide[1:] = np.maximum(wide[1:], prev_bank[:-1])
            odf.append(np.maximum(bands - wide, 0.0).sum())
            prev, prev_bank = logs, bands
        blocks.append(np.dot(np.array(rises), member))  # one product per block, as the node does
    return np.concatenate(blocks), np.array(odf)


@pytest.mark.parametrize("block", [512, 2048, 1500])
def test_flux_equals_the_hop_by_hop_reference(block: int) -> None:
    x = SynthSignal(48000, bpm=128, noise=0.05).render(0, 48000 * 3)
    an = SpectrumAnalyzer(48000)
    seen: list[np.ndarray] = []
    compute = an.onsets.compute

    def spy(mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # the magnitudes as the onset rows saw them
        seen.append(mag.copy())
        return compute(mag)

    an.onsets.compute = spy  # type: ignore[method-assign]
    preset = get_preset("auto")
    frames = [an.analyze(x[i : i + block], preset) for i in range(0, x.size, block)]
    flux = np.concatenate([f["flux"] for f in frames if f is not None])
    odf = np.concatenate([f["odf"] for f in frames if f is not None])
    assert flux.shape[0] == odf.shape[0] == sum(m.shape[0] for m in seen) > 100
    ref_flux, ref_odf = _reference_flux(an, seen)
    assert np.array_equal(flux, ref_flux)
    # The onset function sums ~70 bands: its summation order (a matrix product) is free, to float32 rounding.
    np.testing.assert_allclose(odf, ref_odf, rtol=1e-5, atol=1e-5)
    assert odf.max() > 1


def test_periodicity_combs_equal_scipy_fft_reference() -> None:
    from scipy.fft import irfft, rfft

    from mcav.nodes.audio.periodicity import Periodicity

    per = Periodicity(93.75, 28.0, 94.0)
    x = np.maximum(np.random.default_rng(3).standard_normal(750), 0.0).astype(np.float32)  # the dtype used
    combs = per._combs(x)
    nfft, _, index, weight = per._plans[x.size]
    y = x - float(x.mean())
    rows = np.concatenate((y[None, :], y[per._shuffles(x.size)[1:]]))
    acf = irfft(rfft(rows, nfft, axis=1) * np.conj(rfft(rows, nfft, axis=1)), nfft, axis=1)
    ref = np.dot(acf[:, index], weight) * (1.0 / (acf[:, :1] + 1e-12))
    ref -= np.median(ref, axis=1, keepdims=True)
    assert combs.shape == (9, weight.shape[1])
    assert np.array_equal(combs, ref)
