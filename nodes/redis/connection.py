"""One Redis connection kept up on a declared reconnect policy (used by ``redis_pub`` and ``redis_sub``).

redis-py's own retries are switched off: the node's ``reconnect`` policy
(backoff + jitter, :data:`~.links.REDIS`) is the one schedule, shown in
``status()``. Each connection is a *session*: a command connection (publish)
and a pub/sub connection subscribed to the node's channels; the session runs
until either fails, then the node waits its backoff and starts a new one.
An outage is logged once (a warning), its retries at debug level, the
recovery at info; every loss and failed attempt is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Awaitable, Callable

from mcav.runtime.clock import Clock, wait_for
from mcav.runtime.health import HealthStat
from mcav.runtime.policies import Backoff, ReconnectPolicy

__all__ = ["LINK_ERRORS", "REDIS_HEALTH", "RedisLink", "first_failure", "missing_redis"]

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError:  # the optional extra is not installed: the nodes say so when they start
    aioredis = None  # type: ignore[assignment]
    RedisError = OSError  # type: ignore[assignment,misc]

#: What a lost or refused connection raises.
LINK_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError, EOFError)

Session = Callable[[Any, Any], Awaitable[None]]

#: Health stats of both Redis kinds (``/health``, ``vj_state``, the ``[HEALTH]`` line): ``Redis: connected (reconn=0)``.
REDIS_HEALTH = (
    HealthStat("redis_connected", "any", doc="the link to Redis is up", group="Redis"),
    HealthStat("redis_reconnects", doc="reconnections to Redis", group="Redis", label="reconn"),
)


def missing_redis() -> str | None:
    """Why the Redis client cannot be used (None when it can)."""
    if aioredis is None:
        return "the Redis client is not installed: pip install 'mcav[redis]' (redis>=5, hiredis)"
    return None


class RedisLink:
    """Keeps sessions with one Redis server going.

    Args:
        url: ``redis://[:password@]host:port/db`` (``rediss://`` for TLS).
        channels: Channels the session's pub/sub connection subscribes to.
        policy: The reconnect policy (``connect_timeout`` bounds each attempt and each command).
        clock: Time source of the backoff.
        log: Where the outage is told.
    """

    def __init__(self, url: str, channels: list[str], policy: ReconnectPolicy, clock: Clock, log: logging.Logger) -> None:
        self.url = url
        self.channels = channels
        self.policy = policy
        self.clock = clock
        self.log = log
        self.connected = False
        #: Sessions that started after an earlier one (reconnections).
        self.reconnects = 0
        self.connect_failures = 0
        self.last_error: str | None = None
        self.next_retry: float | None = None

    @property
    def command_timeout(self) -> float:
        """Seconds a command on the session's connection may take (s): the policy's ``connect_timeout``, ≥ 1."""
        return max(self.policy.connect_timeout, 1.0)

    def status(self) -> dict[str, Any]:
        retry = None if self.next_retry is None else max(0.0, round(self.next_retry - self.clock.monotonic(), 2))
        return {"redis_connected": self.connected, "redis_reconnects": self.reconnects,
                "redis_connect_failures": self.connect_failures, "redis_last_error": self.last_error,
                "redis_next_retry_s": retry}

    async def run(self, session: Session, on_down: Callable[[], None]) -> None:
        """Run ``session(cmd, pubsub)`` on each connection, forever (until cancelled).

        ``on_down()`` is called each time a session ends or an attempt fails.
        """
        backoff = Backoff(self.policy)
        outage = False  # an outage is logged once, at its start
        while True:
            try:
                await self._session(session, backoff)
                raise ConnectionError("session ended")
            except LINK_ERRORS as exc:
                self.last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            was_up, self.connected = self.connected, False
            if was_up:
                outage = False
                delay = backoff.lost()
            else:
                self.connect_failures += 1
                delay = backoff.failed() or self.policy.max
            on_down()
            if not outage:
                self.log.warning("Redis at %s %s (%s); retrying in %.2g s, then on the backoff",
                                 _safe(self.url), "lost" if was_up else "unavailable", self.last_error, delay)
            else:
                self.log.debug("Redis still unavailable (%s); retrying in %.2g s", self.last_error, delay)
            outage = True
            self.next_retry = self.clock.monotonic() + delay
            await self.clock.sleep(delay)
            self.next_retry = None

    async def _session(self, session: Session, backoff: Backoff) -> None:
        timeout = self.policy.connect_timeout
        no_retry = Retry(NoBackoff(), 0)
        # No socket timeout on commands: redis-py's runs each write in a wait_for task, a loop turn later
        # (issue 17); every command is bounded by its caller instead (command_timeout).
        cmd = aioredis.Redis.from_url(self.url, retry=no_retry, socket_connect_timeout=timeout, socket_timeout=None,
                                      single_connection_client=True)
        listen = aioredis.Redis.from_url(self.url, retry=no_retry, socket_connect_timeout=timeout, socket_timeout=None)
        pubsub = listen.pubsub(ignore_subscribe_messages=True)
        try:
            await wait_for(cmd.ping(), timeout, self.clock)
            await wait_for(pubsub.subscribe(*self.channels), timeout, self.clock)
            again = backoff.ever_connected
            backoff.connected()
            self.connected = True
            self.reconnects += again
            self.log.info("Redis at %s %s", _safe(self.url), "back: reconnected" if again else "connected")
            await session(cmd, pubsub)
        finally:
            for closing in (pubsub.aclose(), cmd.aclose(), listen.aclose()):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(closing, 1.0)


async def first_failure(*aws: Awaitable[None]) -> None:
    """Run ``aws`` together until one fails (its exception is raised); the others are cancelled."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            t.result()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _safe(url: str) -> str:
    """``url`` without its password (never logged)."""
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, _ = head.partition("://")
    return f"{scheme}://***@{tail}"
