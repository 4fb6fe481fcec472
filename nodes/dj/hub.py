"""The VJ side's shared state: DJs, pending approvals, codes, counters, and the operator API.

:class:`DJHub` knows nothing about listening sockets; the per-connection
protocol (:mod:`mcav.nodes.dj.handler`) registers DJs here, and the
``dj_server`` node exposes the operator methods. Everything runs on the
runtime's I/O loop thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
from websockets.exceptions import ConnectionClosed

from mcav.runtime.clock import Clock
from mcav.runtime.frames import Features, now_ns

from . import protocol as P
from .codes import CodeBook
from .roster import DJSession, Roster
from .sanitize import PhaseBeatAssist

__all__ = ["DJHub", "Pending"]

#: Real seconds a send to one DJ may take before that DJ is skipped (a slow socket cannot stall the rest).
SEND_TIMEOUT = 1.0


#: A remote DJ's frames carry no lock flag: its tracker counts as locked from this tempo confidence on
#: (mcav's own beat node locks at 0.3; MCAV's DJ clients report a confidence on the same 0-1 scale).
DJ_LOCK_CONFIDENCE = 0.3


@dataclass(eq=False)
class Pending:
    """A connect-code DJ waiting for the VJ: its socket and the decision future (True = approved)."""

    dj_id: str
    dj_name: str
    conn: Any
    waiting_since: float
    direct_mode: bool
    decision: asyncio.Future[bool]
    settled: asyncio.Future[None]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """``{dj_id, dj_name, waiting_since, direct_mode}``."""
        return {"dj_id": self.dj_id, "dj_name": self.dj_name, "waiting_since": self.waiting_since,
                "direct_mode": self.direct_mode}


class DJHub:
    """Roster, approvals, codes and counters of one VJ server.

    Args:
        clock: Wire timestamps (``time()``), rate limits and fps (``monotonic()``), code expiry.
        emit: Called with each Features frame of the active DJ.
        vj_context: Returns what ``auth_success``/``stream_route`` report (pattern, config, Minecraft).
        log: Logger.
        beat_assist: Fill beats the DJ missed from its phase and tempo confidence (MCAV's phase assist).
        max_djs: Connected DJs allowed at once.
    """

    def __init__(self, clock: Clock, emit: Callable[[Features], None], vj_context: Callable[[], dict[str, Any]],
                 log: logging.Logger, beat_assist: bool = True, max_djs: int = 16) -> None:
        self.clock = clock
        self.max_djs = max_djs
        self.log = log
        self.roster = Roster()
        self.pending: dict[str, Pending] = {}
        self.codebook = CodeBook(clock)
        self._emit = emit
        #: Returns current_pattern, pattern_config, entity_count, zone, minecraft_host, minecraft_port.
        self.vj_context = vj_context
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        #: Called when the live DJ's direct-mode drawing starts or stops (heartbeats' ``mc_connected``).
        self.live_changed: Callable[[], None] = lambda: None
        self._assist = PhaseBeatAssist() if beat_assist else None
        self._seq = 0
        #: Counters (CONNECTIVITY.md "Health Monitoring" plus drops).
        self.dj_connects = 0
        self.dj_disconnects = 0
        self.auth_failures = 0
        self.dropped_rate_limit = 0
        self.dropped_invalid = 0
        self.frames_out = 0
        #: Live DJs replaced because they sent nothing for ``live_timeout`` s.
        self.live_timeouts = 0
        #: Seconds of silence after which a live DJ yields to a standby that is sending (0 = never).
        self.live_timeout = 0.0
        self._last_live_ns = 0  # when the live DJ's last frame was emitted (now_ns), for idle frames
        self._idle_bands = np.zeros(5, np.float32)

    # -- events for the browser node ------------------------------------------------------------

    def add_listener(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(event)`` on the loop with each browser-bound event (WIRE.md 3.4 dicts)."""
        self._listeners.append(callback)

    def notify(self, event: dict[str, Any]) -> None:
        """Hand ``event`` to every listener (a failing listener is logged, the rest still run)."""
        for cb in list(self._listeners):
            try:
                cb(event)
            except Exception:
                self.log.exception("dj_server listener %r failed on %s", cb, event.get("type"))

    def roster_changed(self) -> None:
        """Tell listeners the roster or the active DJ changed."""
        self.notify(P.dj_roster_event(self.roster_entries(), self.roster.active))

    # -- queries ----------------------------------------------------------------------------------

    def roster_entries(self) -> list[dict[str, Any]]:
        """WIRE.md 3.1 ``dj_roster`` entries, in queue order."""
        return self.roster.entries(self.clock.monotonic())

    def pending_entries(self) -> list[dict[str, Any]]:
        """DJs waiting for approval: ``{dj_id, dj_name, waiting_since, direct_mode}``."""
        return [p.to_wire() for p in self.pending.values()]

    def direct_dj_on_minecraft(self) -> str | None:
        """The active DJ's id while it is in direct mode and reports ``mc_connected`` (else None).

        Its route is ``dual``: it draws in Minecraft itself, so the VJ must not (WIRE.md 2.3).
        """
        s = self.roster.sessions.get(self.roster.active) if self.roster.active is not None else None
        return s.dj_id if s is not None and s.direct_mode and s.mc_connected else None

    @property
    def full(self) -> bool:
        """True when ``max_djs`` DJs are connected."""
        return len(self.roster) >= self.max_djs

    def health(self) -> dict[str, int]:
        """``{dj_connects, dj_disconnects, current_djs}``."""
        return {"dj_connects": self.dj_connects, "dj_disconnects": self.dj_disconnects,
                "current_djs": len(self.roster)}

    # -- sending ----------------------------------------------------------------------------------

    async def send(self, conn: Any, message: Mapping[str, Any]) -> bool:
        """Send one message to one DJ; False if it is gone or too slow (then it is skipped)."""
        try:
            await asyncio.wait_for(conn.send(P.encode(message)), SEND_TIMEOUT)
            return True
        except (ConnectionClosed, TimeoutError):
            return False

    async def broadcast(self, build: Callable[[DJSession], Mapping[str, Any]]) -> None:
        """Send ``build(session)`` to every connected DJ concurrently."""
        sessions = list(self.roster.sessions.values())
        await asyncio.gather(*(self.send(s.conn, build(s)) for s in sessions))

    async def send_to_djs(self, message: Mapping[str, Any]) -> None:
        """Broadcast one VJ→DJ message (build it with :mod:`mcav.nodes.dj.protocol`)."""
        P.encode(message)  # fail early, in the caller, on a malformed message
        await self.broadcast(lambda s: message)

    async def send_stream_routes(self) -> None:
        """Send every DJ its current ``stream_route`` (e.g. after the Minecraft link came back)."""
        await self.broadcast(self.stream_route_for)

    def stream_route_for(self, session: DJSession) -> dict[str, Any]:
        """The ``stream_route`` message for one DJ, from the graph's current state."""
        c = self.vj_context()
        return P.stream_route(session.dj_id == self.roster.active, session.direct_mode, c["current_pattern"],
                              c["pattern_config"], c["minecraft_host"], c["minecraft_port"], c["zone"],
                              c["entity_count"])

    # -- registration and the active DJ -----------------------------------------------------------

    def register(self, session: DJSession) -> None:
        """Add an authenticated DJ to the roster."""
        self.roster.add(session)
        self.dj_connects += 1
        self.log.info("DJ connected: %s (%s), priority %d%s", session.dj_name, session.dj_id, session.priority,
                      " [direct]" if session.direct_mode else "")

    async def activate(self, dj_id: str | None) -> None:
        """Make ``dj_id`` active (None: nobody); tell every DJ (status_update, stream_route) and listeners."""
        self.roster.active = dj_id
        if dj_id is not None:
            self.log.info("active DJ: %s (%s)", self.roster.sessions[dj_id].dj_name, dj_id)
        else:
            self.log.info("no active DJ")

        async def tell(s: DJSession) -> None:
            await self.send(s.conn, P.status_update(s.dj_id == dj_id))
            await self.send(s.conn, self.stream_route_for(s))

        await asyncio.gather(*(tell(s) for s in list(self.roster.sessions.values())))
        self.roster_changed()

    async def drop(self, session: DJSession, why: str) -> None:
        """Forget a DJ once (idempotent); if it was active, the next in the queue takes over."""
        if self.roster.sessions.get(session.dj_id) is not session:
            return
        was_active = self.roster.remove(session.dj_id)
        self.dj_disconnects += 1
        self.log.info("DJ disconnected: %s (%s): %s", session.dj_name, session.dj_id, why)
        if was_active:
            await self.activate(self.roster.next_active(self._alive))
        else:
            self.roster_changed()

    def _alive(self, session: DJSession) -> bool:
        """The DJ sent something within ``live_timeout`` (always True when the timeout is off)."""
        return self.live_timeout <= 0 or self.clock.monotonic() - session.last_seen < self.live_timeout

    async def check_live(self) -> bool:
        """If the live DJ has been silent for ``live_timeout`` s and a standby is sending, switch to it.

        The silent DJ stays connected (as standby: it may come back). Returns True if switched.
        """
        active = self.roster.active
        if self.live_timeout <= 0 or active is None or self._alive(self.roster.sessions[active]):
            return False
        successor = next((d for d in self.roster.order if d != active and self._alive(self.roster.sessions[d])), None)
        if successor is None:
            return False
        self.live_timeouts += 1
        silent = self.clock.monotonic() - self.roster.sessions[active].last_seen
        self.log.warning("live DJ %s sent nothing for %.1f s (live_timeout %g s): %s goes live, %s stays as standby",
                         active, silent, self.live_timeout, successor, active)
        await self.activate(successor)
        return True

    def emit_idle(self, after_s: float) -> bool:
        """With no live DJ frame for ``after_s`` s, emit a silent frame (bands decaying ×0.95, as MCAV's
        main loop does without a DJ) so patterns keep moving on their own clock. True if one was emitted."""
        now = now_ns()
        if now - self._last_live_ns < after_s * 1e9:
            return False
        self._idle_bands *= 0.95
        self._emit(Features(seq=self._seq, t_capture=now, bands=self._idle_bands.copy(), source="idle"))
        self._seq += 1
        return True

    # -- operator API (also exposed by the dj_server node) ----------------------------------------

    async def set_active(self, dj_id: str) -> None:
        """Switch the active DJ (ValueError if not connected)."""
        self.roster.get(dj_id)
        await self.activate(dj_id)

    async def kick(self, dj_id: str) -> None:
        """Disconnect a DJ with close code 4010 "Kicked by VJ" (ValueError if not connected)."""
        session = self.roster.get(dj_id)
        await self.drop(session, "kicked by VJ")
        await session.conn.close(P.CloseCode.KICKED, "Kicked by VJ")

    def reorder(self, dj_id: str, new_position: int) -> None:
        """Move a DJ in the queue (0 = first; clamped)."""
        self.roster.reorder(dj_id, new_position)
        self.roster_changed()

    def set_order(self, dj_ids: list[str]) -> None:
        """The preferred queue order (a restored show's): DJs join the queue by it."""
        self.roster.set_preferred(dj_ids)
        self.roster_changed()

    def _take_pending(self, dj_id: str) -> Pending:
        p = self.pending.pop(dj_id, None)
        if p is None or p.decision.done():
            known = ", ".join(self.pending) or "none"
            raise ValueError(f"no DJ '{dj_id}' is waiting for approval (pending: {known})")
        return p

    async def approve(self, dj_id: str) -> None:
        """Let a pending connect-code DJ in; returns once it is in the roster (or gone)."""
        if self.full:
            raise ValueError(f"cannot approve '{dj_id}': {len(self.roster)} DJs connected (max_djs)")
        p = self._take_pending(dj_id)
        p.decision.set_result(True)
        self.notify(P.dj_decision_event(True, dj_id))
        await asyncio.wait_for(asyncio.shield(p.settled), SEND_TIMEOUT * 5)

    async def deny(self, dj_id: str) -> None:
        """Refuse a pending DJ: ``auth_denied`` then close 4006."""
        p = self._take_pending(dj_id)
        p.decision.set_result(False)
        self.notify(P.dj_decision_event(False, dj_id))
        await asyncio.wait_for(asyncio.shield(p.settled), SEND_TIMEOUT * 5)

    def generate_code(self, ttl_minutes: float = 30.0) -> dict[str, Any]:
        """A new connect code: ``{code, expires_at, ttl_minutes}``."""
        code = self.codebook.generate(ttl_minutes)
        self.notify(P.connect_codes_event(self.codes()))
        return {"code": code.code, "expires_at": code.expires_at, "ttl_minutes": ttl_minutes}

    def codes(self) -> list[dict[str, Any]]:
        """Valid (unused, unexpired) codes: ``{code, created_at, expires_at, used}``."""
        return [c.to_wire() for c in self.codebook.valid()]

    def revoke_code(self, code: str) -> None:
        """Withdraw a code (ValueError if unknown)."""
        self.codebook.revoke(code)
        self.notify(P.connect_codes_event(self.codes()))

    # -- frames -----------------------------------------------------------------------------------

    def on_frame(self, session: DJSession, msg: Mapping[str, Any]) -> None:
        """Rate-limit, sanitise and account one ``dj_audio_frame``; emit it if its DJ is active."""
        if not session.bucket.allow():
            session.dropped_rate += 1
            self.dropped_rate_limit += 1
            return
        arrival_ns = now_ns()
        safe = P.sanitize_audio_frame(msg)
        bpm = session.bpm.update(safe["bpm"])
        session.tempo_confidence = safe["tempo_conf"]
        session.beat_phase = safe["beat_phase"]
        mono = self.clock.monotonic()
        session.frame_arrived(mono)
        ts, age = safe["ts"], 0.0
        if ts is not None:
            corrected = ts - session.clock_offset if session.clock_offset is not None else ts
            age = self.clock.time() - corrected
            session.record_pipeline_latency(age * 1000.0)
        if session.dj_id != self.roster.active:
            return
        beat, beat_i = safe["beat"], safe["beat_i"]
        if self._assist is not None:
            beat, beat_i = self._assist.apply(beat, beat_i, bpm, safe["tempo_conf"], safe["beat_phase"], mono)
        known = session.clock_offset is not None and ts is not None
        t_capture = arrival_ns - int(min(60.0, max(0.0, age)) * 1e9) if known else arrival_ns
        self._emit(Features(
            seq=self._seq, t_capture=t_capture, t_audio=ts or 0.0,
            bands=np.asarray(safe["bands"], dtype=np.float32), peak=safe["peak"], beat=beat, beat_intensity=beat_i,
            bpm=bpm, tempo_confidence=safe["tempo_conf"], beat_phase=safe["beat_phase"],
            locked=safe["tempo_conf"] >= DJ_LOCK_CONFIDENCE,
            instant_bass=safe["i_bass"], instant_kick=safe["i_kick"], source=session.dj_id,
        ))
        self._last_live_ns = arrival_ns
        self._idle_bands = np.asarray(safe["bands"], dtype=np.float32)
        self._seq += 1
        self.frames_out += 1

    def on_heartbeat(self, session: DJSession, msg: Mapping[str, Any]) -> dict[str, Any]:
        """Account one ``dj_heartbeat``; return the ``heartbeat_ack`` to send."""
        now = self.clock.time()
        ts = msg.get("ts")
        if not (isinstance(ts, (int, float)) and not isinstance(ts, bool) and abs(ts) < float("inf") and ts == ts):
            ts = None  # absent, not a number or not finite: neither used nor echoed
        if ts is not None:
            corrected = ts - session.clock_offset if session.clock_offset is not None else ts
            session.record_ping((now - corrected) * 1000.0)
        if session.direct_mode:
            was, session.mc_connected = session.mc_connected, bool(msg.get("mc_connected", False))
            if was != session.mc_connected and session.dj_id == self.roster.active:
                self.live_changed()
        return P.heartbeat_ack(now, ts)
