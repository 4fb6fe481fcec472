"""The ``dj_server`` source: remote DJs on :9000, the active DJ's features out.

Speaks MCAV's DJ protocol (WIRE.md section 2) so existing MCAV DJ clients
connect unchanged. Its output is the same :class:`~mcav.runtime.frames.Features`
frame the local ``beat`` node produces (``source`` = the DJ id), so a VJ graph
runs the same on a remote DJ or a local source.

The operator API (``roster()``, ``set_active()``, ``kick()``, ``approve()``,
``deny()``, ``reorder()``, connect codes, ``send_to_djs()``, ``health()``,
``add_listener()``) must be called on the runtime's I/O loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from websockets.asyncio.server import Server, serve

from mcav.runtime.budget import ListenerBudget, budgeted_connection, quiet_accept_errors
from mcav.runtime.frames import Features
from mcav.runtime.node import AsyncNode
from mcav.runtime.params import param
from mcav.runtime.trust import binds_beyond_loopback

from . import protocol as P
from .auth import KeysFileError, KeyStore
from .guard import AuthGuard
from .handler import ConnectionHandler, HandlerConfig
from .hub import DJHub
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
    policies = {"heartbeat": "dj_relay"}

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
        self._tasks: set[asyncio.Task[Any]] = set()
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
                                       open_timeout=min(5.0, p.handshake_timeout),
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
        hb = self.ctx.heartbeat
        self.hub.live_timeout = (p.live_timeout if p.live_timeout is not None
                                 else hb.interval * (hb.failure_threshold or 3))
        self._spawn(self._watch_live())
        if p.idle_fps > 0:
            self._spawn(self._idle())
        for mc in self.ctx.peers("minecraft")[:1]:
            mc.add_status_listener(self._minecraft_changed)  # type: ignore[attr-defined]
        self.ready.set()
        try:
            await self.ctx.wait_stopping()
        finally:
            await self._close()

    def _minecraft_changed(self, up: bool) -> None:
        """The Minecraft link went up or down: every DJ gets a fresh ``stream_route`` (WIRE.md 2.3)."""
        self._spawn(self.hub.send_stream_routes())

    def _spawn(self, coro: Any) -> None:
        """Run ``coro`` as a task this node owns (cancelled when it closes)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
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
        """Pattern and Minecraft facts for auth_success/stream_route, from peer nodes or MCAV defaults."""
        c: dict[str, Any] = {"current_pattern": "spectrum", "pattern_config": dict(P.DEFAULT_PATTERN_CONFIG),
                             "entity_count": 16, "zone": "main", "minecraft_host": "localhost", "minecraft_port": 8765}
        for node in self.ctx.peers("pattern")[:1]:
            try:
                st = node.state()  # type: ignore[attr-defined]
                c["current_pattern"] = str(st.get("pattern", c["current_pattern"]))
                c["entity_count"] = int(st.get("entity_count", c["entity_count"]))
                cfg = c["pattern_config"]
                cfg["entity_count"] = c["entity_count"]
                for k in ("base_scale", "max_scale", "beat_boost", "zone_size"):
                    if k in st:
                        cfg[k] = float(st[k])
            except Exception:
                self.ctx.log.exception("reading the pattern node's state failed; using defaults")
        for node in self.ctx.peers("minecraft")[:1]:
            try:
                st = node.status()
                c["minecraft_host"] = str(st.get("host", c["minecraft_host"]))
                c["minecraft_port"] = int(st.get("port", c["minecraft_port"]))
                c["zone"] = str(st.get("zone", c["zone"]))
            except Exception:
                self.ctx.log.exception("reading the minecraft node's status failed; using defaults")
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

    @property
    def direct_dj_on_minecraft(self) -> str | None:
        """Id of the active DJ while it draws in Minecraft itself (direct mode, heartbeats say
        ``mc_connected``), else None; the ``minecraft`` node then sends no ``batch_update`` (WIRE.md 2.3)."""
        return self.hub.direct_dj_on_minecraft()

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

    def generate_code(self, ttl_minutes: float | None = None) -> dict[str, Any]:
        """A new single-use connect code: ``{code, expires_at, ttl_minutes}`` (default TTL: ``code_ttl_minutes``)."""
        return self.hub.generate_code(self.params.code_ttl_minutes if ttl_minutes is None else ttl_minutes)

    def codes(self) -> list[dict[str, Any]]:
        """Valid connect codes: ``{code, created_at, expires_at, used}``."""
        return self.hub.codes()

    def revoke_code(self, code: str) -> None:
        """Withdraw a connect code (ValueError if unknown)."""
        self.hub.revoke_code(code)

    async def send_to_djs(self, message: Mapping[str, Any]) -> None:
        """Broadcast a VJ→DJ message built with :mod:`mcav.nodes.dj.protocol` to every connected DJ."""
        await self.hub.send_to_djs(message)

    async def send_stream_routes(self) -> None:
        """Send each DJ its own ``stream_route`` (active flag, route mode, Minecraft host/port, pattern)."""
        await self.hub.send_stream_routes()

    def health(self) -> dict[str, int]:
        """``{dj_connects, dj_disconnects, current_djs}``."""
        return self.hub.health()

    def add_listener(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Register ``callback(event)``, called on the loop with browser-bound events (WIRE.md 3.4)."""
        self.hub.add_listener(callback)
