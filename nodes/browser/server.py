"""The ``browser`` node: the WebSocket server of the admin panel and 3D preview (:8766).

* On connect: ``vj_state``. Then one ``state`` per arriving Scene (capped at
  ``state_rate``, 60 Hz, except for attacks: a frame whose bands rise or that
  carries a beat goes out at once), encoded once and shared by every client;
  no sleep tick in the path.
* ``{"type":"ping"}`` every 15 s; a client missing 2 pongs is closed with
  4100 "Heartbeat timeout". Client pings get ``pong``.
* Commands of WIRE.md 3.3 (:mod:`.commands`); malformed input gets an
  ``error`` reply and the connection stays up. With ``operator_password``
  set, commands that change anything need ``vj_auth`` first; viewers still
  get state. Mutating commands are rate-limited per client.

It shares the I/O loop with the DJ server (not ``own_loop``: under a
half-open flood at the file-handle limit, a browser listener on a loop of its
own starved the DJ port's accepts, tests/runtime/test_fd_limit.py), and writes
each frame in chunks (:class:`~.clients.FanOut`) so the DJ server's reads get a
turn; the Minecraft sink has a loop of its own.

Control: it requires (each optional) the pattern control, the DJ roster, a
Minecraft link, every analysis preset, the show and a MIDI input (learn mode), and relays the roster's and the
link's events to browsers; it provides ``endpoint`` (where the pages connect)
to ``admin_http``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from mcav.nodes.health import VJ_HEALTH
from mcav.nodes.interfaces import (AnalysisPreset, BrowserEndpoint, DJRoster, MidiControl, MinecraftLink, PatternControl,
                                   ShowControl)
from mcav.runtime import budget
from mcav.runtime.budget import ListenerBudget, budgeted_connection, quiet_accept_errors
from mcav.runtime.control import Require
from mcav.runtime.frames import Scene
from mcav.runtime.keepalive import KeepAlive
from mcav.runtime.node import AsyncNode, EndOfStream
from mcav.runtime.params import param
from mcav.runtime.trust import LOOPBACK, TrustedNetworks, binds_beyond_loopback

from . import commands, commands_mc, commands_midi, commands_show  # noqa: F401  (importing them registers the handlers)
from . import protocol as P
from .access import OPERATOR_EVENTS, Access
from .clients import Client, FanOut
from .links import VJ_BROWSER
from .readcache import ReplyCache
from .registry import COMMANDS
from .show import ShowLinks

#: Commands outside the read budget: the heartbeat, and vj_auth (throttled per address instead).
_UNMETERED = frozenset({"ping", "pong", "vj_auth"})

__all__ = ["BrowserServer"]

#: A band rising this much (0-1) since the last state sent is an attack: it goes out off the state_rate grid.
ONSET_RISE = 0.05


class BrowserServer(ShowLinks, AsyncNode):
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
        "show": Require(ShowControl, optional=True, doc="scenes: list, save, load, rename, delete, export, import"),
        "midi": Require(MidiControl, optional=True, doc="the MIDI map and learn mode (the admin panel's MIDI card)"),
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
        trusted_networks: list[str] = param(
            list(LOOPBACK), doc="networks whose browsers may change the show without a password while none is set "
            "(others are viewers)")
        reads_per_s: float = param(50.0, doc="read-only commands per second per client, on average", min=0.1)
        read_burst: int = param(100, doc="read-only commands a client may send back to back", min=1)
        fanout_chunk: int = param(32, doc="sockets a state frame is written to per event-loop turn, so a DJ's "
                                  "frame never waits for a whole fan-out (0 = all at once)", min=0)
        fanout_backlog: int = param(1, doc="state frames that may wait for the one going out (a burst after a "
                                    "stall, e.g. an edge's from Redis); beyond that the oldest waiting is replaced "
                                    "(counted in frames_dropped)", min=1, max=64)
        max_handshakes: int = param(32, doc="connections still in their WebSocket handshake at once (beyond that "
                                    "the oldest is cut); sockets in all: max_clients + this", min=1)

        def __post_init__(self) -> None:
            TrustedNetworks(self.trusted_networks)  # a bad network fails the graph check, naming it

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.port: int | None = None
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.clients: set[Client] = set()
        #: Pings every browser each ``heartbeat.interval`` s; 2 missed pongs close it with 4100.
        self.keepalive: KeepAlive[Client] = KeepAlive(ctx.heartbeat, ctx.clock, lambda c: c.send(P.ping()),
                                                      self._heartbeat_timeout)
        self.counters = dict.fromkeys(
            ("browser_connects", "browser_disconnects", "rejected", "bad_messages", "unknown_commands",
             "unauthorized", "rate_limited", "heartbeat_timeouts", "states_sent", "states_skipped", "states_onset"), 0)
        self.dropped_closed = 0  # state frames lost by clients that have left
        self._connecting = 0  # accepted, vj_state not yet sent (counted as current browsers)
        self.audio_settings: dict[str, float] = {}
        self.particle_effects: dict[str, dict[str, Any]] = {}
        self.banners: dict[str, dict[str, Any]] = {}
        self.init_show(ctx)
        self._encoder = P.StateEncoder()
        self.fanout = FanOut(params.fanout_chunk, params.fanout_backlog)
        self._next_due_ns: float | None = None
        self._sent_bands: np.ndarray | None = None  # the bands of the last state sent (onsets skip the grid)
        self.access = Access(params.operator_password, params.trusted_networks, ctx.clock, ctx.log)
        self.read_cache = ReplyCache(ctx.clock)
        self.budget = ListenerBudget(f"browser '{ctx.name}'", params.max_clients + params.max_handshakes, ctx.log)

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
                "frames_dropped": self.dropped_closed + self.fanout.replaced + sum(c.dropped for c in clients),
                "read_cache_hits": self.read_cache.hits, "security": self.security()}

    def security(self) -> dict[str, int]:
        """Attack and fault counters for /metrics and /health (README "Securing a show")."""
        c, t = self.counters, self.access.throttle.counters()
        return {"auth_failures": t["auth_failures"], "auth_throttled": t["auth_throttled"],
                "auth_lockouts": t["auth_lockouts"], "throttled_sources": t["throttled_sources"],
                "rate_limited_commands": c["rate_limited"], "invalid_messages": c["bad_messages"] + c["unknown_commands"],
                "refused_viewer_commands": c["unauthorized"], "heartbeat_timeouts": c["heartbeat_timeouts"],
                "rejected_full": c["rejected"], **self.budget.counters()}

    def endpoint(self) -> dict[str, Any]:
        """``{ws_port, operator_auth, commands_per_s}`` (BrowserEndpoint)."""
        return {"ws_port": self.port or self.params.port, "operator_auth": self.operator_auth,
                "commands_per_s": self.params.commands_per_s}

    # -- run --------------------------------------------------------------------------------------------

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        p, ctx = self.params, self.ctx
        await self.follow_show()
        # compression off: small real-time frames (RUNTIME-LESSONS 3); our own app-level heartbeat.
        ws_log = ctx.log.getChild("ws")
        ws_log.setLevel(logging.WARNING)  # websockets logs every open/close at INFO: too much with 500 browsers
        quiet_accept_errors(self.loop, ctx.log)
        try:
            server = await serve(self._serve, p.host, p.port, compression=None, max_size=p.max_message_size,
                                 ping_interval=None, close_timeout=2, max_queue=16, logger=ws_log, open_timeout=5,
                                 backlog=self.budget.backlog,
                                 create_connection=budgeted_connection(self.budget, self.access.throttle.refuse_early))
        except OSError as exc:  # e.g. the port is taken: say so, no traceback (port stays None)
            self.ready.set()
            ctx.fail(f"browser '{ctx.name}': cannot listen on {p.host}:{p.port}: {os.strerror(exc.errno) if exc.errno else exc}")
            return
        self.port = server.sockets[0].getsockname()[1]
        ctx.log.info("browsers on ws://%s:%d (%s)", p.host, self.port,
                     "operator password set" if self.operator_auth else "no operator password")
        if not self.operator_auth and binds_beyond_loopback(p.host):
            ctx.log.warning("no operator password: browsers from other hosts than %s are VIEWERS (they cannot change "
                            "the show); set one with MCAV_VJ_PASSWORD=… (operator_password) to operate remotely",
                            self.access.trusted)
        self.ready.set()
        ctx.spawn(self.keepalive.run(lambda: self.clients), name="heartbeat")
        try:
            inp = ctx.input()
            while True:  # every frame, in order (two may come back to back, e.g. from Redis): none skipped
                self._on_scene(await inp.get())  # unless the ring overflows (a counted drop) or the grid says so
        except EndOfStream:
            pass
        finally:
            await self._shutdown(server)

    async def _shutdown(self, server: Any) -> None:
        self.fanout.cancel()
        await self.ctx.tasks.aclose()
        server.close(close_connections=False)
        self.budget.close()
        await asyncio.gather(*(c.close(1001, "Server shutting down", 0.5) for c in list(self.clients)))
        await server.wait_closed()

    # -- frames ---------------------------------------------------------------------------------------

    def _on_scene(self, scene: Any) -> None:
        assert isinstance(scene, Scene)
        # Pace by capture time on a state_rate grid, not by a timer: a frame due (within 20 % of a period)
        # goes out at once, an early one is skipped, unless it starts something visible (a band rising by
        # ONSET_RISE since the last state sent, or a beat): an attack is never held back for the grid.
        # A capture time going backwards means a new source.
        t, period = scene.t_capture, 1e9 / self.params.state_rate
        due = self._next_due_ns
        bands = scene.features.bands
        if due is not None and t < due - 0.2 * period and t >= due - 2 * period:
            last = self._sent_bands
            if not scene.features.beat and (last is None or not bool(np.any(bands - last >= ONSET_RISE))):
                self.counters["states_skipped"] += 1
                return
            self.counters["states_onset"] += 1  # sent off the grid, which stays as it was
        else:
            # Keep the grid (so a 94 Hz source gives ~60 Hz, not 47); restart it after a gap or a new source.
            self._next_due_ns = (t if due is None or t > due + period or t < due - 2 * period else due) + period
        self._sent_bands = bands
        if self.clients:
            # An edge's frame carries the VJ's own bytes: its viewers get them as they are, not encoded again.
            text = scene.state_text or self._encoder.encode(scene, self._dj_fields(scene.seq))
            self.fanout.send(self.clients, text)
            self.counters["states_sent"] += 1
        self.ctx.delivered(scene)

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
        budget.ready(ws)  # the handshake is done: no longer the first cut when the port is full
        client = Client(ws, p.client_queue, self.ctx.clock, p.commands_per_s,
                        p.command_burst, high_water=65536, read_rate=p.reads_per_s, read_burst=p.read_burst)
        client.operator = self.access.operator_on_connect(client.addr)
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
            self.keepalive.forget(client)
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
        elif mtype not in _UNMETERED and not client.reads.allow():
            self.counters["rate_limited"] += 1
            client.send(P.error(f"{mtype}: rate limited (at most {self.params.reads_per_s:g} requests/s)"))
            return
        try:
            await cmd.handler(self, client, msg)
        except ValueError as exc:
            client.send(P.error(f"{mtype}: {exc}"))
        except Exception:
            self.ctx.log.exception("command %s failed", mtype)
            client.send(P.error(f"{mtype}: internal error (see the VJ server log)"))

    def _heartbeat_timeout(self, client: Client) -> None:
        self.counters["heartbeat_timeouts"] += 1
        self.ctx.spawn(client.close(4100, "Heartbeat timeout"))

    def _relay_event(self, msg: dict[str, Any]) -> None:
        """Pass a DJ-server event or an unsolicited plugin message on to every browser."""
        try:
            text = P.relay(msg)
        except P.WireError as exc:  # e.g. a NaN from the plugin: browsers could not parse it
            self.ctx.log.warning("not relaying a %r message to browsers: %s", str(msg.get("type"))[:40], exc)
            return
        self.broadcast(text, operators_only=msg.get("type") in OPERATOR_EVENTS)

    # -- helpers for commands ---------------------------------------------------------------------------

    def broadcast(self, text: str, exclude: Client | None = None, operators_only: bool = False) -> None:
        """Send a control message (event) to every browser (or operator), in order with its replies."""
        for c in list(self.clients):
            if c is not exclude and (c.operator or not operators_only):
                c.send(text)
