"""``mcav run --cpu-latency US``: a PM QoS request the kernel honours while the show runs, gone after it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, free_port, wait_until
from vj_support import http_get

from mcav.runtime.cpulatency import DEVICE, current, request

ASKED = 7  # µs: an unusual value, so that reading it back shows it is ours


@pytest.mark.skipif(current() is None or not os.access(DEVICE, os.W_OK),
                    reason=f"{DEVICE} cannot be read and written here (not root)")
def test_the_request_holds_while_the_show_runs_and_is_withdrawn_when_it_ends(tmp_path: Path) -> None:
    before = current()
    assert before is not None
    if before <= ASKED:
        pytest.skip(f"another process already asks for {before} µs")
    port = free_port()
    graph = tmp_path / "web.yaml"
    graph.write_text(f"graph: web\nnodes:\n  admin: {{kind: admin_http, host: 127.0.0.1, port: {port}}}\n")
    proc = subprocess.Popen([sys.executable, "-m", "mcav.runtime.cli", "run", str(graph), "--no-dashboard",
                             "--cpu-latency", str(ASKED)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: http_get(port, "/health"), timeout=20, what="the server to start")
        assert current() == ASKED
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err[-2000:]
    assert "cpu-latency" not in err  # no warning: it was applied
    assert current() == before


def test_a_device_that_cannot_be_opened_is_a_warning_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_device"
    said = request(0, missing)
    assert isinstance(said, str) and str(missing) in said and "--cpu-latency 0 not applied" in said
    with pytest.raises(ValueError, match="at least 0"):
        request(-1, missing)
