"""The ``redis_pub`` sink: the VJ side of the Redis hop.

* Every arriving Scene is encoded once as the browser wire's ``state`` (the
  bytes the VJ's own browsers get, :mod:`mcav.nodes.statewire`) and
  published on ``mcav:<show>:state`` with its frame number and capture time.
* The events of the control links it is bound to (pattern ``changed``,
  ``preset``/``bands``/``effect``, roster ``message``/``live``, Minecraft
  ``link``/``message``/``zone``) go to ``mcav:<show>:events``, numbered, plus
  a heartbeat every second.
* Calls from edges (``mcav:<show>:rpc``) are made on those links — the VJ
  stays the one source of truth — and answered on the edge's reply channel;
  ``show.snapshot`` answers with the whole show state.

Nothing here waits for Redis on the frame path: messages go through a
bounded :class:`~.outbox.Outbox` that one writer task drains in pipelined
batches; while Redis is slow the oldest frames are dropped, while it is down
nothing is queued; both are counted. A frame that finds the writer idle is
written to Redis in the loop turn it arrives in, by the node's input loop
(waking the writer would put it a loop turn later, behind whatever else is
ready then: the VJ's own browsers' fan-out, ~1 ms; issue 17), which then
waits for Redis's answer (bounded; frames meanwhile wait in its input ring,
or go through the outbox). The connection follows the node's ``reconnect``
policy (backoff + jitter).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

from mcav.nodes.interfaces import DJRoster, MinecraftLink, PatternControl
from mcav.nodes.statewire import StateEncoder
from mcav.runtime.control import ControlPort, Event, Require, interface_calls
from mcav.runtime.frames import Scene, now_ns
from mcav.runtime.jsonwire import WireError
from mcav.runtime.node import AsyncNode, EndOfStream
from mcav.runtime.params import param

from . import protocol as P
from .connection import LINK_ERRORS, REDIS_HEALTH, RedisLink, first_failure, missing_redis
from .links import REDIS
from .outbox import Outbox

__all__ = ["RedisPub"]

#: Calls from edges handled at once; more are answered "busy" (a flood from a broken edge costs the show nothing).
MAX_CALLS_IN_FLIGHT = 64


class RedisPub(AsyncNode):
    """Publishes the show (state frames, control events) to Redis for edge processes and answers their calls."""

    kind = "redis_pub"
    inputs = {"in": Scene}
    policies = {"reconnect": REDIS, "heartbeat": REDIS}
    requires = {
        "pattern": Require(PatternControl, optional=True, doc="its events go to edges; edges' calls are made on it"),
        "djs": Require(DJRoster, optional=True, doc="the roster's events go to edges; edges' calls are made on it"),
        "minecraft": Require(MinecraftLink, optional=True, doc="link state and plugin messages to edges; forwards"),
    }
    health_schema = REDIS_HEALTH

    @dataclass
    class Params:
        url: str = param("redis://localhost:6379/0", doc="the Redis server (redis://[:password@]host:port/db)")
        show: str = param("main", doc="the show's name: its channels are mcav:<show>:*")
        state_slots: int = param(8, doc="frames queued for Redis at most (oldest dropped)", min=1)
        control_slots: int = param(1024, doc="events and replies queued for Redis at most (newest refused)", min=16)

        def __post_init__(self) -> None:
            P.Channels(self.show)  # ValueError naming a bad show name, reported with the graph's file and line

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.channels = P.Channels(params.show)
        self.outbox = Outbox(params.control_slots, params.state_slots)
        self.link: RedisLink | None = None
        self.run_id = secrets.token_hex(6)
        self.event_seq = 0
        self.counters = dict.fromkeys(("frames_published", "frames_unsent", "events", "events_unencodable",
                                       "calls", "calls_failed", "calls_refused", "bad_messages"), 0)
        self._ports: dict[str, ControlPort] = {}
        self._encoder = StateEncoder()
        self._live: dict[str, Any] = {"dj_id": None}
        self._dj: dict[str, Any] = {}
        self._dj_frame = -1_000_000
        self._in_flight = 0
        self._cmd: Any = None  # the session's command connection (None while Redis is down)
        self._sending = asyncio.Lock()  # one batch in flight at a time, from the writer or the input loop

    # -- status ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        link = self.link.status() if self.link else {"redis_connected": False}
        return {**link, "show": self.params.show, **self.counters, "event_seq": self.event_seq,
                "queued": len(self.outbox), "dropped_state": self.outbox.dropped_state,
                "dropped_control": self.outbox.dropped_control}

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.connected

    # -- run ---------------------------------------------------------------------------------------

    async def run(self) -> None:
        problem = missing_redis()
        if problem:
            self.ctx.fail(f"redis_pub '{self.ctx.name}': {problem}")
            return
        for port in ("pattern", "djs", "minecraft"):
            cp = self.ctx.control(port)
            if cp:
                self._ports[cp.require.interface.name] = cp
                cp.subscribe(self._on_event)
        djs = self.ctx.control("djs")
        if djs:
            self._live = await djs.live()
        self.link = RedisLink(self.params.url, [self.channels.rpc], self.ctx.reconnect_policy(), self.ctx.clock,
                              self.ctx.log)
        self.ctx.spawn(self.link.run(self._session, self._down), name="redis link", critical=True)
        self.ctx.spawn(self._heartbeat(), name="heartbeat")
        try:
            inp = self.ctx.input()
            while True:  # every frame, in order: edges must not miss what the VJ's browsers get (the ring bounds it)
                self._on_scene(await inp.get())
                if self._cmd is not None and not self._sending.locked():
                    await self._send_now(self._cmd)
        except EndOfStream:
            pass
        finally:
            await self.ctx.tasks.aclose()

    def _on_scene(self, scene: Any) -> None:
        assert isinstance(scene, Scene)
        if not self.connected:
            self.counters["frames_unsent"] += 1
            return
        text = self._encoder.encode(scene, self._dj_fields(scene.seq))
        offset = time.time_ns() - now_ns()  # monotonic → wall clock, for edges on other machines
        self.outbox.put_state(self.channels.state, P.pack_state(scene.seq, scene.t_capture + offset, time.time_ns(), text))

    def _dj_fields(self, seq: int) -> dict[str, Any]:
        """The live DJ and its link figures for ``state`` (figures re-read every 15 frames, as the browser does)."""
        djs = self.ctx.control("djs")
        if not djs:
            return {}
        if seq - self._dj_frame >= 15 or seq < self._dj_frame:
            self._dj_frame = seq
            self.ctx.spawn(self._read_dj_figures(djs), name="dj figures")
        return self._dj

    async def _read_dj_figures(self, djs: ControlPort) -> None:
        live = self._live.get("dj_id")
        row: dict[str, Any] = next((e for e in await djs.roster() if e.get("dj_id") == live), {})
        self._dj = {"active_dj": live, **{k: row.get(k) for k in ("latency_ms", "ping_ms", "pipeline_latency_ms", "fps")}}

    # -- events and heartbeats ----------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        self.event_seq += 1  # numbered even when not sent: an edge sees the gap and asks for a snapshot
        if event.interface == DJRoster.name and event.name == "live":
            self._live = dict(event.data)
            self._dj = {**self._dj, "active_dj": self._live.get("dj_id")}
        if not self.connected:
            return
        try:
            text = P.event(self.event_seq, event.interface, event.name, event.data)
        except WireError as exc:
            self.counters["events_unencodable"] += 1
            self.ctx.log.warning("event %s.%s not published: %s", event.interface, event.name, exc)
            return
        self.counters["events"] += 1
        self.outbox.put_control(self.channels.events, text)

    async def _heartbeat(self) -> None:
        while True:
            if self.connected:
                self.outbox.put_control(self.channels.events, P.heartbeat(self.event_seq, self.run_id, time.time_ns()))
            await self.ctx.clock.sleep(self.ctx.heartbeat_policy().interval)

    # -- the Redis session --------------------------------------------------------------------------

    def _down(self) -> None:
        self._cmd = None
        self.outbox.discard()

    async def _session(self, cmd: Any, pubsub: Any) -> None:
        self.outbox.discard()  # nothing stale from before the outage
        self.outbox.put_control(self.channels.events, P.heartbeat(self.event_seq, self.run_id, time.time_ns()))
        self._cmd = cmd
        try:
            await first_failure(self._write(cmd), self._read(pubsub))
        finally:
            self._cmd = None

    async def _write(self, cmd: Any) -> None:
        while True:
            await self.outbox.wait()
            async with self._sending:
                await self._send_batch(cmd)

    async def _send_now(self, cmd: Any) -> None:
        """Write what is queued from the input loop (the writer is idle), so that the bytes leave in this loop
        turn; the loop then waits for Redis's answer. A failed link is left to the session's writer and reader,
        which see it too and reconnect."""
        async with self._sending:
            try:
                await self._send_batch(cmd)
            except LINK_ERRORS as exc:
                self.ctx.log.debug("publish failed: %s", exc)

    async def _send_batch(self, cmd: Any) -> None:
        batch = self.outbox.take()
        if not batch:
            return
        frames = sum(channel == self.channels.state for channel, _ in batch)
        assert self.link is not None
        try:
            # One message alone is one PUBLISH, written before its first await (the connection has no socket
            # timeout, whose wait_for would write it a loop turn later; asyncio.timeout bounds it instead).
            # A pipeline always writes a turn later, so it is kept for batches, which come after a stall.
            async with asyncio.timeout(self.link.command_timeout):
                if len(batch) == 1:
                    await cmd.publish(*batch[0])
                else:
                    pipe = cmd.pipeline(transaction=False)
                    for channel, payload in batch:
                        pipe.publish(channel, payload)
                    await pipe.execute()
        except BaseException:
            self.counters["frames_unsent"] += frames  # taken from the outbox, not known to have reached Redis
            raise
        self.counters["frames_published"] += frames

    async def _read(self, pubsub: Any) -> None:
        async for m in pubsub.listen():
            if m.get("type") != "message":
                continue
            try:
                msg = P.decode(m["data"])
                if msg["type"] != "call":
                    raise P.ProtocolError(f"expected a call on {self.channels.rpc}, got {msg['type']}")
                if not msg["reply_to"].startswith(self.channels.reply("")):
                    raise P.ProtocolError(f"reply_to {msg['reply_to'][:60]!r} is not a reply channel of this show")
            except P.ProtocolError as exc:
                self.counters["bad_messages"] += 1
                self.ctx.log.debug("bad message on %s: %s", self.channels.rpc, exc)
                continue
            if self._in_flight >= MAX_CALLS_IN_FLIGHT:
                self.counters["calls_refused"] += 1
                self.outbox.put_control(msg["reply_to"], P.error_reply(msg["id"], ValueError("the VJ is busy; try again")))
                continue
            self._in_flight += 1
            self.ctx.spawn(self._answer(msg), name="call")

    async def _answer(self, msg: dict[str, Any]) -> None:
        self.counters["calls"] += 1
        try:
            text = P.reply(msg["id"], await self._call(msg["interface"], msg["call"], msg["args"], msg["kwargs"]))
        except (ValueError, LookupError, TimeoutError, ConnectionError) as exc:  # the caller's problem: told to it
            self.counters["calls_failed"] += 1
            text = P.error_reply(msg["id"], exc)
        except Exception as exc:  # a bug here: logged with its traceback, the edge gets its name
            self.counters["calls_failed"] += 1
            self.ctx.log.exception("call %s.%s from an edge failed", msg["interface"], msg["call"])
            text = P.error_reply(msg["id"], RuntimeError(f"{type(exc).__name__}: {exc}"))
        finally:
            self._in_flight -= 1
        if self.connected:
            self.outbox.put_control(msg["reply_to"], text)

    async def _call(self, interface: str, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if (interface, name) == P.SNAPSHOT:
            return await self.snapshot()
        port = self._ports.get(interface)
        if port is None:
            raise LookupError(f"this VJ has no {interface} for edges")
        if name not in interface_calls(port.require.interface):
            raise ValueError(f"{interface} has no call '{name}'")
        try:
            return await port.call(name, *args, **kwargs)
        except TypeError as exc:  # wrong arguments for the call's signature
            raise ValueError(f"{interface}.{name}: {exc}") from None

    async def snapshot(self) -> dict[str, Any]:
        """The show as an edge needs it on (re)connect: ``run``, ``seq`` and each link's state (None if absent).

        ``seq`` is read first: an event racing with the snapshot is sent again after it, and events carry
        whole states, so applying one twice is harmless.
        """
        seq = self.event_seq
        pattern, djs, mc = (self._ports.get(i.name) for i in (PatternControl, DJRoster, MinecraftLink))
        return {
            "run": self.run_id,
            "seq": seq,
            "pattern": {"state": await pattern.state(), "patterns": await pattern.patterns()} if pattern else None,
            "djs": {"roster": await djs.roster(), "pending": await djs.pending(), "live": await djs.live()} if djs else None,
            "minecraft": await mc.info() if mc else None,
        }

