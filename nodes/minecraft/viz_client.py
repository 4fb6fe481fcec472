"""VizClient: the WebSocket client of the MCAV Minecraft plugin (:8765).

The link — connect, welcome, heartbeats, death, backoff, reconnection — is the
runtime's :class:`~mcav.runtime.link.LinkSupervisor` running a
:class:`~.session.PluginSession` (sans-I/O); message shapes live in
:mod:`.protocol`. What is left here is the request/reply layer:

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
from typing import Any, Callable, Mapping

from mcav.nodes.interfaces import LinkDown
from mcav.runtime.clock import Clock, SystemClock, wait_for
from mcav.runtime.link import LinkSupervisor
from mcav.runtime.policies import HeartbeatPolicy, ReconnectPolicy
from mcav.runtime.scope import TaskScope

from . import protocol
from .links import VIZ_CLIENT
from .replies import ReplyMatcher
from .session import PluginSession, ZoneSetup

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
        setup: Makes the handshake run after each welcome (the sink's zone and pool), or None.
        on_up / on_down: Called when the link comes up / goes down (``on_down`` gets the reason).
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
        setup: Callable[[], ZoneSetup] | None = None,
        on_up: Callable[[], None] = lambda: None,
        on_down: Callable[[str], None] = lambda why: None,
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
        self._setup = setup
        self._on_up, self._on_down = on_up, on_down
        #: Counters: sent, received, pings_sent, pongs_received, plugin_pings, bad_messages, timeouts, reconnects.
        self.stats: dict[str, int] = dict.fromkeys(
            ("sent", "received", "pings_sent", "pongs_received", "plugin_pings", "bad_messages", "timeouts", "reconnects"), 0
        )
        self._replies: ReplyMatcher[asyncio.Future[dict[str, Any]] | None] = ReplyMatcher(MAX_PENDING)
        self.link = LinkSupervisor(self.uri, self._new_session, self.reconnect_policy, self.heartbeat_policy,
                                   self.clock, self.log, on_up=self._up, on_down=self._down,
                                   on_message=self._dispatch, name="Minecraft", max_size=2**20)
        self._scope = TaskScope(f"viz client {self.uri}", self.log)
        self._closed = True

    # -- state -----------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        """``ws://host:port``."""
        return f"ws://{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        """True while the connection is open and the plugin answers pings."""
        return self.link.up

    @property
    def session(self) -> PluginSession | None:
        """The session of the current (or last) connection."""
        return self.link.session  # type: ignore[return-value]

    @property
    def welcome(self) -> dict[str, Any] | None:
        """The plugin's ``connected`` welcome of the current connection."""
        s = self.session
        return s.welcome if s is not None else None

    @property
    def last_error(self) -> str:
        """Why the last connection attempt failed or the last connection ended."""
        return self.link.last_error or ""

    def _new_session(self) -> PluginSession:
        return PluginSession(self.heartbeat_policy, self.stats, self._setup() if self._setup else None, self.log.log)

    # -- connection -------------------------------------------------------------------------

    async def connect(self) -> bool:
        """One connection attempt (welcome and handshake included); False (and :attr:`last_error`) if it failed."""
        if self.connected:
            return True
        return await self.link.connect_once()

    async def run(self) -> None:
        """Connect and stay connected with the reconnect policy until :meth:`disconnect`."""
        await self.link.run()

    async def disconnect(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (no reconnect) and fail every pending request."""
        await self.link.stop(None, code, reason)
        await self._scope.aclose()
        self._scope = TaskScope(f"viz client {self.uri}", self.log)
        self._fail_pending("disconnected")

    async def wait_closed(self) -> None:
        """Return once the connection started by :meth:`connect` is gone (at once if there is none)."""
        await self.link.wait_ended()

    def _up(self) -> None:
        self._on_up()

    def _down(self, why: str) -> None:
        self._fail_pending(why)
        self._on_down(why)
        if self.auto_reconnect and not self.link.stopping:
            self._scope.spawn(self._resume(), name="reconnect")

    def _fail_pending(self, why: str) -> None:
        for fut in self._replies.clear():
            _fail(fut, NotConnected(f"connection to Minecraft lost: {why}"))

    async def _resume(self) -> None:
        """After a loss (auto_reconnect): the first retry after the policy's first delay, then its schedule."""
        delay = self.reconnect_policy.initial
        self.log.warning("Minecraft %s: %s; reconnecting in %.1f s", self.uri, self.last_error, delay)
        await self.clock.sleep(delay)
        if await self.link.connect_once():
            self.stats["reconnects"] += 1
            self.log.info("reconnected to Minecraft at %s", self.uri)
            return
        try:
            await self.link.run()
        except Exception as exc:
            self.log.error("giving up on Minecraft at %s: %s", self.uri, exc)

    # -- traffic ----------------------------------------------------------------------------

    async def send(self, message: Mapping[str, Any] | str) -> None:
        """Send without waiting for a reply (fast-path messages; any reply goes to ``on_message``)."""
        text = message if isinstance(message, str) else protocol.encode(message)
        self._require()
        if not protocol.is_fast_path(text):
            # The plugin will answer it: queue a waiter without a future (nobody awaits
            # it) so the reply cannot be mistaken for the answer to a later request.
            expect = protocol.expected_reply(protocol.decode(text)["type"])
            if expect is not None:
                self._replies.expect(expect, None)
        await self._send(text)

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
        self._require()
        if self._replies.full:
            raise TimeoutError(f"{len(self._replies)} requests to Minecraft are still unanswered")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies.expect(expect, fut)
        try:
            await self._send(text)
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

    def _require(self) -> None:
        if not self.connected:
            raise NotConnected("Minecraft not connected")

    async def _send(self, text: str) -> None:
        if not await self.link.send(text):
            raise NotConnected("Minecraft connection closed")
        self.stats["sent"] += 1

    def _dispatch(self, msg: dict[str, Any]) -> None:
        """A message of the open link that is not a ping or pong: a reply, or unsolicited."""
        found = self._replies.match(msg["type"])
        if found is not None:
            for old in found.skipped:  # replies come in request order: these will never be answered
                _fail(old, TimeoutError("the plugin answered a later request first"))
            _resolve(found.answered, msg)
            return
        if self.on_message is not None:
            self.on_message(msg)
