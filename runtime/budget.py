"""Connection budgets for listening sockets, and log lines that say "N times" instead of N lines.

Each listener gets a :class:`ListenerBudget`: at most ``cap`` connections
open at once, counting those still in their handshake. When it is full, the
oldest connection that has not yet proved itself (no completed handshake or
authentication, or an idle keep-alive) is cut to make room; only when every
slot holds a working connection is the newcomer refused. When the process
has fewer than ``fd_reserve`` free file handles, the oldest unproven
connection of *any* listener is cut instead (else the newcomer is refused),
so a flood on one port cannot take the handles the others (and ``/health``)
need; give the HTTP listener the smallest reserve. Listen with
:attr:`ListenerBudget.backlog`: asyncio accepts up to ``backlog`` sockets per
wake-up before the budget sees any of them, so a backlog above the reserve
would let one burst on a flooded port take every handle and fail the other
ports' accepts (EMFILE, retried by asyncio only after 1 s). Both scale with
the process's file-handle limit (:func:`listen_sizes`): a large backlog lets
a crowd of viewers reconnect at once, a small limit gets a small one. (The
kernel's queue is the backlog too, on purpose: a queue deeper than one
wake-up's accepts let half-open sockets stand ahead of a real client for
seconds, measured.)
:func:`raise_fd_limit` lifts the soft limit to the hard one at start.

:class:`LogTally` logs a recurring condition at once, then at most once per
interval with the number of times it happened meanwhile.
:func:`quiet_accept_errors` routes asyncio's per-accept "out of system
resource" errors through one.

Each budget is used on its listener's loop; a cut across listeners on
different loops is handed to the victim's loop. Counters may be read from any thread.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import os
import resource
import time
import weakref
from typing import Any, Callable

from websockets.asyncio.server import ServerConnection

from .scope import running_loop

__all__ = ["ListenerBudget", "LogTally", "Ticket", "budgeted_connection", "free_fds", "listen_sizes", "quiet_accept_errors", "raise_fd_limit", "ready"]

#: How long a measured count of open file handles is trusted (s).
_FD_TTL = 0.25
_fd_cache: list[float] = [0.0, 0.0]  # [measured at (monotonic), free handles then]
_budgets: weakref.WeakSet[ListenerBudget] = weakref.WeakSet()  # every live budget, for cross-listener eviction
_order = itertools.count()  # admission order of tickets, across listeners
#: Sockets held in a tarpit at most (all listeners), see :func:`budgeted_connection`.
TARPIT_MAX = 256
_tarpit = [0]  # sockets held in the tarpit now


def free_fds() -> int | None:
    """File handles this process may still open (soft RLIMIT_NOFILE − open), or None if unknown."""
    now = time.monotonic()
    if now - _fd_cache[0] > _FD_TTL:
        try:
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            used = len(os.listdir("/proc/self/fd"))
        except (OSError, ValueError):
            return None
        if soft == resource.RLIM_INFINITY:
            return None
        _fd_cache[0], _fd_cache[1] = now, float(soft - used)
    return int(_fd_cache[1])


def _fd_taken(n: int) -> None:
    """Keep the cached free count honest between measurements."""
    _fd_cache[1] -= n


def listen_sizes(limit: int | None = None) -> tuple[int, int]:
    """(listen backlog, file-handle reserve) for a listener, from the soft RLIMIT_NOFILE (``limit``: given).

    The backlog is a sixteenth of the limit within [16, 256] (a crowd reconnecting at once after a
    restart fits in the queue; 1000 viewers need a limit above 1024 anyway); the reserve is twice it, at
    least 64, so one wake-up's accepts leave at least half the reserve free. Unknown or unlimited: 256, 512.
    """
    if limit is None:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        limit = None if soft == resource.RLIM_INFINITY else soft
    backlog = 256 if limit is None else min(256, max(16, limit // 16))
    return backlog, max(64, 2 * backlog)


def raise_fd_limit() -> tuple[int, int]:
    """Lift the soft file-handle limit to the hard one (as Go programs do); returns (before, after).

    Distributions default to a soft 1024, less than a VJ with 1000 browsers needs; the hard limit is
    the administrator's real bound. Nothing is raised if the hard limit is not above the soft one.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = (1 << 20) if hard == resource.RLIM_INFINITY else hard  # unlimited: the kernel's usual nr_open
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError):  # e.g. above the kernel's nr_open: keep what we have
        return soft, soft
    _fd_cache[0] = 0.0  # measure again
    return soft, target


