"""Shared fixtures: the ../shared reference folder, compiled graphs, free ports."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from mcav.runtime.compile import CompiledGraph, compile_text

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MCAV_SHARED", ROOT.parent / "shared"))


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` (reference specs and beat clips); skips the test when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (reference material for developers only)")
    return SHARED


def build(text: str, overrides: tuple[str, ...] = ()) -> CompiledGraph:
    """Compile a graph from YAML text."""
    return compile_text(text, "test.yaml", overrides)


def free_port() -> int:
    """A TCP port that was free a moment ago (for subprocess servers that cannot report port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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

