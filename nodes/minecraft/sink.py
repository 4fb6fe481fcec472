"""The ``minecraft`` sink: drives the MCAV Minecraft plugin from Scene frames.

Connection policy (CONNECTIVITY.md "VJ Server to Minecraft"): try at start;
react at once when the socket closes (and declare the plugin dead after 30 s
without a pong); after a failure or a loss wait 5 s ×1.5 up to 60 s and retry,
forever — the runtime's link supervisor runs it (:class:`~.viz_client.VizClient`).
The graph never waits for Minecraft: frames arriving while it is down are
counted and dropped. Each (re)connection runs WIRE.md 1.5's sequence as its
handshake (:class:`~.session.ZoneSetup`): welcome → ``get_zones`` → pick the
zone → ``init_pool``; a malformed or refused reply is a failed attempt.

Frames: one ``batch_update`` per arriving frame, sent the moment it arrives
while the plugin's budget allows: at most ``rate`` per second on average (120),
in bursts of up to one plugin tick's worth (``rate``/20). The plugin applies every
batch queued during a 50 ms tick, so a frame held for a grid slot would only be
late; beyond the budget the newest frame is held and sent as soon as the budget
allows (a newer one replaces it, counted as coalesced), so the last frame of a
burst still goes out.
While the active DJ is a direct-mode DJ that reports ``mc_connected`` (route
``dual``), it draws in Minecraft itself and this node sends no ``batch_update``
(counted as ``frames_yielded_to_dj``; WIRE.md 2.3).

It runs on an asyncio loop of its own (``own_loop``), so encoding and sending
states to many browsers on the shared I/O loop cannot delay a ``batch_update``.
Its ``batch_update`` text is encoded by :meth:`MinecraftSink.prepare` on the
thread that made the Scene (the pattern worker), as the frame is queued: the
loop, once woken, only writes it (re-encoding only if the zone changed since).

Control: it provides :class:`~mcav.nodes.interfaces.MinecraftLink` on ``link``
(``info``, ``forward``, ``set_zone``; events ``link`` and ``message``) and
requires, optionally, the pattern control (the entity count for the pool) and
the DJ roster, whose ``live`` events say who is live and whether that DJ draws
in Minecraft itself — nothing is polled per frame.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcav.nodes.health import VJ_HEALTH
from mcav.nodes.interfaces import DJRoster, MinecraftLink, PatternControl
from mcav.runtime.clock import wait_for
from mcav.runtime.control import Event, Require
from mcav.runtime.frames import Frame, Prepared, Scene
from mcav.runtime.node import AsyncInput, AsyncNode, EndOfStream
from mcav.runtime.params import param
from mcav.runtime.ratelimit import TokenBucket

from . import protocol
from .links import VIZ_CLIENT, VJ_MINECRAFT
from .session import ZoneSetup
from .viz_client import NotConnected, VizClient

__all__ = ["MinecraftSink"]

#: The plugin's server ticks per second: it drains its message queue (1000 messages) once per tick.
PLUGIN_TPS = 20.0


class MinecraftSink(AsyncNode):
    """Sends Scenes to the MCAV Minecraft plugin (:8765), reconnecting with the VJ → Minecraft policy."""

    kind = "minecraft"
    inputs = {"in": Scene}
    policies = {"reconnect": VJ_MINECRAFT, "heartbeat": VIZ_CLIENT}
    reports_delivery = True
    own_loop = True  # browser fan-out and the other network nodes never delay a batch_update
    provides = {"link": MinecraftLink}
    requires = {
        "pattern": Require(PatternControl, optional=True, doc="entity count for the pool at connect"),
        "djs": Require(DJRoster, optional=True, doc="the live DJ (dj_info) and direct-mode DJs drawing themselves"),
    }
    health_schema = VJ_HEALTH

    @dataclass
    class Params:
        host: str = param("localhost", doc="plugin host")
        port: int = param(8765, doc="plugin WebSocket port", min=1, max=65535)
        url: str = param("", doc="ws://host:port of the plugin; overrides host and port when set")
        zone: str = param("main", doc="zone to draw in (the plugin's first zone if it has no such zone)")
        material: str = param("SEA_LANTERN", doc="block material of the pool's display entities")
        rate: float = param(120.0, doc="most batch_update messages per second, on average; each frame goes out on "
                            "arrival within this budget (bursts of rate/20: one plugin tick's worth)", unit="Hz",
                            min=1, max=1000)
        particles_on_beat: bool = param(True, doc="add a NOTE particle burst on strong beats")
        entity_style: bool = param(False, doc="send per-entity brightness and glow (overrides zone settings)")
        request_timeout: float = param(5.0, doc="wait for a plugin reply", unit="s", min=0.1)

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        if params.url:
            u = urlsplit(params.url)
            params.host, params.port = u.hostname or params.host, u.port or params.port
        protocol.check_zone(params.zone)
        self.zone = params.zone
        self.client = VizClient(
            params.host, params.port, clock=ctx.clock, reconnect=ctx.reconnect, heartbeat=ctx.heartbeat,
            request_timeout=params.request_timeout, on_message=self._unsolicited, setup=self._setup,
            on_up=self._link_up, on_down=self._link_down, logger=ctx.log,
        )
        extra = ("brightness", "glow") if params.entity_style else ()
        self.encoder = protocol.BatchEncoder(params.particles_on_beat, extra)
        self._prepare_encoder = protocol.BatchEncoder(params.particles_on_beat, extra)  # the producer thread's own
        self.mc_reconnect_count = 0
        self.counters = dict.fromkeys(("batches", "frames_unsent", "frames_coalesced", "frames_yielded_to_dj"), 0)
        self.pool: int | None = None  # pool size the plugin confirmed on this connection
        self._requested = 0  # pool size last asked for
        self._count = 16  # entities the pattern draws (kept by its ``changed`` events): the pool to build
        self._blackout = False
        self._dj: str | None = None
        self._live: dict[str, Any] = {"dj_id": None, "dj_name": None, "direct": False}  # from ``live`` events
        self._yielding_to: str | None = None  # a direct-mode DJ drawing in Minecraft itself

    # -- status and control (loop thread, except status()) ---------------------------------

    @property
    def connected(self) -> bool:
        return self.client.connected

    def status(self) -> dict[str, Any]:
        link = self.client.link
        nxt = link.next_retry
        return {
            "connected": self.connected, "host": self.client.host, "port": self.client.port, "zone": self.zone,
            "mc_reconnect_count": self.mc_reconnect_count,
            "next_retry_s": None if nxt is None else round(max(0.0, nxt - self.ctx.clock.monotonic()), 3),
            "retry_delay_s": link.retry_delay, "reconnects": self.mc_reconnect_count,
            "pool": self.pool, "last_error": self.client.last_error, "mc_connected": self.connected,
            "connect_failures": link.connect_failures, **self.counters,
        }

    def info(self) -> dict[str, Any]:
        """``{connected, host, port, zone}``."""
        return {"connected": self.connected, "host": self.client.host, "port": self.client.port, "zone": self.zone}

    async def forward(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """Pass a browser's command to the plugin; return its reply (None for fast-path types).

        Raises:
            NotConnected: Minecraft is not connected.
            TimeoutError: the plugin did not answer in time.
        """
        if not self.connected:
            raise NotConnected("Minecraft not connected")
        text = protocol.forward(message)
        if protocol.expected_reply(message["type"]) is None:
            await self.client.send(text)
            return None
        return await self.client.request(text)

    async def set_zone(self, zone: str) -> None:
        """Draw in ``zone`` from now on: hide the old zone, build the pool in the new one.

        Raises:
            ValueError: bad zone name, or the plugin refused (its message).
        """
        protocol.check_zone(zone)
        old, self.zone = self.zone, zone
        if self.connected and old != zone:
            await self.client.send(protocol.set_visible(old, False))
            self.pool = None
            try:
                await self._init_pool(self._count)
            except ValueError:
                self.zone = old
                self.pool = None
                raise
        if old != zone:
            self.ctx.publish("link", "zone", self.info())

    def pinned(self) -> list[str]:
        """``["zone"]`` when the command line set the zone (``--set``): a saved one must not replace it."""
        return ["zone"] if "zone" in self.ctx.overridden else []

    def _status_changed(self, up: bool) -> None:
        """Publish ``link`` (a subscriber that raises is a bug: it fails the connection manager, and the node)."""
        self.ctx.publish("link", "link", self.info())

    def _unsolicited(self, msg: dict[str, Any]) -> None:
        """A plugin message that answers no request (e.g. ``voice_status``): publish it."""
        self.ctx.publish("link", "message", msg)

    # -- connection (the supervisor calls these) ----------------------------------------------

    def _setup(self) -> ZoneSetup:
        """The handshake of each connection: this zone, a pool of the pattern's entity count."""
        return ZoneSetup(self.zone, self._count, self.params.material, self.ctx.log.log)

    def _link_up(self) -> None:
        setup = self.client.session.setup if self.client.session is not None else None
        if setup is not None:
            self.zone, self.pool, self._requested = setup.zone, setup.pool, setup.count
        if self.client.link.connects > 1:
            self.mc_reconnect_count += 1
            self.ctx.log.info("reconnected to Minecraft at %s (zone %s, reconnect #%d)",
                              self.client.uri, self.zone, self.mc_reconnect_count)
        else:
            self.ctx.log.info("connected to Minecraft at %s (zone %s)", self.client.uri, self.zone)
        if self._blackout:
            self.ctx.spawn(self._request(protocol.set_visible(self.zone, False)))
        if self._dj is not None:
            self.ctx.spawn(self._send_dj_info(self._dj, 0.0))
        self._status_changed(True)

    def _link_down(self, why: str) -> None:
        self._status_changed(False)

    async def _init_pool(self, count: int) -> None:
        reply = await self.client.request(protocol.init_pool(self.zone, count, self.params.material))
        self.pool = protocol.pool_size(reply, count)
        if self.pool < count:
            self.ctx.log.warning("Minecraft capped the pool at %d of %d entities (max_entities_per_zone)", self.pool, count)
        self._requested = count

    # -- frames -------------------------------------------------------------------------------

    def prepare(self, frame: Frame, port: str) -> Frame:
        """Encode the frame's ``batch_update`` on the producer's thread as it is queued (the runtime calls this):
        this node's loop is then left only the write, and the encoding is done on warm caches before the
        loop and the other consumers of the frame are woken to contend for the GIL. Not while the link is
        down or a direct-mode DJ draws (nothing would be sent). Reads ``zone``, the link state and whom it
        yields to only; its encoder is its own."""
        if not isinstance(frame, Scene) or not self.client.connected or self._yielding_to is not None:
            return frame
        zone = self.zone
        return Prepared(seq=frame.seq, t_capture=frame.t_capture, frame=frame,
                        data=(zone, self._prepare_encoder.encode(frame, zone, frame.seq)))

    async def run(self) -> None:
        djs = self.ctx.control("djs")
        if djs:
            self._live = await djs.live()
            djs.subscribe(self._live_changed, ("live",))
        pattern = self.ctx.control("pattern")
        if pattern:
            self._count = int((await pattern.state())["entity_count"])
            pattern.subscribe(self._pattern_changed, ("changed",))
        # The connection manager only ends by cancellation: a crash is a bug, and Minecraft would never
        # come back, so it fails the node (critical) with its traceback in the log.
        self.ctx.spawn(self.client.run(), name="connection manager", critical=True)
        try:
            await self._frames(self.ctx.input())
        except EndOfStream:
            pass
        finally:
            await self._shutdown()  # set_visible false, close 1001: the connection manager then returns
            await self.ctx.tasks.aclose()

    async def _frames(self, inp: AsyncInput) -> None:
        """Send each arriving frame at once while the budget allows (``rate`` per s, bursts of one plugin
        tick's worth); beyond it hold the newest frame and send it as soon as the budget allows."""
        clock = self.ctx.clock
        rate = self.params.rate
        budget = TokenBucket(rate, max(1.0, rate / PLUGIN_TPS), clock)
        held: Frame | None = None
        while True:
            if held is None:
                frame = await inp.latest()
            else:
                try:
                    frame = await wait_for(inp.latest(), budget.wait_s(), clock)
                    self.counters["frames_coalesced"] += 1  # the held frame is replaced by a newer one
                except TimeoutError:
                    frame = held
            assert isinstance(frame, (Scene, Prepared))
            if not budget.allow():
                held = frame
                continue
            held = None
            await self._deliver(frame)

    def _pattern_changed(self, event: Event) -> None:
        self._count = int(event.data.get("entity_count", self._count))

    def _live_changed(self, event: Event) -> None:
        self._live = dict(event.data)

    async def _deliver(self, frame: Frame) -> None:
        scene, prepared = (frame.frame, frame.data) if isinstance(frame, Prepared) else (frame, None)
        assert isinstance(scene, Scene)
        live = self._live
        direct = live["dj_id"] if live["direct"] else None  # route ``dual``: it draws in Minecraft itself
        if direct != self._yielding_to:
            self._yielding_to = direct
            if direct is not None:
                self.ctx.log.info("DJ %s draws in Minecraft itself (direct mode): not sending batch_update", direct)
            else:
                self.ctx.log.info("sending batch_update to Minecraft again")
                self.pool = None  # the DJ may have re-initialised the pool: set ours up again
        if direct is not None:  # two writers on one zone would fight every tick (WIRE.md 2.3)
            self.counters["frames_yielded_to_dj"] += 1
            return
        if not self.connected:
            self.counters["frames_unsent"] += 1
            return
        try:
            if self.pool is None or scene.count != self._requested:
                await self._init_pool(scene.count)
            if scene.blackout != self._blackout:
                self._blackout = scene.blackout
                self.ctx.spawn(self._request(protocol.set_visible(self.zone, not scene.blackout)))
            self._check_dj(scene)
            # Encoded by prepare() unless the link was down then or the zone has changed since.
            zone, texts = prepared if prepared is not None else (None, None)
            if zone != self.zone or texts is None:
                texts = self.encoder.encode(scene, self.zone, scene.seq)
            for text in texts:
                await self.client.send(text)
        except (NotConnected, TimeoutError, ValueError) as exc:
            self.counters["frames_unsent"] += 1
            self.ctx.log.debug("frame %d not sent: %s", scene.seq, exc)
            return
        self.counters["batches"] += 1
        self.ctx.delivered(scene)

    def _check_dj(self, scene: Scene) -> None:
        active = self._live["dj_id"]
        if active != self._dj:
            self._dj = active
            if active is not None:
                self.ctx.spawn(self._send_dj_info(active, scene.features.bpm))

    async def _send_dj_info(self, dj_id: str, bpm: float) -> None:
        name = self._live["dj_name"] if self._live["dj_id"] == dj_id else None
        await self._request(protocol.dj_info(name or dj_id, dj_id, bpm))

    async def _request(self, text: str) -> None:
        try:
            reply = await self.client.request(text)
            if reply.get("type") == "error":
                self.ctx.log.warning("Minecraft refused %s: %s", text[:60], reply.get("message"))
        except (NotConnected, TimeoutError) as exc:
            self.ctx.log.info("Minecraft request failed: %s", exc)

    async def _shutdown(self) -> None:
        if self.connected:
            try:  # hide the visuals before leaving, as users expect (bounded: shutdown has ~1.5 s)
                await asyncio.wait_for(self.client.request(protocol.set_visible(self.zone, False)), 0.5)
            except (NotConnected, TimeoutError, asyncio.TimeoutError):
                pass
        await self.client.disconnect(1001, "VJ server shutting down")