class LogTally:
    """Log a condition the first time, then once per ``interval`` s with how often it recurred.

    Args:
        log: Where to write (WARNING level).
        interval: Seconds between two lines for the same key (default 10).
    """

    def __init__(self, log: logging.Logger, interval: float = 10.0) -> None:
        self.log = log
        self.interval = interval
        self._last: dict[str, float] = {}
        self._held: collections.Counter[str] = collections.Counter()

    def note(self, key: str, message: str, *args: Any) -> None:
        """One occurrence of ``key``; ``message % args`` is logged unless one was logged within the interval."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] += 1
            return
        more = self._held.pop(key, 0)
        self._last[key] = now
        suffix = f" (and {more} more times in the last {now - last:.0f} s)" if more and last is not None else ""
        self.log.warning(message + suffix, *args)


class Ticket:
    """One admitted connection's slot. :meth:`ready` once it proved itself; :meth:`release` when it ends."""

    __slots__ = ("_budget", "_evict", "_loop", "evictable", "released", "since")

    def __init__(self, budget: ListenerBudget, evict: Callable[[], None]) -> None:
        self._budget = budget
        self._evict = evict
        self._loop = running_loop()  # the listener's loop: evict() must run there
        self.since = next(_order)
        self.evictable = True
        self.released = False

    def ready(self) -> None:
        """The connection works (handshake done, authenticated, or a request being answered)."""
        self.evictable = False
        self._budget._waiting.pop(self, None)

    def idle(self) -> None:
        """The connection waits for the client again (a keep-alive between requests): evictable."""
        if not self.released and not self.evictable:
            self.evictable = True
            self.since = next(_order)
            self._budget._waiting[self] = None

    def release(self) -> None:
        """The connection ended (idempotent)."""
        if not self.released:
            self.released = True
            self._budget._waiting.pop(self, None)
            self._budget.open -= 1
            _fd_taken(-1)


class ListenerBudget:
    """At most ``cap`` connections of one listener, with counters and a tallied log.

    Args:
        name: Used in log lines ("browser :8766").
        cap: Connections open at once, handshakes included.
        log: Logger for the tallied "refused"/"evicted" lines.
        fd_reserve: Free file handles below which unproven connections are cut or newcomers refused
            (default: :func:`listen_sizes`' for the process's limit, at least 64).
        backlog: The listen backlog to serve with (default: :func:`listen_sizes`'); keep it at most half
            the reserve.
        interval: Seconds between two log lines about the same condition (default 10).
    """

    def __init__(self, name: str, cap: int, log: logging.Logger, fd_reserve: int | None = None,
                 backlog: int | None = None, interval: float = 10.0) -> None:
        if cap < 1:
            raise ValueError(f"cap must be at least 1, got {cap}")
        sizes = listen_sizes()
        self.name, self.cap = name, cap
        self.fd_reserve = sizes[1] if fd_reserve is None else fd_reserve
        #: The listen backlog to serve with (asyncio's accepts per wake-up too).
        self.backlog = sizes[0] if backlog is None else backlog
        self.tally = LogTally(log, interval)
        self._waiting: dict[Ticket, None] = {}  # evictable tickets, oldest first
        #: Connections holding a slot now.
        self.open = 0
        #: Most connections held at once.
        self.peak = 0
        #: Connections refused (budget full of working connections, or file handles short).
        self.refused = 0
        #: Unproven connections cut to make room for a newer one.
        self.evicted = 0
        self._tarpit: set[Any] = set()  # transports held unanswered (see budgeted_connection)
        _budgets.add(self)

    def admit(self, evict: Callable[[], None]) -> Ticket | None:
        """A slot for a new connection, or None (refused: close it at once).

        ``evict`` closes this connection if it must later make room (e.g. ``transport.abort``).
        """
        free = free_fds()
        if free is not None and free < self.fd_reserve:
            oldest = min((next(iter(b._waiting)) for b in list(_budgets) if b._waiting),
                         key=lambda t: t.since, default=None)
            if oldest is None:
                self.refused += 1
                self.tally.note("fds", "%s: refusing connections: %d file handles left (reserve %d), all held "
                                "by working connections", self.name, free, self.fd_reserve)
                return None
            oldest._budget._cut(oldest, f"{free} file handles left (reserve {self.fd_reserve})")
        if self.open >= self.cap:
            oldest = next(iter(self._waiting), None)
            if oldest is None:
                self.refused += 1
                self.tally.note("full", "%s: refusing connections: all %d slots hold working connections",
                                self.name, self.cap)
                return None
            self._cut(oldest, f"{self.cap} connections open (the cap)")
        ticket = Ticket(self, evict)
        self._waiting[ticket] = None
        self.open += 1
        self.peak = max(self.peak, self.open)
        _fd_taken(1)
        return ticket

    def close(self) -> None:
        """The listener shuts down: drop the sockets held in the tarpit (nothing waits for them)."""
        for transport in list(self._tarpit):
            transport.abort()

    def _cut(self, ticket: Ticket, why: str) -> None:
        """Close an unproven connection of this listener to make room (counted, tallied in the log)."""
        self.evicted += 1
        self.tally.note("evict", "%s: %s: closing the oldest idle or unauthenticated connection to make room",
                        self.name, why)
        ticket.release()
        loop = ticket._loop
        if loop is None or loop is running_loop():
            ticket._evict()
        else:  # a listener on another loop (own_loop nodes): its transport is only safe to touch there
            loop.call_soon_threadsafe(ticket._evict)

    def counters(self) -> dict[str, int]:
        """``connections_open``, ``connections_refused``, ``connections_evicted``."""
        return {"connections_open": self.open, "connections_refused": self.refused,
                "connections_evicted": self.evicted}


