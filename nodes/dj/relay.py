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
  ``timeout``, default :data:`SILENCE_BUDGET` = 20 s), or a heartbeat could
  not be handed to the socket within that budget. Unanswered heartbeats alone
  are counted and logged, never a reason to reconnect: MCAV's VJ server stalls
  ~10 s each time a DJ goes live (it waits for a plugin reply that never
  comes), and dropping it then made the relay flap.

Every delay is slept on the injected :class:`~mcav.runtime.clock.Clock`.
The ``dj_relay`` node (:mod:`mcav.nodes.dj.relay_node`) wraps it in a graph;
scripts can use it directly::

    relay = DJRelay(DJRelayConfig(vj_server_url="ws://vj:9000", dj_id="dj_alice", dj_key=key))
    asyncio.create_task(relay.run())
    await relay.send_frame(features)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from mcav.runtime.clock import Clock, SystemClock, wait_for
from mcav.runtime.frames import Features, now_ns
from mcav.runtime.policies import Backoff, HeartbeatMonitor, HeartbeatPolicy, ReconnectPolicy

from . import protocol as P
from .config import FINAL_CLOSE_CODES, AuthFailed, DJRelayConfig, GaveUp
from .logs import frame_logger

__all__ = ["AuthFailed", "DJRelay", "DJRelayConfig", "GaveUp", "SILENCE_BUDGET"]

