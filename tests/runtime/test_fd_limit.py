"""A VJ server at its file-handle limit (issue 14.5): a flood of half-open sockets on the browser port.

The server runs as ``mcav run`` in its own process with RLIMIT_NOFILE 160 (so
its listen backlog is 16 and its file-handle reserve 64); this test opens 240
raw TCP connections to :8766 that never speak. The server must keep cutting
the oldest of them, keep every port answering (a DJ joins, a browser gets its
vj_state, ``/health`` answers) and log the condition a few times, not once
per accept. (asyncio accepts up to a backlog of sockets per wake-up before
the budget sees them; the reserve is twice that, so one burst cannot take the
handles the DJ port needs — with asyncio's default backlog of 100 the DJ's
join took 4 s here, or failed.)
"""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import ROOT, free_port, wait_until
from mcav.runtime.budget import listen_sizes
from websockets.sync.client import connect

LIMIT = 160
FLOOD = 240


def _limit_fds() -> None:  # runs in the child before exec; hard too, else `mcav run` lifts the soft limit to it
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
        assert r.status == 200
        return json.loads(r.read())


def test_a_half_open_flood_at_the_file_handle_limit_leaves_every_port_answering(tmp_path: Path) -> None:
    dj_port, web_port, http_port = free_port(), free_port(), free_port()
    graph = tmp_path / "vj.yaml"
    graph.write_text(f"""
graph: vj
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: {dj_port}}}
  viz: {{kind: pattern, in: djs, entities: 8}}
  web: {{kind: browser, in: viz, host: 127.0.0.1, port: {web_port}}}
  admin: {{kind: admin_http, host: 127.0.0.1, port: {http_port}}}
""")
    proc = subprocess.Popen([sys.executable, "-m", "mcav.runtime.cli", "run", str(graph), "--no-dashboard"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_limit_fds)
    flood: list[socket.socket] = []
    try:
        wait_until(lambda: _answers(http_port), timeout=20, what="the VJ server to start")
        deadline = time.monotonic() + 60  # the small backlog at this limit (16) slows the flood: SYN retries
        for _ in range(FLOOD):  # more sockets than the server has file handles
            try:
                flood.append(socket.create_connection(("127.0.0.1", web_port), timeout=5))
            except OSError:
                pass
            assert time.monotonic() < deadline
        with connect(f"ws://127.0.0.1:{dj_port}", proxy=None, open_timeout=5) as dj:
            dj.send(json.dumps({"type": "dj_auth", "dj_id": "dj_ok", "dj_name": "OK", "dj_key": ""}))
            assert json.loads(dj.recv(5))["type"] == "auth_success"
        with connect(f"ws://127.0.0.1:{web_port}", proxy=None, open_timeout=5) as b:
            assert json.loads(b.recv(5))["type"] == "vj_state"
        stats = health(http_port)
        assert stats["security"]["connections_evicted"] > 0 and stats["security"]["connections_open"] < LIMIT
        assert stats["dj_connects"] == 1 and stats["browser_connects"] == 1
    finally:
        for s in flood:
            s.close()
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err, err[-3000:]
    # tallied: at most one line per listener and condition per 10 s, however many accepts failed or were cut
    lines = err.splitlines()
    assert 1 <= sum("to make room" in ln for ln in lines) <= 4, err[-3000:]
    assert sum("out of system resource" in ln for ln in lines) <= 4, err[-3000:]


def _answers(port: int) -> bool:
    try:
        return health(port)["status"] == "ok"
    except OSError:
        return False


def test_listen_sizes_keep_one_burst_of_accepts_within_half_the_reserve() -> None:
    for limit in (64, 160, 1024, 4096, 65536, None):
        backlog, reserve = listen_sizes(limit)
        assert 16 <= backlog <= 256 and 2 * backlog <= reserve, (limit, backlog, reserve)
    assert listen_sizes(160) == (16, 64) and listen_sizes(1024) == (64, 128) and listen_sizes(1 << 20) == (256, 512)


def test_mcav_run_lifts_the_soft_file_handle_limit_to_the_hard_one(tmp_path: Path) -> None:
    http_port = free_port()
    graph = tmp_path / "web.yaml"
    graph.write_text(f"graph: web\nnodes:\n  admin: {{kind: admin_http, host: 127.0.0.1, port: {http_port}}}\n")

    def soft_256_hard_4096() -> None:  # a distribution's default, scaled down
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096))

    proc = subprocess.Popen([sys.executable, "-m", "mcav.runtime.cli", "run", str(graph), "--no-dashboard"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=soft_256_hard_4096)
    try:
        wait_until(lambda: _answers(http_port), timeout=20, what="the server to start")
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        row = next(ln for ln in limits.splitlines() if ln.startswith("Max open files")).split()
        assert row[3:5] == ["4096", "4096"], row
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
