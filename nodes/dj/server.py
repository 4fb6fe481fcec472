"""The ``dj_server`` source: remote DJs on :9000, the active DJ's features out.

Speaks MCAV's DJ protocol (WIRE.md section 2) so existing MCAV DJ clients
connect unchanged. Its output is the same :class:`~mcav.runtime.frames.Features`
frame the local ``beat`` node produces (``source`` = the DJ id), so a VJ graph
runs the same on a remote DJ or a local source.

It provides :class:`~mcav.nodes.interfaces.DJRoster` on its ``roster``
control port (the operator API: roster, live DJ, approvals, codes, syncs to
every DJ; events ``message`` and ``live``) and requires the graph's pattern
control (for ``auth_success``/``stream_route``) and Minecraft links (a fresh
``stream_route`` for every DJ when one goes up or down), both optional.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import Server, serve

from mcav.nodes.health import VJ_HEALTH
from mcav.nodes.interfaces import DJRoster, MinecraftLink, PatternControl
from mcav.runtime.budget import ListenerBudget, budgeted_connection, quiet_accept_errors
from mcav.runtime.control import Event, Require
from mcav.runtime.frames import Features
from mcav.runtime.node import AsyncNode
from mcav.runtime.params import param
from mcav.runtime.trust import binds_beyond_loopback

from . import protocol as P
from .auth import KeysFileError, KeyStore
from .guard import AuthGuard
from .handler import ConnectionHandler, HandlerConfig
from .hub import DJHub
from .links import DJ_RELAY
from .logs import frame_logger

__all__ = ["AuthParams", "DJServer"]


@dataclass
class AuthParams:
    """``auth:`` of ``dj_server``."""

    keys: str | None = param(None, doc="keys file (YAML/JSON with hashed keys, see `mcav dj-key`); relative to the graph file")
    require: bool | None = param(None, doc="require a valid dj_auth key (null = exactly when a keys file is given)")


class DJServer(AsyncNode):
    """Accepts remote DJs (MCAV DJ protocol) and emits the active DJ's features."""

    kind = "dj_server"

    @dataclass
    class Params:
        host: str = param("0.0.0.0", doc="address to listen on")
        port: int = param(9000, doc="TCP port (0 = any free port; see status()['port'])", min=0, max=65535)
        auth: AuthParams = param(AuthParams(), doc="DJ authentication: {keys: FILE, require: BOOL}")
        max_djs: int = param(16, doc="DJs connected at once (more are closed with 4003 'Server full')", min=1)
        rate_limit: float = param(120.0, doc="frames accepted per DJ per second (token bucket, burst the same)", unit="Hz", min=1)
        max_message_size: int = param(65536, doc="largest accepted message", unit="bytes", min=1024)
        code_ttl_minutes: float = param(30.0, doc="default lifetime of a connect code", unit="min", min=0.1, max=1440)
        handshake_timeout: float = param(10.0, doc="time for the first (auth) message before close 4001", unit="s", min=0.1)
        clock_sync_timeout: float = param(5.0, doc="time to wait for a clock_sync_response", unit="s", min=0.1)
        beat_assist: bool = param(True, doc="add beats the DJ missed, from its beat phase and tempo confidence")

        live_timeout: float | None = param(
            None, doc="a live DJ silent this long yields to a sending standby (null = 3 heartbeat intervals of "
            "the heartbeat policy: 6 s, `heartbeat: lan` 3 s; 0 = never)", unit="s", min=0)
        idle_fps: float = param(0.0, doc="silent frames per second while no live DJ frame arrives (bands "
                                "decaying, so patterns keep moving; 0 = off)", unit="Hz", min=0, max=240)
        max_connections: int = param(64, doc="sockets open at once, handshakes included (when full, the oldest "
                                     "unauthenticated one is cut; then newcomers are refused)", min=1)

    outputs = {"out": Features}
    provides = {"roster": DJRoster}
    requires = {
        "pattern": Require(PatternControl, optional=True, doc="pattern and entity count told to DJs"),
        "minecraft": Require(MinecraftLink, many=True, optional=True, doc="plugin address for direct-mode DJs"),
    }
    health_schema = VJ_HEALTH
    policies = {"heartbeat": DJ_RELAY}  # a live DJ silent this many heartbeats yields the slot

    def __init__(self, params: Params, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(params, ctx)
        self.hub = DJHub(ctx.clock, lambda f: ctx.emit(f), self._vj_context, ctx.log, params.beat_assist,
                         params.max_djs)
        #: The bound TCP port once listening (the real one when ``port: 0``).
        self.port: int | None = None
        #: Set (thread-safe) once the server listens, or when it failed to.
        self.ready = threading.Event()
        self.require_auth = False
        #: The I/O loop the node runs on (call the operator API through it from other threads).
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._pattern: dict[str, Any] = {}  # the pattern's state, kept by its ``changed`` events
        self._minecraft: dict[str, Any] = {}  # the first Minecraft link's info, kept by ``link`` events
        self._live: dict[str, Any] | None = None  # last published live()
        self._order: dict[str, Any] | None = None  # last published order()
        self.hub.add_listener(self._hub_event)
        self.hub.live_changed = self._publish_live
        self.guard = AuthGuard(ctx.clock, ctx.log)
        self.budget = ListenerBudget(f"dj_server '{ctx.name}'", params.max_connections, ctx.log)

    # -- lifecycle --------------------------------------------------------------------------------

    def _keys(self) -> KeyStore | None:
        a = self.params.auth
        if a.keys is None:
            return None
        path = self.ctx.base_dir / a.keys
        return KeyStore.load(path)

    async def run(self) -> None:
        p, log = self.params, self.ctx.log
        self.loop = asyncio.get_running_loop()
        try:
            keys = self._keys()
        except KeysFileError as exc:
            self.ready.set()
            self.ctx.fail(f"dj_server '{self.ctx.name}': auth.keys: {exc}", exit_code=2)
            return
        self.require_auth = p.auth.require if p.auth.require is not None else keys is not None
        cfg = HandlerConfig(self.require_auth, keys, p.handshake_timeout, p.clock_sync_timeout, p.rate_limit,
                            self.guard)
        quiet_accept_errors(self.loop, log)
        try:
            self._server = await serve(ConnectionHandler(self.hub, cfg), p.host, p.port, compression=None,
                                       max_size=p.max_message_size, max_queue=64, close_timeout=1,
                                       open_timeout=min(5.0, p.handshake_timeout), backlog=self.budget.backlog,
                                       create_connection=budgeted_connection(self.budget, self.guard.throttle.refuse_early),
                                       logger=frame_logger(f"mcav.{self.ctx.name}.ws"))
        except OSError as exc:
            self.ready.set()
            self.ctx.fail(f"dj_server '{self.ctx.name}': cannot listen on {p.host}:{p.port}: {os.strerror(exc.errno) if exc.errno else exc}")
            return
        self.port = self._server.sockets[0].getsockname()[1]
        mode = f"keys file {p.auth.keys} ({len(keys.djs)} DJs)" if keys else "no keys file"
        log.info("DJ server listening on ws://%s:%d (auth %s; %s; connect codes on)", p.host, self.port,
                 "required" if self.require_auth else "off", mode)
        if not self.require_auth and binds_beyond_loopback(p.host):
            log.warning("DJs may join WITHOUT A KEY from any host that reaches %s:%d and take the live slot; "
                        "require keys with `auth: {keys: dj_keys.yaml}` (`mcav dj-key add`), or bind host: 127.0.0.1",
                        p.host, self.port)
        hb = self.ctx.heartbeat_policy()
        self.hub.live_timeout = (p.live_timeout if p.live_timeout is not None
                                 else hb.interval * (hb.failure_threshold or 3))
        self.ctx.spawn(self._watch_live(), name="live watch")
        if p.idle_fps > 0:
            self.ctx.spawn(self._idle(), name="idle frames")
        await self._follow_peers()
        self.ready.set()
        try:
            await self.ctx.wait_stopping()
        finally:
            await self._close()

    async def _follow_peers(self) -> None:
        """Read the pattern's state and the Minecraft link once, then keep them by their events."""
        pattern, mc = self.ctx.control("pattern"), self.ctx.control("minecraft")
        if pattern:
            self._pattern = await pattern.state()
            pattern.subscribe(lambda e: self._pattern.update(e.data), ("changed",))
        if mc:
            self._minecraft = await mc.providers[0].info()
            mc.subscribe(self._minecraft_changed, ("link",))

    def _minecraft_changed(self, event: Event) -> None:
        """A Minecraft link went up or down: every DJ gets a fresh ``stream_route`` (WIRE.md 2.3)."""
        if event.provider == self.ctx.control("minecraft").providers[0].node:
            self._minecraft = dict(event.data)
        self.ctx.spawn(self.hub.send_stream_routes(), name="stream_routes")

    def _hub_event(self, message: dict[str, Any]) -> None:
        """A browser-facing roster message from the hub: publish it, then the live DJ if that changed."""
        self.ctx.publish("roster", "message", message)
        self._publish_live()
        order = self.order()
        if order != self._order:
            self._order = order
            self.ctx.publish("roster", "order", order)

    def _publish_live(self) -> None:
        live = self.live()
        if live != self._live:
            self._live = live
            self.ctx.publish("roster", "live", live)

    async def _watch_live(self) -> None:
        """Hand the live slot to a sending standby when the live DJ goes silent (a hung laptop)."""
        if self.hub.live_timeout <= 0:
            return
        changed = asyncio.Event()
        self.hub.add_listener(lambda event: changed.set() if event.get("type") == "dj_roster" else None)
        while True:
            if len(self.hub.roster) < 2:  # nobody to hand over to: sleep until the roster changes
                changed.clear()
                await changed.wait()
                continue
            await self.ctx.clock.sleep(self.hub.live_timeout / 8)
            await self.hub.check_live()

    async def _idle(self) -> None:
        """Silent frames at ``idle_fps`` while no live DJ frame arrives, so the visuals never freeze."""
        period = 1.0 / self.params.idle_fps
        while True:
            await self.ctx.clock.sleep(period)
            self.hub.emit_idle(after_s=max(0.25, 2 * period))

    async def _close(self) -> None:
        self.guard.close()
        self.budget.close()
        await self.ctx.tasks.aclose()
        server = self._server
        if server is None:
            return
        server.close(close_connections=True, code=1001, reason="Server shutting down")
        try:
            await asyncio.wait_for(asyncio.shield(server.wait_closed()), 1.0)
        except TimeoutError:
            stuck = list(server.all_connections)
            self.ctx.log.warning("%d DJ connection(s) did not close within 1 s; aborting them", len(stuck))
            for conn in stuck:
                conn.transport.abort()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 0.3)

    def _vj_context(self) -> dict[str, Any]:
        """Pattern and Minecraft facts for auth_success/stream_route, from the control links or MCAV defaults."""
        c: dict[str, Any] = {"current_pattern": "spectrum", "pattern_config": dict(P.DEFAULT_PATTERN_CONFIG),
                             "entity_count": 16, "zone": "main", "minecraft_host": "localhost", "minecraft_port": 8765}
        st, mc = self._pattern, self._minecraft
        if st:
            c["current_pattern"] = str(st.get("pattern", c["current_pattern"]))
            c["entity_count"] = int(st.get("entity_count", c["entity_count"]))
            cfg = c["pattern_config"]
            cfg["entity_count"] = c["entity_count"]
            for k in ("base_scale", "max_scale", "beat_boost", "zone_size"):
                if k in st:
                    cfg[k] = float(st[k])
        if mc:
            c["minecraft_host"] = str(mc.get("host", c["minecraft_host"]))
            c["minecraft_port"] = int(mc.get("port", c["minecraft_port"]))
            c["zone"] = str(mc.get("zone", c["zone"]))
        return c

    def status(self) -> dict[str, Any]:
        """Port, counters, active DJ and per-DJ fps/latency/clock offset (read from any thread)."""
        hub = self.hub
        djs = {s.dj_id: {"fps": s.fps(hub.clock.monotonic()), "latency_ms": s.latency_ms,
                         "pipeline_latency_ms": round(s.pipeline_latency_ms or 0.0, 1),
                         "clock_offset_ms": None if s.clock_offset is None else round(s.clock_offset * 1000, 2),
                         "frames": s.frames, "dropped_rate_limit": s.dropped_rate}
               for s in list(hub.roster.sessions.values())}
        return {"port": self.port, "active_dj": hub.roster.active, **hub.health(), "pending": len(hub.pending),
                "frames_out": hub.frames_out, "dropped_rate_limit": hub.dropped_rate_limit,
                "dropped_invalid": hub.dropped_invalid, "auth_failures": hub.auth_failures, "djs": djs,
                "live_timeouts": hub.live_timeouts, "security": self.security()}

    def security(self) -> dict[str, int]:
        """Attack and fault counters for /metrics and /health (README "Securing a show")."""
        hub, guard = self.hub, self.guard.counters()
        return {"auth_failures": hub.auth_failures, "auth_throttled": guard["auth_throttled"] + guard["auth_busy"],
                "auth_lockouts": guard["auth_lockouts"], "throttled_sources": guard["throttled_sources"],
                "rate_limited_frames": hub.dropped_rate_limit, "invalid_messages": hub.dropped_invalid,
                "heartbeat_timeouts": hub.live_timeouts, **self.budget.counters()}

    # -- operator API (I/O loop thread) --------------------------------------------------------------

    def roster(self) -> list[dict[str, Any]]:
        """WIRE.md 3.1 ``dj_roster`` entries sorted by queue position."""
        return self.hub.roster_entries()

    @property
    def active_dj(self) -> str | None:
        """Id of the DJ whose frames are emitted, or None."""
        return self.hub.roster.active

    def live(self) -> dict[str, Any]:
        """``{dj_id, dj_name, direct}``: the live DJ and whether it draws in Minecraft itself (WIRE.md 2.3)."""
        hub = self.hub
        active = hub.roster.active
        session = hub.roster.sessions.get(active) if active is not None else None
        return {"dj_id": active, "dj_name": session.dj_name if session is not None else None,
                "direct": hub.direct_dj_on_minecraft() is not None}

    def pending(self) -> list[dict[str, Any]]:
        """Connect-code DJs waiting for approval: ``{dj_id, dj_name, waiting_since, direct_mode}``."""
        return self.hub.pending_entries()

    async def set_active(self, dj_id: str) -> None:
        """Make ``dj_id`` the active DJ (ValueError if not connected)."""
        await self.hub.set_active(dj_id)

    async def kick(self, dj_id: str) -> None:
        """Disconnect ``dj_id`` with 4010 "Kicked by VJ" (ValueError if not connected)."""
        await self.hub.kick(dj_id)

    async def approve(self, dj_id: str) -> None:
        """Admit a pending DJ (ValueError if not pending or the server is full)."""
        await self.hub.approve(dj_id)

    async def deny(self, dj_id: str) -> None:
        """Refuse a pending DJ: ``auth_denied`` and close 4006 (ValueError if not pending)."""
        await self.hub.deny(dj_id)

    def reorder(self, dj_id: str, new_position: int) -> None:
        """Move ``dj_id`` to queue position ``new_position`` (0-based, clamped)."""
        self.hub.reorder(dj_id, new_position)

    def order(self) -> dict[str, Any]:
        """``{queue, preferred}``: the connected DJs' ids in queue order, and every DJ seen in the operator's order."""
        return {"queue": list(self.hub.roster.order), "preferred": list(self.hub.roster.preferred)}

    def set_order(self, dj_ids: list[str]) -> None:
        """Restore a preferred order: DJs join the queue by it (the connected ones are re-queued)."""
        self.hub.set_order(dj_ids)

    def generate_code(self, ttl_minutes: float | None = None) -> dict[str, Any]:
        """A new single-use connect code: ``{code, expires_at, ttl_minutes}`` (default TTL: ``code_ttl_minutes``)."""
        return self.hub.generate_code(self.params.code_ttl_minutes if ttl_minutes is None else ttl_minutes)

    def codes(self) -> list[dict[str, Any]]:
        """Valid connect codes: ``{code, created_at, expires_at, used}``."""
        return self.hub.codes()

    def revoke_code(self, code: str) -> None:
        """Withdraw a connect code (ValueError if unknown)."""
        self.hub.revoke_code(code)

    async def sync_pattern(self, pattern: str, config: dict[str, Any]) -> None:
        """``pattern_sync`` to every DJ."""
        await self.hub.send_to_djs(P.pattern_sync(pattern, config))

    async def sync_preset(self, preset: str | dict[str, Any]) -> None:
        """``preset_sync`` to every DJ."""
        await self.hub.send_to_djs(P.preset_sync(preset))

    async def sync_effect(self, effect: str) -> None:
        """``effect_triggered`` to every DJ."""
        await self.hub.send_to_djs(P.effect_triggered(effect))

    async def sync_config(self, entity_count: int, zone: str) -> None:
        """``config_sync`` to every DJ."""
        await self.hub.send_to_djs(P.config_sync(entity_count, zone))

    def health(self) -> dict[str, int]:
        """``{dj_connects, dj_disconnects, current_djs}``."""
        return self.hub.health()
