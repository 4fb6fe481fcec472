"""Keepalive for the sessions a server holds: ping every interval, drop who stops answering.

The server-side half of link behaviour (the client half is :mod:`.link`): a
node gives :class:`KeepAlive` its heartbeat policy and, per session, a way to
ping and a way to drop; the node's protocol only reports answers
(:meth:`KeepAlive.answered`). A session is dead after ``failure_threshold``
pings in a row go unanswered, or ``timeout`` s without an answer (either may be
unset), measured on the injected clock.
"""

from __future__ import annotations

from typing import Callable, Generic, Hashable, Iterable, TypeVar

from .clock import Clock
from .policies import HeartbeatMonitor, HeartbeatPolicy

__all__ = ["KeepAlive"]

S = TypeVar("S", bound=Hashable)


class KeepAlive(Generic[S]):
    """Heartbeats for every session of one server.

    Args:
        policy: Interval, failure threshold and/or timeout.
        clock: Time for the interval and the timeout.
        ping: Sends a ping to a session (must not block; what it returns is ignored).
        drop: Ends a dead session (must not block; e.g. spawns its close).
    """

    def __init__(self, policy: HeartbeatPolicy, clock: Clock, ping: Callable[[S], object],
                 drop: Callable[[S], None]) -> None:
        self.policy = policy
        self.clock = clock
        self._ping, self._drop = ping, drop
        self._monitors: dict[S, HeartbeatMonitor] = {}
        self._waiting: set[S] = set()
        #: Sessions dropped for not answering.
        self.timeouts = 0

    def answered(self, session: S) -> None:
        """``session`` answered (a pong, or any sign of life the protocol counts)."""
        self._waiting.discard(session)
        monitor = self._monitors.get(session)
        if monitor is not None:
            monitor.answered()

    def forget(self, session: S) -> None:
        """``session`` has ended."""
        self._monitors.pop(session, None)
        self._waiting.discard(session)

    async def run(self, sessions: Callable[[], Iterable[S]]) -> None:
        """Every ``interval`` s: count a miss for each session still owing an answer, drop the dead, ping the rest."""
        while True:
            await self.clock.sleep(self.policy.interval)
            for s in list(sessions()):
                monitor = self._monitors.get(s)
                if monitor is None:
                    monitor = self._monitors[s] = HeartbeatMonitor(self.policy, self.clock)
                if s in self._waiting:
                    monitor.missed()
                if monitor.dead:
                    self.timeouts += 1
                    self.forget(s)
                    self._drop(s)
                    continue
                self._waiting.add(s)
                self._ping(s)
