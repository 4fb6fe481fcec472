"""Timeouts measured on a node's clock, so tests drive them with a ManualClock."""

from __future__ import annotations

import asyncio
from typing import Awaitable, TypeVar

from mcav.runtime.clock import Clock, SystemClock

__all__ = ["clock_timeout"]

T = TypeVar("T")


async def clock_timeout(clock: Clock, seconds: float, aw: Awaitable[T]) -> T:
    """Await ``aw``; raise TimeoutError after ``seconds`` s of ``clock`` time.

    With the system clock this is :func:`asyncio.timeout`; with a manual clock
    the deadline moves only when the test advances time.
    """
    if isinstance(clock, SystemClock):
        async with asyncio.timeout(seconds):
            return await aw
    task = asyncio.ensure_future(aw)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        raise TimeoutError(f"no result within {seconds} s")
    finally:
        timer.cancel()
        if not task.done():
            task.cancel()
