"""``mcav run --watch`` on a show with browsers: a structural save keeps the connected clients of unchanged nodes."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

from conftest import accepts, free_port, wait_until
from watch_support import Watched
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

CHAIN = """nodes:
  src:  {{kind: synth, speed: realtime}}
  fft:  {{kind: fft, in: src}}
  beat: {{kind: beat, in: fft}}
  viz:  {{kind: pattern, in: beat, pattern: spectrum}}
  web:  {{kind: browser, in: {feed}, host: 127.0.0.1, port: {port}}}
  admin: {{kind: admin_http, host: 127.0.0.1, port: {admin}, control: {{browser: web}}}}
"""


def browser(port: int) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{port}", open_timeout=5, compression=None, proxy=None)


def state_from(ws: ClientConnection, frame: int = 0, timeout: float = 10.0) -> int:
    """Read until a ``state`` of source frame ``frame`` or later arrives (answering pings); its frame number."""
    while True:
        msg: dict[str, Any] = json.loads(ws.recv(timeout))
        if msg["type"] == "ping":
            ws.send(json.dumps({"type": "pong"}))
        elif msg["type"] == "state" and msg["frame"] >= frame:
            return int(msg["frame"])


def metrics(port: int) -> str:
    """The admin node's ``/metrics`` (Prometheus text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def closed_by_server(ws: ClientConnection) -> int | None:
    """Read until the server closes the connection; its close code."""
    try:
        while True:
            ws.recv(10)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None


def test_structural_saves_keep_the_browsers_of_unchanged_nodes_connected(tmp_path: Path) -> None:
    web, web2, admin = free_port(), free_port(), free_port()
    body = CHAIN.format(feed="viz", port=web, admin=admin)
    second = f"  web2: {{kind: browser, in: viz, host: 127.0.0.1, port: {web2}}}\n"
    lagged = CHAIN.format(feed="lag", port=web, admin=admin) + "  lag:  {kind: delay, in: viz, ms: 0}\n"
    with Watched(tmp_path / "show.yaml", body) as run:
        run.wait_for("watching")
        wait_until(lambda: accepts(web) and accepts(admin), 20, "the browser and admin nodes listening")
        with browser(web) as kept:
            state_from(kept)

            run.save(body + second)  # a node added: a second browser port
            assert "kept src, fft, beat, viz, web, admin; added web2" in run.wait_for("reloaded")
            wait_until(lambda: accepts(web2), 10, "the added browser node listening")
            assert 'node="web2",kind="browser"' in metrics(admin)  # the kept admin node reports the new one
            with browser(web2) as other:
                state_from(kept, state_from(other))  # a frame made after the reload reaches the kept client

                # A node inserted before the kept browser (its input rewired), the second browser removed.
                run.save(lagged)
                run.wait_for("added lag; removed web2")
                assert closed_by_server(other) == 1001
            assert not accepts(web2)
            text = metrics(admin)
            assert 'node="lag",kind="delay"' in text and 'node="web2"' not in text
            with browser(web) as late:
                state_from(kept, state_from(late))

            run.save("nodes:\n  src: {kind: synht}\n")  # invalid: nothing changes
            run.wait_for("is invalid; still running the previous graph")
            with browser(web) as late:
                state_from(kept, state_from(late))

            # The kept browser's own parameters: it alone is rebuilt, its clients reconnect.
            run.save(lagged.replace("in: lag,", "in: lag, state_rate: 30,"))
            run.wait_for("kept src, fft, beat, viz, admin, lag; rebuilt web")
            assert closed_by_server(kept) == 1001
        wait_until(lambda: accepts(web), 10, "the rebuilt browser node listening")
        with browser(web) as again:
            state_from(again)
        assert run.interrupt() == 0
