"""The ``fft`` node: band edges, AGC, gate, presets (also switched at run time), bass lane."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import build

from mcav.nodes.audio.fft import BAND_EDGES_HZ, SpectrumAnalyzer, band_bins
from mcav.nodes.audio.synth import SynthSignal
from mcav.nodes.presets import PRESET_NAMES, get_preset
from mcav.runtime.engine import Runtime
from mcav.runtime.frames import AudioBlock

SR = 48000
AUTO = get_preset("auto")


def tone(freq: float, amp: float = 0.5, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return amp * np.sin(2 * np.pi * freq * t)


def feed(an: SpectrumAnalyzer, x: np.ndarray, preset=AUTO, block: int = 512) -> list[dict]:
    out = []
    for i in range(0, len(x), block):
        r = an.analyze(x[i : i + block], preset)
        if r is not None:
            out.append(r)
    return out


@pytest.mark.parametrize(
    ("freq", "band"),
    [(60, 0), (150, 0), (330, 1), (420, 1), (600, 2), (1900, 2), (2200, 3), (5800, 3), (6300, 4), (15000, 4)],
)
def test_pure_tone_lands_in_its_band(freq: float, band: int) -> None:
    for an in (SpectrumAnalyzer(SR), SpectrumAnalyzer(SR, band_size=1024, band_hop=512)):
        res = feed(an, tone(freq))[-1]
        assert int(np.argmax(res["raw_bands"])) == band
        # A sine of amplitude 0.5 reads 0.5 in its band (Parseval-scaled band amplitude).
        assert np.sqrt(np.sum(res["raw_bands"] ** 2)) == pytest.approx(0.5, rel=0.05)


def test_band_bins_follow_the_mcav_edges_and_reject_tiny_ffts() -> None:
    bins = band_bins(1024, SR)
    freqs = np.arange(513) * SR / 1024
    for b, (lo, hi) in enumerate(BAND_EDGES_HZ):
        f = freqs[bins == b]
        assert f.min() >= lo and f.max() < hi
    assert bins[0] == -1 and bins[freqs >= 20000].max() == -1
    with pytest.raises(ValueError, match="40-250 Hz"):
        band_bins(64, SR)


def test_agc_normalises_each_band_but_limits_the_gain() -> None:
    quiet = feed(SpectrumAnalyzer(SR), tone(1000, amp=0.05))[-1]
    assert quiet["bands"][2] > 0.95  # alone, a quiet band still reaches full scale
    # 30 dB below the loudest band: AGC gain is capped at agc_max_gain (8 for auto) over the loudest peak
    mix = feed(SpectrumAnalyzer(SR), tone(100, amp=0.5) + tone(4000, amp=0.5 * 10 ** (-30 / 20)))[-1]
    assert mix["bands"][0] > 0.95
    assert mix["bands"][3] == pytest.approx(8 * 10 ** (-30 / 20), rel=0.1)
    edm = feed(SpectrumAnalyzer(SR), tone(100, amp=0.5) + tone(4000, amp=0.5 * 10 ** (-30 / 20)), get_preset("edm"))
    assert edm[-1]["bands"][3] == pytest.approx(10 * 10 ** (-30 / 20), rel=0.1)  # edm allows gain 10


def test_noise_gate_lets_bands_fall() -> None:
    an = SpectrumAnalyzer(SR)
    loud = feed(an, tone(1000))[-1]["bands"][2]
    faint = feed(an, tone(1000, amp=0.01, seconds=0.1))  # below the 0.02 gate
    assert faint[-1]["bands"][2] < 0.5 * loud
    assert all(r["bands"][2] < 1 for r in faint[1:])  # the first window still holds loud samples


def test_presets_change_attack_speed() -> None:
    x = np.concatenate([np.zeros(SR // 10), tone(1000, amp=0.5, seconds=0.05)])
    first_rise = {}
    for name in ("edm", "chill", "classical"):
        res = feed(SpectrumAnalyzer(SR, gate=0.0), x, get_preset(name))
        first_rise[name] = next(r["bands"][2] for r in res if r["bands"][2] > 0)
    assert first_rise["edm"] > first_rise["chill"] > first_rise["classical"]


def test_flux_rises_on_onsets_only() -> None:
    x = np.concatenate([np.zeros(SR // 4), tone(1000, seconds=0.25)])
    flux = np.concatenate([r["flux"] for r in feed(SpectrumAnalyzer(SR), x)])
    onset_row = SR // 4 // 512
    assert flux[onset_row - 1 : onset_row + 3, 2].max() > 10 * flux[onset_row + 6 :, 2].max()


def test_onset_function_rises_on_onsets_not_on_vibrato() -> None:
    """The log-filtered SuperFlux: a note's start stands out; a ±50 cent, 6 Hz vibrato under it does not."""
    t = np.arange(SR) / SR
    vibrato = 0.3 * np.sin(2 * np.pi * np.cumsum(440 * 2 ** (np.sin(2 * np.pi * 6 * t) / 24)) / SR)
    x = np.concatenate([np.zeros(SR // 4), vibrato])
    odf = np.concatenate([r["odf"] for r in feed(SpectrumAnalyzer(SR), x)])
    onset_row = SR // 4 // 512
    assert odf[: onset_row - 1].max() == 0.0  # silence: nothing rises
    assert odf[onset_row - 1 : onset_row + 3].max() > 10 * odf[onset_row + 6 :].max()


def test_log_filterbank_merges_narrow_bands_and_normalises() -> None:
    from mcav.nodes.audio.odf import log_filterbank

    for sr in (16000, 48000):
        fb = log_filterbank(1024, sr)
        np.testing.assert_allclose(fb.sum(axis=0), 1.0, rtol=1e-5)
        width = (fb > 0).sum(axis=0)
        assert width[0] == 1 and np.all(np.diff(width[width > 2]) >= -1)  # one bin at the bottom, wider above
        centres = fb.argmax(axis=0)
        assert np.all(np.diff(centres) > 0)  # no duplicate filters


def test_bass_lane_flags_low_onsets_within_25_ms() -> None:
    from mcav.nodes.audio.synth import SynthSignal

    # 120 BPM: kicks on the beats and bass notes on the off-beats, every 0.25 s.
    x = SynthSignal(SR, bpm=120).render(0, SR * 3).astype(np.float64)
    ends = [r["t_audio"] for r in feed(SpectrumAnalyzer(SR), x) if r["instant_kick"]]
    grid = np.arange(0, 3, 0.25)
    assert len(ends) == len(grid)
    for end, onset in zip(ends, grid):
        assert 0 < end - onset <= 0.025  # no FFT window wait: the block after the 5 ms attack at worst


GRAPH = """
graph: t
nodes:
  src: {kind: synth, duration: 3, speed: max, bpm: 120}
  fft: {kind: fft, in: src, preset: chill}
  sink: {kind: collect, in: fft}
"""


def test_node_emits_spectra_and_switches_preset_at_run_time() -> None:
    rt = Runtime(build(GRAPH))
    fft = rt.node("fft")
    assert fft.preset == "chill"
    with pytest.raises(ValueError) as err:
        fft.set_preset("techno")
    assert all(name in str(err.value) for name in PRESET_NAMES)
    # Feed a block by hand (the node's real interface), switch, feed another.
    x = tone(1000)[:512, None].astype(np.float32)
    before = fft.process(AudioBlock(seq=0, t_capture=0, samples=x, sample_rate=SR), "in")
    fft.set_preset("EDM")
    after = fft.process(AudioBlock(seq=1, t_capture=0, samples=x, sample_rate=SR, t_audio=512 / SR), "in")
    assert (before.preset, after.preset) == ("chill", "edm")
    assert after.t_audio == pytest.approx(1024 / SR)
    assert rt.run() == 0
    spectra = list(rt.node("sink").frames)
    # Windows end every 512 samples, counted on from the two blocks fed by hand.
    assert len(spectra) == (1024 + 3 * SR) // 512 - 2
    assert all(s.preset == "edm" and s.bands.shape == (5,) for s in spectra)
    assert max(s.peak for s in spectra) > 0.9


def test_a_file_read_flat_out_gives_the_spectra_of_block_by_block_analysis(tmp_path: Path) -> None:
    """At ``speed: max`` the node takes the file's bursts whole (``process_burst``): same spectra as frame by frame."""
    path = tmp_path / "clip.wav"
    x = SynthSignal(SR, bpm=126, noise=0.02).render(0, 5 * SR).astype(np.float32)
    sf.write(path, x, SR, subtype="FLOAT")
    rt = Runtime(build(f"nodes:\n  src: {{kind: file, path: '{path}', speed: max, block: 2048}}\n"
                       "  fft: {kind: fft, in: src}\n  sink: {kind: collect, in: fft}\n"))
    assert rt.run() == 0
    got = list(rt.node("sink").frames)
    an = SpectrumAnalyzer(SR)
    want = [r for r in (an.analyze(x[i : i + 2048], get_preset("auto")) for i in range(0, len(x), 2048)) if r]
    assert len(got) == len(want) == len(x) // 2048 and [s.seq for s in got] == list(range(len(got)))
    for s, r in zip(got, want):
        assert s.t_audio == r["t_audio"] and s.instant_kick == r["instant_kick"]
        np.testing.assert_allclose(s.odf, r["odf"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(s.flux, r["flux"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(s.bands, r["bands"], rtol=1e-5, atol=1e-7)
    assert rt.snapshot().nodes["fft"].errors == 0


def test_a_burst_that_changes_sample_rate_restarts_the_stream_where_frame_by_frame_does() -> None:
    """``process_burst`` splits its chunks at a rate change: the same spectra as ``process`` frame by frame."""
    x = SynthSignal(SR, bpm=120).render(0, SR).astype(np.float32)
    rates = [SR] * 5 + [44100] * 4 + [SR] * 3
    frames = [AudioBlock(seq=i, t_capture=0, samples=x[i * 2048 : (i + 1) * 2048, None], sample_rate=r,
                         t_audio=i * 2048 / r) for i, r in enumerate(rates)]
    one, many = Runtime(build(GRAPH)).node("fft"), Runtime(build(GRAPH)).node("fft")
    alone = [one.process(f, "in") for f in frames]
    together = many.process_burst(frames, "in")
    assert len(together) == len(frames) and all(s is not None for s in together)
    assert [s.sample_rate for s in together] == rates and [s.seq for s in together] == list(range(len(frames)))
    for s, r in zip(together, alone):
        assert (s.t_audio, s.hop_s) == (r.t_audio, r.hop_s)
        np.testing.assert_allclose(s.odf, r.odf, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(s.bands, r.bands, rtol=1e-5, atol=1e-7)
