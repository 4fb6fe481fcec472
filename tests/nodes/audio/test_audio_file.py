"""The ``file`` source and ``pipelines/analyze.yaml``: WAV/FLAC, resampling, loop, errors, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT, build

from mcav.nodes.audio.resample import StreamResampler
from mcav.nodes.audio.synth import SynthSignal, beat_times
from mcav.runtime.engine import Runtime


def write_clip(path: Path, sr: int = 44100, seconds: float = 3.0, bpm: float = 120.0, channels: int = 1) -> np.ndarray:
    x = SynthSignal(sr, bpm=bpm).render(0, int(sr * seconds))
    data = np.repeat(x[:, None], channels, axis=1) if channels > 1 else x
    sf.write(path, data, sr)
    return x


def play(params: str) -> list:
    rt = Runtime(build(f"graph: t\nnodes:\n  src: {{kind: file, speed: max, {params}}}\n  sink: {{kind: collect, in: src}}\n"))
    assert rt.run() == 0
    return list(rt.node("sink").frames)


@pytest.mark.parametrize("ext", ["wav", "flac"])
def test_plays_every_sample_with_audio_time(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"clip.{ext}"
    x = write_clip(path, channels=2)
    frames = play(f"path: '{path}', block: 1000")
    got = np.concatenate([f.samples for f in frames])
    assert got.shape == (len(x), 2) and got.dtype == np.float32
    np.testing.assert_allclose(got[:, 0], x, atol=1e-4)  # 16-bit files
    assert frames[3].t_audio == pytest.approx(3000 / 44100)
    assert frames[-1].samples.shape[0] == len(x) % 1000
    # max speed: t_capture is start + audio time of each block's end
    dt = (frames[10].t_capture - frames[0].t_capture) / 1e9
    assert dt == pytest.approx(10_000 / 44100, abs=1e-6)


def test_resamples_like_resample_poly(tmp_path: Path) -> None:
    from scipy.signal import resample_poly

    path = tmp_path / "clip.wav"
    write_clip(path, seconds=2.5)
    frames = play(f"path: '{path}', sample_rate: 48000")
    got = np.concatenate([f.samples[:, 0] for f in frames])
    ref = resample_poly(sf.read(path, dtype="float32")[0], 160, 147)
    assert frames[0].sample_rate == 48000
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=1e-6)


@pytest.mark.parametrize("rate", [0, 48000])
def test_mono_mixes_the_channels_down_before_resampling(tmp_path: Path, rate: int) -> None:
    from scipy.signal import resample_poly

    path = tmp_path / "clip.wav"
    x = SynthSignal(44100, bpm=120).render(0, 44100 * 2)
    sf.write(path, np.stack((x, -0.5 * x), axis=1), 44100, subtype="FLOAT")
    both = play(f"path: '{path}', sample_rate: {rate}")
    mono = play(f"path: '{path}', sample_rate: {rate}, mono: true")
    assert both[0].samples.shape[1] == 2 and mono[0].samples.shape[1] == 1
    assert [f.t_audio for f in mono] == [f.t_audio for f in both] and mono[0].sample_rate == (rate or 44100)
    got = np.concatenate([f.samples[:, 0] for f in mono])
    mean = (0.25 * x).astype(np.float32)  # the channel mean
    want = resample_poly(mean, 160, 147) if rate else mean
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got, np.concatenate([f.samples.mean(axis=1) for f in both]), atol=1e-6)


@pytest.mark.parametrize("rates", [(48000, 16000), (44100, 48000), (16000, 48000), (48000, 44100)])
def test_stream_resampler_matches_one_call_for_any_split(rates: tuple[int, int]) -> None:
    from scipy.signal import resample_poly

    x = np.random.default_rng(1).standard_normal((rates[0] + 30001, 2)).astype(np.float32)
    r = StreamResampler(*rates, 2)
    y = np.concatenate([r.process(x[i : i + 777]) for i in range(0, len(x), 777)] + [r.flush()])
    np.testing.assert_array_equal(y, resample_poly(x, r.up, r.down, axis=0))  # its filter, bit for bit


def test_loop_keeps_audio_time_counting(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    write_clip(path, seconds=0.5)
    rt = Runtime(build(f"graph: t\nnodes:\n  src: {{kind: file, path: '{path}', speed: max, loop: true}}\n  sink: {{kind: collect, in: src, max_frames: 200}}\n"))
    rt.start()
    try:
        assert rt.wait(0.5) is False  # a looping file never ends by itself
    finally:
        rt.stop()
        rt.shutdown()
    frames = list(rt.node("sink").frames)
    assert frames[-1].t_audio > 1.0  # more than two passes
    assert all(b.t_audio > a.t_audio for a, b in zip(frames, frames[1:]))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcav.runtime.cli", "run", str(ROOT / "pipelines" / "analyze.yaml"), "--no-dashboard", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip


def test_analyze_pipeline_writes_features_and_exits_0(tmp_path: Path) -> None:
    clip, out = tmp_path / "in.flac", tmp_path / "out.jsonl"
    write_clip(clip, seconds=12.0, bpm=120)
    res = run_cli("--set", f"source.path={clip}", "--set", f"sink.path={out}")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == -(-12 * 48000 // 2048)  # one frame per 2048-sample block at 48 kHz (the last, partial one too)
    assert rows[1]["t"] - rows[0]["t"] == pytest.approx(2048 / 48000, abs=1e-5)  # resampled: the live rate
    for key in ("t", "bands", "peak", "beat", "beat_time", "locked", "beat_intensity", "bpm", "tempo_confidence", "beat_phase"):
        assert key in rows[0]
    assert rows[-1]["bpm"] == pytest.approx(120, rel=0.02)
    assert all(r["locked"] for r in rows if r["beat"]) and all(r["beat_time"] == 0.0 for r in rows if not r["beat"])
    flagged = [r for r in rows if r["beat"] and r["t"] > 5.2]
    beats, times = np.array([r["t"] for r in flagged]), np.array([r["beat_time"] for r in flagged])
    ref = beat_times(120, 12.07)  # a beat due at the very end may be flagged just before it
    ref = ref[ref > 5.2]
    assert len(beats) == len(ref)
    half_frame = 0.5 * 2048 / 48000
    assert np.max(np.abs(beats - ref)) < half_frame + 0.01  # flagged in the nearest 43 ms frame
    # Each beat's own time (5.7 ms off at most here) is finer than its frame's (22.7 ms), and that frame is the nearest.
    assert np.max(np.abs(times - ref)) < 0.010
    assert np.max(np.abs(times - beats)) <= half_frame + 1e-3


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    res = run_cli("--set", f"source.path={tmp_path / 'nope.wav'}", "--set", f"sink.path={tmp_path / 'o.jsonl'}")
    assert res.returncode == 1
    assert "audio file not found" in res.stderr and "nope.wav" in res.stderr


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio")
    res = run_cli("--set", f"source.path={bad}", "--set", f"sink.path={tmp_path / 'o.jsonl'}")
    assert res.returncode == 1
    assert "cannot read" in res.stderr and "bad.wav" in res.stderr


def test_a_file_reports_its_progress_for_the_displays(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    write_clip(path, sr=44100, seconds=3.0)
    rt = Runtime(build(f"nodes:\n  src: {{kind: file, path: '{path}', speed: max}}\n  out: {{kind: discard, in: src}}\n"))
    assert rt.run() == 0
    st = rt.snapshot().nodes["src"].extra
    assert st["duration_s"] == 3.0 and st["position_s"] == pytest.approx(3.0, abs=512 / 44100)


def test_a_missing_file_is_named_once_and_a_folder_is_called_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcav.nodes.audio.file_source import resolve_path
    from mcav.runtime.node import NodeFailure

    monkeypatch.chdir(tmp_path)  # the graph's folder is the working directory: one place to look
    with pytest.raises(NodeFailure) as missing:
        resolve_path("nope.wav", tmp_path)
    assert str(missing.value).count(str(tmp_path / "nope.wav")) == 1
    (tmp_path / "songs").mkdir()
    with pytest.raises(NodeFailure, match=r"audio file songs is a folder .*songs\): give the path of a file in it"):
        resolve_path("songs", tmp_path)
