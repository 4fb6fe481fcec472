"""The Redis hop without sockets: channel names, message shapes, the edge's mirror, Scenes rebuilt, the outbox."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from vj_support import make_scene

from mcav.nodes.interfaces import LinkDown
from mcav.nodes.redis import protocol as P
from mcav.nodes.redis.mirror import ShowMirror
from mcav.nodes.redis.outbox import Outbox
from mcav.nodes.redis.scene import scene_from_state
from mcav.nodes.statewire import StateEncoder


def test_channels_are_named_after_the_show_and_bad_names_are_refused() -> None:
    ch = P.Channels("stage-1")
    assert (ch.state, ch.events, ch.rpc, ch.reply("e1")) == (
        "mcav:stage-1:state", "mcav:stage-1:events", "mcav:stage-1:rpc", "mcav:stage-1:reply:e1")
    for bad in ("", "a b", "x:y", "z" * 65):
        with pytest.raises(ValueError, match="show name"):
            P.Channels(bad)


def test_state_messages_carry_frame_number_and_times_before_the_browser_bytes() -> None:
    data = P.pack_state(1234, 1_700_000_000_000_000_000, 1_700_000_000_001_000_000, '{"type":"state"}')
    msg = P.unpack_state(data)
    assert (msg.seq, msg.t_capture_ns, msg.t_publish_ns, msg.text) == (
        1234, 1_700_000_000_000_000_000, 1_700_000_000_001_000_000, b'{"type":"state"}')
    for bad in (b"", b"MCS1", b"XXXX" + data[4:]):
        with pytest.raises(P.ProtocolError, match="not a state message"):
            P.unpack_state(bad)


def test_control_messages_round_trip_and_bad_ones_are_named() -> None:
    call = P.decode(P.call("e:1", "mcav:main:reply:e", "pattern_control", "set_pattern", ["wave"], {}).encode())
    assert call == {"type": "call", "id": "e:1", "reply_to": "mcav:main:reply:e", "interface": "pattern_control",
                    "call": "set_pattern", "args": ["wave"], "kwargs": {}}
    assert P.decode(P.event(3, "dj_roster", "live", {"dj_id": "a"}))["data"] == {"dj_id": "a"}
    assert P.decode(P.heartbeat(3, "run1", 5))["run"] == "run1"
    with pytest.raises(P.ProtocolError, match="unknown message type 'nope'"):
        P.decode('{"type":"nope"}')
    with pytest.raises(P.ProtocolError, match="field 'seq' must be int"):
        P.decode('{"type":"event","seq":true,"interface":"x","name":"y","data":{}}')
    with pytest.raises(P.ProtocolError, match="UTF-8"):
        P.decode(b"\xff\xfe")


@pytest.mark.parametrize("exc, kind", [(ValueError("bad key"), ValueError), (LinkDown("mc down"), LinkDown),
                                        (TimeoutError("slow"), TimeoutError), (RuntimeError("bug"), P.RemoteError)])
def test_a_failed_call_is_raised_at_the_edge_as_its_own_kind(exc: Exception, kind: type) -> None:
    with pytest.raises(kind, match=str(exc)):
        P.raise_remote(P.decode(P.error_reply("id", exc)))
    assert P.decode(P.reply("id", {"a": 1}))["result"] == {"a": 1}


def test_source_lost_is_a_link_down_and_a_value_error() -> None:
    err = P.SourceLost("gone")
    assert isinstance(err, LinkDown) and isinstance(err, ValueError)


def _snapshot(seq: int, run: str = "r1") -> dict:
    return {"run": run, "seq": seq, "pattern": {"state": {"pattern": "spectrum", "entity_count": 64}, "patterns": [{"id": "spectrum"}]},
            "djs": {"roster": [{"dj_id": "a"}], "pending": [], "live": {"dj_id": "a", "dj_name": "A", "direct": False}},
            "minecraft": {"connected": True, "zone": "main"}}


def _event(seq: int, iface: str, name: str, data: dict) -> dict:
    return P.decode(P.event(seq, iface, name, data))


def test_the_mirror_applies_a_snapshot_then_only_newer_events_in_order() -> None:
    m = ShowMirror()
    assert m.on_event(_event(5, "pattern_control", "changed", {"pattern": "early"}))[0] == "buffered"
    assert m.on_event(_event(6, "pattern_control", "changed", {"pattern": "wave"}))[0] == "buffered"
    out = m.apply_snapshot(_snapshot(5))
    assert ("pattern", "changed", {"pattern": "wave"}) in out  # #5 is in the snapshot, #6 is newer
    assert m.pattern_state["pattern"] == "wave" and m.seq == 6 and m.mc_info["connected"] is True
    assert m.on_event(_event(6, "pattern_control", "changed", {"pattern": "old"})) == ("stale", [])
    assert m.on_event(_event(8, "pattern_control", "changed", {"pattern": "x"}))[0] == "resync"  # #7 missed
    verdict, events = m.on_event(_event(7, "dj_roster", "message", {"type": "dj_pending", "dj": {"dj_id": "b"}}))
    assert verdict == "applied" and events[0][:2] == ("djs", "message") and m.pending == [{"dj_id": "b"}]
    m.on_event(_event(8, "dj_roster", "message", {"type": "dj_approved", "dj_id": "b"}))
    assert m.pending == []
    assert m.on_heartbeat({"run": "r1", "seq": 8}) is False
    assert m.on_heartbeat({"run": "r1", "seq": 9}) is True  # an event was lost on the way
    assert m.on_heartbeat({"run": "r2", "seq": 0}) is True  # the VJ restarted
    assert m.lose() == [("minecraft", "link", {"connected": False, "zone": "main"})] and not m.synced


def test_a_scene_rebuilt_from_the_state_text_encodes_to_the_same_state() -> None:
    enc = StateEncoder()
    scene = make_scene(16, seq=77, bpm=128.0, beat=True)
    dj = {"active_dj": "dj_a", "latency_ms": 3.5, "ping_ms": 1.0, "pipeline_latency_ms": 4.0, "fps": 60.0}
    text = enc.encode(scene, dj)
    rebuilt, parsed = scene_from_state(text.encode(), 123, 64)
    assert rebuilt.seq == 77 and rebuilt.t_capture == 123 and rebuilt.count == 16 and parsed["active_dj"] == "dj_a"
    assert StateEncoder().encode(rebuilt, dj) == text  # the edge's browsers get the VJ's bytes
    dark, _ = scene_from_state(enc.encode(make_scene(16, blackout=True), {}), 0, 32)
    assert dark.blackout and dark.count == 32 and not dark.visible.any()
    with pytest.raises(ValueError, match="not a state message"):
        scene_from_state(b'{"type":"state"}', 0, 64)
    assert np.allclose(rebuilt.x, scene.x, atol=1e-3)


def test_an_edge_scene_carries_the_vjs_bytes_and_parses_its_entities_only_when_read() -> None:
    text = StateEncoder().encode(make_scene(16, seq=5), {"active_dj": "dj_a"})
    scene, head = scene_from_state(text.encode(), 0, 64)
    assert scene.state_text == text and "entities" not in head and head["active_dj"] == "dj_a"
    assert scene.features.seq == 5 and scene.count == 16  # the first read of an array parses the list
    broken, _ = scene_from_state(text.replace('"x":', '"x":"far",', 1).encode(), 0, 64)  # a head that parses
    with pytest.raises(ValueError, match="bad entities"):
        broken.x  # noqa: B018 (the read is the test)


def test_the_outbox_is_bounded_with_counted_drops_and_control_first() -> None:
    async def scenario() -> None:
        box = Outbox(control_slots=2, state_slots=2)
        for i in range(5):
            box.put_state("s", bytes([i]))
        assert box.put_control("c", "1") and box.put_control("c", "2") and not box.put_control("c", "3")
        assert (box.dropped_state, box.dropped_control) == (3, 1)
        await asyncio.wait_for(box.wait(), 1)
        assert box.take() == [("c", "1"), ("c", "2"), ("s", b"\x03"), ("s", b"\x04")]
        box.put_state("s", b"x")
        assert box.discard() == 1 and box.dropped_state == 4 and len(box) == 0

    asyncio.run(scenario())



def test_a_bad_show_name_is_a_graph_error_naming_the_node_and_key() -> None:
    from conftest import build

    with pytest.raises(Exception, match=r"(?s)node 'sub'.*show name must be"):
        build("graph: g\nnodes:\n  sub: {kind: redis_sub, show: 'a b'}\n  out: {kind: discard, in: sub}\n")
    g = build("graph: g\nnodes:\n  sub: {kind: redis_sub, show: stage-2}\n  web: {kind: browser, in: sub, port: 0}\n")
    assert {c.consumer + "." + c.port: c.provider for c in g.controls} == {"web.pattern": "sub", "web.djs": "sub",
                                                                            "web.minecraft": "sub"}
