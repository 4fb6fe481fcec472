"""The DJ side of one connection to a VJ server, as a sans-I/O state machine.

:class:`RelaySession` turns the VJ's messages into the relay's actions
(:mod:`mcav.runtime.link`): it authenticates (``dj_auth`` or ``code_auth``),
waits without a deadline while a connect code awaits approval, answers clock
syncs, keeps what the VJ told it, and on each heartbeat tick sends
``dj_heartbeat``. It never touches a socket or a clock: tests drive it with
plain strings and times.

When is the VJ dead? Only when *nothing at all* came from it for the silence
budget (the heartbeat policy's ``timeout``, else :data:`SILENCE_BUDGET`, 20 s).
Unanswered heartbeats alone are counted and logged (a warning at
``failure_threshold`` in a row), never a reason to reconnect: MCAV's own VJ
server stalls ~10 s each time a DJ goes live (it waits for a plugin reply that
never comes), and dropping the link then made the relay flap — reconnect, go
live, stall again. A link whose socket no longer takes our heartbeats is dead
too (the supervisor's stall timeout, the same budget).

States: ``authenticating`` → (``pending`` →) ``streaming``. Frames may be sent
only while ``streaming``: an MCAV server reads the message after its
``clock_sync_request`` as the reply, so nothing may go out before the VJ's
first post-auth message has been handled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from mcav.runtime.session import Action, Dead, Deliver, Established, Instant, Refused, Send, Wait
from mcav.runtime.policies import HeartbeatPolicy

from . import protocol as P
from .config import FINAL_CLOSE_CODES

__all__ = ["SILENCE_BUDGET", "RelaySession", "RelayState", "silence_budget"]

#: Seconds without any message from the VJ after which the link is dead (when the policy sets no ``timeout``).
SILENCE_BUDGET = 20.0


def silence_budget(heartbeat: HeartbeatPolicy) -> float:
    """The no-traffic budget of a heartbeat policy: its ``timeout``, else :data:`SILENCE_BUDGET`."""
    return heartbeat.timeout or SILENCE_BUDGET


@dataclass
class RelayState:
    """What outlives one connection: identity, what the VJ said, counters."""

    dj_id: str
    is_active: bool = False
    vj: dict[str, Any] = field(default_factory=dict)
    heartbeat_failures: int = 0
    rtt_ms: float | None = None


class RelaySession:
    """One connection attempt of a DJ relay.

    Args:
        state: Shared across attempts (the VJ may rename us, e.g. for connect codes).
        hello: The auth message (``dj_auth`` or ``code_auth``).
        heartbeat: ``failure_threshold`` (warned about) and the silence budget (see the module docstring).
        mc_connected: The ``mc_connected`` flag each heartbeat reports (direct mode).
        log: ``log(level, message)`` for state changes worth a line (live, standby, approval, silence).
    """

    def __init__(self, state: RelayState, hello: dict[str, Any], heartbeat: HeartbeatPolicy,
                 mc_connected: Callable[[], bool], log: Callable[[int, str], None]) -> None:
        self.state = state
        self._hello = hello
        self._threshold = heartbeat.failure_threshold or 3
        self.budget = silence_budget(heartbeat)
        self.last_rx: float | None = None  # monotonic time of the VJ's last message
        self._mc_connected = mc_connected
        self._log = log
        self.phase = "authenticating"
        self._outstanding = False
        self._missed = 0

    @property
    def streaming(self) -> bool:
        """True once frames may be sent."""
        return self.phase == "streaming"

    def start(self, now: Instant) -> list[Action]:
        self.last_rx = now.mono
        return [Send(P.encode(self._hello))]

    def receive(self, text: str, now: Instant) -> list[Action]:
        self.last_rx = now.mono  # anything at all shows the VJ is alive
        try:
            msg = P.decode(text)
        except P.ProtocolError as exc:
            self._log(logging.WARNING, f"ignoring a bad message from the VJ: {exc}")
            return []
        kind = msg["type"]
        if self.phase in ("authenticating", "pending"):
            return self._handshake(kind, msg)
        out: list[Action] = []
        st = self.state
        if kind == "heartbeat_ack":
            self._outstanding, self._missed = False, 0
            echo = msg.get("echo_ts")
            if isinstance(echo, (int, float)) and not isinstance(echo, bool):
                st.rtt_ms = max(0.0, (now.wall - echo) * 1000.0)
        elif kind == "clock_sync_request":
            out.append(Send(P.encode(P.clock_sync_response(msg.get("server_time"), now.wall, now.wall))))
        elif kind in ("stream_route", "status_update"):
            active = bool(msg.get("is_active", st.is_active))
            if active != st.is_active:
                self._log(logging.INFO, "now LIVE: the VJ is using this DJ" if active else "now on standby")
            st.is_active = active
            st.vj.update({k: v for k, v in msg.items() if k not in ("type", "is_active")})
        elif kind == "pattern_sync":
            st.vj.update(current_pattern=msg.get("pattern"), pattern_config=msg.get("config"))
        elif kind == "config_sync":
            st.vj.update(entity_count=msg.get("entity_count"), zone=msg.get("zone"))
        # The VJ's post-auth messages have begun (a clock sync, if any, is answered above): frames may go.
        self.phase = "streaming"
        out.append(Deliver(msg))
        return out

    def _handshake(self, kind: str, msg: dict[str, Any]) -> list[Action]:
        st = self.state
        if kind in ("auth_success", "auth_approved"):
            st.dj_id = str(msg.get("dj_id", st.dj_id))
            st.is_active = bool(msg.get("is_active", False))
            st.vj.update({k: v for k, v in msg.items() if k != "type"})
            self.phase = "established"
            return [Established("live" if st.is_active else "standby"), Deliver(msg)]
        if kind == "auth_pending":
            st.dj_id = str(msg.get("dj_id", st.dj_id))
            self.phase = "pending"
            self._log(logging.INFO, f"connect code accepted; waiting for the VJ to approve {st.dj_id}")
            return [Wait("approval"), Deliver(msg)]
        if kind == "auth_error":
            return [Refused(f"the VJ refused the connect code: {msg.get('error', 'auth_error')}")]
        if kind == "auth_denied":
            return [Refused(f"the VJ denied the connection: {msg.get('message', 'auth_denied')}")]
        return []

    def tick(self, now: Instant) -> list[Action]:
        if self._outstanding:
            self._missed += 1
            self.state.heartbeat_failures += 1
            if self._missed == self._threshold:
                self._log(logging.WARNING, f"{self._missed} heartbeats unanswered; keeping the link while the VJ "
                          f"is alive (dropped after {self.budget:g} s without any message)")
        silent = now.mono - (self.last_rx if self.last_rx is not None else now.mono)
        if silent > self.budget:
            return [Dead(f"Heartbeat failures exceeded: nothing from the VJ for {silent:.0f} s "
                         f"({self._missed} heartbeats unanswered)")]
        self._outstanding = True
        return [Send(P.encode(P.dj_heartbeat(now.wall, self._mc_connected())))]

    def closed(self, code: int | None, reason: str) -> list[Action]:
        if code in FINAL_CLOSE_CODES:
            if self.phase in ("authenticating", "pending"):
                return [Refused(f"the VJ refused dj_id '{self.state.dj_id}': close {code} {reason}".strip())]
            return [Refused(f"the VJ closed the link: {code} {reason}".strip())]
        return []
