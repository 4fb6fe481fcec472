"""Shared fixtures: the ../shared reference folder, compiled graphs, free ports."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any, Callable
from pathlib import Path

import pytest

from mcav.runtime.budget import raise_fd_limit
from mcav.runtime.compile import CompiledGraph, compile_text

raise_fd_limit()  # as `mcav run` does: the servers tests start in this process size their budgets by it

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MCAV_SHARED", ROOT.parent / "shared"))


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` (reference specs and beat clips); skips the test when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (reference material for developers only)")
    return SHARED


@pytest.fixture(autouse=True)
def _own_data_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test (and the processes it starts) keeps show files in a folder of its own, never the user's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))


def build(text: str, overrides: tuple[str, ...] = ()) -> CompiledGraph:
    """Compile a graph from YAML text."""
    return compile_text(text, "test.yaml", overrides)


def wait_until(pred: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``pred`` until it is truthy and return its value; fail after ``timeout`` real s.

    For conditions with no event to wait on (another process's state, a node's counters).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


async def async_wait_until(pred: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """:func:`wait_until` for coroutines (yields to the event loop between polls)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)


def accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP connection to ``host:port`` succeeds now (a predicate for :func:`wait_until`; never raises)."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


_PORTS_GIVEN: set[int] = set()


def accepting(port: int) -> bool:
    """Whether something on 127.0.0.1:``port`` accepts TCP connections (False while nothing listens yet)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port that was free a moment ago (for subprocess servers that cannot report port 0).

    Never the same port twice in a test session: the OS may hand a just-closed port out again at once, so two
    calls in a row (a server's web and admin ports) could otherwise return the same one.
    """
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Headless Chromium (Playwright), one per test module; tests using it skip without Chromium."""
    from web_support import launch_browser

    pw, b = launch_browser()
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def context(browser):  # type: ignore[no-untyped-def]
    """A fresh browser context at 1280×800 with a 20 s default timeout."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(20000)
    yield ctx
    ctx.close()

