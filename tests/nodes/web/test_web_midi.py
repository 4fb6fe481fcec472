"""The admin panel's MIDI card in headless Chromium, with a real MIDI port.

A real server (``mcav run`` of a small graph: DJ input → pattern → browser, admin pages, a ``midi``
node) reads a controller's port on a JACK server of the test's own (dummy driver, jack_support.py);
the test is the controller, sending real MIDI through rtmidi. It clicks Learn, sends a note or a
CC, sees the binding appear on the card, then sends it again and sees the bound action take effect
on the server. Skips without Chromium, jackd or the midi extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from web_support import Demo, open_admin, require_chromium, server_ask, wait_js, wait_server

require_chromium()
mido = pytest.importorskip("mido", reason="the midi extra (mido, python-rtmidi) is not installed")
pytestmark = pytest.mark.browser

from jack_support import jack  # noqa: E402,F401 - the fixture

GRAPH = """\
graph: midiweb
nodes:
  djs:   {kind: dj_server, port: 9000, beat_assist: false}
  viz:   {kind: pattern, in: djs, pattern: spectrum, entities: 16}
  web:   {kind: browser, in: viz, port: 8766, control: {pattern: viz, djs: djs, midi: pads}}
  admin: {kind: admin_http, port: 8080, control: {browser: web, pattern: viz}}
  pads:  {kind: midi, api: jack, port: mcav-web-pads, map: pads.yaml, retry: 0.1, control: {pattern: viz}}
"""

MAP = """\
notes:
  36: pattern bars
cc:
  1: band 0
"""


@pytest.fixture(scope="module")
def controller(jack: Any) -> Iterator[Any]:
    """The test's controller: a JACK MIDI output port the server's ``midi`` node opens by name."""
    port = jack.open_output("mcav-web-pads", virtual=True)
    yield port
    port.close()


@pytest.fixture(scope="module")
def server(controller: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("midiweb")
    (folder / "pads.yaml").write_text(MAP)
    graph = folder / "midiweb.yaml"
    graph.write_text(GRAPH)
    d = Demo(graph=graph, listeners=("djs",), minecraft=False).start()  # (JACK_DEFAULT_SERVER: the test's)
    d.map_file = folder / "pads.yaml"
    yield d
    d.stop()


def midi_map(server: Demo) -> dict[str, Any]:
    return server_ask(server, "midi_map", {"type": "get_midi"})


def learn(page: Any, server: Demo, action: str) -> None:
    """Choose ``action`` on the card and press Learn; the server then waits for a note or CC."""
    page.select_option("#midi-action", action)
    page.click("#midi-learn")
    page.wait_for_selector("#midi-status >> text=waiting for a note or CC…")
    assert midi_map(server)["learning"] == action
    assert page.is_disabled("#midi-learn") and not page.is_disabled("#midi-cancel")


def test_learn_a_note_on_the_card_then_play_it(context: Any, server: Demo, controller: Any) -> None:
    page = open_admin(context, server)
    page.wait_for_selector('#midi-map [data-binding="note 36"][data-action="pattern bars"]')
    assert page.is_hidden("#no-midi-node")
    wait_server(server, lambda s: s["current_pattern"] == "spectrum")
    wait_js(page, "document.querySelector('#midi-action option[value=\"pattern galaxy\"]') !== null")
    assert page.locator('#midi-action option[value="beat_rate 2"]').count() == 1  # the beat rate is learnable

    learn(page, server, "pattern galaxy")
    controller.send(mido.Message("note_on", note=60, velocity=100))
    page.wait_for_selector('#midi-map [data-binding="note 60"][data-action="pattern galaxy"]')
    page.wait_for_selector("#midi-status >> text=Learnt: note 60 → pattern galaxy")
    assert not page.is_disabled("#midi-learn") and page.is_disabled("#midi-cancel")
    after = midi_map(server)
    assert after["available"] is True and after["learning"] is None
    assert after["mapping"]["notes"] == {"36": "pattern bars", "60": "pattern galaxy"}
    assert "60: pattern galaxy" in server.map_file.read_text()  # saved on the VJ's machine
    assert server_ask(server, "vj_state")["current_pattern"] == "spectrum"  # learning binds, it does not fire

    controller.send(mido.Message("note_on", note=60, velocity=100))  # now it plays
    wait_server(server, lambda s: s["current_pattern"] == "galaxy")
    page.wait_for_selector("#now-pattern[data-pattern=galaxy]")
    assert page.errors == []


def test_learn_a_fader_and_cancel_learning(context: Any, server: Demo, controller: Any) -> None:
    page = open_admin(context, server)
    page.wait_for_selector('#midi-map [data-binding="cc 1"]')

    learn(page, server, "freeze")
    page.click("#midi-cancel")
    page.wait_for_selector("#midi-status >> text=press Learn")
    assert midi_map(server)["learning"] is None and page.is_disabled("#midi-cancel")

    learn(page, server, "band 2")
    controller.send(mido.Message("control_change", control=20, value=127))
    page.wait_for_selector('#midi-map [data-binding="cc 20"][data-action="band 2"]')
    page.wait_for_selector("#midi-status >> text=Learnt: CC 20 → band 2")
    controller.send(mido.Message("control_change", control=20, value=0))  # the fader, all the way down
    wait_server(server, lambda s: s["band_sensitivity"][2] == 0.0)
    assert page.errors == []
