"""Audio analysis costs: fft and beat per block, and file → fft → beat throughput.

Run: ``python -m pytest bench/test_bench_audio.py --benchmark-only``. Each group
holds a baseline measured in the same run (a bare Hann-windowed ``rfft``), so
compare within a group. The throughput test stores ``x_realtime`` in
``extra_info``. ``bench/beat_accuracy.py`` prints the same figures as a table.
"""

from __future__ import annotations

import itertools
import time
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
SIGNAL = SynthSignal(SR, bpm=128, noise=0.02).render(0, SR * 20).astype(np.float64)
AUTO = get_preset("auto")


@pytest.mark.benchmark(group="fft-per-block")
def test_bare_rfft_baseline(benchmark) -> None:  # type: ignore[no-untyped-def]
    x, w = SIGNAL[:1024], np.hanning(1024)
    benchmark(lambda: np.abs(np.fft.rfft(x * w)))


@pytest.mark.parametrize("block", [512, 2048])
@pytest.mark.benchmark(group="fft-per-block")
def test_fft_analyze(benchmark, block: int) -> None:  # type: ignore[no-untyped-def]
    an = SpectrumAnalyzer(SR)
    blocks = itertools.cycle([SIGNAL[i : i + block] for i in range(0, SR * 10, block)])
    out = benchmark(lambda: an.analyze(next(blocks), AUTO))
    assert out is not None and out["flux"].shape == (block // 512, 5)


@pytest.mark.benchmark(group="beat-per-block")
def test_beat_feed(benchmark) -> None:  # type: ignore[no-untyped-def]
    an = SpectrumAnalyzer(SR)
    spectra = [Spectrum(seq=0, t_capture=0, **an.analyze(SIGNAL[i : i + 512], AUTO)) for i in range(0, len(SIGNAL), 512)]
    beat = BeatAnalyzer()
    for s in spectra[: len(spectra) // 2]:  # warm up: tempo known, tracker locked
        beat.feed(s)
    rest = itertools.cycle(spectra[len(spectra) // 2 :])
    benchmark(lambda: beat.feed(next(rest)))
    assert beat.locked and beat.bpm == pytest.approx(128, rel=0.02)


@pytest.mark.parametrize("block", [512, 2048, 4096])
@pytest.mark.benchmark(group="analyze-throughput")
def test_analyze_graph_throughput(benchmark, tmp_path: Path, block: int) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "clip.wav"
    sf.write(path, SIGNAL, SR)
    text = (ROOT / "pipelines" / "analyze.yaml").read_text()
    overrides = (f"source.path={path}", f"source.block={block}", "sink.kind=discard")

    def run() -> float:
        rt = Runtime(compile_text(text, "analyze.yaml", overrides))
        t0 = time.perf_counter()
        assert rt.run() == 0
        return time.perf_counter() - t0

    seconds = benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["x_realtime"] = round(len(SIGNAL) / SR / seconds, 1)
    assert seconds > 0
