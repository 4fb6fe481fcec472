"""``clock.wait_for`` on a ManualClock: a timeout only when the clock's time passes, a cancellation stays one."""

from __future__ import annotations

import asyncio

import pytest

from mcav.runtime.clock import ManualClock, wait_for


def test_the_deadline_passes_only_when_the_manual_clock_moves() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        never: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        waiter = asyncio.ensure_future(wait_for(never, 2.0, clock))
        while clock.next_deadline() is None:  # the timer is asleep on the clock
            await asyncio.sleep(0)
        clock.advance(1.9)
        await asyncio.sleep(0)
        assert not waiter.done()
        clock.advance(0.1)
        with pytest.raises(TimeoutError, match="within 2 s"):
            await asyncio.wait_for(waiter, 5.0)
        assert never.cancelled()

    asyncio.run(scenario())


def test_a_result_before_the_deadline_is_returned() -> None:
    async def scenario() -> None:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        fut.get_loop().call_soon(fut.set_result, 7)
        assert await wait_for(fut, 2.0, ManualClock()) == 7

    asyncio.run(scenario())


def test_a_future_cancelled_by_its_owner_is_a_cancellation_not_a_timeout() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        fut.get_loop().call_soon(fut.cancel)
        with pytest.raises(asyncio.CancelledError):
            await wait_for(fut, 2.0, clock)
        assert clock.next_deadline() is None  # the timer is gone with it

    asyncio.run(scenario())
