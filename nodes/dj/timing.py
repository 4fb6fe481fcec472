"""Awaiting with a timeout measured on a node's :class:`~mcav.runtime.clock.Clock` (so tests can drive it)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Awaitable, TypeVar

from mcav.runtime.clock import Clock

__all__ = ["within"]

T = TypeVar("T")


async def within(aw: Awaitable[T], clock: Clock, timeout: float | None) -> T:
    """``await aw``, but raise :class:`TimeoutError` after ``timeout`` s of ``clock`` (None = no limit).

    On timeout the awaitable is cancelled (cancelling a websockets ``recv()`` loses no message).
    """
    if timeout is None:
        return await aw
    task = asyncio.ensure_future(aw)
    timer = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await timer
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise TimeoutError(f"no answer within {timeout:g} s")
    return task.result()
