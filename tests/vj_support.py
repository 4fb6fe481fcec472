"""Helpers for the VJ-server tests: a Scene-feeding test node, scene factories, condition waits.

``scene_feed`` is a real node kind defined here for tests (registered into the
catalogue for the test session): the test thread pushes Scene frames into a
graph through it, so the sinks can be driven frame by frame.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import contextlib
from typing import Any, Iterator

import numpy as np

from conftest import wait_until  # noqa: F401 - re-exported for the VJ tests

from mcav.nodes.interfaces import MinecraftLink
from mcav.runtime.clock import Clock
from mcav.runtime.control import Require
from mcav.runtime.engine import Runtime
from mcav.runtime.frames import Features, Scene, now_ns
from mcav.runtime.node import AsyncNode
from mcav.runtime.registry import register_kind

register_kind("scene_feed", "vj_support:SceneFeed")
register_kind("link_watch", "vj_support:LinkWatch")


class SceneFeed(AsyncNode):
    """Test source: emits the Scene frames the test thread hands to :meth:`push`."""

    kind = "scene_feed"
    outputs = {"out": Scene}

    def __init__(self, params: Any, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.loop: asyncio.AbstractEventLoop | None = None

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.ctx.wait_stopping()

    def push(self, scene: Scene) -> None:
        """Emit ``scene`` from the I/O loop (callable from any thread)."""
        assert wait_until(lambda: self.loop is not None)
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.ctx.emit, scene)


class LinkWatch(AsyncNode):
    """Test consumer of a Minecraft link: the test subscribes to ``rt.control_port(NAME, "link")``."""

    kind = "link_watch"
    requires = {"link": Require(MinecraftLink)}

    async def run(self) -> None:
        await self.ctx.wait_stopping()


def make_scene(
    n: int = 16, seq: int = 0, *, blackout: bool = False, visible: np.ndarray | None = None,
    bpm: float = 128.0, beat: bool = False, x: float | None = None, pattern: str = "spectrum",
    t_capture: int | None = None,
) -> Scene:
    """A Scene of ``n`` entities spread over the zone, with features that have tempo and phase."""
    i = np.arange(n, dtype=np.float32)
    feats = Features(
        seq=seq, t_capture=now_ns() if t_capture is None else t_capture, bands=np.array([0.8, 0.6, 0.4, 0.3, 0.2], np.float32), peak=0.8,
        beat=beat, beat_intensity=0.9 if beat else 0.1, bpm=bpm, tempo_confidence=0.7, beat_phase=0.25,
        source="test",
    )
    return Scene(
        seq=seq, t_capture=feats.t_capture, features=feats,
        x=np.full(n, x, np.float32) if x is not None else (i + 0.5) / n,
        y=np.full(n, 0.1, np.float32), z=np.full(n, 0.5, np.float32),
        scale=np.full(n, 0.3, np.float32), brightness=np.full(n, 15, np.int8),
        glow=np.zeros(n, bool), visible=np.ones(n, bool) if visible is None else visible,
        band=(np.arange(n) % 5).astype(np.int8), pattern=pattern, blackout=blackout,
    )


@contextlib.contextmanager
def running(graph: Any, clock: Clock | None = None) -> Iterator[Runtime]:
    """Start a Runtime for the test and always shut it down."""
    rt = Runtime(graph, clock=clock)
    rt.start()
    try:
        yield rt
    finally:
        rt.shutdown()


def on_loop(rt: Runtime, coro: Any, timeout: float = 5.0) -> Any:
    """Run ``coro`` on the runtime's I/O loop (for node APIs that must be called there)."""
    return asyncio.run_coroutine_threadsafe(coro, rt._loop).result(timeout)


class RawBrowser:
    """A browser as the MCAV pages are: a plain WebSocket client speaking hand-written JSON."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, port: int, **kw: Any) -> RawBrowser:
        from websockets.asyncio.client import connect

        ws = await connect(f"ws://127.0.0.1:{port}", proxy=None, compression=None, ping_interval=None,
                           open_timeout=5, **kw)
        return cls(ws)

    async def send(self, msg: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(msg if isinstance(msg, (str, bytes)) else json.dumps(msg))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        text = await asyncio.wait_for(self.ws.recv(), timeout)
        msg = json.loads(text)
        assert next(iter(msg)) == "type", f"'type' is not the first key: {text[:80]}"
        self.seen.append(msg)
        return msg

    async def expect(self, mtype: str, timeout: float = 5.0, skip: tuple[str, ...] = ("state", "ping")) -> dict[str, Any]:
        """The next message of ``mtype``, skipping only the periodic ``skip`` types (anything else fails)."""
        while True:
            msg = await self.recv(timeout)
            if msg["type"] == mtype:
                return msg
            assert msg["type"] in skip, f"expected {mtype}, got {msg}"

    async def ask(self, msg: dict[str, Any], reply: str, **kw: Any) -> dict[str, Any]:
        await self.send(msg)
        return await self.expect(reply, **kw)

    async def closed(self, timeout: float = 5.0) -> tuple[int | None, str | None]:
        """Wait for the server to close us (reading and discarding); return (code, reason)."""
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except ConnectionClosed:
            pass
        return self.ws.close_code, self.ws.close_reason

    async def close(self) -> None:
        await self.ws.close()


def http_get(port: int, path: str) -> tuple[int, str, bytes] | None:
    """GET ``path`` from 127.0.0.1:``port``: (status, content type, body), or None if nothing answers."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.getheader("content-type") or "", r.read()
    except OSError:
        return None


async def two_browsers(port: int) -> tuple[RawBrowser, RawBrowser]:
    """Two browsers connected to ``port``, each past its ``vj_state``."""
    a, b = await RawBrowser.connect(port), await RawBrowser.connect(port)
    await a.expect("vj_state")
    await b.expect("vj_state")
    return a, b
