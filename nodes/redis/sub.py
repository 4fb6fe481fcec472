"""The ``redis_sub`` source: the edge side of the Redis hop.

Emits the VJ's frames as Scenes (rebuilt from the published ``state``, see
:mod:`.scene`) and provides the show's control interfaces — PatternControl,
DJRoster, MinecraftLink — so an edge's ``browser`` (and ``minecraft``) node
runs unchanged:

* reads (``state()``, ``patterns()``, ``roster()``, ``pending()``, ``live()``,
  ``info()``) are answered from the edge's :class:`~.mirror.ShowMirror`;
* every other call travels to the VJ (``mcav:<show>:rpc``, an id, an answer on
  this edge's reply channel within ``request_timeout``) and is made there;
  the edge's browser has already applied the operator password and rate
  limit, and viewers' commands never get this far;
* the VJ's events are published again on the edge's ports, so its browsers
  get roster changes, the Minecraft link and the pattern's state.

On every (re)connect it subscribes, asks for a snapshot and emits nothing
until it has it; a gap in the event numbers or a restarted VJ gets a new
snapshot. When Redis or the VJ is gone (no heartbeat for the heartbeat
policy's ``timeout``) ``status()`` says ``source: lost`` and the health stat
``source_lost`` is set (``/health``, ``vj_state``); clients stay connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

from mcav.nodes.interfaces import DJRoster, MinecraftLink, PatternControl
from mcav.runtime.clock import wait_for
from mcav.runtime.control import Interface, interface_calls
from mcav.runtime.frames import Scene, now_ns
from mcav.runtime.health import HealthStat
from mcav.runtime.node import AsyncNode
from mcav.runtime.params import param
from mcav.runtime.policies import HeartbeatMonitor

from . import protocol as P
from .connection import REDIS_HEALTH, RedisLink, first_failure, missing_redis
from .links import REDIS
from .mirror import ShowMirror
from .scene import scene_from_state

__all__ = ["RedisSub"]

#: Calls to the VJ waiting for their answer at most; more are refused at once.
MAX_PENDING_CALLS = 256
SOURCE_HEALTH = (HealthStat("source_lost", "any", doc="an edge cannot reach its show (Redis or the VJ is gone)",
                            group="Source"), *REDIS_HEALTH)


class RedisSub(AsyncNode):
    """An edge: the show's frames and control links, from a VJ through Redis."""

    kind = "redis_sub"
    outputs = {"out": Scene}
    policies = {"reconnect": REDIS, "heartbeat": REDIS}
    provides = {"pattern": PatternControl, "djs": DJRoster, "minecraft": MinecraftLink}
    health_schema = SOURCE_HEALTH

    @dataclass
    class Params:
        url: str = param("redis://localhost:6379/0", doc="the Redis server (redis://[:password@]host:port/db)")
        show: str = param("main", doc="the show's name: its channels are mcav:<show>:*")
        edge: str = param("", doc="this edge's name in reply channels and logs (empty = host-pid-random)")
        request_timeout: float = param(3.0, doc="time for the VJ to answer a call", unit="s", min=0.1, max=4.5)

        def __post_init__(self) -> None:
            P.Channels(self.show)  # ValueError naming a bad show name, reported with the graph's file and line

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.channels = P.Channels(params.show)
        self.edge_id = params.edge or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.reply_channel = self.channels.reply(self.edge_id)
        self.mirror = ShowMirror()
        self.link: RedisLink | None = None
        self.monitor: HeartbeatMonitor | None = None
        self.counters = dict.fromkeys(("frames", "frames_unsynced", "bad_frames", "bad_messages", "snapshots",
                                       "resyncs", "calls", "calls_failed", "source_losses"), 0)
        self.last_frame_seq: int | None = None
        self.frames_missed = 0  # gaps in the VJ's frame numbers
        self._lost = True
        self._cmd: Any = None
        self._calls: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._resyncing = False
        self._synced_once = asyncio.Event()
        # Set once a read has waited its whole request_timeout for the first snapshot (or the node could not
        # start): later reads answer from the copy at once. Each read waiting in turn made a starting edge's
        # browser node, which reads four things before it listens, open its port 4 × request_timeout late.
        self._sync_given_up = False

    # -- status ---------------------------------------------------------------------------------

    @property
    def source_ok(self) -> bool:
        return not self._lost

    def status(self) -> dict[str, Any]:
        link = self.link.status() if self.link else {"redis_connected": False}
        return {**link, "source": "ok" if self.source_ok else "lost", "source_lost": not self.source_ok,
                "edge": self.edge_id, "show": self.params.show, "vj_run": self.mirror.run, "event_seq": self.mirror.seq,
                **self.counters, "frames_missed": self.frames_missed, "calls_waiting": len(self._calls)}

    # -- run ------------------------------------------------------------------------------------

    async def run(self) -> None:
        problem = missing_redis()
        if problem:
            self._sync_given_up = True  # no snapshot will come: the browser's start must not wait for one
            self.ctx.fail(f"redis_sub '{self.ctx.name}': {problem}")
            return
        ch = self.channels
        self.monitor = HeartbeatMonitor(self.ctx.heartbeat_policy(), self.ctx.clock)
        self.link = RedisLink(self.params.url, [ch.state, ch.events, self.reply_channel], self.ctx.reconnect_policy(),
                              self.ctx.clock, self.ctx.log)
        self.ctx.spawn(self.link.run(self._session, self._down), name="redis link", critical=True)
        self.ctx.spawn(self._watch(), name="source watch")
        await self.ctx.wait_stopping()
        await self.ctx.tasks.aclose()

    def _down(self) -> None:
        self._cmd = None
        self._set_lost("Redis is unreachable")
        for fut in self._calls.values():
            if not fut.done():
                fut.set_exception(P.SourceLost("the connection to Redis was lost before the VJ answered"))
        self._calls.clear()

    async def _session(self, cmd: Any, pubsub: Any) -> None:
        self._cmd = cmd
        self.ctx.spawn(self._resync("connected"), name="snapshot")
        await first_failure(self._listen(pubsub), self._probe(cmd))

    async def _probe(self, cmd: Any) -> None:
        """While the VJ is silent, PING Redis: a server that stopped answering (a hung host, a cut cable)
        ends the session instead of leaving it open forever."""
        assert self.monitor is not None
        interval, timeout = self.ctx.heartbeat_policy().interval, self.ctx.reconnect_policy().connect_timeout
        while True:
            await self.ctx.clock.sleep(interval)
            if self.monitor.silence > 2 * interval:
                await wait_for(cmd.ping(), timeout, self.ctx.clock)

    async def _listen(self, pubsub: Any) -> None:
        async for m in pubsub.listen():
            if m.get("type") != "message":
                continue
            channel = m["channel"].decode() if isinstance(m["channel"], bytes) else m["channel"]
            if channel == self.channels.state:
                self._on_state(m["data"])
            else:
                self._on_control(m["data"])

    async def _watch(self) -> None:
        """Source lost when the VJ says nothing (no heartbeat, no frame) for the heartbeat policy's timeout."""
        assert self.monitor is not None
        while True:
            await self.ctx.clock.sleep(self.ctx.heartbeat_policy().interval / 4)
            if not self._lost and self.monitor.dead:
                self._set_lost(f"no word from the VJ for {self.monitor.silence:.1f} s")

    def _set_lost(self, why: str) -> None:
        if self._lost:
            return
        self._lost = True
        self.counters["source_losses"] += 1
        self.ctx.log.warning("source lost: %s; clients stay connected, the show resumes when it is back", why)
        self._publish_all(self.mirror.lose())

    # -- messages from the VJ ---------------------------------------------------------------------

    def _on_state(self, data: bytes) -> None:
        assert self.monitor is not None
        self.monitor.answered()
        if not self.mirror.synced:
            self.counters["frames_unsynced"] += 1
            return
        try:
            msg = P.unpack_state(data)
            t_local = msg.t_capture_ns - (time.time_ns() - now_ns())
            scene, st = scene_from_state(msg.text, t_local, int(self.mirror.pattern_state.get("entity_count", 64)))
        except ValueError as exc:
            self.counters["bad_frames"] += 1
            self.ctx.log.debug("bad state message: %s", exc)
            return
        last = self.last_frame_seq
        if last is not None and last < msg.seq <= last + 1000:
            self.frames_missed += msg.seq - last - 1
        self.last_frame_seq = msg.seq
        if msg.seq % 15 == 0:
            self.mirror.on_frame(st)
        self.counters["frames"] += 1
        self.ctx.emit(scene)

    def _on_control(self, data: bytes) -> None:
        assert self.monitor is not None
        try:
            msg = P.decode(data)
        except P.ProtocolError as exc:
            self.counters["bad_messages"] += 1
            self.ctx.log.debug("bad message from the VJ: %s", exc)
            return
        kind = msg["type"]
        if kind == "reply":
            fut = self._calls.pop(msg["id"], None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
        elif kind == "hb":
            self.monitor.answered()
            # Not synced (first contact, source lost, a failed snapshot) or behind: (re)try the snapshot.
            if (not self.mirror.synced or self.mirror.on_heartbeat(msg)) and not self._resyncing:
                self.ctx.spawn(self._resync("VJ restarted" if self.mirror.run not in (None, msg["run"]) else "catching up"))
        elif kind == "event":
            self.monitor.answered()
            verdict, events = self.mirror.on_event(msg)
            if verdict == "resync":
                self.ctx.spawn(self._resync(f"missed events before #{msg['seq']}"))
            self._publish_all(events)

    def _publish_all(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        for port, name, data in events:
            self.ctx.publish(port, name, data)

    async def _resync(self, why: str) -> None:
        """Ask the VJ for the whole show; frames and events wait for it (one request at a time)."""
        if self._resyncing:
            return
        self._resyncing = True
        try:
            self.mirror.synced = False
            snap = await self.remote(*P.SNAPSHOT, (), {}, need_source=False)
            self._publish_all(self.mirror.apply_snapshot(snap))
            self._synced_once.set()
            self.counters["snapshots"] += 1
            self.counters["resyncs"] += why != "connected"
            if self._lost:
                self._lost = False
                self.last_frame_seq = None
                self.ctx.log.info("show '%s' %s (VJ run %s, %s)", self.params.show,
                                  "synced" if self.counters["snapshots"] == 1 else "back", self.mirror.run, why)
        except (ValueError, TimeoutError, ConnectionError) as exc:
            self.ctx.log.debug("snapshot failed (%s): %s; asking again at the next heartbeat", why, exc)
        finally:
            self._resyncing = False

    # -- calls to the VJ ----------------------------------------------------------------------------

    async def remote(self, interface: str, call: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                     need_source: bool = True) -> Any:
        """Make ``interface.call(*args, **kwargs)`` at the VJ and return its result.

        Raises:
            SourceLost: Redis or the VJ is unreachable (a ValueError too: browsers get a clear error).
            ValueError, LinkDown, TimeoutError: what the VJ raised.
        """
        cmd = self._cmd
        if cmd is None or need_source and self._lost:
            raise P.SourceLost("the show is unreachable from this edge (source lost: Redis or the VJ is gone)")
        if len(self._calls) >= MAX_PENDING_CALLS:
            raise ValueError(f"{MAX_PENDING_CALLS} calls to the VJ are waiting already; try again")
        call_id = f"{self.edge_id}:{next(self._ids)}"
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = fut
        self.counters["calls"] += 1
        timeout = self.params.request_timeout
        try:
            text = P.call(call_id, self.reply_channel, interface, call, list(args), kwargs)
            if not await wait_for(cmd.publish(self.channels.rpc, text), timeout, self.ctx.clock):
                raise P.SourceLost("no VJ is listening on this show (source lost)")
            answer = await wait_for(fut, timeout, self.ctx.clock)
        except TimeoutError:
            self.counters["calls_failed"] += 1
            raise P.SourceLost(f"{interface}.{call}: the VJ did not answer within {timeout:g} s") from None
        except Exception:
            self.counters["calls_failed"] += 1
            raise
        finally:
            self._calls.pop(call_id, None)
        if not answer["ok"]:
            self.counters["calls_failed"] += 1
            P.raise_remote(answer)
        return answer.get("result")

    # -- reads served locally -------------------------------------------------------------------------
    # Until the first snapshot arrives a read waits for it, so a browser that connects to a starting edge
    # gets a real vj_state; once one read has waited ``request_timeout`` in vain, or after the first
    # snapshot, reads never wait, even with the source lost.

    async def _first_sync(self) -> None:
        if self._synced_once.is_set() or self._sync_given_up:
            return
        with contextlib.suppress(TimeoutError):
            await wait_for(self._synced_once.wait(), self.params.request_timeout, self.ctx.clock)
            return
        self._sync_given_up = True

    async def patterns(self) -> list[dict[str, Any]]:
        await self._first_sync()
        return list(self.mirror.patterns)

    async def state(self) -> dict[str, Any]:
        await self._first_sync()
        return dict(self.mirror.pattern_state)

    async def roster(self) -> list[dict[str, Any]]:
        await self._first_sync()
        return [dict(r) for r in self.mirror.roster]

    async def pending(self) -> list[dict[str, Any]]:
        await self._first_sync()
        return list(self.mirror.pending)

    async def live(self) -> dict[str, Any]:
        await self._first_sync()
        return dict(self.mirror.live)

    async def info(self) -> dict[str, Any]:
        await self._first_sync()
        return dict(self.mirror.mc_info)


def _forwarder(iface: type[Interface], call: str) -> Any:
    async def forward(self: RedisSub, *args: Any, **kwargs: Any) -> Any:
        return await self.remote(iface.name, call, args, kwargs)

    forward.__name__ = forward.__qualname__ = call
    forward.__doc__ = f"{iface.name}.{call}, made at the VJ."
    return forward


# Every call that changes something (or that only the VJ can answer, e.g. codes()) is made at the VJ.
for _iface in (PatternControl, DJRoster, MinecraftLink):
    for _call in interface_calls(_iface):
        if _call not in vars(RedisSub):
            setattr(RedisSub, _call, _forwarder(_iface, _call))
