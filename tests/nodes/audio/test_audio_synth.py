"""The ``synth`` source: deterministic samples, exact beat times, pacing, parameter errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build

from mcav.nodes.audio.synth import SynthSignal, beat_times
from mcav.runtime.engine import Runtime
from mcav.runtime.errors import GraphInvalid


def run_synth(params: str) -> list:
    rt = Runtime(build(f"graph: t\nnodes:\n  src: {{kind: synth, {params}}}\n  sink: {{kind: collect, in: src}}\n"))
    assert rt.run() == 0
    return list(rt.node("sink").frames)


def test_same_samples_whatever_the_block_size() -> None:
    a = np.concatenate([f.samples[:, 0] for f in run_synth("duration: 2, speed: max, block: 512, noise: 0.05")])
    b = np.concatenate([f.samples[:, 0] for f in run_synth("duration: 2, speed: max, block: 333, noise: 0.05")])
    assert a.shape == b.shape == (96000,)
    np.testing.assert_array_equal(a, b)
    assert 0.2 < np.abs(a).max() <= 0.8  # level 0.5: the mix peaks near 0.5


def test_blocks_carry_audio_time_seq_and_channels() -> None:
    frames = run_synth("duration: 1, speed: max, block: 480, channels: 2, sample_rate: 44100")
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert frames[1].t_audio == pytest.approx(480 / 44100)
    assert frames[0].samples.shape == (480, 2) and frames[0].samples.dtype == np.float32
    assert sum(f.samples.shape[0] for f in frames) == 44100
    assert frames[-1].source == "src"
    # max speed: t_capture follows audio time (start + end of block)
    dt = (frames[-1].t_capture - frames[0].t_capture) / 1e9
    assert dt == pytest.approx(frames[-1].t_audio + frames[-1].samples.shape[0] / 44100 - 480 / 44100, abs=1e-6)


def test_kicks_sit_on_the_beat_times() -> None:
    sig = SynthSignal(48000, bpm=120, tempo_changes=[[2.0, 90]])
    x = sig.render(0, 48000 * 4)
    beats = beat_times(120, 4, [[2.0, 90]])
    np.testing.assert_allclose(beats, [0, 0.5, 1, 1.5, 2, 2 + 2 / 3, 2 + 4 / 3])
    for b in beats[1:]:
        i = round(b * 48000)
        before = np.abs(x[i - 480 : i - 48]).max()
        after = np.abs(x[i : i + 480]).max()
        assert after > 2 * before  # the kick starts on the beat, not before


def test_realtime_speed_is_paced() -> None:
    frames = run_synth("duration: 0.25, block: 1200")
    span = (frames[-1].t_capture - frames[0].t_capture) / 1e9
    # Pacing cannot be early: the last block leaves 0.2 s of audio after the first.
    assert span >= 0.2 - 0.002


def test_bad_tempo_change_is_a_clear_error() -> None:
    with pytest.raises(GraphInvalid) as err:
        build("graph: t\nnodes:\n  src: {kind: synth, tempo_changes: [[1.0]]}\n  sink: {kind: collect, in: src}\n")
    assert "tempo_changes[0]" in str(err.value) and "src" in str(err.value)
