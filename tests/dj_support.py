"""Helpers for the DJ-link tests: running graphs, a raw "existing MCAV DJ client", waiting.

The raw client writes the MCAV JSON itself (with ``json.dumps``), independent of
``mcav.nodes.dj.protocol``, so the tests check our server against the wire as
an existing DJ client speaks it.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from conftest import async_wait_until, build, wait_until  # noqa: F401 - waits re-exported for the DJ tests

from mcav.runtime.clock import Clock
from mcav.runtime.engine import Runtime

TIMEOUT = 5.0


@contextmanager
def running(yaml_text: str, clock: Clock | None = None, server: str | None = "djs") -> Iterator[Runtime]:
    """Run a graph; wait for its ``dj_server`` node (if named) to listen; shut down after."""
    rt = Runtime(build(yaml_text), clock=clock)
    rt.start()
    try:
        if server:
            assert rt.node(server).ready.wait(TIMEOUT), "dj_server did not start"
            assert rt.node(server).port, f"dj_server failed to listen (exit {rt.exit_code})"
        yield rt
    finally:
        rt.shutdown()


def on_loop(node: Any, fn: Callable[[], Any]) -> Any:
    """Call ``fn()`` on the node's I/O loop (awaiting it if it returns a coroutine); return its result."""

    async def call() -> Any:
        result = fn()
        return await result if asyncio.iscoroutine(result) else result

    return asyncio.run_coroutine_threadsafe(call(), node.loop).result(TIMEOUT)


def vj_graph(extra: str = "", sink: str = "async_collect") -> str:
    """A VJ graph: dj_server on a free port → collector ``sink``."""
    return f"""
graph: vj
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: 0{extra}}}
  sink: {{kind: {sink}, in: {{from: djs, queue: {{slots: 1024}}}}}}
"""


class RawDJ:
    """A DJ client that speaks MCAV's DJ protocol with hand-written JSON."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def connect(cls, port: int) -> RawDJ:
        ws = await connect(f"ws://127.0.0.1:{port}", proxy=None, compression=None, open_timeout=TIMEOUT)
        return cls(ws)

    async def send(self, msg: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(msg if isinstance(msg, (str, bytes)) else json.dumps(msg))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def expect(self, *types: str) -> list[dict[str, Any]]:
        """Receive one message per type, in this order, and return them."""
        got = []
        for t in types:
            msg = await self.recv()
            assert msg["type"] == t, f"expected {t}, got {msg}"
            got.append(msg)
        return got

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int | None, str | None]:
        """Read until the server closes; return (code, reason)."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except ConnectionClosed:
            pass
        return self.ws.close_code, self.ws.close_reason

    async def auth(self, dj_id: str, key: str = "", name: str | None = None, sync: bool = True) -> list[dict]:
        """dj_auth, then answer the clock sync; returns [auth_success, clock_sync_request, stream_route]."""
        await self.send({"type": "dj_auth", "dj_id": dj_id, "dj_name": name or dj_id, "dj_key": key,
                         "direct_mode": False})
        ok, req = await self.expect("auth_success", "clock_sync_request")
        if sync:
            now = time.time()
            await self.send({"type": "clock_sync_response", "server_time": req["server_time"],
                             "dj_recv_time": now, "dj_send_time": now})
        (route,) = await self.expect("stream_route")
        return [ok, req, route]

    async def frame(self, seq: int = 0, **fields: Any) -> None:
        msg = {"type": "dj_audio_frame", "seq": seq, "ts": time.time(), "bands": [0.1, 0.2, 0.3, 0.4, 0.5],
               "peak": 0.5, "beat": False, "beat_i": 0.0, "bpm": 128.0, "tempo_conf": 0.5, "beat_phase": 0.5,
               "i_bass": 0.2, "i_kick": False}
        msg.update(fields)
        await self.send(msg)

    async def heartbeat(self, ts: float = 123.5) -> dict[str, Any]:
        """Send a heartbeat and return its ack (skipping other messages)."""
        await self.send({"type": "dj_heartbeat", "ts": ts, "mc_connected": False})
        while True:
            msg = await self.recv()
            if msg["type"] == "heartbeat_ack":
                return msg

    async def close(self) -> None:
        await self.ws.close()
