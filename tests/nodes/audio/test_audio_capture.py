"""The ``sounddevice`` source and ``mcav devices`` against a real PulseAudio capture device.

A PulseAudio sine source (``module-sine-source``) is the capture device; the
ALSA ``pulse`` device records from it when ``PULSE_SOURCE`` names it. Skipped
when PortAudio or a PulseAudio server is not available.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
from conftest import build

from mcav.runtime.engine import Runtime
from mcav.runtime.errors import GraphInvalid

pytestmark = pytest.mark.audio

FREQ = 1234.0


def _pactl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)


def _suspend_default_source(on: bool) -> bool:
    """Suspend (or resume) the default source; a monitor source is suspended through its sink."""
    source = _pactl("get-default-source").stdout.strip()
    if source.endswith(".monitor"):
        return _pactl("suspend-sink", source[: -len(".monitor")], "1" if on else "0").returncode == 0
    return _pactl("suspend-source", source, "1" if on else "0").returncode == 0


@pytest.fixture
def sine_source(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PulseAudio sine source at FREQ Hz, selected for this process through PULSE_SOURCE."""
    from mcav.nodes.audio.devices import AudioUnavailable, load_sounddevice

    try:
        load_sounddevice()
    except AudioUnavailable as exc:
        pytest.skip(str(exc))
    try:
        if _pactl("info").returncode != 0:
            pytest.skip("no PulseAudio server (start one as in the README)")
    except FileNotFoundError:
        pytest.skip("pactl is not installed")
    name = f"mcav_test_sine_{os.getpid()}"
    loaded = _pactl("load-module", "module-sine-source", f"source_name={name}", "rate=48000", f"frequency={FREQ:g}")
    assert loaded.returncode == 0, loaded.stderr
    module = loaded.stdout.strip()
    monkeypatch.setenv("PULSE_SOURCE", name)
    try:
        yield module
    finally:
        _pactl("unload-module", module)


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / sr)[np.argmax(spec)])


def test_captures_the_sine_frequency(sine_source: str) -> None:
    rt = Runtime(build("graph: t\nnodes:\n  mic: {kind: sounddevice, device: pulse, duration: 1.0}\n  sink: {kind: collect, in: mic}\n"))
    assert rt.run() == 0
    frames = list(rt.node("sink").frames)
    assert sum(f.samples.shape[0] for f in frames) == 48000
    assert frames[0].samples.shape[1] == 2 and frames[0].sample_rate == 48000
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert all(b.t_capture >= a.t_capture for a, b in zip(frames, frames[1:]))
    x = np.concatenate([f.samples.mean(axis=1) for f in frames])
    assert dominant_hz(x[-24000:], 48000) == pytest.approx(FREQ, abs=3)
    assert rt.snapshot().nodes["mic"].extra["device"] == "pulse"


def test_capture_to_beat_graph_runs(sine_source: str) -> None:
    rt = Runtime(
        build(
            "graph: t\nnodes:\n  mic: {kind: sounddevice, device: pulse, duration: 0.5, channels: 1}\n"
            "  fft: {kind: fft, in: mic}\n  beat: {kind: beat, in: fft}\n  sink: {kind: collect, in: beat}\n"
        )
    )
    assert rt.run() == 0
    feats = list(rt.node("sink").frames)
    assert len(feats) >= 40
    assert feats[-1].bands[2] > 0.9 and feats[-1].bands[0] < 0.2  # 1234 Hz is in the 500-2000 Hz band


def test_the_latency_asked_reaches_portaudio(sine_source: str) -> None:
    """The default asks PortAudio for 5 ms: two 128-sample periods, below the device's ``low`` default."""

    def granted(latency: str) -> float:
        rt = Runtime(build(f"graph: t\nnodes:\n  mic: {{kind: sounddevice, device: pulse, duration: 0.2{latency}}}\n"
                           "  sink: {kind: collect, in: mic}\n"))
        assert rt.run() == 0
        return rt.node("mic").status()["input_latency_ms"]

    default, low = granted(""), granted(", latency: low")
    assert 0 < default <= 5.4 < low  # 2 × 128 samples at 48 kHz; ALSA's pulse device gives 10.7 ms for `low`


def test_a_bad_latency_is_named() -> None:
    with pytest.raises(GraphInvalid, match=r"node 'mic': key 'latency': expected 'low' \| 'high' \| float, got 'fast'"):
        build("graph: t\nnodes:\n  mic: {kind: sounddevice, latency: fast}\n  sink: {kind: collect, in: mic}\n")


