"""The bounded outgoing queue of ``redis_pub``: Redis being slow or down never slows the show.

Two lanes, both bounded, every drop counted:

* **control** (events, heartbeats, replies) — FIFO, so an edge sees a call's
  events before its reply; when full the *newest* is refused (an edge sees
  the gap in event numbers and asks for a snapshot);
* **state** (frames) — the newest ``state_slots`` frames; when full the
  *oldest* is dropped (a late frame is worth nothing).

The writer takes control first, then frames, in one batch per wake-up.
"""

from __future__ import annotations

import asyncio
import collections

__all__ = ["Outbox"]


class Outbox:
    """``(channel, payload)`` pairs waiting for the Redis writer.

    Args:
        control_slots: Control messages kept (default 1024).
        state_slots: Frames kept (default 8: ~130 ms at 60 Hz).
    """

    def __init__(self, control_slots: int = 1024, state_slots: int = 8) -> None:
        self.control: collections.deque[tuple[str, bytes | str]] = collections.deque()
        self.state: collections.deque[tuple[str, bytes | str]] = collections.deque(maxlen=state_slots)
        self.control_slots = control_slots
        self.dropped_state = 0
        self.dropped_control = 0
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self.control) + len(self.state)

    def put_control(self, channel: str, payload: bytes | str) -> bool:
        """Queue a control message; False (counted) if the lane is full."""
        if len(self.control) >= self.control_slots:
            self.dropped_control += 1
            return False
        self.control.append((channel, payload))
        self._wake.set()
        return True

    def put_state(self, channel: str, payload: bytes) -> None:
        """Queue a frame; the oldest queued frame is dropped (counted) when the lane is full."""
        if len(self.state) == self.state.maxlen:
            self.dropped_state += 1
        self.state.append((channel, payload))
        self._wake.set()

    def take(self) -> list[tuple[str, bytes | str]]:
        """Everything queued, control first (empties both lanes)."""
        batch = [*self.control, *self.state]
        self.control.clear()
        self.state.clear()
        self._wake.clear()
        return batch

    def discard(self) -> int:
        """Drop everything queued (Redis is down); the frames and messages are counted as dropped."""
        self.dropped_state += len(self.state)
        self.dropped_control += len(self.control)
        n = len(self)
        self.control.clear()
        self.state.clear()
        return n

    async def wait(self) -> None:
        """Until something is queued."""
        while not self.control and not self.state:
            self._wake.clear()
            await self._wake.wait()
