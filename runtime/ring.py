"""Bounded ring buffers: the only queues between threads in a graph.

A :class:`Ring` holds references to frames in a preallocated list of
``slots`` entries. What happens when it is full is its *policy*:

========================  =========================================================
``downstream``            drop the oldest queued frame (default; right for visuals)
``upstream``              drop the new frame
``no``                    block the producer until there is room (files, offline)
``latest``                one slot, always the newest frame (conflation)
========================  =========================================================

Drops are counted, never silent. One producer thread and one consumer (a
worker thread or the asyncio loop) use a ring; the consumer batch-drains
everything available, as the Disruptor's consumers do.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Literal, TypeVar

__all__ = ["LEAKY_POLICIES", "Ring", "RingClosed"]

T = TypeVar("T")
Leaky = Literal["downstream", "upstream", "no", "latest"]
LEAKY_POLICIES: tuple[str, ...] = ("downstream", "upstream", "no", "latest")


class RingClosed(Exception):
    """Raised to a blocked producer when the ring was closed under it."""


class Ring(Generic[T]):
    """A bounded FIFO of frame references with a drop policy.

    Args:
        slots: Capacity in frames (forced to 1 for ``latest``).
        leaky: Policy when full (see module docs). Default ``downstream``.
        name: For metrics and logs, e.g. ``"fft.out->beat.in"``.
    """

    def __init__(self, slots: int = 4, leaky: Leaky = "downstream", name: str = "") -> None:
        if leaky not in LEAKY_POLICIES:
            raise ValueError(f"unknown leaky policy {leaky!r}; use one of {', '.join(LEAKY_POLICIES)}")
        if slots < 1:
            raise ValueError(f"a ring needs at least 1 slot, got {slots}")
        self.slots = 1 if leaky == "latest" else slots
        self.leaky: Leaky = leaky
        self.name = name
        self._buf: list[T | None] = [None] * self.slots
        self._read = 0  # monotonic index of the oldest queued frame
        self._write = 0  # monotonic index of the next free slot
        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)
        self._closed = False
        #: Called (outside the lock) after each successful push; wakes the consumer.
        self.notify: Callable[[], None] | None = None
        #: Set by the consumer while it is processing; a push then counts an xrun.
        self.consumer_busy = False
        self.pushes = 0
        #: Frames lost: evicted or refused because the ring was full (a consumer too slow).
        self.drops = 0
        #: Frames skipped by design: replaced in a ``latest`` ring, or skipped by a consumer
        #: that reads only the newest (a 94 fps analysis feeding a 60 fps relay).
        self.decimated = 0
        self.xruns = 0
        self.high_water = 0

    def __len__(self) -> int:
        return self._write - self._read

    @property
    def closed(self) -> bool:
        """True once the producer closed the ring (no more frames will come)."""
        return self._closed

    def push(self, item: T, timeout: float | None = None) -> bool:
        """Queue ``item``; return False if a frame (this or an older one) was dropped.

        With policy ``no`` this blocks while full, up to ``timeout`` s (None =
        until room or :meth:`close`); a timeout drops the item and counts it.

        Raises:
            RingClosed: if the ring is closed (before or while blocking).
        """
        dropped = False
        with self._lock:
            if self._closed:
                raise RingClosed(self.name)
            if self.consumer_busy:
                self.xruns += 1
            if self._write - self._read >= self.slots:
                if self.leaky == "upstream":
                    self.drops += 1
                    return False
                if self.leaky == "no":
                    ok = self._not_full.wait_for(
                        lambda: self._closed or self._write - self._read < self.slots, timeout
                    )
                    if self._closed:
                        raise RingClosed(self.name)
                    if not ok:
                        self.drops += 1
                        return False
                else:  # downstream / latest: evict the oldest
                    self._buf[self._read % self.slots] = None
                    self._read += 1
                    if self.leaky == "latest":  # newest wins: replacing is what was asked for
                        self.decimated += 1
                    else:
                        self.drops += 1
                        dropped = True
            self._buf[self._write % self.slots] = item
            self._write += 1
            self.pushes += 1
            fill = self._write - self._read
            if fill > self.high_water:
                self.high_water = fill
        if self.notify is not None:
            self.notify()
        return not dropped

    def pop_all(self) -> list[T]:
        """Take every queued frame, oldest first (possibly none)."""
        with self._lock:
            n = self._write - self._read
            if n == 0:
                return []
            out: list[T] = []
            for i in range(self._read, self._write):
                slot = i % self.slots
                out.append(self._buf[slot])  # type: ignore[arg-type]
                self._buf[slot] = None
            self._read = self._write
            self._not_full.notify_all()
            return out

    def count_drops(self, n: int) -> None:
        """Count ``n`` frames lost after they were queued."""
        with self._lock:
            self.drops += n

    def count_decimated(self, n: int) -> None:
        """Count ``n`` frames the consumer skipped by design (reading only the newest)."""
        with self._lock:
            self.decimated += n

    def close(self) -> None:
        """No more frames will be pushed; wakes a blocked producer and the consumer."""
        with self._lock:
            self._closed = True
            self._not_full.notify_all()
        if self.notify is not None:
            self.notify()
