"""Ring buffer policies: exact drop counts, order, blocking and closing."""

from __future__ import annotations

import threading

import pytest

from mcav.runtime.ring import Ring, RingClosed


def fill(ring: Ring[int], n: int) -> list[bool]:
    return [ring.push(i) for i in range(n)]


def test_downstream_drops_oldest_and_counts_exactly() -> None:
    ring: Ring[int] = Ring(4, "downstream")
    results = fill(ring, 10)
    assert ring.pop_all() == [6, 7, 8, 9]
    assert ring.drops == 6
    assert results == [True] * 4 + [False] * 6
    assert ring.pushes == 10 and ring.high_water == 4


def test_upstream_drops_newest_and_counts_exactly() -> None:
    ring: Ring[int] = Ring(4, "upstream")
    fill(ring, 10)
    assert ring.pop_all() == [0, 1, 2, 3]
    assert ring.drops == 6
    assert ring.pushes == 4


def test_latest_keeps_only_the_newest() -> None:
    ring: Ring[int] = Ring(8, "latest")
    assert ring.slots == 1
    fill(ring, 5)
    assert ring.pop_all() == [4]
    assert ring.decimated == 4 and ring.drops == 0  # newest wins by design: decimation, not loss


def test_block_policy_waits_for_room_and_loses_nothing() -> None:
    ring: Ring[int] = Ring(2, "no")
    got: list[int] = []
    done = threading.Event()

    def consume() -> None:
        while len(got) < 100:
            got.extend(ring.pop_all())
        done.set()

    t = threading.Thread(target=consume)
    fill(ring, 2)
    t.start()
    for i in range(2, 100):
        ring.push(i)
    assert done.wait(5)
    t.join(5)
    assert got == list(range(100))
    assert ring.drops == 0


def test_block_policy_timeout_drops_and_counts() -> None:
    ring: Ring[int] = Ring(1, "no")
    ring.push(1)
    assert ring.push(2, timeout=0.01) is False
    assert ring.drops == 1
    assert ring.pop_all() == [1]


def test_close_wakes_a_blocked_producer() -> None:
    ring: Ring[int] = Ring(1, "no")
    ring.push(0)
    raised = threading.Event()

    def produce() -> None:
        try:
            ring.push(1)
        except RingClosed:
            raised.set()

    t = threading.Thread(target=produce)
    t.start()
    ring.close()
    assert raised.wait(5)
    t.join(5)
    with pytest.raises(RingClosed):
        ring.push(2)
    assert ring.closed


def test_wraparound_keeps_fifo_order() -> None:
    ring: Ring[int] = Ring(3, "downstream")
    out: list[int] = []
    for i in range(50):
        ring.push(i)
        if i % 2:
            out.extend(ring.pop_all())
    out.extend(ring.pop_all())
    assert out == list(range(50))
    assert ring.drops == 0


def test_consumer_skips_are_counted_as_drops() -> None:
    ring: Ring[int] = Ring(8, "downstream")
    fill(ring, 5)
    ring.count_drops(len(ring.pop_all()) - 1)  # a consumer keeping only the newest
    assert ring.drops == 4


def test_push_while_consumer_busy_counts_an_xrun() -> None:
    ring: Ring[int] = Ring(4)
    ring.push(1)
    ring.consumer_busy = True
    ring.push(2)
    ring.consumer_busy = False
    ring.push(3)
    assert ring.xruns == 1


@pytest.mark.parametrize("slots,leaky", [(0, "downstream"), (4, "sideways")])
def test_invalid_rings_are_rejected(slots: int, leaky: str) -> None:
    with pytest.raises(ValueError):
        Ring(slots, leaky)  # type: ignore[arg-type]