#: Seconds without any message from the VJ after which the link is dead (when the policy sets no ``timeout``).
SILENCE_BUDGET = 20.0

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
        self._on_message = on_message
        self._mc_connected = mc_connected or (lambda: False)
        self._rng = rng
        self._ws: ClientConnection | None = None
        self._streaming = False
        self._stopping = False
        self._hb_outstanding = False
        self._monitor: HeartbeatMonitor | None = None
        self._last_rx = 0.0  # clock.monotonic() of the VJ's last message
        #: What the VJ told us (auth_success/stream_route/pattern_sync/config_sync…).
        self.vj: dict[str, Any] = {}
        self.dj_id = config.dj_id
        self.is_active = False
        self.seq = 0
        self.frames_sent = 0
        self.frames_dropped = 0
        self.connects = 0
        self.connect_failures = 0
        self.heartbeat_failures = 0
        self.rtt_ms: float | None = None

    @property
    def connected(self) -> bool:
        """True while authenticated and streaming."""
        return self._ws is not None and self._streaming

    # -- the connection loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and stay connected until :meth:`stop`.

        Raises:
            AuthFailed: the VJ refused us; GaveUp: the first connection never succeeded.
        """
        backoff = Backoff(self.reconnect, self._rng)
        url = self.config.vj_server_url
        while not self._stopping:
            try:
                ws = await self._open()
            except AuthFailed:
                raise
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, P.ProtocolError) as exc:
                if self._stopping:
                    return
                self.connect_failures += 1
                delay = backoff.failed()
                why = _describe(exc)
                if delay is None:
                    raise GaveUp(f"could not connect to {url} after {backoff.attempts} attempts: {why}") from None
                limit = backoff.attempt_limit
                self.log.warning("connecting to %s failed (%s); retry %d%s in %.1f s", url, why, backoff.attempts,
                                 f"/{limit - 1}" if limit else "", delay)
                await self.clock.sleep(delay)
                continue
            backoff.connected()
            self.connects += 1
            reason = await self._session(ws)
            if self._stopping:
                return
            if ws.close_code in FINAL_CLOSE_CODES:
                raise AuthFailed(f"the VJ closed the link: {ws.close_code} {ws.close_reason or ''}".strip())
            delay = backoff.lost()
            self.log.warning("lost the VJ link (%s); reconnecting in %.1f s", reason, delay)
            await self.clock.sleep(delay)

    async def stop(self) -> None:
        """Say ``going_offline`` and close; :meth:`run` then returns."""
        self._stopping = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await ws.send(P.encode(P.going_offline()))
            await ws.close(1000, "DJ going offline")

    async def _open(self) -> ClientConnection:
        """Connect and authenticate; returns the connection once the VJ accepted us."""
        cfg = self.config
        try:
            ws = await connect(cfg.vj_server_url, proxy=None, compression=None, max_size=2**18, close_timeout=1,
                               open_timeout=self.reconnect.connect_timeout, logger=frame_logger("mcav.dj_relay.ws"))
        except InvalidURI as exc:
            raise AuthFailed(f"vj_server_url {cfg.vj_server_url!r} is not a ws:// or wss:// URL ({exc})") from None
        try:
            first = (P.code_auth(self.connect_code, cfg.dj_name, self.direct_mode) if self.connect_code
                     else P.dj_auth(cfg.dj_id, cfg.dj_name, cfg.dj_key, self.direct_mode))
            await ws.send(P.encode(first))
            timeout: float | None = self.reconnect.connect_timeout
            while True:
                msg = P.decode(await wait_for(ws.recv(), timeout, self.clock))
                kind = msg["type"]
                if kind in ("auth_success", "auth_approved"):
                    self.dj_id = str(msg.get("dj_id", self.dj_id))
                    self.is_active = bool(msg.get("is_active", False))
                    self.vj.update({k: v for k, v in msg.items() if k != "type"})
                    self.log.info("connected to %s as %s (%s)", cfg.vj_server_url, self.dj_id,
                                  "live" if self.is_active else "standby")
                    return ws
                if kind == "auth_pending":
                    self.dj_id = str(msg.get("dj_id", self.dj_id))
                    self.log.info("connect code accepted; waiting for the VJ to approve %s", self.dj_id)
                    timeout = None
                elif kind == "auth_error":
                    raise AuthFailed(f"the VJ refused the connect code: {msg.get('error', 'auth_error')}")
                elif kind == "auth_denied":
                    raise AuthFailed(f"the VJ denied the connection: {msg.get('message', 'auth_denied')}")
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            if code in FINAL_CLOSE_CODES:
                reason = exc.rcvd.reason if exc.rcvd else ""
                raise AuthFailed(f"the VJ refused dj_id '{cfg.dj_id}': close {code} {reason}".strip()) from None
            raise
        except BaseException:
            ws.transport.abort()
            raise

    # -- one connected session ------------------------------------------------------------------------

    async def _session(self, ws: ClientConnection) -> str:
        """Run receiver and heartbeat until the link ends; returns why it ended."""
        self._ws, self._streaming, self._hb_outstanding = ws, False, False
        self._last_rx = self.clock.monotonic()
        self._monitor = HeartbeatMonitor(self.heartbeat, self.clock)
        recv = asyncio.ensure_future(self._receive(ws))
        beat = asyncio.ensure_future(self._heartbeats(ws))
        try:
            done, _ = await asyncio.wait({recv, beat}, return_when=asyncio.FIRST_COMPLETED)
            reason = next(iter(done)).result()
        finally:
            for task in (recv, beat):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await task
            self._ws, self._streaming = None, False
        if beat in done:
            with contextlib.suppress(Exception):
                await ws.close(1001, "Heartbeat failures exceeded")
            ws.transport.abort()
        return reason

    @property
    def silence_budget(self) -> float:
        """Seconds of total silence from the VJ after which the link counts as dead."""
        return self.heartbeat.timeout or SILENCE_BUDGET

    async def _heartbeats(self, ws: ClientConnection) -> str:
        monitor = self._monitor
        assert monitor is not None
        budget, threshold = self.silence_budget, self.heartbeat.failure_threshold or 3
        while True:
            await self.clock.sleep(self.heartbeat.interval)
            if self._hb_outstanding:
                monitor.missed()
                self.heartbeat_failures += 1
                if monitor.failures == threshold:
                    self.log.warning("%d heartbeats unanswered; keeping the link while the VJ is alive "
                                     "(dropped after %g s without any message)", monitor.failures, budget)
            silent = self.clock.monotonic() - self._last_rx
            if silent > budget:
                self.log.warning("Heartbeat failures exceeded: nothing from the VJ for %.0f s (%d heartbeats "
                                 "unanswered); reconnecting", silent, monitor.failures)
                return "Heartbeat failures exceeded"
            try:
                await wait_for(ws.send(P.encode(P.dj_heartbeat(self.clock.time(), self._mc_connected()))),
                               budget, self.clock)
                self._hb_outstanding = True
            except ConnectionClosed:
                return "connection closed while sending a heartbeat"
            except TimeoutError:
                self.log.warning("Heartbeat failures exceeded: the VJ has not read for %g s; reconnecting", budget)
                return "Heartbeat failures exceeded"

    async def _receive(self, ws: ClientConnection) -> str:
        try:
            async for raw in ws:
                self._last_rx = self.clock.monotonic()  # any message shows the VJ is alive
                try:
                    msg = P.decode(raw)
                except P.ProtocolError as exc:
                    self.log.warning("ignoring a bad message from the VJ: %s", exc)
                    continue
                await self._handle(ws, msg)
        except ConnectionClosed:
            pass
        return f"closed by the VJ: {ws.close_code} {ws.close_reason or ''}".strip()

    async def _handle(self, ws: ClientConnection, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind == "heartbeat_ack":
            assert self._monitor is not None
            self._monitor.answered()
            self._hb_outstanding = False
            echo = msg.get("echo_ts")
            if isinstance(echo, (int, float)) and not isinstance(echo, bool):
                self.rtt_ms = max(0.0, (self.clock.time() - echo) * 1000.0)
        elif kind == "clock_sync_request":
            t2 = self.clock.time()
            await ws.send(P.encode(P.clock_sync_response(msg.get("server_time"), t2, self.clock.time())))
        elif kind in ("stream_route", "status_update"):
            active = bool(msg.get("is_active", self.is_active))
            if active != self.is_active:
                self.log.info("%s", "now LIVE: the VJ is using this DJ" if active else "now on standby")
            self.is_active = active
            self.vj.update({k: v for k, v in msg.items() if k not in ("type", "is_active")})
        elif kind == "pattern_sync":
            self.vj.update(current_pattern=msg.get("pattern"), pattern_config=msg.get("config"))
        elif kind == "config_sync":
            self.vj.update(entity_count=msg.get("entity_count"), zone=msg.get("zone"))
        if not kind.startswith("auth_"):
            # The VJ's post-auth messages have begun (and a clock sync, if any, is answered): an MCAV
            # server reads the message after clock_sync_request as the reply, so no frame may precede it.
            self._streaming = True
        if self._on_message is not None:
            try:
                self._on_message(msg)
            except Exception:
                self.log.exception("handling %s failed", kind)

    # -- frames ---------------------------------------------------------------------------------------

    async def send_frame(self, features: Features) -> bool:
        """Send one frame now; False (and counted as dropped) while not connected."""
        ws = self._ws
        if ws is None or not self._streaming:
            self.frames_dropped += 1
            return False
        ts = self.clock.time() - (now_ns() - features.t_capture) / 1e9
        try:
            await ws.send(P.encode(P.dj_audio_frame(self.seq, ts, features)))
        except ConnectionClosed:
            self.frames_dropped += 1
            return False
        self.seq += 1
        self.frames_sent += 1
        return True

    def status(self) -> dict[str, Any]:
        """Connection state and counters."""
        return {"connected": self.connected, "dj_id": self.dj_id, "is_active": self.is_active,
                "frames_sent": self.frames_sent, "frames_dropped": self.frames_dropped, "connects": self.connects,
                "connect_failures": self.connect_failures, "heartbeat_failures": self.heartbeat_failures,
                "rtt_ms": None if self.rtt_ms is None else round(self.rtt_ms, 1)}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionClosed):
        return f"closed during the handshake ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
    return str(exc) or type(exc).__name__
