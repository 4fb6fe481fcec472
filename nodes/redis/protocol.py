"""The Redis hop between a VJ process (``redis_pub``) and its edges (``redis_sub``): names and shapes.

Sans-I/O: channel names, message bytes and their parsers, no sockets. Every
channel is named after the show, so several shows share one Redis::

    mcav:<show>:state        pub/sub, VJ → edges: one binary message per frame (:func:`pack_state`)
    mcav:<show>:events       pub/sub, VJ → edges: control-link events and heartbeats (JSON)
    mcav:<show>:rpc          pub/sub, edges → VJ: calls (JSON, with an id and where to reply)
    mcav:<show>:reply:<edge> pub/sub, VJ → one edge: the answers to its calls

Pub/sub rather than streams on purpose: the state is latest-wins (a frame
late is a frame lost), and a control call must not be replayed to a VJ
that comes back minutes later (a blackout then would be wrong); an edge
that misses anything asks for a fresh snapshot instead (events carry a
sequence number, so a gap is seen).

A ``state`` message is a fixed header — magic ``MCS1``, the VJ's frame
number, the capture time and the publish time (wall-clock ns, so an edge on
another machine can place them on its own clock) — then the UTF-8 ``state``
text of the browser wire (WIRE.md 3.2), exactly the bytes the VJ's own
browsers get.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, Mapping

from mcav.nodes.interfaces import LinkDown
from mcav.runtime import jsonwire

__all__ = [
    "Channels",
    "ProtocolError",
    "RemoteError",
    "SNAPSHOT",
    "SourceLost",
    "StateMessage",
    "call",
    "decode",
    "error_reply",
    "event",
    "heartbeat",
    "pack_state",
    "raise_remote",
    "reply",
    "unpack_state",
]

_HEADER = struct.Struct("<4sQqq")
_MAGIC = b"MCS1"
#: The pseudo-call an edge makes on (re)connect: the whole show state in one answer.
SNAPSHOT = ("show", "snapshot")


class ProtocolError(jsonwire.WireError):
    """A message on a show's channels that is not what this module writes."""


class SourceLost(LinkDown, ValueError):
    """The show is unreachable from this edge (Redis or the VJ is gone).

    A :class:`ValueError` too, so a browser command that hits it gets a clear ``error`` reply.
    """


class RemoteError(ValueError):
    """The VJ refused a call for a reason other than a bad argument (its message says why)."""


@dataclass(frozen=True, slots=True)
class Channels:
    """The channel names of show ``show`` (letters, digits, ``-``, ``_``, ``.``)."""

    show: str

    def __post_init__(self) -> None:
        if not self.show or not all(c.isalnum() or c in "-_." for c in self.show) or len(self.show) > 64:
            raise ValueError(f"show name must be 1-64 letters, digits, '-', '_' or '.', got {self.show!r}")

    @property
    def state(self) -> str:
        return f"mcav:{self.show}:state"

    @property
    def events(self) -> str:
        return f"mcav:{self.show}:events"

    @property
    def rpc(self) -> str:
        return f"mcav:{self.show}:rpc"

    def reply(self, edge: str) -> str:
        return f"mcav:{self.show}:reply:{edge}"


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateMessage:
    """One frame as published: frame number, capture and publish time (wall ns), the ``state`` text."""

    seq: int
    t_capture_ns: int
    t_publish_ns: int
    text: bytes


def pack_state(seq: int, t_capture_ns: int, t_publish_ns: int, text: str | bytes) -> bytes:
    """The bytes of one ``state`` message (``text`` is the browser wire's ``state``)."""
    body = text.encode() if isinstance(text, str) else text
    return _HEADER.pack(_MAGIC, seq, t_capture_ns, t_publish_ns) + body


