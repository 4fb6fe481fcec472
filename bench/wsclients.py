"""Load generators for the network paths: DJs that stamp their frames, and lean browser clients.

A DJ sends ``dj_audio_frame`` at a fixed rate; each frame's first two bands
carry its number (``seq % 1000 / 1000`` and ``seq // 1000 % 1000 / 1000``),
which the VJ server passes to browsers unchanged in ``state.bands``. A browser
client reads that signature back, so the latency of each frame is the time
from the DJ's send to the browser's receipt, both on this process's monotonic
clock.

Browser clients speak WebSocket over a bare asyncio protocol (RFC 6455 client
side, no extensions): with hundreds of them in one process, the websockets
library's per-message cost would make the clients, not the server, the
bottleneck. They record ``(signature, arrival ns)`` and answer pings.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from mcav.runtime.frames import Features

__all__ = ["BrowserClient", "FakeDJ", "Fleet", "signature_bands"]

_SIG = re.compile(rb'"bands":\[([0-9.]+),([0-9.]+)')


def signature_bands(seq: int) -> np.ndarray:
    """The 5 bands that identify frame ``seq`` (unique for a million frames)."""
    return np.array([(seq % 1000) / 1000, (seq // 1000 % 1000) / 1000, 0.5, 0.4, 0.3], dtype=np.float64)


class FakeDJ:
    """A DJ client (MCAV DJ protocol, ``key`` "" by default) streaming stamped frames at ``fps``.

    Attributes:
        sent: Signature → monotonic ns of the send, for every frame sent.
    """

    def __init__(self, url: str, dj_id: str, fps: float = 60.0, key: str = "") -> None:
        self.url, self.dj_id, self.fps, self.key = url, dj_id, fps, key
        self.sent: dict[int, int] = {}
        self.authed = asyncio.Event()
        self.closed_code: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        from mcav.nodes.dj import protocol as P

        async with connect(self.url, proxy=None, compression=None, open_timeout=10) as ws:
            await ws.send(P.encode(P.dj_auth(self.dj_id, self.dj_id, self.key)))
            reader = asyncio.ensure_future(self._read(ws, P))
            try:
                period = 1.0 / self.fps
                seq, t_next, beat_next = 0, time.monotonic(), time.monotonic() + 2.0
                await self.authed.wait()
                while True:
                    f = Features(seq=seq, t_capture=0, bands=signature_bands(seq), peak=0.5, bpm=128.0)
                    sig = seq % 1_000_000
                    self.sent[sig] = time.monotonic_ns()
                    await ws.send(P.encode(P.dj_audio_frame(seq, time.time(), f)))
                    seq += 1
                    if time.monotonic() >= beat_next:
                        beat_next += 2.0
                        await ws.send(P.encode(P.dj_heartbeat(time.time())))
                    t_next += period
                    await asyncio.sleep(max(0.0, t_next - time.monotonic()))
            except ConnectionClosed as exc:
                self.closed_code = exc.rcvd.code if exc.rcvd else None
            finally:
                reader.cancel()

    async def _read(self, ws: Any, P: Any) -> None:
        async for text in ws:
            msg = json.loads(text)
            t = msg.get("type")
            if t in ("auth_success", "auth_approved"):
                self.authed.set()
            elif t == "clock_sync_request":
                now = time.time()
                await ws.send(P.encode(P.clock_sync_response(msg.get("server_time"), now, now)))


class BrowserClient(asyncio.Protocol):
    """One lean browser: records the signature and arrival time of every ``state`` message."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, int]] = []  # (signature, monotonic ns)
        self.messages = 0
        self.open = asyncio.Event()
        self.lost = False
        self._buf = bytearray()
        self._handshake = True
        self._transport: asyncio.Transport | None = None

    @classmethod
    async def connect(cls, host: str, port: int, path: str = "/") -> BrowserClient:
        loop = asyncio.get_running_loop()
        client = cls()
        transport, _ = await loop.create_connection(lambda: client, host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        await asyncio.wait_for(client.open.wait(), 10)
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True

    def close(self) -> None:
        if self._transport is not None:
            self._send(0x8, struct.pack("!H", 1000))
            self._transport.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        # client frames are masked (RFC 6455 5.3); payloads here are small
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self._transport is not None and len(payload) < 126
        self._transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buf = self._buf
        buf += data
        if self._handshake:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buf[: buf.find(b"\r\n")]:
                self.lost = True
                return
            del buf[: end + 4]
            self._handshake = False
            self.open.set()
        while len(buf) >= 2:
            opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
            head = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, head = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, head = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < head + n:
                return
            if opcode == 1:
                # search the frame in place: a state is ~6 kB and its bands come after the entities
                self.messages += 1
                if buf.startswith(b'{"type":"state"', head):
                    m = _SIG.search(buf, head, head + n)
                    if m:
                        sig = round(float(m.group(1)) * 1000) + 1000 * round(float(m.group(2)) * 1000)
                        self.arrivals.append((sig, now))
                elif buf.find(b'"type":"ping"', head, head + n) >= 0:
                    self._send(0x1, b'{"type":"pong"}')
                del buf[: head + n]
                continue
            payload = bytes(buf[head : head + n])
            del buf[: head + n]
            if opcode == 0x9:
                self._send(0xA, payload)


#: A fleet's process: ``add N`` connects N more clients (then "ready"); ``dump`` prints every client's arrivals;
#: ``lag`` the (time, lateness ns) of a 1 ms timer since the last ``lag`` (how far the process itself is behind).
_FLEET = """
import asyncio, json, sys, time
from bench.wsclients import BrowserClient
lags = []
async def sample_lag():  # how late a 1 ms timer fires: this process falling behind its sockets
    while True:
        t = time.monotonic_ns()
        await asyncio.sleep(0.001)
        lags.append((t, time.monotonic_ns() - t - 1_000_000))
async def main(port):
    loop, clients = asyncio.get_running_loop(), []
    sampler = asyncio.ensure_future(sample_lag())
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).split():
        if line[0] == "add":
            n = len(clients) + int(line[1])
            while len(clients) < n:  # in batches, so the accept backlog never overflows
                k = min(50, n - len(clients))
                clients += await asyncio.gather(*(BrowserClient.connect("127.0.0.1", port) for _ in range(k)))
            print("ready", flush=True)
        elif line[0] == "lag":
            print(json.dumps(lags), flush=True)
            lags.clear()
        else:
            print(json.dumps([c.arrivals for c in clients]), flush=True)
    for c in clients:
        c.close()
asyncio.run(main(int(sys.argv[1])))
"""


class Fleet:
    """Lean browsers of one server in a process of their own (monotonic clock shared with this one).

    So that their reads never queue behind another server's browsers in one process (which would add
    the time to read those to every arrival), and never wait for this process's GIL.
    """

    def __init__(self, port: int, nice: int = 0) -> None:
        """``nice``: run at ``nice -n`` (below the servers measured: real browsers are on other machines)."""
        root = Path(__file__).resolve().parent.parent
        prefix = ("nice", "-n", str(nice)) if nice else ()
        self.proc = subprocess.Popen([*prefix, sys.executable, "-c", _FLEET, str(port)], cwd=root,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.size = 0

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline()

    async def grow(self, n: int) -> None:
        """Connect clients until there are ``n``."""
        if n > self.size and (await asyncio.to_thread(self._ask, f"add {n - self.size}")).strip() != "ready":
            raise RuntimeError("the browser clients did not connect")
        self.size = max(n, self.size)

    async def arrivals(self) -> list[list[tuple[int, int]]]:
        """Every client's (signature, monotonic ns) arrivals so far."""
        return [[(sig, t) for sig, t in a] for a in json.loads(await asyncio.to_thread(self._ask, "dump"))]

    async def lag(self) -> list[tuple[int, int]]:
        """(monotonic ns, lateness ns) of a 1 ms timer in the clients' process since the last call."""
        return [(t, d) for t, d in json.loads(await asyncio.to_thread(self._ask, "lag"))]

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
