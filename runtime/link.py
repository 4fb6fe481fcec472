"""The link supervisor: one owner for a client link's connect → handshake → run → death → backoff → reconnect.

A node kind supplies the protocol as a sans-I/O :class:`~mcav.runtime.session.ClientSession`
— text messages in, actions out, no sockets, no sleeps — and the
supervisor does every piece of I/O and timing, on the injected clock:

* connect (``connect_timeout``), then hand the session each message it reads;
* ``Established`` ends the handshake (which must finish within
  ``connect_timeout``, unless the session says ``Wait()``, e.g. while a VJ
  approves a connect code);
* every ``heartbeat.interval`` it calls :meth:`ClientSession.tick`, which
  sends a keepalive or declares the peer ``Dead`` (the session decides what
  counts as an answer);
* a failed attempt (refused, timed out, or a handshake the session fails:
  closed with 1011) or a lost link sleeps the :class:`~mcav.runtime.policies.Backoff`
  delay — the first failure of an outage is a warning, the retries after it
  routine; ``Refused`` (a bad key, a ban) ends the link for good
  (:class:`LinkRefused`), as does the first connection's attempt limit
  (:class:`LinkGaveUp`).

One supervisor runs one link; its tasks live in a :class:`~mcav.runtime.scope.TaskScope`
that :meth:`LinkSupervisor.run` opens and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .clock import Clock, wait_for
from .policies import Backoff, HeartbeatPolicy, ReconnectPolicy
from .scope import TaskScope
from .session import Action, ClientSession, Close, Dead, Deliver, Established, Fail, Instant, Refused, Send, Wait

__all__ = ["LinkGaveUp", "LinkRefused", "LinkSupervisor"]


class LinkRefused(Exception):
    """The peer refused the link for good; the supervisor stopped."""


class LinkGaveUp(Exception):
    """The first connection failed ``max_attempts`` times; the supervisor stopped."""


# -- the supervisor --------------------------------------------------------------------------------


class LinkSupervisor:
    """Keeps one WebSocket client link up as its policies say.

    Args:
        url: ``ws://`` or ``wss://`` address of the peer.
        session: Makes the :class:`ClientSession` of each attempt.
        reconnect: Backoff, attempt limits and ``connect_timeout`` (also the handshake's limit).
        heartbeat: How often :meth:`ClientSession.tick` runs once established; None: never.
        clock: Time for every delay (a ManualClock in tests).
        log: Where attempts, losses and refusals are logged.
        on_up / on_down: Called when the link comes up / goes down (``on_down`` gets the reason).
        on_message: Called with each :class:`Deliver` message.
        name: What the peer is, for log lines ("Minecraft", "the VJ server"); default the URL alone.
        max_size: Largest message accepted from the peer (bytes).
        stall_timeout: Seconds a heartbeat may wait for the socket to take it before the peer counts as
            dead (it has stopped reading); None: no limit.
        rng: Jitter source (seed it in tests).
    """

    def __init__(
        self,
        url: str,
        session: Callable[[], ClientSession],
        reconnect: ReconnectPolicy,
        heartbeat: HeartbeatPolicy | None,
        clock: Clock,
        log: logging.Logger,
        *,
        on_up: Callable[[], None] = lambda: None,
        on_down: Callable[[str], None] = lambda why: None,
        on_message: Callable[[dict[str, Any]], None] = lambda msg: None,
        name: str = "",
        max_size: int = 2**18,
        stall_timeout: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self._new_session = session
        self.reconnect = reconnect
        self.heartbeat = heartbeat
        self.clock = clock
        self.log = log
        self._on_up, self._on_down, self._on_message = on_up, on_down, on_message
        self._max_size = max_size
        self.name = f"{name} at {url}" if name else url
        self._stall = stall_timeout
        self._rng = rng
        self._ws: ClientConnection | None = None
        self._up = False
        self._stopping = False
        #: Counters and state for ``status()``.
        self.connects = 0
        self.connect_failures = 0
        self.last_error: str | None = None
        self.next_retry: float | None = None  # clock time of the next attempt while waiting
        self.retry_delay: float | None = None  # the delay being slept (s), None while connected
        #: The session of the current (or last) connection.
        self.session: ClientSession | None = None
        self._scope = TaskScope(f"link {url}", log)
        self._background: asyncio.Task[str] | None = None

    def now(self) -> Instant:
        """The clock's time as sessions see it."""
        return Instant(self.clock.monotonic(), self.clock.time())

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called (until the next :meth:`connect_once` or :meth:`run`)."""
        return self._stopping

    @property
    def up(self) -> bool:
        """True while established."""
        return self._up and self._ws is not None

    async def send(self, text: str) -> bool:
        """Send ``text`` if the link is up; False if it is not (or dropped meanwhile)."""
        ws = self._ws
        if ws is None or not self._up:
            return False
        try:
            await ws.send(text)
        except ConnectionClosed:
            return False
        return True

    async def stop(self, farewell: str | None = None, code: int = 1000, reason: str = "") -> None:
        """Send ``farewell`` (if up), close, and make :meth:`run` return (or end :meth:`connect_once`'s link)."""
        self._stopping = True
        ws = self._ws
        if ws is not None:
            if farewell is not None:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(farewell)
            try:
                await ws.close(code, reason)
            except Exception:  # closing a broken socket: nothing left to do
                ws.transport.abort()
        task = self._background
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=1.0)

    async def attempt(self) -> tuple[ClientConnection, ClientSession] | None:
        """One connection attempt with its handshake; None (and :attr:`last_error`) if it failed.

        Raises:
            LinkRefused: the peer refused us for good.
        """
        try:
            return await self._open()
        except LinkRefused:
            raise
        except _HandshakeFailed as exc:
            self.last_error = f"handshake failed: {exc}"
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            self.last_error = _describe(exc)
        return None

    async def connect_once(self) -> bool:
        """One attempt; once up, the link runs in the background (no reconnection) until it drops or
        :meth:`stop` — :meth:`wait_ended` waits for that. False if the attempt failed."""
        self._stopping = False
        opened = await self.attempt()
        if opened is None:
            self.connect_failures += 1
            return False
        self.connects += 1
        self._ws, self._up = opened[0], True  # up now: requests may follow at once
        self._background = self._scope.spawn(self._established(*opened), name="link")
        return True

    async def wait_ended(self) -> None:
        """Return once the link started by :meth:`connect_once` is gone (at once if there is none)."""
        task = self._background
        if task is not None and not task.done():
            await asyncio.wait({task})

    async def run(self) -> None:
        """Connect and stay connected until :meth:`stop`.

        Raises:
            LinkRefused: the peer refused us for good. LinkGaveUp: the first connection never succeeded.
        """
        backoff = Backoff(self.reconnect, self._rng)
        self._stopping = False
        while not self._stopping:
            opened = await self.attempt()
            if opened is None:
                if self._stopping:
                    return
                self.connect_failures += 1
                delay = backoff.failed()
                if delay is None:
                    raise LinkGaveUp(f"could not connect to {self.url} after {backoff.attempts} attempts: "
                                     f"{self.last_error}") from None
                limit = backoff.attempt_limit
                self.log.log(logging.WARNING if backoff.attempts <= 1 else logging.INFO,
                             "%s unavailable (%s); retrying in %g s (attempt %d%s)", self.name, self.last_error,
                             round(delay, 3), backoff.attempts, f" of {limit}" if limit else "")
                await self._sleep(delay)
                continue
            backoff.connected()
            self.connects += 1
            self._ws, self._up = opened[0], True
            reason = await self._established(*opened)
            if self._stopping:
                return
            self.last_error = reason
            delay = backoff.lost()
            self.log.warning("%s: link lost (%s); reconnecting in %g s", self.name, reason, round(delay, 3))
            await self._sleep(delay)

    async def _sleep(self, delay: float) -> None:
        self.next_retry, self.retry_delay = self.clock.monotonic() + delay, delay
        try:
            await self.clock.sleep(delay)
        finally:
            self.next_retry = None

    async def _open(self) -> tuple[ClientConnection, ClientSession]:
        """Connect and run the handshake; returns once the session says ``Established``."""
        try:
            ws = await connect(self.url, proxy=None, compression=None, max_size=self._max_size, close_timeout=1,
                               open_timeout=self.reconnect.connect_timeout, logger=_quiet(self.log))
        except InvalidURI as exc:
            raise LinkRefused(f"{self.url!r} is not a ws:// or wss:// URL ({exc})") from None
        session = self.session = self._new_session()
        try:
            # One deadline for the whole handshake, lifted when the session says Wait (e.g. a human approves).
            if await wait_for(self._handshake(ws, session, stop_at_wait=True), self.reconnect.connect_timeout,
                              self.clock):
                return ws, session
            await self._handshake(ws, session, stop_at_wait=False)
            return ws, session
        except BaseException:
            ws.transport.abort()
            raise

    async def _handshake(self, ws: ClientConnection, session: ClientSession, stop_at_wait: bool) -> bool:
        """Feed the session until ``Established`` (True) or, if ``stop_at_wait``, a ``Wait`` (False)."""
        if stop_at_wait and await self._apply(ws, session.start(self.now())):
            return True
        while True:
            try:
                text = await ws.recv()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                await self._apply(ws, session.closed(code, exc.rcvd.reason if exc.rcvd else ""))
                raise
            actions = session.receive(text if isinstance(text, str) else text.decode("utf-8", "replace"), self.now())
            if await self._apply(ws, actions):
                return True
            if stop_at_wait and any(isinstance(a, Wait) for a in actions):
                return False

    async def _apply(self, ws: ClientConnection, actions: list[Action]) -> bool:
        """Carry out ``actions``; True if one of them was ``Established``. Raises on ``Refused``/``Dead``."""
        established = False
        for a in actions:
            if isinstance(a, Send):
                await ws.send(a.text)
            elif isinstance(a, Established):
                established = True
            elif isinstance(a, Deliver):
                try:
                    self._on_message(a.message)
                except Exception:
                    self.log.exception("handling %s failed", a.message.get("type"))
            elif isinstance(a, Refused):
                raise LinkRefused(a.reason)
            elif isinstance(a, Fail):
                with contextlib.suppress(ConnectionClosed):
                    await ws.close(1011, "handshake failed")
                raise _HandshakeFailed(a.reason)
            elif isinstance(a, Dead):
                raise _Dead(a.reason)
            elif isinstance(a, Close):
                await ws.close(a.code, a.reason)
        return established

    async def _established(self, ws: ClientConnection, session: ClientSession) -> str:
        """Run the link until it ends; returns why. Raises :class:`LinkRefused` (e.g. kicked)."""
        self._ws, self._up, self.retry_delay = ws, True, None
        self._on_up()
        scope = TaskScope(f"link {self.url}", self.log)
        ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        scope.spawn(self._reader(ws, session, ended), name="reader")
        if self.heartbeat is not None:
            scope.spawn(self._ticker(ws, session, ended), name="heartbeat")
        try:
            reason = await ended
        except asyncio.CancelledError:
            ws.transport.abort()  # cancelled (the owner is going away without stop()): leave no socket open
            raise
        finally:
            await scope.aclose()
            self._ws, self._up = None, False
        self.last_error = str(reason)
        if isinstance(reason, BaseException):
            self._on_down(str(reason))
            raise reason
        self._on_down(reason)
        return reason

    async def _reader(self, ws: ClientConnection, session: ClientSession, ended: asyncio.Future[Any]) -> None:
        try:
            async for raw in ws:
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                await self._apply(ws, session.receive(text, self.now()))
            code, why = ws.close_code, ws.close_reason or ""
        except ConnectionClosed as exc:
            code, why = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
        except (LinkRefused, _Dead) as exc:
            _finish(ended, exc if isinstance(exc, LinkRefused) else str(exc))
            return
        try:
            await self._apply(ws, session.closed(code, why))
        except LinkRefused as exc:
            _finish(ended, exc)
            return
        _finish(ended, f"closed by the peer: {code} {why}".strip())

    async def _ticker(self, ws: ClientConnection, session: ClientSession, ended: asyncio.Future[Any]) -> None:
        assert self.heartbeat is not None
        while True:
            await self.clock.sleep(self.heartbeat.interval)
            try:
                await wait_for(self._apply(ws, session.tick(self.now())), self._stall, self.clock)
            except TimeoutError:
                exc = _Dead(f"Heartbeat failures exceeded: the peer has not read for {self._stall:g} s")
                self.log.warning("%s; reconnecting", exc)
                ws.transport.abort()
                _finish(ended, str(exc))
                return
            except _Dead as exc:
                self.log.warning("%s; reconnecting", exc)
                with contextlib.suppress(Exception):
                    await ws.close(1001, str(exc)[:120])
                ws.transport.abort()
                _finish(ended, str(exc))
                return
            except ConnectionClosed:
                _finish(ended, "connection closed while sending a heartbeat")
                return


class _Dead(Exception):
    """A session declared the peer dead."""


class _HandshakeFailed(Exception):
    """A session failed the handshake (the attempt counts as failed)."""


def _finish(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _quiet(log: logging.Logger) -> logging.Logger:
    """The websockets library logs each frame at DEBUG: keep it under the link's logger, at WARNING."""
    ws_log = log.getChild("ws")
    ws_log.setLevel(logging.WARNING)
    return ws_log


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionClosed):
        return f"closed during the handshake ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
    return str(exc) or type(exc).__name__
