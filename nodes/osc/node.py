"""The ``osc`` node: an OSC server (UDP) that turns controller messages into show changes.

OSC packets are parsed with python-osc (a well-kept implementation of the OSC
1.0 encoding; no hand-written parser) and routed by :mod:`.addresses` to the
node's control ports — the pattern control and, optionally, the show's scenes.
An operator input: it listens on 127.0.0.1 by default, and takes packets only
from ``allow`` (default: this machine); others are dropped and counted. Packets
queue in a bounded buffer (the oldest dropped, counted) handled one by one, so a
fader storm never grows memory or stalls the loop.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from pythonosc import osc_message_builder, osc_packet

from mcav.nodes.actions import ActionError, Call, perform
from mcav.nodes.interfaces import MidiControl, PatternControl, ShowControl
from mcav.runtime.control import Require
from mcav.runtime.node import AsyncNode
from mcav.runtime.params import param
from mcav.runtime.trust import LOOPBACK, TrustedNetworks

from .addresses import route

__all__ = ["OscIn"]


def _reply(address: str, *args: Any) -> bytes:
    b = osc_message_builder.OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, node: OscIn) -> None:
        self.node = node

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.node.received(data, addr)


class OscIn(AsyncNode):
    """OSC control on UDP 7700: /mcav/pattern, /mcav/scene, /mcav/effect, /mcav/blackout, faders; replies to the sender."""

    kind = "osc"
    requires = {
        "pattern": Require(PatternControl, doc="patterns, effects, blackout, faders"),
        "show": Require(ShowControl, optional=True, doc="/mcav/scene recalls and saves scenes"),
        "midi": Require(MidiControl, optional=True, doc="/mcav/midi/learn binds the next MIDI note or CC"),
    }

    @dataclass
    class Params:
        host: str = param("127.0.0.1", doc="address to listen on (0.0.0.0 for controllers on the LAN)")
        port: int = param(7700, doc="UDP port (0 = any free port, see status())", min=0, max=65535)
        allow: list[str] = param(list(LOOPBACK), doc="networks whose packets are obeyed (others are dropped "
                                 "and counted)")
        queue: int = param(256, doc="packets waiting at most (the oldest dropped when full)", min=1)

        def __post_init__(self) -> None:
            TrustedNetworks(self.allow)  # a bad network is a graph error, named

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.allow = TrustedNetworks(params.allow)
        self.port: int | None = None
        self._queue: asyncio.Queue[tuple[bytes, tuple[Any, ...]]] | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self.counters = dict.fromkeys(("messages", "applied", "refused", "errors", "not_allowed", "bad_packets",
                                       "dropped_full"), 0)

    def status(self) -> dict[str, Any]:
        return {"port": self.port, **self.counters}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(self.params.queue)
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Endpoint(self), local_addr=(self.params.host,
                                                                                                      self.params.port))
        except OSError as exc:
            self.ctx.fail(f"osc '{self.ctx.name}': cannot listen on UDP {self.params.host}:{self.params.port}: "
                          f"{os.strerror(exc.errno) if exc.errno else exc} (move it with --set {self.ctx.name}.port=…)")
            return
        self._transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]
        self.ctx.log.info("OSC on udp://%s:%d (from %s)", self.params.host, self.port, ", ".join(self.params.allow))
        self.ctx.spawn(self._consume(self._queue), name="osc-in", critical=True)
        try:
            await self.ctx.wait_stopping()  # (a service: it ends when the graph stops)
        finally:
            transport.close()

    async def _consume(self, queue: asyncio.Queue[tuple[bytes, tuple[Any, ...]]]) -> None:
        while True:
            data, addr = await queue.get()
            await self._handle(data, addr)

    def received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        """A datagram arrived (on the loop): queue it, dropping the oldest when full."""
        if str(addr[0]) not in self.allow:
            self.counters["not_allowed"] += 1
            return
        q = self._queue
        if q is None:
            return
        if q.full():
            q.get_nowait()
            self.counters["dropped_full"] += 1
        q.put_nowait((data, addr))

    async def _handle(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            packet = osc_packet.OscPacket(data)
        except osc_packet.ParseError as exc:
            self.counters["bad_packets"] += 1
            self._send(_reply("/mcav/error", "", f"not an OSC packet: {exc}"), addr)
            return
        for timed in packet.messages:
            msg = timed.message
            self.counters["messages"] += 1
            await self._apply(msg.address, list(msg.params), addr)

    async def _apply(self, address: str, args: list[Any], addr: tuple[Any, ...]) -> None:
        call = route(address, args)
        if not isinstance(call, Call):
            self.counters["refused"] += 1
            self._send(_reply("/mcav/error", address, call.message), addr)
            return
        if call.call == "ping":
            self._send(_reply("/mcav/pong"), addr)
            return
        try:
            await perform(call, self.ctx.control, address)
        except ActionError as exc:
            self.counters["errors"] += 1
            self._send(_reply("/mcav/error", address, str(exc)[:200]), addr)
            return
        self.counters["applied"] += 1
        self._send(_reply("/mcav/ok", address), addr)

    def _send(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr)