def unpack_state(data: bytes) -> StateMessage:
    """Parse :func:`pack_state`'s bytes (the text is not parsed).

    Raises:
        ProtocolError: too short or not a ``state`` message.
    """
    if len(data) < _HEADER.size or data[:4] != _MAGIC:
        raise ProtocolError(f"not a state message ({len(data)} bytes, starting {bytes(data[:4])!r})")
    _, seq, t_capture, t_publish = _HEADER.unpack_from(data)
    return StateMessage(seq, t_capture, t_publish, bytes(data[_HEADER.size :]))


# -- control: events, heartbeats, calls, replies ----------------------------------------------------


def event(seq: int, interface: str, name: str, data: Mapping[str, Any]) -> str:
    """A control-link event of the VJ (``seq`` counts events of this VJ run, from 1)."""
    return jsonwire.encode({"type": "event", "seq": seq, "interface": interface, "name": name, "data": dict(data)})


def heartbeat(seq: int, run: str, t_ns: int) -> str:
    """The VJ is alive; ``seq`` is its last event's number, ``run`` names this VJ run (a restart changes it)."""
    return jsonwire.encode({"type": "hb", "seq": seq, "run": run, "t": t_ns})


def call(call_id: str, reply_to: str, interface: str, name: str, args: list[Any], kwargs: Mapping[str, Any]) -> str:
    """An edge's call of ``interface.name(*args, **kwargs)`` at the VJ; answered on ``reply_to``."""
    return jsonwire.encode({"type": "call", "id": call_id, "reply_to": reply_to, "interface": interface,
                            "call": name, "args": list(args), "kwargs": dict(kwargs)})


def reply(call_id: str, result: Any) -> str:
    """A successful call's answer (plain data)."""
    return jsonwire.encode({"type": "reply", "id": call_id, "ok": True, "result": result})


def error_reply(call_id: str, exc: BaseException) -> str:
    """A failed call's answer: the exception's kind (``ValueError``, ``LinkDown``, ``TimeoutError``…) and message."""
    kind = "LinkDown" if isinstance(exc, LinkDown) else type(exc).__name__
    return jsonwire.encode({"type": "reply", "id": call_id, "ok": False, "error": kind, "message": str(exc)[:500]})


def raise_remote(msg: Mapping[str, Any]) -> None:
    """Raise the exception a failed reply describes, as the caller's own kind where we know it."""
    kind, text = str(msg.get("error", "")), str(msg.get("message", ""))
    if kind == "ValueError":
        raise ValueError(text)
    if kind == "LinkDown":
        raise LinkDown(text)
    if kind == "TimeoutError":
        raise TimeoutError(text)
    if kind == "LookupError":
        raise LookupError(text)
    raise RemoteError(f"the VJ failed: {kind}: {text}")


_REQUIRED: dict[str, dict[str, type]] = {  # message type → its fields' types
    "event": {"seq": int, "interface": str, "name": str, "data": dict},
    "hb": {"seq": int, "run": str},
    "call": {"id": str, "reply_to": str, "interface": str, "call": str, "args": list, "kwargs": dict},
    "reply": {"id": str, "ok": bool},
}


def decode(data: str | bytes) -> dict[str, Any]:
    """Parse one control message and check its fields' types.

    Raises:
        ProtocolError: bad JSON, an unknown ``type`` or a missing or mistyped field (named).
    """
    try:
        msg = jsonwire.decode(data.decode() if isinstance(data, (bytes, bytearray)) else data)
    except UnicodeDecodeError:
        raise ProtocolError("a control message must be UTF-8 JSON text") from None
    except jsonwire.WireError as exc:
        raise ProtocolError(str(exc)) from None
    fields = _REQUIRED.get(msg["type"])
    if fields is None:
        raise ProtocolError(f"unknown message type {msg['type'][:40]!r}; types: {', '.join(_REQUIRED)}")
    for name, kind in fields.items():
        v = msg.get(name)
        if not isinstance(v, kind) or kind is int and isinstance(v, bool):
            raise ProtocolError(f"{msg['type']}: field '{name}' must be {kind.__name__}, got {json.dumps(v)[:40]}")
    return msg

