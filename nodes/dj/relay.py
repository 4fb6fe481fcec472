"""The DJ side of the link: :class:`DJRelayConfig` and the :class:`DJRelay` client.

:class:`DJRelay` connects to a VJ server (mcav's ``dj_server`` or MCAV's own),
authenticates with ``dj_auth`` or a connect code, answers clock syncs, keeps
the link alive with ``dj_heartbeat`` and reconnects as CONNECTIVITY.md says:

* first connection: up to ``max_connect_attempts`` tries, sleeping 5, 7.5 … s
  between them (then :class:`GaveUp`);
* after a loss: reconnect forever, 5 s ×1.5 up to 30 s, ±10 % jitter, reset
  once connected;
* a refused key or code, a denial or a kick (close 4004/4006/4010,
  ``auth_error``, ``auth_denied``) is never retried (:class:`AuthFailed`);
* a link is dropped (and re-established) only when it is dead: nothing at
  all came from the VJ for the no-traffic budget (the heartbeat policy's
  ``timeout``, default 20 s), or a heartbeat could not be handed to the socket
  within that budget; unanswered heartbeats alone are counted and logged
  (see :mod:`.session` for why).

The protocol is :class:`~mcav.nodes.dj.session.RelaySession` (sans-I/O); the
connection loop, timing and backoff are the runtime's
:class:`~mcav.runtime.link.LinkSupervisor`. Every delay is slept on the
injected :class:`~mcav.runtime.clock.Clock`.
The ``dj_relay`` node (:mod:`mcav.nodes.dj.relay_node`) wraps it in a graph;
scripts can use it directly::

    relay = DJRelay(DJRelayConfig(vj_server_url="ws://vj:9000", dj_id="dj_alice", dj_key=key))
    asyncio.create_task(relay.run())
    await relay.send_frame(features)
"""

from __future__ import annotations

import logging
import random
from typing import Any, Callable

from mcav.runtime.clock import Clock, SystemClock
from mcav.runtime.frames import Features, now_ns
from mcav.runtime.link import LinkGaveUp, LinkRefused, LinkSupervisor
from mcav.runtime.policies import HeartbeatPolicy, ReconnectPolicy

from . import protocol as P
from .config import AuthFailed, DJRelayConfig, GaveUp
from .logs import frame_logger
from .session import SILENCE_BUDGET, RelaySession, RelayState, silence_budget

__all__ = ["AuthFailed", "DJRelay", "DJRelayConfig", "GaveUp", "SILENCE_BUDGET"]


