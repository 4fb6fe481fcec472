"""MIDI learn on the browser wire without a ``midi`` node (and without Chromium or a MIDI system).

The admin panel asks ``get_midi`` on every connect: a graph without a ``midi`` node must answer
``midi_map{available: false}``, never an ``error`` (the newer MCAV panel treats one as a broken
connection). With a ``midi`` node on a real port, tests/nodes/web/test_web_midi.py drives the card.
"""

from __future__ import annotations

import asyncio

from conftest import build
from test_browser_hardening import REMOTE, port_of, vj_graph
from vj_support import RawBrowser, running

SKIP = ("state", "ping", "dj_roster", "minecraft_status")


def test_without_a_midi_node_every_midi_command_answers_not_available():
    with running(build(vj_graph())) as rt:
        port = port_of(rt)

        async def scenario() -> None:
            b = await RawBrowser.connect(port)
            await b.expect("vj_state", skip=SKIP)
            for msg in ({"type": "get_midi"}, {"type": "midi_learn", "action": "go"}, {"type": "midi_cancel_learn"}):
                reply = await b.ask(msg, "midi_map", skip=SKIP)  # anything but midi_map (an error) fails
                assert reply == {"type": "midi_map", "available": False, "mapping": {}, "learning": None}, msg
            # A malformed learn is still named (the field), and the connection stays up.
            bad = await b.ask({"type": "midi_learn"}, "error", skip=SKIP)
            assert "missing field 'action'" in bad["message"]
            assert (await b.ask({"type": "ping"}, "pong", skip=SKIP))["type"] == "pong"
            await b.ws.close()

        asyncio.run(scenario())
        assert rt.node("web").status()["unknown_commands"] == 0


def test_a_viewer_is_not_shown_the_map_nor_may_start_learning():
    with running(build(vj_graph(REMOTE))) as rt:
        port = port_of(rt)

        async def scenario() -> None:
            b = await RawBrowser.connect(port)
            await b.expect("vj_state", skip=SKIP)
            assert (await b.ask({"type": "get_midi"}, "midi_map", skip=SKIP))["available"] is False
            refused = await b.ask({"type": "midi_learn", "action": "go"}, "error", skip=SKIP)
            assert "not allowed for viewers" in refused["message"]
            await b.ws.close()

        asyncio.run(scenario())
        assert rt.node("web").status()["security"]["refused_viewer_commands"] == 1
