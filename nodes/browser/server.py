"""The ``browser`` node: the WebSocket server of the admin panel and 3D preview (:8766).

* On connect: ``vj_state``. Then one ``state`` per arriving Scene (capped at
  ``state_rate``, 60 Hz), encoded once and shared by every client; no sleep
  tick in the path.
* ``{"type":"ping"}`` every 15 s; a client missing 2 pongs is closed with
  4100 "Heartbeat timeout". Client pings get ``pong``.
* Commands of WIRE.md 3.3 (:mod:`.commands`); malformed input gets an
  ``error`` reply and the connection stays up. With ``operator_password``
  set, commands that change anything need ``vj_auth`` first; viewers still
  get state. Mutating commands are rate-limited per client.

Control: it requires (each optional) the pattern control, the DJ roster, a
Minecraft link and every analysis preset, and relays the roster's and the
link's events to browsers; it provides ``endpoint`` (where the pages connect)
to ``admin_http``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from mcav.nodes.health import VJ_HEALTH
from mcav.nodes.interfaces import AnalysisPreset, BrowserEndpoint, DJRoster, LinkDown, MinecraftLink, PatternControl
from mcav.runtime.control import ControlPort, Event, Require
from mcav.runtime.frames import Scene
from mcav.runtime.health import health_stats
from mcav.runtime.node import AsyncNode, EndOfStream
from mcav.runtime.params import param

from . import commands, commands_mc  # noqa: F401  (importing them registers the handlers)
from . import protocol as P
from .banners import BANNER_FIELDS
from .clients import Client, fanout
from .links import VJ_BROWSER
from .registry import COMMANDS

__all__ = ["BrowserServer"]


class BrowserServer(AsyncNode):
    """Serves the admin panel and 3D preview on :8766: vj_state, state at up to 60 Hz, commands, heartbeats."""

    kind = "browser"
    inputs = {"in": Scene}
    policies = {"heartbeat": VJ_BROWSER}
    provides = {"endpoint": BrowserEndpoint}
    requires = {
        "pattern": Require(PatternControl, optional=True, doc="the show's pattern, effects and settings"),
        "djs": Require(DJRoster, optional=True, doc="the DJ roster, approvals and codes; its events go to browsers"),
        "minecraft": Require(MinecraftLink, optional=True, doc="plugin commands; link state and plugin events"),
        "presets": Require(AnalysisPreset, many=True, optional=True, doc="set_preset also switches the analysis"),
    }
    health_schema = VJ_HEALTH

    @dataclass
    class Params:
        host: str = param("0.0.0.0", doc="address to listen on")
        port: int = param(8766, doc="TCP port (0 = any free port, see status())", min=0, max=65535)
        max_clients: int = param(256, doc="browsers at once; more are closed with 4003", min=1)
        max_message_size: int = param(65536, doc="largest message from a browser (bigger: close 1009)", unit="B", min=1024)
        operator_password: str = param("", doc="password for commands that change anything (empty = everyone may)")
        state_rate: float = param(60.0, doc="most state messages per second", unit="Hz", min=1, max=240)
        client_queue: int = param(2, doc="state frames a slow client may have queued (older ones dropped)", min=1)
        commands_per_s: float = param(10.0, doc="mutating commands per second per client, on average", min=0.1)
        command_burst: int = param(
            20, doc="mutating commands a client may send back to back (absorbs network and loop jitter)", min=1
        )
        send_buffer: int = param(131072, doc="kernel send buffer per client: bounds a slow client's lag", unit="B", min=4096)

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.port: int | None = None
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.clients: set[Client] = set()
        self.counters = dict.fromkeys(
            ("browser_connects", "browser_disconnects", "rejected", "bad_messages", "unknown_commands",
             "unauthorized", "rate_limited", "heartbeat_timeouts", "states_sent", "states_skipped"), 0)
        self.dropped_closed = 0  # state frames lost by clients that have left
        self._connecting = 0  # accepted, vj_state not yet sent (counted as current browsers)
        self.audio_settings: dict[str, float] = {}
        self.particle_effects: dict[str, dict[str, Any]] = {}
        self.banners: dict[str, dict[str, Any]] = {}
        self.pattern: ControlPort = ctx.control("pattern")
        self.djs: ControlPort = ctx.control("djs")
        self.mc: ControlPort = ctx.control("minecraft")
        self.presets: ControlPort = ctx.control("presets")
        #: The Minecraft link's ``info()``, kept by its ``link`` events.
        self.mc_info: dict[str, Any] = {"connected": False, "zone": "main"}
        #: The roster's ``live()``, kept by its ``live`` events.
        self.live_dj: dict[str, Any] = {"dj_id": None, "dj_name": None, "direct": False}
        self._encoder = P.StateEncoder()
        self._dj_cache: dict[str, Any] = {}
        self._dj_cache_frame = -1_000_000
        self._next_due_ns: float | None = None

    @property
    def operator_auth(self) -> bool:
        return bool(self.params.operator_password)

    # -- status (any thread) ----------------------------------------------------------------------

    def health(self) -> dict[str, int]:
        c = self.counters
        return {"browser_connects": c["browser_connects"], "browser_disconnects": c["browser_disconnects"],
                "current_browsers": len(self.clients) + self._connecting}

    def status(self) -> dict[str, Any]:
        clients = list(self.clients)
        return {"port": self.port, "browsers": len(clients), **self.health(), **self.counters,
                "frames_dropped": self.dropped_closed + sum(c.dropped for c in clients)}

    def endpoint(self) -> dict[str, Any]:
        """``{ws_port, operator_auth, commands_per_s}`` (BrowserEndpoint)."""
        return {"ws_port": self.port or self.params.port, "operator_auth": self.operator_auth,
                "commands_per_s": self.params.commands_per_s}

    # -- run --------------------------------------------------------------------------------------------

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        p, ctx = self.params, self.ctx
        if self.djs:
            self.live_dj = await self.djs.live()
            self.djs.subscribe(self._dj_event)
        if self.mc:
            self.mc_info = await self.mc.info()
            self.mc.subscribe(self._mc_event)
        # compression off: small real-time frames (RUNTIME-LESSONS 3); our own app-level heartbeat.
        ws_log = ctx.log.getChild("ws")
        ws_log.setLevel(logging.WARNING)  # websockets logs every open/close at INFO: too much with 500 browsers
        try:
            server = await serve(self._serve, p.host, p.port, compression=None, max_size=p.max_message_size,
                                 ping_interval=None, close_timeout=2, max_queue=16, logger=ws_log)
        except OSError as exc:  # e.g. the port is taken: say so, no traceback (port stays None)
            self.ready.set()
            ctx.fail(f"browser '{ctx.name}': cannot listen on {p.host}:{p.port}: {os.strerror(exc.errno) if exc.errno else exc}")
            return
        self.port = server.sockets[0].getsockname()[1]
        ctx.log.info("browsers on ws://%s:%d (%s)", p.host, self.port,
                     "operator password set" if self.operator_auth else "no operator password")
        self.ready.set()
        ctx.spawn(self._heartbeat(), name="heartbeat")
        try:
            inp = ctx.input()
            while True:
                self._on_scene(await inp.latest())
        except EndOfStream:
            pass
        finally:
            await self._shutdown(server)

    async def _shutdown(self, server: Any) -> None:
        await self.ctx.tasks.aclose()
        server.close(close_connections=False)
        await asyncio.gather(*(c.close(1001, "Server shutting down", 0.5) for c in list(self.clients)))
        await server.wait_closed()

    # -- frames ---------------------------------------------------------------------------------------

    def _on_scene(self, scene: Any) -> None:
        assert isinstance(scene, Scene)
        # Pace by capture time on a state_rate grid, not by a timer: a frame due (within 20 % of a period)
        # goes out at once, an early one is skipped. A capture time going backwards means a new source.
        t, period = scene.t_capture, 1e9 / self.params.state_rate
        due = self._next_due_ns
        if due is not None and t < due - 0.2 * period and t >= due - 2 * period:
            self.counters["states_skipped"] += 1
            return
        # Keep the grid (so a 94 Hz source gives ~60 Hz, not 47); restart it after a gap or a new source.
        self._next_due_ns = (t if due is None or t > due + period or t < due - 2 * period else due) + period
        if self.clients:
            fanout(self.clients, self._encoder.encode(scene, self._dj_fields(scene.seq)))
            self.counters["states_sent"] += 1
        self.ctx.delivered(scene)

    def _dj_fields(self, seq: int) -> dict[str, Any]:
        """The live DJ's id and link figures for ``state``; the figures are re-read every 15 frames (¼ s)."""
        if not self.djs:
            return {}
        if seq - self._dj_cache_frame >= 15 or seq < self._dj_cache_frame:
            self._dj_cache_frame = seq
            self.ctx.spawn(self._refresh_dj_fields(), name="dj figures")
        return self._dj_cache

    async def _refresh_dj_fields(self) -> None:
        active = self.live_dj["dj_id"]
        entry = next((e for e in await self.djs.roster() if e.get("dj_id") == active), {})
        self._dj_cache = {"active_dj": active, **{k: entry.get(k) for k in
                                                  ("latency_ms", "ping_ms", "pipeline_latency_ms", "fps")}}

    # -- connections ----------------------------------------------------------------------------------

    async def _serve(self, ws: ServerConnection) -> None:
        p = self.params
        if len(self.clients) >= p.max_clients:
            self.counters["rejected"] += 1
            await ws.close(4003, "Too many browsers")
            return
        sock = ws.transport.get_extra_info("socket")
        if sock is not None:  # bound how far a slow client can lag behind in the kernel
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, p.send_buffer)
        client = Client(ws, p.client_queue, self.ctx.heartbeat, self.ctx.clock, p.commands_per_s,
                        p.command_burst, high_water=65536)
        client.operator = not self.operator_auth
        self.counters["browser_connects"] += 1
        self._connecting += 1
        try:
            try:
                await ws.send(await self.vj_state(client))  # before any state frame can reach it
            finally:
                self._connecting -= 1
            self.clients.add(client)
            client.start()
            async for raw in ws:
                await self._on_message(client, raw)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            self.dropped_closed += client.dropped
            self.counters["browser_disconnects"] += 1
            await client.stop()

    async def _on_message(self, client: Client, raw: str | bytes) -> None:
        try:
            msg = P.decode(raw)
        except P.ProtocolError as exc:
            self.counters["bad_messages"] += 1
            client.send(P.error(str(exc)))
            return
        mtype = msg["type"]
        cmd = COMMANDS.get(mtype)
        if cmd is None:
            self.counters["unknown_commands"] += 1
            client.send(P.error(f"Unknown command: {mtype}"))
            return
        if cmd.mutating:
            if not client.operator:
                self.counters["unauthorized"] += 1
                client.send(P.error(f"{mtype}: not allowed for viewers; send vj_auth with the operator password"))
                return
            if not client.bucket.allow():
                self.counters["rate_limited"] += 1
                client.send(P.error(f"{mtype}: rate limited (at most {self.params.commands_per_s:g} commands/s)"))
                return
        try:
            await cmd.handler(self, client, msg)
        except ValueError as exc:
            client.send(P.error(f"{mtype}: {exc}"))
        except Exception:
            self.ctx.log.exception("command %s failed", mtype)
            client.send(P.error(f"{mtype}: internal error (see the VJ server log)"))

    async def _heartbeat(self) -> None:
        clock = self.ctx.clock
        while True:
            await clock.sleep(self.ctx.heartbeat.interval)
            for c in list(self.clients):
                if c.awaiting_pong:
                    c.monitor.missed()
                    if c.monitor.dead:
                        self.counters["heartbeat_timeouts"] += 1
                        self.ctx.spawn(c.close(4100, "Heartbeat timeout"))
                        continue
                c.awaiting_pong = True
                c.send(P.ping())

    def _dj_event(self, event: Event) -> None:
        if event.name == "live":
            self.live_dj = dict(event.data)
            self._dj_cache = {**self._dj_cache, "active_dj": self.live_dj["dj_id"]}
            self._dj_cache_frame = -1_000_000  # its figures at the next frame
        else:
            self._relay_event(dict(event.data))

    def _mc_event(self, event: Event) -> None:
        if event.name == "link":
            self.mc_info = dict(event.data)
            self.broadcast(P.message("minecraft_status", connected=bool(event.data.get("connected"))))
        else:
            self._relay_event(dict(event.data))

    def _relay_event(self, msg: dict[str, Any]) -> None:
        """Pass a DJ-server event or an unsolicited plugin message on to every browser."""
        try:
            text = P.relay(msg)
        except P.WireError as exc:  # e.g. a NaN from the plugin: browsers could not parse it
            self.ctx.log.warning("not relaying a %r message to browsers: %s", str(msg.get("type"))[:40], exc)
            return
        self.broadcast(text)

    # -- helpers for commands ---------------------------------------------------------------------------

    def broadcast(self, text: str, exclude: Client | None = None) -> None:
        """Send a control message (event) to every browser, in order with its replies."""
        for c in list(self.clients):
            if c is not exclude:
                c.send(text)

    def check_password(self, password: str) -> bool:
        want = self.params.operator_password
        return not want or hmac.compare_digest(password.encode(), want.encode())

    def need_pattern(self) -> ControlPort:
        if not self.pattern:
            raise ValueError("this graph has no pattern node")
        return self.pattern

    def need_dj(self) -> ControlPort:
        if not self.djs:
            raise ValueError("this graph has no dj_server node")
        return self.djs

    async def pattern_state(self) -> dict[str, Any]:
        return await self.pattern.state() if self.pattern else {}

    async def patterns(self) -> list[dict[str, Any]]:
        return await self.pattern.patterns() if self.pattern else []

    async def tell_djs(self, call: str, *args: Any) -> None:
        """A ``sync_*`` call of the DJ roster (tell every DJ), if the graph has DJs."""
        if self.djs:
            await self.djs.call(call, *args)

    async def config_changed(self) -> None:
        """Entity count or zone changed: tell DJs (``config_sync``) and browsers (``config_update``)."""
        st = await self.pattern_state()
        zone = self.mc_info.get("zone", "main") if self.mc else "main"
        self.broadcast(P.message("config_update", entity_count=st.get("entity_count"), zone=zone,
                                 current_pattern=st.get("pattern")))
        await self.tell_djs("sync_config", st.get("entity_count", 16), zone)

    def banner_summaries(self) -> dict[str, dict[str, Any]]:
        return {dj: {**{k: v for k, v in prof.items() if k != "image_pixels"}, "has_image": "image_pixels" in prof}
                for dj, prof in self.banners.items()}

    async def push_banner(self, dj_id: str) -> None:
        """Send the active DJ's banner to the plugin (``banner_config``), if connected."""
        if not self.djs or self.live_dj["dj_id"] != dj_id or not self.mc or not self.mc_info.get("connected"):
            return
        prof = self.banners.get(dj_id, {})
        msg = {"type": "banner_config", **{k: prof[k] for k in BANNER_FIELDS if k in prof}}
        if "image_pixels" in prof:
            msg["image_pixels"] = prof["image_pixels"]
        try:
            await self.mc.forward(msg)
        except (LinkDown, TimeoutError) as exc:
            self.ctx.log.info("banner_config not sent: %s", exc)

    async def vj_state(self, client: Client | None = None) -> str:
        st = await self.pattern_state()
        djs = self.djs
        return P.vj_state(
            patterns=await self.patterns(), current_pattern=st.get("pattern"), entity_count=st.get("entity_count"),
            zone=self.mc_info.get("zone", "main") if self.mc else "main",
            dj_roster=await djs.roster() if djs else [], active_dj=self.live_dj["dj_id"],
            health_stats=health_stats(self.ctx.metrics_snapshot()),
            minecraft_connected=bool(self.mc and self.mc_info.get("connected")),
            pending_djs=await djs.pending() if djs else [], banner_profiles=self.banner_summaries(),
            preset=st.get("preset"), band_sensitivity=st.get("band_sensitivity"), blackout=st.get("blackout"),
            freeze=st.get("freeze"), transition=st.get("transition"), audio_settings=self.audio_settings,
            operator_auth=self.operator_auth, operator=bool(client is not None and client.operator),
            dj_server=bool(djs),
        )
