"""The batched analysis kernels give what the per-hop / per-sample definitions give."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from mcav.nodes.audio.bass_lane import BassLane, peak_abs
from mcav.nodes.audio.fft import SpectrumAnalyzer, downmix
from mcav.nodes.audio.onset import History, OnsetDetector
from mcav.nodes.audio.synth import SynthSignal
from mcav.nodes.audio.tempo import TempoEstimator
from mcav.nodes.presets import get_preset

SR = 48000
AUTO = get_preset("auto")


@pytest.mark.parametrize("size", [1, 3, 8, 50])
def test_history_extend_equals_pushing_each_value(size: int) -> None:
    rng = np.random.default_rng(size)
    one, many = History(size), History(size)
    for _ in range(300):
        values = rng.standard_normal(int(rng.integers(0, 2 * size + 3)))  # empty, wrapping, longer than size
        for v in values:
            one.push(float(v))
        many.extend(values)
        assert many.count == one.count
        for m in (1, size // 2 + 1, size):
            np.testing.assert_array_equal(many.last(m), one.last(m))


def test_onset_detector_push_all_equals_push() -> None:
    rng = np.random.default_rng(1)
    values = np.abs(rng.standard_normal(3000)) ** 3  # spiky, so onsets happen
    single, batch = OnsetDetector(93.75), OnsetDetector(93.75)
    flags = []
    for i in range(0, len(values), 4):
        chunk = values[i : i + 4].tolist()
        expected = False
        for v in chunk:
            expected |= single.push(v, 1.3)
        flags.append(expected)
        assert batch.push_all(chunk, 1.3) == expected
        assert (batch.mean, batch.var, batch.strength) == (single.mean, single.var, single.strength)
    assert sum(flags) > 10


def test_spectra_do_not_depend_on_how_the_stream_is_cut() -> None:
    """All hops of a block are analysed at once; the flux rows and the last band hop's bands must match hop by hop."""
    x = SynthSignal(SR, bpm=128, noise=0.02).render(0, SR * 2)
    per_hop = [SpectrumAnalyzer(SR).analyze(x[:0], AUTO)]  # an empty block yields nothing
    assert per_hop == [None]
    a, b = SpectrumAnalyzer(SR), SpectrumAnalyzer(SR)
    step = a.band_hop  # one band hop per block: the reference
    hops = [h for h in (a.analyze(x[i : i + step], AUTO) for i in range(0, len(x), step)) if h is not None]
    rng = np.random.default_rng(2)
    cuts = np.cumsum(rng.choice([1, 100, 511, 512, 513, 2048, 3000], size=200))
    blocks = [r for r in (b.analyze(x[i:j], AUTO) for i, j in zip(np.r_[0, cuts], cuts)) if r is not None]
    flux_hops = np.concatenate([h["flux"] for h in hops])
    flux_blocks = np.concatenate([r["flux"] for r in blocks])
    n = len(flux_blocks)
    np.testing.assert_allclose(flux_blocks, flux_hops[:n], atol=1e-5)
    odf_blocks = np.concatenate([r["odf"] for r in blocks])
    np.testing.assert_allclose(odf_blocks, np.concatenate([h["odf"] for h in hops])[:n], rtol=1e-4, atol=1e-4)
    assert odf_blocks.shape == (n,) and odf_blocks.dtype == np.float32 and odf_blocks.max() > 1
    by_time = {round(h["t_audio"] * SR): h for h in hops}
    for r in blocks:
        h = by_time[round(r["t_audio"] * SR)]
        np.testing.assert_allclose(r["raw_bands"], h["raw_bands"], rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(r["magnitudes"], h["magnitudes"], rtol=1e-5, atol=1e-9)
        assert r["magnitudes"].dtype == np.float32 and r["flux"].dtype == np.float32


def test_spectrum_arrays_are_not_reused_buffers() -> None:
    """Frames may be held downstream: the next block must not overwrite an earlier Spectrum's arrays."""
    an = SpectrumAnalyzer(SR)
    x = SynthSignal(SR, bpm=120).render(0, SR)
    first = an.analyze(x[:2048], AUTO)
    kept = {k: first[k].copy() for k in ("bands", "raw_bands", "magnitudes", "flux", "odf")}
    an.analyze(x[2048:4096], AUTO)
    for k, v in kept.items():
        np.testing.assert_array_equal(first[k], v)


@pytest.mark.parametrize(
    "windows",
    [{}, {"band_size": 1024, "band_hop": 512}, {"band_size": 512, "band_hop": 256}, {"size": 2048, "hop": 1024}],
    ids=["default", "one-window", "short-band-hop", "long-hop"],
)
def test_analyze_many_equals_analyze_block_by_block(windows: dict[str, int]) -> None:
    """A burst's blocks analysed together give each block's fields as analysing it alone does."""
    x = SynthSignal(SR, bpm=128, noise=0.02).render(0, SR * 3)
    rng = np.random.default_rng(4)
    cuts = np.cumsum(rng.choice([0, 1, 100, 511, 512, 513, 2048, 3000], size=120))
    blocks = [x[i:j] for i, j in zip(np.r_[0, cuts], cuts)]  # empty, waiting, several-hop blocks
    alone, together = SpectrumAnalyzer(SR, **windows), SpectrumAnalyzer(SR, **windows)
    one = [alone.analyze(b, AUTO) for b in blocks]
    many: list[dict | None] = []
    while len(many) < len(blocks):
        many += together.analyze_many(blocks[len(many) : len(many) + int(rng.integers(1, 10))], AUTO)
    assert [r is None for r in many] == [r is None for r in one]
    assert sum(r is not None for r in one) > 60
    for r, s in zip(one, many):
        if r is None:
            continue
        assert r.keys() == s.keys()
        assert r["flux"].shape == (r["odf"].shape[0], 5) and (r["hop_s"] > 0) == (r["odf"].shape[0] > 0)
        for k in ("t_audio", "hop_s", "window_s", "amplitude", "instant_bass", "instant_kick"):
            assert s[k] == r[k], k
        for k in ("bands", "raw_bands", "magnitudes", "flux", "odf"):
            assert s[k].shape == r[k].shape and s[k].dtype == r[k].dtype, k
            np.testing.assert_allclose(s[k], r[k], rtol=1e-5, atol=1e-7, err_msg=k)
        assert s["peak"] == pytest.approx(r["peak"], rel=1e-5)


def test_bass_lane_update_many_equals_update_block_by_block() -> None:
    x = SynthSignal(SR, bpm=120).render(0, SR).astype(np.float32)
    ends = [0, 0, 1, 700, 2048, 2048, 6000, 12000, len(x)]  # empty blocks too
    alone, together = BassLane(SR), BassLane(SR)
    one = [alone.update(x[i:j]) for i, j in zip([0, *ends[:-1]], ends)]
    assert together.update_many(x, ends) == one
    assert any(kick for _, kick in one) and (together.env, together.peak) == (alone.env, alone.peak)


def test_bass_lane_filters_every_sample_in_either_precision() -> None:
    x = SynthSignal(SR, bpm=120).render(0, SR).astype(np.float64)
    lanes = {np.float32: BassLane(SR), np.float64: BassLane(SR)}
    for dtype, lane in lanes.items():
        levels = [lane.update(x[i : i + 2048].astype(dtype)) for i in range(0, len(x), 2048)]
        lanes[dtype] = levels  # type: ignore[assignment]
    assert [k for _, k in lanes[np.float32]] == [k for _, k in lanes[np.float64]]
    np.testing.assert_allclose([v for v, _ in lanes[np.float32]], [v for v, _ in lanes[np.float64]], atol=1e-5)
    # The level is the block's peak of the per-sample low-pass (state carried across blocks).
    alpha = 1.0 - np.exp(-2 * np.pi * 120.0 / SR)
    low = lfilter([alpha], [1.0, alpha - 1.0], x)
    lane = BassLane(SR)
    lane.update(x[:2048])
    assert lane.env == pytest.approx(np.abs(low[:2048]).max(), rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_peak_abs_is_the_largest_magnitude(dtype: type) -> None:
    x = (np.random.default_rng(3).standard_normal(1000) * 100).astype(dtype)
    assert peak_abs(x) == float(np.max(np.abs(x.astype(np.float64))))


def test_tempo_comb_equals_interpolated_autocorrelation() -> None:
    te = TempoEstimator(SR / 512, tatum=2.0, tatum_bpm=300.0)
    n = 750
    tables = te._prepare(n)
    acf = np.random.default_rng(4).random(tables.need)
    full = np.concatenate((acf, np.zeros(n - tables.need)))
    grid = np.arange(n)
    beat = np.zeros(te.bpms.size)
    for k in (1, 2, 3, 4):
        lags = te.lags * k
        ok = lags < n - 1
        beat[ok] += np.interp(lags[ok], grid, full) / k**0.5
    # The tatum: each period's octave-equivalents from 2 samples up, six of them, weighted by a
    # log-Gaussian (0.5 octave) around the period of 300 BPM, the weights summing to the tatum's 2.
    tatum = np.zeros(te.bpms.size)
    for i, lag in enumerate(te.lags):
        k0 = np.ceil(np.log2(2.0 / lag))
        octave = lag * 2.0 ** (k0 + np.arange(6))
        w = np.exp(-0.5 * (np.log2(octave / (60.0 * SR / 512 / 300.0)) / 0.5) ** 2)
        w *= 2.0 / w.sum()
        ok = octave < n - 1
        tatum[i] = np.dot(w[ok], np.interp(octave[ok], grid, full))
    got_beat, got_tatum = te._comb(acf, tables)
    np.testing.assert_allclose(got_beat, beat, rtol=1e-12)
    np.testing.assert_allclose(got_tatum, tatum, rtol=1e-12)
    assert te._comb(acf, TempoEstimator(SR / 512, tatum=0.0)._prepare(n))[1] is None


def test_downmix_is_the_channel_mean() -> None:
    x = np.random.default_rng(5).standard_normal((2048, 3)).astype(np.float32)
    np.testing.assert_array_equal(downmix(x[:, :2]), x[:, :2].mean(axis=1))  # halving is exact
    np.testing.assert_allclose(downmix(x), x.mean(axis=1), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(downmix(x[:, :1]), x[:, 0])
    np.testing.assert_array_equal(downmix(x[:, 0]), x[:, 0])
