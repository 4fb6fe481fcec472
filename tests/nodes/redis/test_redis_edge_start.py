"""An edge started before its Redis (or its VJ) is reachable serves its pages and browsers without delay.

``mcav run edge.yaml`` as a real subprocess; no redis-server is needed (the URL points at a closed port).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest
from conftest import free_port
from redis_support import Proc

TIMEOUT = 2.0  # the edge's request_timeout (s)


def test_an_edge_without_redis_opens_its_browser_port_within_one_request_timeout(tmp_path: Path) -> None:
    if importlib.util.find_spec("redis") is None:
        pytest.skip("the redis client is not installed (pip install 'mcav[redis]')")
    # The browser node reads four things (live DJ, Minecraft link, patterns, pattern state) from redis_sub
    # before it listens; each read waited request_timeout for a snapshot that could not come, so the port
    # opened 4 × request_timeout late (12 s with the default 3 s). One wait in all is the promise.
    t0 = time.monotonic()
    edge = Proc("edge.yaml", tmp_path, "edge", f"sub.url=redis://127.0.0.1:{free_port()}/0",
                f"sub.request_timeout={TIMEOUT}")  # returns once /health answers and the browser port accepts
    try:
        elapsed = time.monotonic() - t0
        assert elapsed < 3 * TIMEOUT, (elapsed, edge.text())
        assert "unavailable" in edge.text()  # it did try the closed port
    finally:
        assert edge.stop() == 0, edge.text()
    assert "aborting" not in edge.text()
