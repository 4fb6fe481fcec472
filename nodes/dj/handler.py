"""The VJ side of one DJ connection (WIRE.md 2.1-2.3): handshake, clock sync, message loop.

Order on the credential path: first message within ``handshake_timeout``
(else 4001), JSON (else 4002), ``dj_auth``/``code_auth`` (else 4003), key check
(else 4004, no ``auth_error`` frame, as MCAV), duplicate id (4005); then
``auth_success`` → ``clock_sync_request`` (the reply is awaited up to
``clock_sync_timeout``) → ``stream_route`` → ``status_update`` to every DJ if
this DJ became active. The code path answers ``auth_pending`` and waits for the
operator (only ``ping`` is answered meanwhile), then ``auth_approved`` → clock
sync → ``stream_route``, or ``auth_denied`` + 4006.

Unlike MCAV, a message arriving where the clock-sync reply was expected is
handled normally instead of being dropped, and approved code DJs get a clock sync.
What each step means is decided without I/O in :mod:`.admission`; this module waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

from websockets.exceptions import ConnectionClosed

from mcav.runtime import budget
from mcav.runtime.clock import wait_for
from mcav.runtime.ratelimit import TokenBucket

from . import protocol as P
from .admission import Auth, ClockSync, clean_text, credentials, first_message
from .auth import DEFAULT_PRIORITY, KeysFileError, KeyStore
from .codes import CodeRejected, dj_id_for_code
from .guard import Abandoned, AuthGuard, Busy
from .hub import DJHub, Pending
from .roster import DJSession

__all__ = ["ConnectionHandler", "HandlerConfig"]

T = TypeVar("T")
C = P.CloseCode


@dataclass(frozen=True)
class HandlerConfig:
    """What the handshake needs (see the ``dj_server`` parameters for units and defaults)."""

    require_auth: bool
    keys: KeyStore | None
    handshake_timeout: float = 10.0
    clock_sync_timeout: float = 5.0
    rate_limit: float = 120.0
    guard: AuthGuard | None = None


class ConnectionHandler:
    """Serves one DJ connection at a time per call; shared state lives in the :class:`DJHub`."""

    def __init__(self, hub: DJHub, config: HandlerConfig) -> None:
        self.hub = hub
        self.cfg = config
        self.log = hub.log

    async def _within(self, aw: Awaitable[T], timeout: float) -> T:
        """``await aw`` but raise TimeoutError after ``timeout`` s of the hub's clock."""
        return await wait_for(aw, timeout, self.hub.clock)

    async def __call__(self, conn: Any) -> None:
        peer = _peer(conn)
        session: DJSession | None = None
        why = "connection closed"
        try:
            try:
                raw = await self._within(conn.recv(), self.cfg.handshake_timeout)
            except TimeoutError:
                self.log.warning("%s sent no auth message within %g s", peer, self.cfg.handshake_timeout)
                await conn.close(C.AUTH_TIMEOUT, "Authentication timeout")
                return
            first = first_message(raw)
            if not isinstance(first, Auth):
                self.log.warning("%s: %s", peer, first.log)
                await conn.close(first.code, first.reason)
                return
            session = await self._authenticate(conn, first.message, peer)
            if session is not None:
                budget.ready(conn)  # authenticated: no longer the first to be cut when the port is full
                stash = await self._clock_sync(session)
                await self._joined(session)
                why = await self._serve(session, stash)
        except ConnectionClosed:
            pass
        finally:
            if session is not None:
                code = getattr(conn, "close_code", None)
                await self.hub.drop(session, why if code is None else f"{why} (code {code})")

    def _new_session(self, dj_id: str, name: str, priority: int, direct: bool, conn: Any) -> DJSession:
        hub = self.hub
        bucket = TokenBucket(self.cfg.rate_limit, self.cfg.rate_limit, hub.clock)
        session = DJSession(dj_id, name, priority, direct, hub.clock.time(), bucket, conn)
        session.last_seen = hub.clock.monotonic()
        return session

    async def _refuse(self, conn: Any, code: int, reason: str) -> None:
        await conn.close(code, reason)

    async def _authenticate(self, conn: Any, msg: dict[str, Any], peer: str) -> DJSession | None:
        """Run the credential or code path under the per-address throttle (close 4029 when throttled)."""
        guard, ip = self.cfg.guard, _ip(conn)
        path = self._credentials if msg["type"] == "dj_auth" else self._code
        if guard is None or not (msg["type"] == "code_auth" or self.cfg.require_auth):
            return await path(conn, msg, peer, lambda ok: None)
        verdict = guard.admit(ip)
        if not verdict:
            wait = max(1, round(verdict.retry_after))
            await self._refuse(conn, C.THROTTLED, f"Too many failed attempts; retry in {wait} s")
            return None
        settled = False

        def settle(ok: bool) -> None:  # called by the path as soon as the credential is judged
            nonlocal settled
            settled = True
            (guard.succeeded if ok else guard.failed)(ip)

        try:
            return await path(conn, msg, peer, settle)
        except Busy:
            await self._refuse(conn, C.THROTTLED, "Server busy; retry later")
            return None
        except Abandoned:
            return None
        finally:
            if not settled:
                guard.released(ip)

    async def _credentials(self, conn: Any, msg: dict[str, Any], peer: str,
                           settle: Callable[[bool], None]) -> DJSession | None:
        hub, cfg = self.hub, self.cfg
        dj_id = clean_text(msg.get("dj_id"), "")
        checked = credentials(msg, False, False)  # the id first; presence and room once the key is known
        if not isinstance(checked, tuple):
            settle(False)
            hub.auth_failures += 1
            self.log.warning("%s: %s", peer, checked.log)
            await self._refuse(conn, checked.code, checked.reason)
            return None
        name, priority = checked[1], DEFAULT_PRIORITY
        if cfg.require_auth:
            entry = None
            if cfg.keys is not None:
                try:
                    cfg.keys.reload_if_changed()
                except KeysFileError as exc:
                    self.log.error("keys file changed but cannot be used, keeping the previous keys: %s", exc)
                key = msg.get("dj_key")
                key = key if isinstance(key, str) else ""
                entry = await (cfg.guard.verify(cfg.keys, dj_id, key, lambda: _open(conn)) if cfg.guard is not None
                               else asyncio.to_thread(cfg.keys.verify, dj_id, key))
            settle(entry is not None)
            if entry is None:
                hub.auth_failures += 1
                self.log.warning("DJ auth failed for '%s' from %s", dj_id, peer)
                await self._refuse(conn, C.AUTH_FAILED, "Authentication failed")
                return None
            name, priority = entry.name, entry.priority
        admitted = credentials(msg, dj_id in hub.roster or dj_id in hub.pending, hub.full)
        if not isinstance(admitted, tuple):
            self.log.warning("%s (from %s)", admitted.log, peer)
            await self._refuse(conn, admitted.code, admitted.reason)
            return None
        direct = msg.get("direct_mode") is True
        session = self._new_session(dj_id, name, priority, direct, conn)
        hub.register(session)
        c = hub.vj_context()
        extra = {k: c[k] for k in ("minecraft_host", "minecraft_port", "zone", "entity_count")} if direct else None
        route = "dual" if direct and hub.roster.active == dj_id else "relay"
        await hub.send(conn, P.auth_success(dj_id, name, hub.roster.active == dj_id, c["current_pattern"],
                                            c["pattern_config"], route, extra))
        return session

    async def _code(self, conn: Any, msg: dict[str, Any], peer: str,
                    settle: Callable[[bool], None]) -> DJSession | None:
        hub = self.hub
        try:
            code = hub.codebook.redeem(msg.get("code"))
        except CodeRejected as exc:
            settle(False)
            hub.auth_failures += 1
            self.log.warning("%s: connect code refused: %s", peer, exc)
            await hub.send(conn, P.auth_error(str(exc)))
            reason = "Connect code expired" if "expired" in str(exc) else "Invalid connect code"
            await self._refuse(conn, C.AUTH_FAILED, reason)
            return None
        settle(True)
        budget.ready(conn)  # a valid code: waiting for the operator is legitimate, not idling
        hub.notify(P.connect_codes_event(hub.codes()))  # the code is used: no longer listed
        dj_id, name = dj_id_for_code(code.code), clean_text(msg.get("dj_name"), "DJ")
        loop = asyncio.get_running_loop()
        p = Pending(dj_id, name, conn, hub.clock.time(), msg.get("direct_mode") is True,
                    loop.create_future(), loop.create_future())
        hub.pending[dj_id] = p
        self.log.info("DJ %s (%s) from %s is waiting for approval", name, dj_id, peer)
        await hub.send(conn, P.auth_pending(dj_id))
        hub.notify(P.dj_pending_event(p.to_wire()))
        reader = asyncio.ensure_future(self._while_pending(conn))
        either: set[asyncio.Future[Any]] = {reader, p.decision}  # a task and a future: both are futures
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await reader
            if not p.decision.done():
                hub.pending.pop(dj_id, None)
                p.decision.cancel()
                p.settled.set_result(None)
        if p.decision.cancelled():
            self.log.info("pending DJ %s (%s) left before a decision", name, dj_id)
            hub.notify(P.dj_decision_event(False, dj_id))
            return None
        try:
            if not p.decision.result():
                self.log.info("DJ %s (%s) denied by the VJ", name, dj_id)
                await hub.send(conn, P.auth_denied())
                return None
            session = self._new_session(dj_id, name, DEFAULT_PRIORITY, p.direct_mode, conn)
            hub.register(session)
            c = hub.vj_context()
            await hub.send(conn, P.auth_approved(dj_id, name, hub.roster.active == dj_id, c["current_pattern"],
                                                 c["pattern_config"]))
            return session
        finally:
            if not p.settled.done():
                p.settled.set_result(None)
            if not p.decision.result():
                await conn.close(C.DENIED, "Connection denied by VJ")

    async def _while_pending(self, conn: Any) -> None:
        """Answer ``ping`` with ``pong`` and drop everything else until the connection ends."""
        with contextlib.suppress(ConnectionClosed):
            async for raw in conn:
                try:
                    if P.decode(raw)["type"] == "ping":
                        await self.hub.send(conn, P.pong())
                except P.ProtocolError:
                    self.hub.dropped_invalid += 1  # dropped as MCAV does while pending, but counted

    async def _clock_sync(self, session: DJSession) -> dict[str, Any] | None:
        """One NTP-style exchange; returns a non-sync message that arrived instead (to be handled)."""
        hub = self.hub
        sync = ClockSync(hub.clock.time())
        await hub.send(session.conn, sync.request())
        try:
            raw = await self._within(session.conn.recv(), self.cfg.clock_sync_timeout)
        except TimeoutError:
            self.log.warning("DJ %s: no clock_sync_response within %g s", session.dj_id, self.cfg.clock_sync_timeout)
            return None
        result = sync.reply(raw, hub.clock.time())
        if result.unexpected is not None:
            return result.unexpected
        if result.offset is None or result.rtt is None:
            if result.invalid:
                self._invalid(session, result.problem)
            else:
                self.log.warning("DJ %s: %s", session.dj_id, result.problem)
            return None
        session.clock_offset, session.sync_rtt_ms = result.offset, result.rtt * 1000.0
        self.log.info("DJ %s: clock offset %.1f ms, RTT %.1f ms", session.dj_id, result.offset * 1000, result.rtt * 1000)
        return None

    async def _joined(self, session: DJSession) -> None:
        hub = self.hub
        await hub.send(session.conn, hub.stream_route_for(session))
        if hub.roster.active is None:
            await hub.activate(session.dj_id)
        else:
            hub.roster_changed()

    async def _serve(self, session: DJSession, stash: dict[str, Any] | None) -> str:
        """Handle the DJ's messages until it leaves; returns why."""
        if stash is not None and await self._dispatch(session, stash):
            return "going offline"
        async for raw in session.conn:
            session.last_seen = self.hub.clock.monotonic()  # any traffic shows the DJ is alive
            try:
                msg = P.decode(raw)
            except P.ProtocolError as exc:
                self._invalid(session, str(exc))
                continue
            try:
                if await self._dispatch(session, msg):
                    return "going offline"
            except ConnectionClosed:
                raise
            except Exception:
                self._invalid(session, f"error handling {msg['type'][:40]!r}")
                self.log.exception("DJ %s: error handling %r", session.dj_id, msg["type"][:40])
        return "connection closed"

    async def _dispatch(self, session: DJSession, msg: dict[str, Any]) -> bool:
        """Handle one message; True when the DJ says it is going offline."""
        kind = msg["type"]
        if kind == "dj_audio_frame":
            self.hub.on_frame(session, msg)
        elif kind == "dj_heartbeat":
            await self.hub.send(session.conn, self.hub.on_heartbeat(session, msg))
        elif kind == "going_offline":
            return True
        elif kind == "ping":
            await self.hub.send(session.conn, P.pong())
        elif kind not in ("clock_sync_response", "voice_audio"):
            self.log.debug("DJ %s: ignoring message type %r", session.dj_id, kind[:40])
        return False

    def _invalid(self, session: DJSession, why: str) -> None:
        session.dropped_invalid += 1
        self.hub.dropped_invalid += 1
        n = session.dropped_invalid
        if n in (1, 10, 100) or n % 1000 == 0:
            self.log.warning("DJ %s: dropped an invalid message (%d so far): %s", session.dj_id, n, why)


def _open(conn: Any) -> bool:
    """The client is still there (read from the key-check thread: a plain attribute check)."""
    transport = getattr(conn, "transport", None)
    return transport is not None and not transport.is_closing()


def _ip(conn: Any) -> str:
    addr = getattr(conn, "remote_address", None)
    return str(addr[0]) if isinstance(addr, tuple) and addr else "unknown"


def _peer(conn: Any) -> str:
    addr = getattr(conn, "remote_address", None)
    return f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) >= 2 else "a client"
