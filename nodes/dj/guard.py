"""What a wrong DJ key or connect code may cost the VJ: throttled per address, key checks bounded.

* :class:`~mcav.runtime.throttle.AuthThrottle` per source address: after 5
  failures (keys and codes together) the address is locked out for 1 s,
  doubling up to 60 s; while locked out, or while 2 of its checks are running,
  an attempt is closed with 4029 at once, before any key derivation.
* Key derivations (scrypt, 16 MiB and ~50 ms each) run on one worker thread
  of their own, never on the I/O loop and never more than one at a time; at
  most ``max_waiting`` wait for it, beyond that the attempt is closed 4029
  "Server busy". The show's frames never wait for a key check.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from mcav.runtime.budget import LogTally
from mcav.runtime.clock import Clock
from mcav.runtime.throttle import AuthThrottle, Verdict

from .auth import DJKey, KeyStore

__all__ = ["Abandoned", "AuthGuard", "Busy"]


class Busy(Exception):
    """Too many key checks are waiting already."""


class Abandoned(Exception):
    """The client left (or was cut) before its queued key check started: the check was skipped."""


class AuthGuard:
    """Per-address throttle and the bounded key-check worker of one ``dj_server``.

    Args:
        clock: Times lockouts.
        log: Where throttling is reported (once per 10 s with a count).
        workers: Key derivations at once (default 1: one core at most).
        max_waiting: Key checks allowed to queue for a worker (default 16).
    """

    def __init__(self, clock: Clock, log: logging.Logger, workers: int = 1, max_waiting: int = 16) -> None:
        self.throttle = AuthThrottle(clock)
        self.tally = LogTally(log)
        self.max_waiting = max_waiting
        self.waiting = 0
        #: Attempts refused because max_waiting checks were queued.
        self.busy = 0
        #: Queued checks skipped because the client had gone.
        self.abandoned = 0
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="mcav-keycheck")

    def admit(self, addr: str) -> Verdict:
        """May ``addr`` present a credential now? (If so, end with failed/succeeded/released.)"""
        verdict = self.throttle.check(addr)
        if not verdict:
            self.tally.note("throttle", "DJ auth from %s throttled: too many failed attempts "
                            "(locked out for %.0f s more)", addr, verdict.retry_after)
        return verdict

    def failed(self, addr: str) -> None:
        lockout = self.throttle.failed(addr)
        if lockout:
            self.tally.note("lockout", "DJ auth from %s failed again; locked out for %.0f s (%d failures in all)",
                            addr, lockout, self.throttle.failures)

    def succeeded(self, addr: str) -> None:
        self.throttle.succeeded(addr)

    def released(self, addr: str) -> None:
        self.throttle.released(addr)

    async def verify(self, keys: KeyStore, dj_id: str, key: str,
                     wanted: Callable[[], bool] = lambda: True) -> DJKey | None:
        """``keys.verify`` on the key-check worker.

        Raises:
            Busy: ``max_waiting`` checks are queued already.
            Abandoned: ``wanted()`` was False when the worker got to it (the client is gone).
        """
        if self.waiting >= self.max_waiting:
            self.busy += 1
            self.tally.note("busy", "DJ key checks: %d waiting; refusing more (server busy)", self.waiting)
            raise Busy

        def check() -> DJKey | None | Abandoned:
            return keys.verify(dj_id, key) if wanted() else Abandoned()

        self.waiting += 1
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._pool, check)
        finally:
            self.waiting -= 1
        if isinstance(result, Abandoned):
            self.abandoned += 1
            raise result
        return result

    def counters(self) -> dict[str, int]:
        """Throttle counters plus ``auth_busy``."""
        return {**self.throttle.counters(), "auth_busy": self.busy}

    def close(self) -> None:
        """Stop the worker (a running check finishes; queued ones are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
