"""The midi node end to end: real rtmidi ports (JACK), a running graph, the show changing, learn mode."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

mido = pytest.importorskip("mido", reason="the midi extra (mido, python-rtmidi) is not installed")

from conftest import build  # noqa: E402
from pythonosc import osc_message_builder, osc_packet  # noqa: E402
from jack_support import jack  # noqa: E402,F401 - the fixture
from vj_support import running, wait_until  # noqa: E402

from mcav.nodes.midi.mapping import load_map  # noqa: E402
from mcav.nodes.midi.transport import attach  # noqa: E402

MAP = """\
notes:
  36: pattern bars
  37: pattern 2
  38: blackout
  39: scene Intro
  40: effect flash
cc:
  1: band 0
  6: entities
"""


def graph(tmp_path: Path, midi: str) -> str:
    (tmp_path / "pads.yaml").write_text(MAP)
    return f"""
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: 0}}
  viz: {{kind: pattern, in: djs, entities: 16}}
  show: {{kind: show, state_file: "{tmp_path / 'show.yaml'}", save_delay: 0}}
  osc: {{kind: osc, port: 0}}
  midi: {{kind: midi, api: jack, map: "{tmp_path / 'pads.yaml'}", retry: 0.1{midi}}}
"""


def test_a_controller_port_drives_the_show(jack: Any, tmp_path: Path) -> None:
    pads = jack.open_output("pads", virtual=True)  # a controller, as the node finds it: an input port by name
    try:
        with running(build(graph(tmp_path, ", port: pads"))) as rt:
            midi, viz = rt.node("midi"), rt.node("viz")
            wait_until(lambda: midi.status()["port"], what="the node to open the controller's port")
            assert "pads" in midi.status()["port"]
            pads.send(mido.Message("note_on", note=36, velocity=90))
            wait_until(lambda: viz.state()["pattern"] == "bars", what="note 36 → pattern bars")
            pads.send(mido.Message("note_on", note=37, velocity=90))
            wait_until(lambda: viz.state()["pattern"] == viz.patterns()[1]["id"], what="note 37 → pattern 2")
            pads.send(mido.Message("control_change", control=1, value=127))
            pads.send(mido.Message("control_change", control=6, value=127))
            wait_until(lambda: viz.state()["band_sensitivity"][0] == 2.0 and viz.state()["entity_count"] == 256,
                       what=f"faders {viz.state()} {midi.status()}")
            pads.send(mido.Message("note_on", note=38, velocity=1))
            try:
                wait_until(lambda: viz.state()["blackout"] is True, what="note 38 → blackout")
            except AssertionError:
                raise AssertionError(f"{midi.status()} {viz.state()}")
            pads.send(mido.Message("note_on", note=39, velocity=1))  # no scene Intro: an error, counted
            pads.send(mido.Message("note_on", note=99, velocity=1))  # not mapped
            wait_until(lambda: midi.status()["errors"] == 1 and midi.status()["unmapped"] == 1)
            st = midi.status()
            assert st["applied"] == 5 and st["messages"] == 7 and st["dropped_full"] == 0
    finally:
        pads.close()


def test_learn_from_osc_binds_the_next_note_and_saves_the_map(jack: Any, tmp_path: Path) -> None:
    with running(build(graph(tmp_path, ", port: mcav-pads, virtual: true"))) as rt:
        midi, viz, osc = rt.node("midi"), rt.node("viz"), rt.node("osc")
        wait_until(lambda: midi.status()["port"] and osc.status()["port"])
        name = wait_until(lambda: next((n for n in jack.get_output_names() if "mcav-pads" in n), None))
        pads = jack.open_output(name)  # a DAW sending to mcav's virtual port
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(5)

            def send(address: str, *args: object) -> str:
                b = osc_message_builder.OscMessageBuilder(address=address)
                for a in args:
                    b.add_arg(a)
                sock.sendto(b.build().dgram, ("127.0.0.1", osc.status()["port"]))
                (timed,) = osc_packet.OscPacket(sock.recvfrom(65536)[0]).messages
                return str(timed.message.address)

            assert send("/mcav/pattern", "galaxy") == "/mcav/ok"
            assert send("/mcav/scene/save", "Intro") == "/mcav/ok"
            assert send("/mcav/pattern", "bars") == "/mcav/ok"
            assert send("/mcav/midi/learn", "dance") == "/mcav/error"  # not an action: refused, named
            assert send("/mcav/midi/learn", "scene Intro") == "/mcav/ok"
            assert midi.status()["learning"] == "scene Intro"
            pads.send(mido.Message("note_on", note=60, velocity=100, channel=3))
            wait_until(lambda: midi.status()["learned"] == 1, what="note 60 to be learnt")
            assert viz.state()["pattern"] == "bars"  # learning binds, it does not fire
            assert midi.mapping()["notes"]["60"] == "scene Intro" and midi.mapping()["learning"] is None
            saved = load_map(tmp_path / "pads.yaml")
            assert saved.notes[60].text() == "scene Intro" and saved.notes[36].text() == "pattern bars"
            pads.send(mido.Message("note_on", note=60, velocity=100))
            wait_until(lambda: viz.state()["pattern"] == "galaxy", what="the learnt note to recall the scene")
        finally:
            pads.close()


def test_a_controller_plugged_in_later_is_found(jack: Any, tmp_path: Path) -> None:
    with running(build(graph(tmp_path, ", port: late-pads"))) as rt:
        midi, viz = rt.node("midi"), rt.node("viz")
        assert midi.status()["port"] is None
        late = jack.open_output("late-pads", virtual=True)
        try:
            wait_until(lambda: midi.status()["port"], what="the node to find the port once it appears")
            late.send(mido.Message("note_on", note=36, velocity=90))
            wait_until(lambda: viz.state()["pattern"] == "bars")
        finally:
            late.close()


def test_a_burst_beyond_the_queue_is_dropped_oldest_first_and_counted(jack: Any, tmp_path: Path) -> None:
    pads = jack.open_output("burst", virtual=True)
    try:
        with running(build(graph(tmp_path, ", port: burst, queue: 2"))) as rt:
            midi = rt.node("midi")
            wait_until(lambda: midi.status()["port"])
            for i in range(300):
                pads.send(mido.Message("control_change", control=1, value=i % 128))
            wait_until(lambda: midi.status()["messages"] + midi.status()["dropped_full"] == 300, timeout=10,
                       what="every message handled or counted as dropped")
            assert midi.status()["messages"] >= 2
    finally:
        pads.close()


def test_any_mido_input_port_works_through_a_reader_thread() -> None:
    """A mido port without callbacks (MIDI over TCP, mido.sockets) is read by a thread until it closes."""
    from mido.sockets import PortServer, connect

    server = PortServer("127.0.0.1", 0)
    try:
        client = connect("127.0.0.1", server._socket.getsockname()[1])
        port = wait_until(lambda: server.accept(block=False), what="the server to accept")
        got: list[Any] = []
        thread = attach(port, got.append)
        assert thread is not None
        client.send(mido.Message("note_on", note=36, velocity=7))
        wait_until(lambda: got, what="the message through the reader thread")
        assert got[0].note == 36 and got[0].velocity == 7
        port.close()
        client.close()
        thread.join(5)
        assert not thread.is_alive()
    finally:
        server.close()


def test_a_bad_map_stops_the_graph_naming_the_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = graph(tmp_path, ", port: none")
    (tmp_path / "pads.yaml").write_text("notes:\n  36: pattern bars\n  37: dance\n")
    with running(build(text)) as rt:
        wait_until(rt.stop_event.is_set, what="the graph to stop")
        assert rt.exit_code == 1
    assert f"{tmp_path / 'pads.yaml'}:3: key 'notes.37': unknown action 'dance'" in caplog.text


@pytest.mark.skipif(Path("/dev/snd/seq").exists(), reason="this machine has an ALSA sequencer")
def test_without_an_alsa_sequencer_the_graph_stops_saying_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = graph(tmp_path, "").replace("api: jack", "api: alsa")
    with running(build(text)) as rt:
        wait_until(rt.stop_event.is_set, what="the graph to stop")
        assert rt.exit_code == 1
    assert "MIDI (alsa) is not available" in caplog.text
