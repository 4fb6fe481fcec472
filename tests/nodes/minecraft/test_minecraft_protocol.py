"""The :8765 message builders: shapes, `type` first, fast-path detection, sanitising, the 256 KiB limit.

These run without ../shared; the plugin stand-in adds schema validation when it is present.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from vj_support import make_scene

from mcav.nodes.minecraft import protocol
from mcav.nodes.entities import BROWSER_FIELDS, EntityEncoder


def test_every_request_puts_type_first_and_sync_ones_avoid_the_fast_path():
    for text in (protocol.ping(), protocol.pong(5), protocol.get_zones(),
                 protocol.init_pool("main", 16, "SEA_LANTERN"),
                 protocol.set_visible("main", False), protocol.dj_info("DJ A", "dj_a", 128.0),
                 protocol.forward({"zone": "main", "mode": "particles", "type": "set_render_mode"})):
        msg = json.loads(text)
        assert text.startswith('{"type":"') and next(iter(msg)) == "type"
        assert not protocol.is_fast_path(text)
        # every sync message has a known reply, except our pong (the plugin only notes it)
        assert (protocol.expected_reply(msg["type"]) is None) == (msg["type"] == "pong")


def test_init_pool_uses_material_and_checks_zone_names():
    msg = json.loads(protocol.init_pool("main", 64, "GLOWSTONE"))
    assert msg == {"type": "init_pool", "zone": "main", "count": 64, "material": "GLOWSTONE"}
    with pytest.raises(ValueError, match="invalid zone name"):
        protocol.init_pool("bad zone!", 16, "GLOWSTONE")
    with pytest.raises(ValueError, match="1-1024"):
        protocol.init_pool("main", 0, "GLOWSTONE")


def test_batch_update_carries_full_entity_set_and_tempo_fields():
    visible = np.ones(16, bool)
    visible[10:] = False
    scene = make_scene(16, seq=42, visible=visible, beat=True)
    scene.x[0] = np.nan  # sanitised, never 'NaN' on the wire
    scene.scale[1] = 9.0  # clamped to the plugin's 0-4
    [text] = protocol.BatchEncoder().encode(scene, "main", frame=42)
    assert protocol.is_fast_path(text)
    msg = json.loads(text)
    assert list(msg)[:3] == ["type", "zone", "entities"]
    assert [e["id"] for e in msg["entities"]] == [f"block_{i}" for i in range(16)]
    assert all(set(e) == {"id", "x", "y", "z", "scale"} for e in msg["entities"])
    assert [e["scale"] for e in msg["entities"][10:]] == [0] * 6  # hidden → scale 0 (no ghosts)
    assert msg["entities"][0]["x"] == 0.5 and msg["entities"][1]["scale"] == 4
    assert msg["bpm"] == 128.0 and msg["tempo_confidence"] == 0.7 and msg["beat_phase"] == 0.25
    assert msg["is_beat"] is True and msg["frame"] == 42 and len(msg["bands"]) == 5
    assert msg["particles"] == [{"particle": "NOTE", "x": 0.5, "y": 0.5, "z": 0.5, "count": 18}]


def test_blackout_batch_has_no_entities_but_keeps_audio():
    [text] = protocol.BatchEncoder(particles_on_beat=False).encode(make_scene(8, blackout=True), "main", 1)
    msg = json.loads(text)
    assert msg["entities"] == [] and msg["amplitude"] == 0.8 and "particles" not in msg


def test_oversized_scene_is_split_below_the_plugin_limit():
    n = 6000  # ~70 chars per entity: ~420 000 chars in one message
    scene = make_scene(n)
    scene.x[:] = np.float32(0.123456)
    texts = protocol.BatchEncoder().encode(scene, "main", 3)
    assert len(texts) >= 2
    assert all(len(t) <= protocol.MAX_MESSAGE_CHARS and protocol.is_fast_path(t) for t in texts)
    msgs = [json.loads(t) for t in texts]
    ids = [e["id"] for m in msgs for e in m["entities"]]
    assert ids == [f"block_{i}" for i in range(n)]
    assert "bpm" in msgs[0] and all("bpm" not in m for m in msgs[1:])


def test_encode_refuses_messages_the_plugin_would_drop():
    with pytest.raises(protocol.ProtocolError, match="262144"):
        protocol.encode({"type": "banner_config", "image_pixels": [123456789] * 30000})
    with pytest.raises(protocol.ProtocolError):
        protocol.encode({"zone": "main"})


def test_decode_rejects_non_objects():
    assert protocol.decode('{"type":"zones","zones":[]}')["type"] == "zones"
    for bad in ("not json", "[1,2]", '{"zone":"x"}', '{"type":3}'):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode(bad)


def test_fast_path_detection_matches_the_plugin_rule():
    assert protocol.is_fast_path('{"type": "audio_state","zone":"main"}')
    assert protocol.is_fast_path('{"type":"voice_audio","data":""}')
    # `type` after 60 characters: the plugin takes the sync path (and answers batch_updated)
    late = '{"zone":"main","entities":[' + '{"id":"block_0"},' * 3 + '{}],"type":"batch_update"}'
    assert not protocol.is_fast_path(late)


def test_entity_encoder_gives_the_same_objects_as_dicts_would():
    scene = make_scene(7, visible=np.array([1, 0, 1, 1, 0, 1, 1], bool))
    got = json.loads(EntityEncoder(BROWSER_FIELDS).encode(scene))
    assert [e["id"] for e in got] == [f"block_{i}" for i in range(7)]
    for i, e in enumerate(got):
        assert list(e) == ["id", *BROWSER_FIELDS]
        assert e["x"] == pytest.approx(float(scene.x[i]), abs=1e-4) and e["y"] == pytest.approx(0.1, abs=1e-4)
        assert e["band"] == i % 5 and e["visible"] is bool(scene.visible[i])


def test_entity_and_band_sanitising_gives_the_exact_wire_text():
    """NaN → the field's fill, ±inf and out-of-range → the bounds, -0.0 stays "-0": the text is pinned."""
    scene = make_scene(4, visible=np.array([1, 1, 1, 0], bool))
    scene.x[:] = [np.nan, np.inf, -np.inf, -0.0]
    scene.y[:] = [2.0, -3.0, 0.123456, 1e-7]
    scene.z[:] = [0.5, 0.5, 0.5, 0.5]
    scene.scale[:] = [np.nan, np.inf, -1.0, 2.0]  # the last is hidden: 0
    assert EntityEncoder(("x", "y", "z", "scale"), hide_invisible=True).encode(scene, 1) == (
        '[{"id":"block_1","x":1,"y":0,"z":0.5,"scale":4},{"id":"block_2","x":0,"y":0.1235,"z":0.5,"scale":0},'
        '{"id":"block_3","x":-0,"y":1e-07,"z":0.5,"scale":0}]')
    scene.features.bands[:] = [np.nan, np.inf, -np.inf, -0.0, 0.123456]
    assert protocol.audio_fields(scene.features)["bands"] == [0.0, 1.0, 0.0, 0.0, 0.1235]
