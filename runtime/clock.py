"""Clocks: the one source of time for policies (backoff, heartbeats, timeouts).

Nodes never call :func:`time.monotonic` or :func:`asyncio.sleep` for policy
timing; they ask their :class:`Clock`. Production uses :class:`SystemClock`;
tests use :class:`ManualClock` and step time forward without sleeping, like
trio's ``MockClock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Awaitable, Protocol, TypeVar, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock", "wait_for"]

T = TypeVar("T")


@runtime_checkable
class Clock(Protocol):
    """What a node may ask of time."""

    def monotonic(self) -> float:
        """Monotonic time in s (arbitrary origin)."""
        ...

    def time(self) -> float:
        """Wall-clock time in s since the Unix epoch (for wire timestamps)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` s of this clock's time."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic`, :func:`time.time`, :func:`asyncio.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that only moves when told to; safe to drive from another thread.

    ``await clock.sleep(d)`` parks the caller until :meth:`advance` moves time
    past its deadline. Tests observe what the code under test is waiting for
    with :meth:`wait_for_sleepers` / :meth:`next_deadline` and then advance.

    Args:
        start: Initial monotonic time in s. Default 1000.0.
        wall_offset: Added to :meth:`monotonic` to give :meth:`time`. Default 1.7e9.
    """

    def __init__(self, start: float = 1000.0, wall_offset: float = 1.7e9) -> None:
        self._now = start
        self._wall_offset = wall_offset
        self._cond = threading.Condition()
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        #: Every duration passed to :meth:`sleep`, in call order (s).
        self.sleep_log: list[float] = []

    def monotonic(self) -> float:
        with self._cond:
            return self._now

    def time(self) -> float:
        return self.monotonic() + self._wall_offset

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._cond:
            self.sleep_log.append(seconds)
            if seconds <= 0:
                fut.set_result(None)
            else:
                self._sleepers.append((self._now + seconds, fut))
            self._cond.notify_all()
        try:
            await fut
        finally:
            with self._cond:
                self._sleepers = [(d, f) for d, f in self._sleepers if f is not fut]

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` s, waking every sleeper now due."""
        with self._cond:
            self._now += seconds
            due = [f for d, f in self._sleepers if d <= self._now + 1e-9]
            self._sleepers = [(d, f) for d, f in self._sleepers if d > self._now + 1e-9]
        for fut in due:
            loop = fut.get_loop()
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, fut)

    def next_deadline(self) -> float | None:
        """Seconds until the earliest sleeper is due, or None if nobody sleeps."""
        with self._cond:
            if not self._sleepers:
                return None
            return min(d for d, _ in self._sleepers) - self._now

    def wait_for_sleepers(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block (a thread) until at least ``count`` coroutines are sleeping.

        Returns False on timeout (real seconds).
        """
        with self._cond:
            return self._cond.wait_for(lambda: len(self._sleepers) >= count, timeout)

    def wait_for_sleep_calls(self, count: int, timeout: float = 5.0) -> bool:
        """Block until :meth:`sleep` has been called ``count`` times in all."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.sleep_log) >= count, timeout)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def wait_for(aw: Awaitable[T], timeout: float | None, clock: Clock) -> T:
    """``await aw``, raising :class:`TimeoutError` after ``timeout`` s of ``clock`` time (None = no limit).

    Like :func:`asyncio.wait_for`, but a :class:`ManualClock` moves the deadline
    only when a test advances time. On timeout ``aw`` is cancelled (cancelling a
    websockets ``recv()`` loses no message).
    """
    if timeout is None:
        return await aw
    if isinstance(clock, SystemClock):  # the common case: no helper tasks
        async with asyncio.timeout(max(0.0, timeout)):
            return await aw
    task = asyncio.ensure_future(aw)
    timer = asyncio.ensure_future(clock.sleep(timeout))
    timed_out = False
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        timed_out = not task.done()
    finally:
        timer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await timer
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if timed_out:
        raise TimeoutError(f"no answer within {timeout:g} s")
    return task.result()  # a wrapped future cancelled by its owner raises CancelledError, not a timeout
