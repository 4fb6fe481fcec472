"""VizClient: the WebSocket client of the MCAV Minecraft plugin (:8765).

Transport and correlation only; message shapes live in :mod:`.protocol`,
retry timing in :class:`~mcav.runtime.policies.Backoff`/`HeartbeatMonitor`.

Correlation is :class:`~.replies.ReplyMatcher` (pure, tested without
sockets): each request queues the reply type it expects; a reply resolves the
oldest pending request expecting that type, and ``error`` the oldest of any
type. Fast-path messages (``batch_update``…) are never answered and never awaited.

A waiter nobody awaits (a message sent with :meth:`VizClient.send` that the
plugin will answer, or a request that timed out or was cancelled) stays queued
so its late reply is consumed by it, but holds no live future: failing it when
the connection drops must not leave an exception nobody retrieves.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, Awaitable, Callable, Mapping

import websockets
from websockets.asyncio.client import ClientConnection, connect

from mcav.nodes.interfaces import LinkDown
from mcav.runtime.clock import Clock, SystemClock, wait_for
from mcav.runtime.policies import Backoff, HeartbeatMonitor, HeartbeatPolicy, ReconnectPolicy

from . import protocol
from .replies import ReplyMatcher
from .links import VIZ_CLIENT

__all__ = ["NotConnected", "VizClient"]

log = logging.getLogger("mcav.viz_client")
#: Requests awaiting a reply at once; more means the plugin has stopped answering.
MAX_PENDING = 256


class NotConnected(LinkDown):
    """The plugin is not connected (or the connection dropped while waiting)."""


def _resolve(fut: asyncio.Future[dict[str, Any]] | None, msg: dict[str, Any]) -> None:
    if fut is not None and not fut.done():
        fut.set_result(msg)


def _fail(fut: asyncio.Future[dict[str, Any]] | None, exc: BaseException) -> None:
    """A waiter nobody awaits is None (or cancelled): failing it must not leave an unretrieved exception."""
    if fut is not None and not fut.done():
        fut.set_exception(exc)


class VizClient:
    """Client of the plugin with CONNECTIVITY.md's defaults.

    Args:
        host: Plugin host. Default ``localhost``.
        port: Plugin port. Default 8765.
        connect_timeout: Seconds for TCP + WebSocket handshake + welcome. Default 10.
        auto_reconnect: Reconnect by itself after a loss (1 s ×1.5 up to 30 s). Default False.
        max_reconnect_attempts: Attempts per outage before giving up. Default 10.
        clock: Time source for timeouts, heartbeats and backoff. Default system clock.
        reconnect: Full reconnect policy (overrides the three arguments above when given).
        heartbeat: Ping interval and pong timeout. Default every 10 s, dead after 30 s.
        request_timeout: Seconds to wait for a reply. Default 5 (the OLD server's value).
        on_message: Called with every plugin message that answers no request.
        logger: Where connection events go.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 8765,
        connect_timeout: float = 10.0,
        auto_reconnect: bool = False,
        max_reconnect_attempts: int = 10,
        *,
        clock: Clock | None = None,
        reconnect: ReconnectPolicy | None = None,
        heartbeat: HeartbeatPolicy | None = None,
        request_timeout: float = 5.0,
        on_message: Callable[[dict[str, Any]], None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.auto_reconnect = auto_reconnect
        self.clock: Clock = clock or SystemClock()
        self.reconnect_policy = reconnect or replace(
            VIZ_CLIENT.policy("reconnect"),
            connect_timeout=connect_timeout,
            max_attempts=max_reconnect_attempts,
            max_reconnect_attempts=max_reconnect_attempts,
        )
        self.heartbeat_policy = heartbeat or VIZ_CLIENT.policy("heartbeat")
        self.request_timeout = request_timeout
        self.on_message = on_message
        self.log = logger or log
        #: The plugin's ``connected`` welcome of the current connection.
        self.welcome: dict[str, Any] | None = None
        #: Why the last connection attempt failed or the last connection ended.
        self.last_error = ""
        #: Counters: sent, received, pings_sent, pongs_received, plugin_pings, bad_messages, timeouts, reconnects.
        self.stats: dict[str, int] = dict.fromkeys(
            ("sent", "received", "pings_sent", "pongs_received", "plugin_pings", "bad_messages", "timeouts", "reconnects"), 0
        )
        self._ws: ClientConnection | None = None
        self._alive = False
        self._replies: ReplyMatcher[asyncio.Future[dict[str, Any]] | None] = ReplyMatcher(MAX_PENDING)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed: asyncio.Event | None = None
        self._monitor: HeartbeatMonitor | None = None
        self._backoff = Backoff(self.reconnect_policy)
        self._stopping = False

    @property
    def uri(self) -> str:
        """``ws://host:port``."""
        return f"ws://{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        """True while the connection is open and the plugin answers pings."""
        return self._alive and self._ws is not None

    # -- connection -------------------------------------------------------------------------

    async def connect(self) -> bool:
        """One connection attempt: open, read the welcome, start the reader and heartbeat.

        Returns False (and sets :attr:`last_error`) on refusal, timeout or a bad welcome.
        """
        if self.connected:
            return True
        self._stopping = False
        timeout = self.reconnect_policy.connect_timeout
        try:
            ws = await wait_for(self._open(), timeout, self.clock)
        except TimeoutError:
            self.last_error = f"no answer from {self.uri} within {timeout:g} s"
            return False
        except (OSError, websockets.exceptions.WebSocketException, protocol.ProtocolError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return False
        self._ws = ws
        self._alive = True
        self._closed = asyncio.Event()
        self._monitor = HeartbeatMonitor(self.heartbeat_policy, self.clock)
        self._backoff.connected()
        self._spawn(self._reader(ws))
        self._spawn(self._heartbeat(ws))
        return True

    async def _open(self) -> ClientConnection:
        # App-level pings (ours and the plugin's) replace websockets' keepalive; no
        # compression (small real-time frames); no proxy on a LAN/loopback link.
        ws = await connect(
            self.uri, proxy=None, compression=None, open_timeout=None, ping_interval=None,
            close_timeout=2, max_size=2**20, max_queue=64,
        )
        try:
            welcome = protocol.decode(await ws.recv())
        except BaseException:
            ws.transport.abort()
            raise
        if welcome.get("type") != "connected":
            self.log.warning("plugin at %s greeted with %r instead of 'connected'", self.uri, welcome.get("type"))
        self.welcome = welcome
        return ws

    async def disconnect(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (no reconnect) and fail every pending request."""
        self._stopping = True
        ws = self._ws
        self._lost("disconnected")
        if ws is not None:
            try:
                await ws.close(code, reason)
            except Exception:  # closing a broken socket: nothing left to do
                ws.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_closed(self) -> None:
        """Return once the current connection is gone (at once if there is none)."""
        if self._closed is not None and self.connected:
            await self._closed.wait()

    def _lost(self, why: str) -> None:
        if not self._alive:
            return
        self._alive = False
        self.last_error = why
        for fut in self._replies.clear():
            _fail(fut, NotConnected(f"connection to Minecraft lost: {why}"))
        if self._closed is not None:
            self._closed.set()
        if self.auto_reconnect and not self._stopping:
            self._spawn(self._reconnect_loop())

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reconnect_loop(self) -> None:
        delay = self._backoff.lost()
        while delay is not None and not self._stopping:
            self.log.warning("Minecraft %s: %s; reconnecting in %.1f s", self.uri, self.last_error, delay)
            await self.clock.sleep(delay)
            if await self.connect():
                self.stats["reconnects"] += 1
                self.log.info("reconnected to Minecraft at %s", self.uri)
                return
            delay = self._backoff.failed()
        self.log.error("giving up on Minecraft at %s after %d attempts", self.uri, self._backoff.attempts)

    # -- traffic ----------------------------------------------------------------------------

    async def send(self, message: Mapping[str, Any] | str) -> None:
        """Send without waiting for a reply (fast-path messages; any reply goes to ``on_message``)."""
        text = message if isinstance(message, str) else protocol.encode(message)
        ws = self._require()
        if not protocol.is_fast_path(text):
            # The plugin will answer it: queue a waiter without a future (nobody awaits
            # it) so the reply cannot be mistaken for the answer to a later request.
            expect = protocol.expected_reply(protocol.decode(text)["type"])
            if expect is not None:
                self._replies.expect(expect, None)
        await self._send(ws, text)

    async def request(self, message: Mapping[str, Any] | str, timeout: float | None = None) -> dict[str, Any]:
        """Send a synchronous-path message and return the plugin's reply (possibly ``error``).

        Raises:
            NotConnected: not connected, or the connection dropped while waiting.
            TimeoutError: no reply within ``timeout`` (default :attr:`request_timeout`) s.
            ValueError: the message type gets no reply from the plugin.
        """
        text = message if isinstance(message, str) else protocol.encode(message)
        mtype = protocol.decode(text)["type"]
        expect = protocol.expected_reply(mtype)
        if expect is None or protocol.is_fast_path(text):
            raise ValueError(f"the plugin does not answer '{mtype}'; use send()")
        ws = self._require()
        if self._replies.full:
            raise TimeoutError(f"{len(self._replies)} requests to Minecraft are still unanswered")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies.expect(expect, fut)
        try:
            await self._send(ws, text)
            # shield: on timeout the entry stays queued, so a late reply is consumed by it.
            return await wait_for(asyncio.shield(fut), timeout or self.request_timeout, self.clock)
        except TimeoutError:
            self.stats["timeouts"] += 1
            raise TimeoutError(f"Minecraft did not answer '{mtype}' within {timeout or self.request_timeout:g} s") from None
        finally:
            # Timed out, cancelled or failed: nobody will read this future again, so it must never
            # hold an exception (asyncio would log "Future exception was never retrieved").
            if not fut.done():
                fut.cancel()
            elif not fut.cancelled():
                fut.exception()  # mark an exception (e.g. a stale-reply TimeoutError) as retrieved

    def _require(self) -> ClientConnection:
        if not self.connected:
            raise NotConnected("Minecraft not connected")
        assert self._ws is not None
        return self._ws

    async def _send(self, ws: ClientConnection, text: str) -> None:
        try:
            await ws.send(text)
        except websockets.exceptions.ConnectionClosed as exc:
            self._lost(f"closed while sending ({exc})")
            raise NotConnected("Minecraft connection closed") from None
        self.stats["sent"] += 1

    async def _reader(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self.stats["received"] += 1
                try:
                    msg = protocol.decode(raw)
                except protocol.ProtocolError as exc:
                    self.stats["bad_messages"] += 1
                    self.log.warning("ignoring bad message from plugin: %s", exc)
                    continue
                self._dispatch(ws, msg)
            why = f"closed by plugin (code {ws.close_code}{', ' + ws.close_reason if ws.close_reason else ''})"
        except websockets.exceptions.ConnectionClosedError as exc:
            why = f"connection broken ({exc})"
        self._lost(why)

    def _dispatch(self, ws: ClientConnection, msg: dict[str, Any]) -> None:
        mtype = msg["type"]
        if mtype == "ping":
            self.stats["plugin_pings"] += 1
            ms = int(self.clock.time() * 1000)
            self._spawn(self._answer(ws, protocol.pong(ms)))
            return
        if mtype == "pong":
            self.stats["pongs_received"] += 1
            if self._monitor is not None:
                self._monitor.answered()
            return
        found = self._replies.match(mtype)
        if found is not None:
            for old in found.skipped:  # replies come in request order: these will never be answered
                _fail(old, TimeoutError("the plugin answered a later request first"))
            _resolve(found.answered, msg)
            return
        if self.on_message is not None:
            self.on_message(msg)

    async def _answer(self, ws: ClientConnection, text: str) -> None:
        try:
            await self._send(ws, text)
        except NotConnected:
            pass

    async def _heartbeat(self, ws: ClientConnection) -> None:
        monitor = self._monitor
        assert monitor is not None
        interval = self.heartbeat_policy.interval
        while self._ws is ws and self._alive:
            await self.clock.sleep(interval)
            if not self._alive or self._ws is not ws:
                return
            if monitor.dead:
                self.log.warning("Minecraft: pong timeout (no pong for %.0f s); closing", monitor.silence)
                self._lost(f"pong timeout ({monitor.silence:.0f} s without pong)")
                ws.transport.abort()  # the peer is unresponsive: no closing handshake
                return
            self.stats["pings_sent"] += 1
            try:
                await self._send(ws, protocol.ping())
            except NotConnected:
                return