def run_cli(tmp_path: Path, graph: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "g.yaml"
    path.write_text(graph)
    return subprocess.run(
        [sys.executable, "-m", "mcav.runtime.cli", "run", str(path), "--no-dashboard", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_wrong_device_name_lists_the_inputs(sine_source: str, tmp_path: Path) -> None:
    res = run_cli(tmp_path, "graph: t\nnodes:\n  mic: {kind: sounddevice, device: no-such-card}\n  sink: {kind: discard, in: mic}\n")
    assert res.returncode == 1
    assert "no audio input device matches 'no-such-card'" in res.stderr
    assert "pulse" in res.stderr  # the list of what exists


def test_mcav_devices_lists_inputs(sine_source: str) -> None:
    res = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "devices"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert "pulse" in res.stdout and "in," in res.stdout


def test_no_device_is_a_clear_error() -> None:
    """Without a sound server there is usually no input at all; the message must say so."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "PULSE_SERVER")}
    env["PULSE_SERVER"] = "unix:/nonexistent/mcav-test"
    res = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "devices"], capture_output=True, text=True, env=env, timeout=30)
    if res.returncode == 0:
        pytest.skip("this machine has a capture device outside PulseAudio")
    assert res.returncode == 1
    assert "no audio input device found" in res.stderr or "PortAudio is not available" in res.stderr


def wait_for(cond: Callable[[], bool], timeout: float) -> bool:
    """Wait until cond() holds, checking every 20 ms; False on timeout."""
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        tick.wait(0.02)
    return True


def test_reopens_when_the_device_dies(sine_source: str, caplog: pytest.LogCaptureFixture) -> None:
    name = os.environ["PULSE_SOURCE"]
    rt = Runtime(
        build(
            "graph: t\nnodes:\n"
            "  mic: {kind: sounddevice, device: pulse, stall_timeout: 0.3, reconnect: {initial: 0.1, max: 0.2}}\n"
            "  sink: {kind: collect, in: mic, max_frames: 100}\n"
        )
    )
    mic, sink = rt.node("mic"), rt.node("sink")
    frames_out = lambda: rt.snapshot().nodes["mic"].frames_out  # noqa: E731
    again = None
    rt.start()
    try:
        assert wait_for(lambda: frames_out() > 20, 10)
        # PulseAudio may rescue the recording onto the default source instead of ending it; with that
        # source suspended the rescued stream gets no audio, so the node must see it die either way
        # (as when a USB interface is unplugged).
        suspended = _suspend_default_source(True)
        _pactl("unload-module", sine_source)  # the device disappears…
        assert wait_for(lambda: "audio stream died" in caplog.text, 10), mic.status()
        again = _pactl("load-module", "module-sine-source", f"source_name={name}", "rate=48000", f"frequency={FREQ:g}")
        assert again.returncode == 0  # …and comes back
        assert wait_for(lambda: mic.reopens >= 1, 15), mic.status()
        seen = frames_out()
        assert wait_for(lambda: frames_out() > seen + 100, 10)
    finally:
        rt.stop()
        rt.shutdown()
        if again is not None:
            _pactl("unload-module", again.stdout.strip())
        _suspend_default_source(False)
    assert suspended, "could not suspend the default source"
    x = np.concatenate([f.samples.mean(axis=1) for f in list(sink.frames)[-80:]])[-10240:]  # ±2.3 Hz bins
    assert dominant_hz(x, 48000) == pytest.approx(FREQ, abs=3)


def test_every_stream_is_closed_when_start_or_abort_fails(sine_source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PortAudio streams whose start() fails (a busy device) or whose abort() fails (a dying one) are closed."""
    import types

    import sounddevice as real_sd

    created: list[real_sd.InputStream] = []

    class FlakyStream(real_sd.InputStream):  # the real PortAudio stream, with start()/abort() failing once each
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

        def start(self) -> None:
            if len(created) == 1:
                raise real_sd.PortAudioError("Device unavailable [PaErrorCode -9985]")
            super().start()

        def abort(self, ignore_errors: bool = True) -> None:
            raise real_sd.PortAudioError("Unanticipated host error [PaErrorCode -9999]")

    flaky = types.ModuleType("sounddevice")
    flaky.__dict__.update(real_sd.__dict__)
    flaky.InputStream = FlakyStream
    monkeypatch.setitem(sys.modules, "sounddevice", flaky)  # what load_sounddevice() imports
    rt = Runtime(build("graph: t\nnodes:\n  mic: {kind: sounddevice, device: pulse, duration: 0.2, "
                       "reconnect: {initial: 0.05}}\n  sink: {kind: collect, in: mic}\n"))
    assert rt.run() == 0
    assert sum(f.samples.shape[0] for f in rt.node("sink").frames) == 9600  # the second stream delivered
    assert len(created) == 2 and [s.closed for s in created] == [True, True]