class DJRelay:
    """One DJ's link to a VJ server.

    Args:
        config: URL, identity and CONNECTIVITY.md timings.
        clock: Time for backoff, heartbeats and wire timestamps. Default :class:`SystemClock`.
        reconnect: Overrides ``config.reconnect_policy()``.
        heartbeat: Overrides ``config.heartbeat_policy()``.
        connect_code: Authenticate with ``code_auth`` and this code instead of ``dj_auth``.
        direct_mode: Announce direct mode (the VJ then reports Minecraft host/port and ``route_mode``).
        on_message: Called with every VJ message after the handshake (e.g. ``preset_sync``).
        mc_connected: Returns the ``mc_connected`` flag of heartbeats.
        log: Logger. rng: Jitter source (seed it in tests).
    """

    def __init__(self, config: DJRelayConfig, *, clock: Clock | None = None, reconnect: ReconnectPolicy | None = None,
                 heartbeat: HeartbeatPolicy | None = None, connect_code: str | None = None, direct_mode: bool = False,
                 on_message: Callable[[dict[str, Any]], None] | None = None,
                 mc_connected: Callable[[], bool] | None = None, log: logging.Logger | None = None,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.reconnect = reconnect or config.reconnect_policy()
        self.heartbeat = heartbeat or config.heartbeat_policy()
        self.connect_code = connect_code
        self.direct_mode = direct_mode
        self.log = log or logging.getLogger("mcav.dj_relay")
        self._on_message = on_message or (lambda msg: None)
        self._mc_connected = mc_connected or (lambda: False)
        self._state = RelayState(config.dj_id)
        self._session: RelaySession | None = None
        self.link = LinkSupervisor(config.vj_server_url, self._new_session, self.reconnect, self.heartbeat,
                                   self.clock, frame_logger("mcav.dj_relay"), on_up=self._up,
                                   on_message=self._message, name="the VJ server",
                                   stall_timeout=silence_budget(self.heartbeat), rng=rng)
        self.link.log = self.log
        self.seq = 0
        self.frames_sent = 0
        self.frames_dropped = 0

    # -- what the VJ told us (kept across connections) -------------------------------------------

    @property
    def dj_id(self) -> str:
        return self._state.dj_id

    @property
    def is_active(self) -> bool:
        return self._state.is_active

    @property
    def vj(self) -> dict[str, Any]:
        """What the VJ told us (auth_success/stream_route/pattern_sync/config_sync…)."""
        return self._state.vj

    @property
    def connects(self) -> int:
        """Connections established so far."""
        return self.link.connects

    @property
    def connect_failures(self) -> int:
        """Failed connection attempts so far."""
        return self.link.connect_failures

    @property
    def heartbeat_failures(self) -> int:
        """Heartbeats the VJ left unanswered so far."""
        return self._state.heartbeat_failures

    @property
    def silence_budget(self) -> float:
        """Seconds of total silence from the VJ after which the link counts as dead."""
        return silence_budget(self.heartbeat)

    @property
    def _last_rx(self) -> float:
        """Monotonic time of the VJ's last message on the current connection (for tests)."""
        s = self._session
        return s.last_rx if s is not None and s.last_rx is not None else float("-inf")

    @property
    def rtt_ms(self) -> float | None:
        """Round trip of the last answered heartbeat, in ms."""
        return self._state.rtt_ms

    @property
    def connected(self) -> bool:
        """True while authenticated and streaming."""
        return self.link.up and self._session is not None and self._session.streaming

    # -- the link --------------------------------------------------------------------------------

    def _new_session(self) -> RelaySession:
        cfg = self.config
        hello = (P.code_auth(self.connect_code, cfg.dj_name, self.direct_mode) if self.connect_code
                 else P.dj_auth(cfg.dj_id, cfg.dj_name, cfg.dj_key, self.direct_mode))
        self._session = RelaySession(self._state, hello, self.heartbeat, self._mc_connected, self.log.log)
        return self._session

    def _up(self) -> None:
        self.log.info("connected to %s as %s (%s)", self.config.vj_server_url, self.dj_id,
                      "live" if self.is_active else "standby")

    def _message(self, msg: dict[str, Any]) -> None:
        if not msg["type"].startswith("auth_"):
            self._on_message(msg)

    async def run(self) -> None:
        """Connect and stay connected until :meth:`stop`.

        Raises:
            AuthFailed: the VJ refused us; GaveUp: the first connection never succeeded.
        """
        try:
            await self.link.run()
        except LinkRefused as exc:
            raise AuthFailed(str(exc)) from None
        except LinkGaveUp as exc:
            raise GaveUp(str(exc)) from None

    async def stop(self) -> None:
        """Say ``going_offline`` and close; :meth:`run` then returns."""
        await self.link.stop(P.encode(P.going_offline()), 1000, "DJ going offline")

    # -- frames ---------------------------------------------------------------------------------------

    async def send_frame(self, features: Features) -> bool:
        """Send one frame now; False (and counted as dropped) while not connected."""
        if not self.connected:
            self.frames_dropped += 1
            return False
        ts = self.clock.time() - (now_ns() - features.t_capture) / 1e9
        if not await self.link.send(P.encode(P.dj_audio_frame(self.seq, ts, features))):
            self.frames_dropped += 1
            return False
        self.seq += 1
        self.frames_sent += 1
        return True

    def status(self) -> dict[str, Any]:
        """Connection state and counters."""
        st, link = self._state, self.link
        return {"connected": self.connected, "dj_id": st.dj_id, "is_active": st.is_active,
                "frames_sent": self.frames_sent, "frames_dropped": self.frames_dropped, "connects": link.connects,
                "connect_failures": link.connect_failures, "heartbeat_failures": st.heartbeat_failures,
                "rtt_ms": None if st.rtt_ms is None else round(st.rtt_ms, 1)}
