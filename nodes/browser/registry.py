"""The browser command registry: one handler per command ``type``, found by dict lookup.

A handler ``async def h(srv, client, msg)`` replies with ``client.send(...)``
and tells everyone with ``srv.broadcast(...)``. Bad arguments raise
:class:`ValueError` with a clear message (the server turns it into
``{"type":"error"}``; nothing has changed). ``mutating`` commands need an
operator when a password is set, and spend the client's rate budget. The
handlers live in :mod:`.commands` (show, DJs) and :mod:`.commands_mc`
(Minecraft, banners); importing them registers them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    from .clients import Client
    from .server import BrowserServer

__all__ = ["COMMANDS", "Command", "command", "field"]

Handler = Callable[["BrowserServer", "Client", dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    handler: Handler
    mutating: bool


COMMANDS: dict[str, Command] = {}


def command(*names: str, mutating: bool = True) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for n in names:
            COMMANDS[n] = Command(fn, mutating)
        return fn

    return register


def field(msg: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """``msg[name]`` checked against ``kind`` (bools are not numbers); ValueError names the field."""
    if name not in msg:
        if default is ...:
            raise ValueError(f"missing field '{name}'")
        return default
    v = msg[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(v, bool) and bool not in kinds or not isinstance(v, kinds):
        want = " or ".join(k.__name__ for k in kinds)
        raise ValueError(f"field '{name}' must be {want}, got {v!r}")
    if isinstance(v, float) and not math.isfinite(v):  # JSON text may say NaN; it must never be stored
        raise ValueError(f"field '{name}' must be a finite number, got {v!r}")
    return v
