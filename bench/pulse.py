"""A private PulseAudio server with a null sink, and a player that writes noise bursts into it.

The end-to-end benchmark (:mod:`bench.e2e_latency`) needs a real capture device
without hardware: :class:`PulseServer` starts ``pulseaudio`` in user mode with
its own ``XDG_RUNTIME_DIR`` (so it never touches another server), loads a null
sink and makes its monitor the default source, exactly as ``.ci/run`` does, and
stops it again. :class:`BurstPlayer` keeps one playback stream on that sink
through libpulse-simple (ctypes; the system library PulseAudio ships) with a
small target buffer, writing silence in short chunks and a noise burst when
asked; it records when each burst's first sample is due at the sink: the
write time plus the stream latency libpulse reports at that moment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

__all__ = ["BurstPlayer", "PulseServer", "PulseUnavailable"]

SINK = "vsink"


class PulseUnavailable(Exception):
    """PulseAudio (the server or libpulse-simple) is not installed or did not start."""


class PulseServer:
    """``pulseaudio`` with a null sink ``vsink`` (48 kHz) in a private runtime directory.

    Use as a context manager; :attr:`env` is the environment a child process needs to reach it
    (``XDG_RUNTIME_DIR``, ``PULSE_SERVER``). Entering also points this process at it.
    """

    def __init__(self, rate: int = 48000) -> None:
        if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
            raise PulseUnavailable("pulseaudio / pactl not installed (apt-get install pulseaudio pulseaudio-utils)")
        self.rate = rate
        self.dir = Path(tempfile.mkdtemp(prefix="mcav-pulse-"))
        os.chmod(self.dir, 0o700)
        self.socket = self.dir / "pulse" / "native"
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(self.dir), "PULSE_SERVER": f"unix:{self.socket}"}
        self.env.pop("PULSE_SINK", None)
        self.env.pop("PULSE_SOURCE", None)
        self.pid: int | None = None
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> PulseServer:
        cmd = ["pulseaudio", "-n", "--daemonize=yes", "--exit-idle-time=-1", "--disallow-exit", "--use-pid-file=yes",
               f"--log-target=file:{self.dir / 'pulse.log'}",
               "-L", f"module-native-protocol-unix socket={self.socket}",
               "-L", f"module-null-sink sink_name={SINK} rate={self.rate}"]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=20)
        if proc.returncode != 0:
            raise PulseUnavailable(f"pulseaudio did not start: {(proc.stderr or proc.stdout).strip()[-300:]}")
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                self._kill()
                raise PulseUnavailable("pulseaudio started but does not answer")
            time.sleep(0.05)
        self.pid = int((self.dir / "pulse" / "pid").read_text().split()[0])
        for args in (["set-default-sink", SINK], ["set-default-source", f"{SINK}.monitor"]):
            subprocess.run(["pactl", *args], env=self.env, check=True, capture_output=True)
        for k in ("XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE"):
            self._saved[k] = os.environ.get(k)
            if k in self.env:
                os.environ[k] = self.env[k]
            else:
                os.environ.pop(k, None)
        return self

    def __exit__(self, *exc: object) -> None:
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._kill()

    def _kill(self) -> None:
        pid_file = self.dir / "pulse" / "pid"
        pid = self.pid or (int(pid_file.read_text().split()[0]) if pid_file.exists() else None)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    os.kill(pid, 0)
                    time.sleep(0.05)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in ("maxlength", "tlength", "prebuf", "minreq", "fragsize")]


_FLOAT32LE, _PLAYBACK, _NONE = 5, 1, 0xFFFFFFFF


class BurstPlayer:
    """One playback stream into the null sink: silence in ``chunk_ms`` chunks, a noise burst on request.

    Args:
        server: The running :class:`PulseServer`.
        buffer_ms: The stream's target buffer (tlength): how far ahead of the sink the writer runs.
        chunk_ms: Samples per write.
        burst_ms: Length of each burst (uniform white noise, ±``level``).

    Attributes:
        onsets: Monotonic ns at which each burst's first sample is due at the sink.
    """

    def __init__(self, server: PulseServer, buffer_ms: float = 5.0, chunk_ms: float = 1.0, burst_ms: float = 50.0,
                 level: float = 0.5, seed: int = 0) -> None:
        name = ctypes.util.find_library("pulse-simple")
        if name is None:
            raise PulseUnavailable("libpulse-simple is not installed (apt-get install libpulse0)")
        self._lib = lib = ctypes.CDLL(name)
        lib.pa_simple_new.restype = ctypes.c_void_p
        lib.pa_simple_write.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int)]
        lib.pa_simple_get_latency.restype = ctypes.c_uint64
        lib.pa_simple_get_latency.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
        lib.pa_simple_free.argtypes = [ctypes.c_void_p]
        rate = server.rate
        self.rate = rate
        self.chunk = max(1, round(rate * chunk_ms / 1000))
        self.burst_len = round(rate * burst_ms / 1000)
        self.level = level
        self._rng = np.random.default_rng(seed)
        spec = _SampleSpec(_FLOAT32LE, rate, 1)
        tl = round(rate * buffer_ms / 1000) * 4
        attr = _BufferAttr(_NONE, tl, _NONE, _NONE, _NONE)
        err = ctypes.c_int(0)
        self._s = lib.pa_simple_new(str(server.socket and f"unix:{server.socket}").encode(), b"mcav-bench",
                                    _PLAYBACK, SINK.encode(), b"bursts", ctypes.byref(spec), None,
                                    ctypes.byref(attr), ctypes.byref(err))
        if not self._s:
            raise PulseUnavailable(f"cannot open a playback stream on {SINK} (pa error {err.value})")
        self.onsets: list[int] = []
        self._pending = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="burst-player", daemon=True)
        self._thread.start()

    def burst(self) -> None:
        """Start a burst at the next chunk (its onset is appended to :attr:`onsets`)."""
        self._pending.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        if self._s:
            self._lib.pa_simple_free(self._s)
            self._s = None

    def _write(self, data: np.ndarray) -> None:
        err = ctypes.c_int(0)
        if self._lib.pa_simple_write(self._s, data.ctypes.data, data.nbytes, ctypes.byref(err)) < 0:
            raise RuntimeError(f"pa_simple_write failed (pa error {err.value})")

    def _run(self) -> None:
        silence = np.zeros(self.chunk, np.float32)
        err = ctypes.c_int(0)
        while not self._stop.is_set():
            if not self._pending.is_set():
                self._write(silence)  # blocks while the stream's buffer is full: paced by the sink
                continue
            self._pending.clear()
            burst = self._rng.uniform(-self.level, self.level, self.burst_len).astype(np.float32)
            latency_us = self._lib.pa_simple_get_latency(self._s, ctypes.byref(err))
            self.onsets.append(time.monotonic_ns() + latency_us * 1000)
            for i in range(0, self.burst_len, self.chunk):
                self._write(burst[i : i + self.chunk])