def budgeted_connection(budget: ListenerBudget,
                        refuse: Callable[[str], bool] | None = None) -> type[ServerConnection]:
    """A websockets ``ServerConnection`` class (for ``serve(create_connection=…)``) held to ``budget``.

    The slot is taken when TCP connects (before the WebSocket handshake) and
    given back when the socket closes; the connection's ``ticket`` attribute
    lets the handler call ``ready()`` once the client proved itself.
    ``refuse(ip)`` True (e.g. an address locked out for failed logins that
    keeps hammering) puts the connection in a tarpit instead: it takes no
    slot, nothing of it is read (no handshake, no work), and it ends when the
    handshake times out (``open_timeout``). A client that retries at once is
    thereby slowed to one try per timeout instead of spinning on refusals. At
    most :data:`TARPIT_MAX` sockets are held so, and only while file handles
    are plentiful; beyond that they are dropped at once.
    """

    class BudgetedConnection(ServerConnection):
        ticket: Ticket | None = None

        tarpitted = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            peer = transport.get_extra_info("peername")
            if refuse is not None and isinstance(peer, tuple) and refuse(str(peer[0])):
                free = free_fds()
                if _tarpit[0] < TARPIT_MAX and (free is None or free > 2 * budget.fd_reserve):
                    self.tarpitted = True
                    budget._tarpit.add(transport)
                    _tarpit[0] += 1
                    _fd_taken(1)
                    transport.pause_reading()  # type: ignore[attr-defined]
                else:
                    transport.abort()  # type: ignore[attr-defined]
                return
            self.ticket = budget.admit(transport.abort)  # type: ignore[attr-defined]
            if self.ticket is None:
                transport.abort()  # type: ignore[attr-defined]

        def connection_lost(self, exc: Exception | None) -> None:
            try:
                super().connection_lost(exc)
            finally:
                if self.ticket is not None:
                    self.ticket.release()
                if self.tarpitted:
                    self.tarpitted = False
                    budget._tarpit.discard(self.transport)
                    _tarpit[0] -= 1
                    _fd_taken(-1)

    return BudgetedConnection


def ready(conn: Any) -> None:
    """Mark a websockets connection made by :func:`budgeted_connection` as working (no-op otherwise)."""
    ticket = getattr(conn, "ticket", None)
    if ticket is not None:
        ticket.ready()


_ACCEPT_ERRORS = ("socket.accept() out of system resource", "Error on transport creation for incoming connection")


def quiet_accept_errors(loop: asyncio.AbstractEventLoop, log: logging.Logger, interval: float = 10.0) -> None:
    """Log asyncio's failed-accept errors (file handles exhausted…) once per ``interval`` s with a count.

    Other errors go to the handler that was installed before. Idempotent per loop.
    """
    if getattr(loop, "_mcav_quiet_accept", False):
        return
    previous = loop.get_exception_handler()
    tally = LogTally(log, interval)

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if message.startswith(_ACCEPT_ERRORS):
            exc = context.get("exception")
            tally.note(message, "cannot accept connections: %s (%s)", message, exc)
            return
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    loop.set_exception_handler(handler)
    loop._mcav_quiet_accept = True  # type: ignore[attr-defined]
