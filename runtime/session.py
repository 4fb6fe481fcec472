"""The vocabulary of sans-I/O link sessions: what a session is told and what it asks for.

A node kind writes its protocol as a :class:`ClientSession` — one object per
connection attempt, fed text messages and times, answering with actions — and
the runtime's :class:`~mcav.runtime.link.LinkSupervisor` carries the actions
out. Nothing here does I/O, so sessions are tested with plain strings and times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "Action",
    "ClientSession",
    "Close",
    "Dead",
    "Deliver",
    "Established",
    "Fail",
    "Instant",
    "Refused",
    "Send",
    "Wait",
]


@dataclass(frozen=True, slots=True)
class Instant:
    """The time of an event: ``mono`` (monotonic s, for durations) and ``wall`` (epoch s, for the wire)."""

    mono: float
    wall: float



@dataclass(frozen=True, slots=True)
class Send:
    """Send ``text`` to the peer."""

    text: str


@dataclass(frozen=True, slots=True)
class Established:
    """The handshake is complete: the link is up."""

    detail: str = ""


@dataclass(frozen=True, slots=True)
class Wait:
    """The handshake goes on without a deadline (e.g. waiting for a human to approve)."""

    detail: str = ""


@dataclass(frozen=True, slots=True)
class Deliver:
    """A message for the node (the supervisor's ``on_message``)."""

    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Dead:
    """The peer is not answering: close, back off, reconnect."""

    reason: str


@dataclass(frozen=True, slots=True)
class Refused:
    """The peer refused us for good (bad credentials, banned): never retry."""

    reason: str


@dataclass(frozen=True, slots=True)
class Fail:
    """The handshake failed (e.g. a malformed reply): close with 1011; a failed attempt, retried after backoff."""

    reason: str


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection with ``code`` and ``reason`` (then reconnect as after a loss)."""

    code: int
    reason: str


Action = Send | Established | Wait | Deliver | Dead | Refused | Fail | Close


class ClientSession(Protocol):
    """The protocol of one connection attempt, without I/O (a new session per attempt)."""

    def start(self, now: Instant) -> list[Action]:
        """Just connected: the first messages (e.g. the auth request)."""

    def receive(self, text: str, now: Instant) -> list[Action]:
        """One message arrived."""

    def tick(self, now: Instant) -> list[Action]:
        """A heartbeat interval passed (only once established): a keepalive, or ``Dead``."""

    def closed(self, code: int | None, reason: str) -> list[Action]:
        """The peer closed the connection; ``Refused`` if that code means "never come back"."""
