"""Browser commands for MIDI learn mode (mcav's own admin panel).

The map and learn mode live in the graph's ``midi`` node (control port
``midi``, interface ``midi_control``). ``get_midi`` answers ``midi_map``;
``midi_learn{action}`` and ``midi_cancel_learn`` change learn mode and every
operator gets the new ``midi_map``; when the node binds a note or CC, every
operator gets ``midi_learned`` and the map (:meth:`~.show.ShowLinks._midi_event`).

Without a ``midi`` node every one of them answers ``midi_map{available:
false}``, never an ``error`` (the newer MCAV panel treats an error as a broken
connection). The map names a file on the VJ's machine and learn mode changes
the show's controls: viewers get ``available: false`` from ``get_midi``, and
the other two need an operator like every command that changes anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import protocol as P
from .registry import command, field

if TYPE_CHECKING:
    from .clients import Client
    from .server import BrowserServer


@command("get_midi", mutating=False)
async def _get(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(await srv.midi_state() if c.operator else P.midi_map(False))


@command("midi_learn")
async def _learn(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    action = field(msg, "action", str)
    if not srv.midi:
        c.send(P.midi_map(False))
        return
    await srv.midi.learn(action)  # ValueError (not an action) names the actions: an error reply
    await srv.announce_midi()


@command("midi_cancel_learn")
async def _cancel(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    if not srv.midi:
        c.send(P.midi_map(False))
        return
    await srv.midi.cancel_learn()
    await srv.announce_midi()
