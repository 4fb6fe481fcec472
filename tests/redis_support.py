"""Test support for the Redis hop: a real redis-server on a free loopback port, mcav processes, browsers.

``RedisServer`` runs Debian's ``redis-server`` (never the system instance on
6379): no persistence, bound to 127.0.0.1, killable and restartable on the
same port. ``Proc`` is ``mcav run`` in a subprocess. Tests skip cleanly when
the ``redis-server`` binary or the ``redis`` client package is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import ROOT, accepting, free_port, wait_until
from vj_support import RawBrowser

MCAV = [sys.executable, "-m", "mcav.runtime.cli"]


def need_redis() -> str:
    """The redis-server binary; skips the test when it or the client package is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    if importlib.util.find_spec("redis") is None:
        pytest.skip("the redis client is not installed (pip install 'mcav[redis]')")
    return binary


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A private redis-server on a free loopback port."""

    def __init__(self, binary: str, tmp: Path) -> None:
        self.binary, self.tmp = binary, tmp
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.tmp), "--protected-mode", "no"]
        self.proc = subprocess.Popen(args, stdout=(self.tmp / "redis.log").open("a"), stderr=subprocess.STDOUT)
        wait_until(lambda: self.proc.poll() is not None or _ping(self.port), timeout=10, what="redis-server")
        assert self.proc.poll() is None, (self.tmp / "redis.log").read_text()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def pause(self, paused: bool = True) -> None:
        """SIGSTOP (a hung server: connections stay open, nothing is answered) or SIGCONT."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP if paused else signal.SIGCONT)


class Proc:
    """``mcav run PIPELINE --no-dashboard --set …`` in a subprocess, logging to ``TMP/NAME.log``."""

    def __init__(self, pipeline: str, tmp: Path, name: str, *sets: str, env: dict[str, str] | None = None,
                 admin: bool = True) -> None:
        self.name = name
        self.log = tmp / f"{name}.log"
        self.web, self.admin = free_port(), free_port()
        sets = (f"web.port={self.web}", f"admin.port={self.admin}", *sets) if admin else sets
        args = [*MCAV, "run", str(ROOT / "pipelines" / pipeline), "--no-dashboard"]
        for s in sets:
            args += ["--set", s]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "MCAV_HEALTH_INTERVAL": "3600", **(env or {})}
        self.proc = subprocess.Popen(args, cwd=tmp, stdout=subprocess.DEVNULL, stderr=self.log.open("w"), env=full_env)
        if admin:
            from vj_support import http_get

            wait_until(lambda: self.proc.poll() is not None or http_get(self.admin, "/health"), timeout=20,
                       what=f"{name} to serve /health")
            assert self.proc.poll() is None, self.text()
            wait_until(lambda: self.proc.poll() is not None or accepting(self.web), timeout=20, what=f"{name}'s browser port")

    def text(self) -> str:
        return self.log.read_text()

    def health(self) -> dict[str, Any] | None:
        import json

        from vj_support import http_get

        got = http_get(self.admin, "/health")
        return json.loads(got[2]) if got and got[0] == 200 else None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(10)
        finally:
            self.kill()


async def read_until(b: RawBrowser, pred: Callable[[dict[str, Any]], Any], timeout: float = 10.0,
                     what: str = "message") -> dict[str, Any]:
    """Read ``b``'s messages until one satisfies ``pred`` (others are skipped); fail after ``timeout`` s."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        try:
            msg = await b.recv(left)
        except (asyncio.TimeoutError, TimeoutError):
            continue
        if pred(msg):
            return msg


def is_state(**fields: Any) -> Callable[[dict[str, Any]], bool]:
    """A predicate: a ``state`` message with these field values."""
    return lambda m: m["type"] == "state" and all(m.get(k) == v for k, v in fields.items())

