"""The bands' short window beside the beat's long one: a burst reaches the bands sooner, the beat is unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from test_audio_fft import feed

from mcav.nodes.audio.bands import BandDft, HopSpectra
from mcav.nodes.audio.beat import BeatAnalyzer
from mcav.nodes.audio.spectrum import SpectrumAnalyzer
from mcav.nodes.audio.synth import SynthSignal, beat_times
from mcav.nodes.presets import get_preset
from mcav.runtime.errors import GraphInvalid
from mcav.runtime.frames import Spectrum

SR = 48000
AUTO = get_preset("auto")


def frames(an: SpectrumAnalyzer, x: np.ndarray, block: int) -> list[dict]:
    return feed(an, x, AUTO, block)


def first_rise(an: SpectrumAnalyzer, onset: int, block: int = 128) -> float:
    """ms from a noise burst's onset to the end of the first frame whose treble band reads over half its level."""
    rng = np.random.default_rng(3)
    x = np.zeros(SR, np.float32)
    x[onset : onset + SR // 20] = rng.uniform(-0.5, 0.5, SR // 20)
    for r in frames(an, x, block):
        if r["raw_bands"][4] > 0.5 * 0.5 / np.sqrt(3) * np.sqrt(14000 / 24000):  # half the burst's treble amplitude
            return (r["t_audio"] * SR - onset) / SR * 1000
    raise AssertionError("the bands never rose")


@pytest.mark.parametrize("band_hop", [512, 256])
def test_a_burst_reaches_the_bands_within_the_short_window(band_hop: int) -> None:
    rises, long_rises = [], []
    for offset in (0, 1, 100, 255, 300, 511):
        onset = SR // 2 + offset
        short = first_rise(SpectrumAnalyzer(SR, band_hop=band_hop), onset)
        long = first_rise(SpectrumAnalyzer(SR, band_size=1024, band_hop=512), onset)
        # Half the 512-sample window full of burst, at the next band hop (the long window needs half of 1024).
        assert short <= (band_hop + 256) / SR * 1000 + 1e-6
        assert short <= long
        rises.append(short)
        long_rises.append(long)
    assert np.mean(rises) < np.mean(long_rises) - 1.0


def test_bass_band_keeps_the_long_windows_resolution() -> None:
    """A 512-sample window's bass bins are 94 Hz apart and 40-60 Hz tones read −1.3 to −5.9 dB by phase;
    the bass band therefore comes from a direct DFT of the 1024-sample window's bins, at the band hop."""
    t = np.arange(SR) / SR
    short, long, dft = HopSpectra(512, SR), HopSpectra(1024, SR), BandDft(1024, SR)
    spread = {}
    for freq in (40, 50, 60, 80, 150):
        s_db, d_db = [], []
        for phase in np.linspace(0, 2 * np.pi, 8, endpoint=False):
            x = np.sin(2 * np.pi * freq * t + phase).astype(np.float32)
            s_db.append(20 * np.log10(short.amplitudes(short.magnitudes(x, 1000, 512, 1))[0, 0]))
            d = dft.amplitudes(x, 1000, 256, 3)
            np.testing.assert_allclose(d, long.amplitudes(long.magnitudes(x, 1000, 256, 3))[:, 0], rtol=1e-4)
            d_db.extend(20 * np.log10(d))
        assert -1.6 < min(d_db) and max(d_db) < 0.1  # a steady tone reads steady, within 1.6 dB
        spread[freq] = max(s_db) - min(s_db)
    assert spread[40] > 3 and spread[150] < 0.5  # what the short window alone would cost


def test_a_steady_bass_tone_reads_its_amplitude_at_every_band_hop() -> None:
    x = (0.5 * np.sin(2 * np.pi * 50 * np.arange(SR) / SR)).astype(np.float32)
    bass = [r["raw_bands"][0] for r in frames(SpectrumAnalyzer(SR), x, 256)][8:]
    assert len(bass) > 80 and 0.5 * 10 ** (-1.6 / 20) < min(bass) and max(bass) < 0.5


@pytest.mark.parametrize("band_hop", [512, 256])
@pytest.mark.parametrize("block", [128, 256, 512, 700, 2048])
def test_beat_fields_are_those_of_the_long_window_alone(block: int, band_hop: int) -> None:
    """The beat's onset functions, and so its beats, do not change with the bands' window or hop."""
    x = SynthSignal(SR, bpm=126, noise=0.05).render(0, SR * 12)
    new, old = SpectrumAnalyzer(SR, band_hop=band_hop), SpectrumAnalyzer(SR, band_size=1024, band_hop=512)
    fn, fo = frames(new, x, block), frames(old, x, block)
    assert len(fn) >= len(fo)
    for key in ("flux", "odf"):
        a, b = np.concatenate([f[key] for f in fn]), np.concatenate([f[key] for f in fo])
        np.testing.assert_array_equal(a, b)
    # Every frame with flux rows ends where the long-window frame with the same rows ends.
    assert [f["t_audio"] for f in fn if len(f["odf"])] == [f["t_audio"] for f in fo]
    assert all(f["hop_s"] == 0.0 for f in fn if not len(f["odf"]))

    def track(fs: list[dict]) -> list[tuple[float, dict]]:
        beat = BeatAnalyzer()
        return [(f["t_audio"], beat.feed(Spectrum(seq=i, t_capture=0, sample_rate=SR, **f))) for i, f in enumerate(fs)]

    tn, to = track(fn), track(fo)
    beats_n = [(t, r["bpm"], r["beat_intensity"]) for t, r in tn if r["beat"]]
    assert beats_n == [(t, r["bpm"], r["beat_intensity"]) for t, r in to if r["beat"]]
    assert len(beats_n) > 15
    truth = beat_times(126, 12)
    # On the beat once settled (the first beat or two after a lock may still be finding the phase).
    assert all(np.min(np.abs(truth - t)) < 0.07 for t, _, _ in beats_n if t > 3.0)
    # The frames between carry the tracker's state: same lock, tempo, and a phase that keeps advancing.
    by_time = dict(to)
    for t, r in tn:
        if t in by_time:
            assert r == by_time[t]


def test_band_window_params_validate() -> None:
    text = "graph: t\nnodes:\n  src: {kind: synth, duration: 1, speed: max}\n  fft: {kind: fft, in: src}\n" \
           "  sink: {kind: collect, in: fft}\n"
    build(text, ("fft.band_size=256", "fft.band_hop=128"))  # a divisor of hop: fine
    with pytest.raises(GraphInvalid, match="band_hop 384 must divide hop 512"):
        build(text, ("fft.band_hop=384",))
    with pytest.raises(GraphInvalid, match="band_hop"):
        build(text, ("fft.band_hop=1024",))
    with pytest.raises(GraphInvalid, match="band_size"):
        build(text, ("fft.band_size=32",))
    with pytest.raises(ValueError, match="40-250 Hz"):  # too short for the bass band at this rate
        SpectrumAnalyzer(SR, band_size=128, band_hop=128)
    with pytest.raises(ValueError, match="must divide hop"):
        SpectrumAnalyzer(SR, band_hop=200)
