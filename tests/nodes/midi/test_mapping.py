"""The MIDI map and router without I/O: mido Message objects in, control calls (or learnt bindings) out."""

from __future__ import annotations

from pathlib import Path

import pytest

mido = pytest.importorskip("mido", reason="the midi extra (mido) is not installed")

from mcav.nodes.actions import Call  # noqa: E402
from mcav.nodes.midi.mapping import MapProblem, load_map, parse_action, parse_map  # noqa: E402
from mcav.nodes.midi.node import DEFAULT_MAP  # noqa: E402
from mcav.nodes.midi.router import Learned, Router  # noqa: E402

MAP = """\
channel: all
notes:
  36: pattern 1
  37: pattern bars
  38: scene Big Drop
  39: effect flash
  40: {effect: strobe, intensity: 1.5, duration: 2, quantize: bar}
  41: blackout
  42: freeze on
  43: go
  44: back
  45: {pattern: galaxy, quantize: bar}
  46: beat_rate 0.5
cc:
  1: band 0
  5: band 4
  6: entities
  7: transition 4
  64: blackout
"""


def note(n: int, velocity: int = 100, channel: int = 0) -> mido.Message:
    return mido.Message("note_on", note=n, velocity=velocity, channel=channel)


def cc(n: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", control=n, value=value, channel=channel)


def test_notes_and_controllers_become_the_same_calls_as_osc() -> None:
    r = Router(parse_map(MAP))
    assert r.feed(note(36)) == Call("pattern", "set_pattern", (None,), index=1)
    assert r.feed(note(37)) == Call("pattern", "set_pattern", ("bars", None))
    assert r.feed(note(38)) == Call("show", "recall_scene", ("Big Drop", None))
    assert r.feed(note(39, velocity=127)) == Call("pattern", "trigger_effect", ("flash", 2.0, 0.5, None))
    assert r.feed(note(39, velocity=0)) is None  # running-status note-off
    assert r.feed(note(40, velocity=1)) == Call("pattern", "trigger_effect", ("strobe", 1.5, 2.0, "bar"))
    assert r.feed(note(41)) == Call("pattern", "set_blackout", (None,))
    assert r.feed(note(42)) == Call("pattern", "set_freeze", (True,))
    assert r.feed(note(43)) == Call("show", "go") and r.feed(note(44)) == Call("show", "back")
    assert r.feed(note(45)) == Call("pattern", "set_pattern", ("galaxy", "bar"))
    assert r.feed(note(46)) == Call("pattern", "set_beat_rate", (0.5,))
    assert r.feed(mido.Message("note_off", note=36)) is None
    assert r.feed(note(99)) is None
    assert r.feed(cc(1, 127)) == Call("pattern", "set_band_sensitivity", (0, 2.0))
    assert r.feed(cc(5, 0)) == Call("pattern", "set_band_sensitivity", (4, 0.0))
    assert r.feed(cc(6, 127)) == Call("pattern", "set_entity_count", (256,))
    assert r.feed(cc(6, 0)) == Call("pattern", "set_entity_count", (1,))
    assert r.feed(cc(7, 127)) == Call("pattern", "set_transition", (4.0,))
    assert r.feed(mido.Message("pitchwheel", pitch=100)) is None


def test_a_trigger_on_a_controller_fires_once_per_press() -> None:
    r = Router(parse_map(MAP))
    assert r.feed(cc(64, 127)) == Call("pattern", "set_blackout", (None,))
    assert r.feed(cc(64, 127)) is None  # held: no repeat
    assert r.feed(cc(64, 0)) is None
    assert r.feed(cc(64, 100)) == Call("pattern", "set_blackout", (None,))


def test_a_channel_map_ignores_the_other_channels() -> None:
    r = Router(parse_map(MAP.replace("channel: all", "channel: 10")))
    assert r.feed(note(36, channel=0)) is None
    assert r.feed(note(36, channel=9)) == Call("pattern", "set_pattern", (None,), index=1)


def test_learn_binds_the_next_note_or_controller_and_the_map_round_trips() -> None:
    r = Router(parse_map(MAP))
    r.learn("scene Outro")
    learnt = r.feed(note(60, channel=2))
    assert learnt == Learned(parse_action("scene Outro"), "note", 60, 3)
    assert learnt.describe() == {"action": "scene Outro", "note": 60, "channel": 3}
    assert r.learning is None and r.feed(note(60)) == Call("show", "recall_scene", ("Outro", None))
    r.learn("band 2")  # a fader waits for a controller: notes still play meanwhile
    assert r.feed(note(37)) == Call("pattern", "set_pattern", ("bars", None))
    assert isinstance(r.feed(cc(20, 3)), Learned)
    assert r.feed(cc(20, 127)) == Call("pattern", "set_band_sensitivity", (2, 2.0))
    r.learn({"effect": "wave", "quantize": "beat"})
    assert r.feed(cc(21, 0)) is None and r.learning is not None  # a button's release is not a press
    assert isinstance(r.feed(cc(21, 127)), Learned)
    again = parse_map(r.map.to_yaml())
    assert again == r.map and again.notes[60].text() == "scene Outro"
    assert again.cc[21].text() == {"effect": "wave", "quantize": "beat"}
    with pytest.raises(ValueError, match="unknown action 'dance'"):
        r.learn("dance")


def test_map_errors_name_the_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("channel: 0\nnotes:\n  36: pattern\n  200: go\n  37: band 1\n  38: {effect: flash, quantize: soon}\n"
                   "cc:\n  1: {band: 9}\n  2: nope\n  2: go\nfaders: {}\n")
    with pytest.raises(MapProblem) as caught:
        load_map(bad)
    lines = str(caught.value).splitlines()
    assert f"{bad}:1: key 'channel': channel is 1-16 or all, got 0" in lines
    assert f"{bad}:3: key 'notes.36': pattern needs an argument (e.g. 'pattern NAME')" in lines
    assert f"{bad}:4: key 'notes.200': a note number is 0-127" in lines
    assert f"{bad}:5: key 'notes.37': band is a fader: map it to a controller (cc)" in lines
    assert any(line.startswith(f"{bad}:6: key 'notes.38': quantize must be") for line in lines)
    assert f"{bad}:8: key 'cc.1': band needs a band number 0-4, got '9'" in lines
    assert any(line.startswith(f"{bad}:9: key 'cc.2': unknown action 'nope'") for line in lines)
    assert f"{bad}:10: key 'cc.2': written twice (lines 9 and 10)" in lines
    assert any(line.startswith(f"{bad}:11: key 'faders': unknown key") for line in lines)
    with pytest.raises(MapProblem, match=r"y.yaml:2: key 'notes.36': beat_rate takes 0.5, 1 or 2 .*got '3'"):
        parse_map("notes:\n  36: beat_rate 3\n", "y.yaml")
    with pytest.raises(MapProblem, match=r"x.yaml:3: malformed YAML"):
        parse_map("notes:\n  36: [unclosed\n", "x.yaml")


def test_the_default_map_loads() -> None:
    m = load_map(DEFAULT_MAP)
    assert m.notes[36].text() == "pattern 1" and m.notes[51].text() == "go"
    assert [m.cc[n].text() for n in range(1, 6)] == [f"band {b}" for b in range(5)]
