"""The VJ side of a DJ's handshake, without I/O: the first message and the clock sync.

The connection handler (:mod:`.handler`) does the waiting — for the first
message, a key derivation, the operator's approval, the sync reply — and asks
these functions what each step means:

* :func:`first_message` — a ``dj_auth`` / ``code_auth`` request, or the close
  code and reason MCAV uses (4002 invalid JSON, 4003 anything else);
* :func:`credentials` — the checks on a ``dj_auth`` that need no key store: an
  invalid id (4004), an id already connected (4005), a full server (4003);
* :class:`ClockSync` — one NTP-style exchange: the request at t1, then what the
  DJ's reply at t4 gives (the offset, an implausible reply, or another message
  that must be handled normally instead of dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import protocol as P
from .sanitize import clock_offset

__all__ = ["Auth", "ClockSync", "Refusal", "SyncResult", "clean_text", "credentials", "first_message"]

C = P.CloseCode


@dataclass(frozen=True, slots=True)
class Refusal:
    """Close the connection with ``code`` / ``reason``; ``log`` says why (never the key)."""

    code: int
    reason: str
    log: str


@dataclass(frozen=True, slots=True)
class Auth:
    """An authentication request: ``kind`` is ``dj_auth`` or ``code_auth``."""

    kind: str
    message: dict[str, Any]


def clean_text(value: Any, default: str, limit: int = 64) -> str:
    """A printable, stripped string of at most ``limit`` characters, else ``default``."""
    if not isinstance(value, str):
        return default
    text = "".join(ch for ch in value if ch.isprintable()).strip()[:limit]
    return text or default


def first_message(raw: str | bytes) -> Auth | Refusal:
    """What the DJ's first message is: an auth request, or how to refuse it."""
    try:
        msg = P.decode(raw)
    except P.ProtocolError as exc:
        if exc.close_code == C.INVALID_JSON:
            return Refusal(C.INVALID_JSON, "Invalid JSON", f"bad first message: {exc}")
        return Refusal(C.UNEXPECTED, "Expected dj_auth or code_auth message", f"bad first message: {exc}")
    if msg["type"] in ("dj_auth", "code_auth"):
        return Auth(msg["type"], msg)
    return Refusal(C.UNEXPECTED, "Expected dj_auth or code_auth message",
                   f"first message was {msg['type'][:40]!r}, not dj_auth/code_auth")


def credentials(msg: dict[str, Any], connected: bool, full: bool) -> tuple[str, str] | Refusal:
    """``(dj_id, display name)`` of a ``dj_auth``, or its refusal.

    Args:
        msg: The ``dj_auth`` message.
        connected: Whether a DJ of that id is connected or waiting already (asked with the checked id).
        full: Whether ``max_djs`` DJs are connected.
    """
    dj_id = clean_text(msg.get("dj_id"), "")
    if not dj_id or dj_id != msg.get("dj_id"):
        return Refusal(C.AUTH_FAILED, "Authentication failed", "dj_auth with an invalid dj_id")
    if connected:
        return Refusal(C.ALREADY_CONNECTED, "Already connected", f"DJ '{dj_id}' is already connected; refused")
    if full:
        return Refusal(C.UNEXPECTED, "Server full", f"DJ '{dj_id}' refused: the server is full (max_djs)")
    return dj_id, clean_text(msg.get("dj_name"), dj_id)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """The outcome of a clock sync: ``offset``/``rtt`` in s, or ``unexpected`` (a message to handle), or neither."""

    offset: float | None = None
    rtt: float | None = None
    unexpected: dict[str, Any] | None = None
    problem: str = ""
    invalid: bool = False  # the reply was not a message at all (counted as an invalid message)


class ClockSync:
    """One clock-sync exchange with a DJ (WIRE.md 2.2), started at server time ``t1`` (s)."""

    def __init__(self, t1: float) -> None:
        self.t1 = t1

    def request(self) -> dict[str, Any]:
        """The ``clock_sync_request``."""
        return P.clock_sync_request(self.t1)

    def reply(self, raw: str | bytes, t4: float) -> SyncResult:
        """What the message that came back at ``t4`` gives."""
        try:
            msg = P.decode(raw)
        except P.ProtocolError:
            return SyncResult(problem="clock sync reply is not a message", invalid=True)
        if msg["type"] != "clock_sync_response":
            return SyncResult(unexpected=msg)
        result = clock_offset(self.t1, msg.get("dj_recv_time"), msg.get("dj_send_time"), t4)
        if result is None:
            return SyncResult(problem="clock sync rejected (implausible timestamps)")
        return SyncResult(offset=result[0], rtt=result[1])
