"""Matching the plugin's replies to requests, without I/O.

The plugin has no request ids. It answers its synchronous messages in order,
one reply per request, of a type fixed by the request (``get_zones`` →
``zones``…), and ``error`` may answer any of them. So: each request queues the
reply type it expects; a reply answers the oldest queued request expecting its
type (``error``: the oldest of all), and the requests queued before that one
will never be answered (the plugin skipped them). A reply nobody expects is
unsolicited (e.g. ``voice_status``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Match", "ReplyMatcher"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    """What one reply settles: the request it answers and the older ones it proves skipped."""

    answered: T
    skipped: list[T]


class ReplyMatcher(Generic[T]):
    """The queue of requests awaiting a reply; each carries a caller's token (e.g. a future, or None).

    Args:
        limit: Requests that may await a reply at once (more means the plugin stopped answering).
    """

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._queue: deque[tuple[str, T]] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def full(self) -> bool:
        """True when :attr:`limit` requests are waiting."""
        return len(self._queue) >= self.limit

    def expect(self, reply_type: str, token: T) -> None:
        """Queue a request that the plugin will answer with ``reply_type`` (or ``error``)."""
        self._queue.append((reply_type, token))

    def match(self, reply_type: str) -> Match[T] | None:
        """The request a message of ``reply_type`` answers, or None if it answers none (unsolicited)."""
        for i, (want, _) in enumerate(self._queue):
            if reply_type == "error" or want == reply_type:
                skipped = [self._queue.popleft()[1] for _ in range(i)]
                return Match(self._queue.popleft()[1], skipped)
        return None

    def clear(self) -> list[T]:
        """Forget every queued request (the connection is gone); their tokens, oldest first."""
        tokens = [t for _, t in self._queue]
        self._queue.clear()
        return tokens
