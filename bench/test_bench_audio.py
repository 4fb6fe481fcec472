"""Audio analysis costs: fft and beat per block, and file → fft → beat throughput in × real time.

Run: ``python -m pytest bench/test_bench_audio.py --benchmark-only``. Each group
holds a baseline measured in the same run (one bare Hann-windowed 1024-point
``rfft``), so compare within a group: the VM is shared and absolute times
drift by tens of percent between runs. The throughput tests print one line
each (× real time, wall and CPU; µs per 512-sample hop; that cost in bare
rffts) and store the same figures in ``extra_info``. ``bench/beat_accuracy.py``
prints them as a table beside the beat accuracy.
"""

from __future__ import annotations

import itertools
import time
import timeit
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mcav.nodes.audio.beat import BeatAnalyzer
from mcav.nodes.audio.fft import SpectrumAnalyzer
from mcav.nodes.audio.synth import SynthSignal
from mcav.nodes.presets import get_preset
from mcav.runtime.compile import compile_text
from mcav.runtime.engine import Runtime
from mcav.runtime.frames import Spectrum

ROOT = Path(__file__).resolve().parent.parent
SR = 48000
SIZE, HOP = 1024, 512  # analyze.yaml's FFT
SIGNAL = SynthSignal(SR, bpm=128, noise=0.02).render(0, SR * 20).astype(np.float32)
CLIP_S = 60  # long enough that starting and stopping the graph (≈1 ms) is lost in the noise
AUTO = get_preset("auto")


def bare_rfft_us() -> float:
    """One bare Hann-windowed 1024-point ``np.fft.rfft`` with its magnitude, in µs (best of 5 × 2000)."""
    x, w = SIGNAL[:SIZE].astype(np.float64), np.hanning(SIZE)
    return min(timeit.repeat(lambda: np.abs(np.fft.rfft(x * w)), number=2000, repeat=5)) / 2000 * 1e6


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """60 s synth clips at 48 kHz, 16-bit PCM like most real files, by channel count (1 and 2)."""
    folder = tmp_path_factory.mktemp("audio")
    mono = SynthSignal(SR, bpm=128, noise=0.02).render(0, SR * CLIP_S)
    stereo = np.stack((mono, 0.8 * mono), axis=1)
    out = {}
    for channels, samples in ((1, mono), (2, stereo)):
        out[channels] = folder / f"clip{channels}.wav"
        sf.write(out[channels], samples, SR)
    return out


@pytest.mark.benchmark(group="fft-per-block")
def test_bare_rfft_baseline(benchmark) -> None:  # type: ignore[no-untyped-def]
    x, w = SIGNAL[:SIZE].astype(np.float64), np.hanning(SIZE)
    benchmark(lambda: np.abs(np.fft.rfft(x * w)))


@pytest.mark.parametrize("windows", ["bands 512", "one window"])
@pytest.mark.parametrize("block", [256, 512, 2048])
@pytest.mark.benchmark(group="fft-per-block")
def test_fft_analyze(benchmark, block: int, windows: str) -> None:  # type: ignore[no-untyped-def]
    """Per block, the default analysis (the bands from their own short window) against one window for all."""
    an = SpectrumAnalyzer(SR) if windows != "one window" else SpectrumAnalyzer(SR, band_size=SIZE, band_hop=HOP)
    blocks = itertools.cycle([SIGNAL[i : i + block] for i in range(0, SR * 10, block)])
    out = benchmark(lambda: an.analyze(next(blocks), AUTO))
    assert block < HOP or out is not None and out["flux"].shape == (block // HOP, 5)


@pytest.mark.benchmark(group="beat-per-block")
def test_beat_feed(benchmark) -> None:  # type: ignore[no-untyped-def]
    an = SpectrumAnalyzer(SR)
    fields = [an.analyze(SIGNAL[i : i + 512], AUTO) for i in range(0, len(SIGNAL), 512)]
    # None: no band hop ended in that block, so no Spectrum (as the fft node emits none); at 512 there is always one
    spectra = [Spectrum(seq=0, t_capture=0, **f) for f in fields if f is not None]
    beat = BeatAnalyzer()
    for s in spectra[: len(spectra) // 2]:  # warm up: tempo known, tracker locked
        beat.feed(s)
    rest = itertools.cycle(spectra[len(spectra) // 2 :])
    benchmark(lambda: beat.feed(next(rest)))
    assert beat.locked and beat.bpm == pytest.approx(128, rel=0.02)


@pytest.mark.benchmark(group="analyze-throughput")
def test_bare_rfft_per_hop_baseline(  # type: ignore[no-untyped-def]
    benchmark, clips: dict[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The floor the graph is compared with: one bare rfft per hop of the clip, in a Python loop."""
    x, w = sf.read(clips[1], dtype="float64")[0], np.hanning(SIZE)
    starts = range(0, len(x) - SIZE + 1, HOP)

    def run() -> None:
        for i in starts:
            np.abs(np.fft.rfft(x[i : i + SIZE] * w))

    benchmark.pedantic(run, rounds=3, iterations=1)
    best = benchmark.stats.stats.min
    benchmark.extra_info["x_realtime"] = round(CLIP_S / best, 1)
    benchmark.extra_info["us_per_hop"] = round(best / len(starts) * 1e6, 2)
    with capsys.disabled():
        print(f"\n  bare rfft per hop: {CLIP_S / best:5.0f}x real time, {best / len(starts) * 1e6:5.1f} us per hop")


@pytest.mark.parametrize(("block", "channels"), [(2048, 1), (2048, 2), (512, 1), (4096, 1)])
@pytest.mark.benchmark(group="analyze-throughput")
def test_analyze_graph_throughput(  # type: ignore[no-untyped-def]
    benchmark, clips: dict[int, Path], block: int, channels: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """pipelines/analyze.yaml (file at max speed → fft → beat) into a discard sink, on one worker thread."""
    text = (ROOT / "pipelines" / "analyze.yaml").read_text()
    overrides = (f"source.path={clips[channels]}", f"source.block={block}", "sink.kind=discard")
    cpu: list[float] = []

    def build() -> tuple[tuple[Runtime], dict[str, object]]:  # not timed: compiling the graph
        return (Runtime(compile_text(text, "analyze.yaml", overrides)),), {}

    def run(rt: Runtime) -> None:
        c0 = time.process_time()
        assert rt.run() == 0
        cpu.append(time.process_time() - c0)

    benchmark.pedantic(run, setup=build, rounds=5, iterations=1)
    wall = benchmark.stats.stats.min
    hops = CLIP_S * SR // HOP
    hop_us, bare_us = wall / hops * 1e6, bare_rfft_us()
    info = {
        "x_realtime": round(CLIP_S / wall, 1),
        "x_realtime_cpu": round(CLIP_S / min(cpu), 1),
        "us_per_hop": round(hop_us, 2),
        "bare_rfft_us": round(bare_us, 2),
        "hop_in_bare_rffts": round(hop_us / bare_us, 2),
    }
    benchmark.extra_info.update(info)
    with capsys.disabled():
        print(
            f"\n  analyze block {block:4d}, {'mono' if channels == 1 else 'stereo'}: "
            f"{info['x_realtime']:5.0f}x real time (wall), "
            f"{info['x_realtime_cpu']:5.0f}x (CPU); {hop_us:5.1f} us per 512-sample hop "
            f"= {info['hop_in_bare_rffts']:.1f}x one bare rfft ({bare_us:.1f} us)"
        )
