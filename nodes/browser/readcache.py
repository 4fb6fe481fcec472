"""Short-lived answers to read-only plugin requests (``get_zones``, renderer capabilities, voice status).

Browsers ask these on every page load and some poll them; forwarding each
one to the Minecraft plugin lets any viewer load the plugin's socket. A reply
is reused for ``ttl`` s, and concurrent identical requests share the one in
flight. Anything that changes the plugin's state (any other forwarded
command) clears the cache.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from mcav.runtime.clock import Clock

__all__ = ["ReplyCache"]

Reply = dict[str, Any] | None


class ReplyCache:
    """Replies by key for ``ttl`` s (default 2), at most ``max_keys`` keys (default 32).

    Attributes:
        hits: Requests answered from the cache or from a request already in flight.
        misses: Requests that went to the plugin.
    """

    def __init__(self, clock: Clock, ttl: float = 2.0, max_keys: int = 32) -> None:
        self.clock, self.ttl, self.max_keys = clock, ttl, max_keys
        self._replies: dict[str, tuple[float, Reply]] = {}
        self._inflight: dict[str, asyncio.Future[Reply]] = {}
        self.hits = 0
        self.misses = 0

    async def get(self, key: str, fetch: Callable[[], Awaitable[Reply]]) -> Reply:
        """The cached reply for ``key``, else ``await fetch()`` (its errors propagate to every waiter)."""
        hit = self._replies.get(key)
        if hit is not None and self.clock.monotonic() - hit[0] < self.ttl:
            self.hits += 1
            return hit[1]
        pending = self._inflight.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        self.misses += 1
        task = asyncio.ensure_future(fetch())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved even if every waiter left
        self._inflight[key] = task
        try:
            reply = await asyncio.shield(task)
        finally:
            self._inflight.pop(key, None)
        if reply is not None:
            if len(self._replies) >= self.max_keys:
                self._replies.clear()
            self._replies[key] = (self.clock.monotonic(), reply)
        return reply

    def clear(self) -> None:
        """Forget every reply (the plugin's state changed)."""
        self._replies.clear()
