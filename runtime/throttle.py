"""Failed-authentication throttling per source address: exponential back-off, then a temporary lockout.

A listener asks :meth:`AuthThrottle.check` before it spends anything on a
credential (a scrypt derivation, a code lookup, a password compare) and tells
:meth:`AuthThrottle.failed` / :meth:`AuthThrottle.succeeded` the outcome. The
first ``free`` failures from an address cost nothing more; each further one
locks the address out for ``base`` s, doubling up to ``max_lockout`` s. While
locked out (or while ``max_in_flight`` checks from it are running) the
attempt is refused at once, without touching the credential, and counted.

The table is bounded (``max_sources``; the least recently seen address is
forgotten first) and an address that stays quiet for ``forget_after`` s starts
afresh. Pure bookkeeping on an injectable clock: no sockets, no tasks.

Defaults: 5 free failures, then 1 s, 2 s, 4 s … up to 60 s: a patient guesser
gets about one guess a minute per address.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from .clock import Clock

__all__ = ["AuthThrottle", "Verdict"]


@dataclass(slots=True)
class _Source:
    failures: int = 0
    locked_until: float = 0.0
    in_flight: int = 0
    last_seen: float = 0.0
    told: bool = False  # refused once during the current lockout


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of :meth:`AuthThrottle.check`: allowed, or refused with the seconds to wait."""

    allowed: bool
    retry_after: float = 0.0

    def __bool__(self) -> bool:
        return self.allowed


class AuthThrottle:
    """Failed attempts per source address (an IP string).

    Args:
        clock: Its ``monotonic()`` times lockouts.
        free: Failures allowed before the first lockout (default 5).
        base: First lockout in s (default 1).
        max_lockout: Longest lockout in s (default 60).
        max_in_flight: Attempts from one address being checked at once (default 2).
        forget_after: Quiet seconds after which an address starts afresh (default 600).
        max_sources: Addresses remembered at most (default 4096).
    """

    def __init__(self, clock: Clock, free: int = 5, base: float = 1.0, max_lockout: float = 60.0,
                 max_in_flight: int = 2, forget_after: float = 600.0, max_sources: int = 4096) -> None:
        self.clock = clock
        self.free, self.base, self.max_lockout = free, base, max_lockout
        self.max_in_flight, self.forget_after, self.max_sources = max_in_flight, forget_after, max_sources
        self._sources: collections.OrderedDict[str, _Source] = collections.OrderedDict()
        #: Failed attempts seen (wrong key, code or password).
        self.failures = 0
        #: Attempts refused without a check (locked out or too many at once).
        self.throttled = 0
        #: Lockouts started.
        self.lockouts = 0

    def _source(self, addr: str) -> _Source:
        now = self.clock.monotonic()
        src = self._sources.pop(addr, None)
        if src is None or (src.in_flight == 0 and now - src.last_seen > self.forget_after
                           and now >= src.locked_until):
            src = _Source()
        src.last_seen = now
        self._sources[addr] = src  # most recently seen last
        while len(self._sources) > self.max_sources:
            self._sources.popitem(last=False)
        return src

    def check(self, addr: str) -> Verdict:
        """May ``addr`` try now? If so it holds an in-flight slot until :meth:`failed`/:meth:`succeeded`."""
        src = self._source(addr)
        now = self.clock.monotonic()
        if now < src.locked_until:
            self.throttled += 1
            src.told = True
            return Verdict(False, src.locked_until - now)
        if src.in_flight >= self.max_in_flight:
            self.throttled += 1
            src.told = True
            return Verdict(False, self.base)
        src.in_flight += 1
        return Verdict(True)

    def failed(self, addr: str) -> float:
        """An attempt from ``addr`` was wrong; returns the lockout it now has (0 = none yet)."""
        src = self._source(addr)
        src.in_flight = max(0, src.in_flight - 1)
        src.failures += 1
        self.failures += 1
        over = src.failures - self.free
        if over <= 0:
            return 0.0
        lockout = min(self.max_lockout, self.base * 2.0 ** (over - 1))
        src.locked_until = self.clock.monotonic() + lockout
        src.told = False
        self.lockouts += 1
        return lockout

    def succeeded(self, addr: str) -> None:
        """An attempt from ``addr`` was right: its failures are forgiven."""
        src = self._source(addr)
        src.in_flight = max(0, src.in_flight - 1)
        src.failures = 0
        src.locked_until = 0.0
        src.told = False

    def released(self, addr: str) -> None:
        """An attempt ended without a verdict (the client left mid-check): free its slot only."""
        src = self._sources.get(addr)
        if src is not None:
            src.in_flight = max(0, src.in_flight - 1)

    def refuse_early(self, addr: str) -> bool:
        """True if ``addr`` is locked out (or has ``max_in_flight`` checks running) and was already told
        so: its new connections may be held or dropped at accept, before any handshake (counted as throttled)."""
        src = self._sources.get(addr)
        busy = src is not None and src.in_flight >= self.max_in_flight
        if src is None or not src.told or not (busy or self.clock.monotonic() < src.locked_until):
            return False
        self.throttled += 1
        return True

    def locked_sources(self) -> int:
        """Addresses locked out right now."""
        now = self.clock.monotonic()
        return sum(1 for s in list(self._sources.values()) if s.locked_until > now)

    def counters(self) -> dict[str, int]:
        """``auth_failures``, ``auth_throttled``, ``auth_lockouts``, ``throttled_sources`` (locked now)."""
        return {"auth_failures": self.failures, "auth_throttled": self.throttled, "auth_lockouts": self.lockouts,
                "throttled_sources": self.locked_sources()}
