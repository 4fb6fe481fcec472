"""The ``pattern`` node: parameters, scenes, control API, crossfade, blackout and freeze."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import build
from pattern_support import check_scene, feed, features, pattern_node, steady

from mcav.nodes.patterns.easing import ease
from mcav.nodes.patterns.registry import MCAV_ORDER
from mcav.nodes.presets import PRESETS, get_preset
from mcav.runtime.errors import GraphInvalid

GRAPH = """
nodes:
  src: {{kind: synth, duration: 0, speed: max}}
  fft: {{kind: fft, in: src}}
  beat: {{kind: beat, in: fft}}
  viz: {{kind: pattern, in: beat, {params}}}
"""


@pytest.mark.parametrize(
    ("params", "key", "words"),
    [
        ("pattern: spectrom", "pattern", ["spectrum"]),
        ("entities: 0", "entities", ["minimum"]),
        ("entities: 1025", "entities", ["maximum"]),
        ("band_sensitivity: [1, 2.5, 1, 1, 1]", "band_sensitivity", ["2.5"]),
        ("band_sensitivity: [1, 1]", "band_sensitivity", ["5 values"]),
        ("transition: {easing: bouncy}", "transition.easing", ["smoothstep"]),
        ("preset: techno", "preset", ["edm"]),
        ("base_scale: 2, max_scale: 1", "base_scale", ["max_scale"]),
    ],
)
def test_bad_params_name_the_key(params: str, key: str, words: list[str]) -> None:
    with pytest.raises(GraphInvalid) as info:
        build(GRAPH.format(params=params))
    text = str(info.value)
    assert "viz" in text and key.split(".")[0] in text
    for w in words:
        assert w in text


def test_scene_has_exactly_n_ids_and_follows_features() -> None:
    node = pattern_node(entities=16, pattern="bars")
    scenes = feed(node, steady(0, 0.0, 30))
    for s in scenes:
        check_scene(s, 16)
        assert s.pattern == "bars" and not s.blackout and not s.frozen
    assert scenes[-1].features.seq == 29 and scenes[-1].t_capture == scenes[-1].features.t_capture


def test_preset_param_sets_band_sensitivity_unless_given() -> None:
    assert pattern_node(preset="edm").state()["band_sensitivity"] == list(PRESETS["edm"].band_sensitivity)
    given = [0.5, 1, 1, 1, 2]
    assert pattern_node(preset="edm", band_sensitivity=given).state()["band_sensitivity"] == given


def test_patterns_lists_mcav_order() -> None:
    listed = pattern_node().patterns()
    ids = [p["id"] for p in listed]
    assert ids == [k for k in MCAV_ORDER if k in ids]
    assert listed[0] == {"id": "spectrum", "name": "Stacked Tower", "description": listed[0]["description"]}
    assert all(set(p) == {"id", "name", "description"} and p["name"] and p["description"] for p in listed)


def test_state_reports_every_setting() -> None:
    node = pattern_node(entities=32, pattern="ring", transition={"duration": 0.5, "easing": "sine"})
    assert node.state() == {
        "pattern": "ring",
        "entity_count": 32,
        "band_sensitivity": [1.0] * 5,
        "preset": "auto",
        "blackout": False,
        "freeze": False,
        "transition": {"duration": 0.5, "easing": "sine"},
        "effects": [],
        "base_scale": 0.2,
        "max_scale": 1.0,
        "beat_boost": 1.5,
        "beat_rate": 1.0,
        "pending": [],
    }


@pytest.mark.parametrize(
    ("call", "args", "words"),
    [
        ("set_pattern", ("nope",), ["'nope'", "spectrum"]),
        ("set_pattern", ("spectrun",), ["did you mean 'spectrum'"]),
        ("set_pattern", (3,), ["3"]),
        ("set_entity_count", (0,), ["0", "1-1024"]),
        ("set_entity_count", (1025,), ["1025", "1-1024"]),
        ("set_entity_count", (3.5,), ["3.5"]),
        ("set_entity_count", (True,), ["True"]),
        ("set_band_sensitivity", (5, 1.0), ["band", "0-4"]),
        ("set_band_sensitivity", (0, 2.5), ["2.5", "0-2"]),
        ("set_band_sensitivity", (0, float("nan")), ["nan"]),
        ("set_preset", ("techno",), ["techno", "edm"]),
        ("set_preset", (None,), ["None"]),
        ("trigger_effect", ("sparkle",), ["sparkle", "bass_drop"]),
        ("trigger_effect", ("flash", 3.0), ["intensity", "3.0"]),
        ("trigger_effect", ("flash", -1.0), ["intensity", "-1.0", "0-2"]),
        ("trigger_effect", ("blackout", float("inf")), ["intensity", "inf"]),
        ("trigger_effect", ("flash", 1.0, 0.0), ["duration", "0"]),
        ("trigger_effect", ("flash", 1.0, 61.0), ["duration", "61"]),
        ("set_blackout", ("yes",), ["'yes'"]),
        ("set_freeze", (1,), ["1"]),
        ("set_transition", (-1.0, "linear"), ["-1", "0-30"]),
        ("set_transition", (1.0, "bouncy"), ["bouncy", "smoothstep"]),
        ("set_scales", (None, 5.0), ["max_scale", "5"]),
        ("set_scales", (None, None, 0.5), ["beat_boost", "0.5"]),
        ("set_scales", (0.8, 0.5), ["base_scale", "max_scale"]),
    ],
)
def test_invalid_control_input_is_rejected_without_any_change(call: str, args: tuple, words: list[str]) -> None:
    node = pattern_node(entities=16)
    feed(node, steady(0, 0.0, 5))
    before = node.state()
    with pytest.raises(ValueError) as info:
        getattr(node, call)(*args)
    for w in words:
        assert w in str(info.value)
    assert node.state() == before


def test_set_scales_with_one_bad_value_changes_none() -> None:
    node = pattern_node()
    with pytest.raises(ValueError):
        node.set_scales(base_scale=0.5, max_scale=9.0)
    assert node.state()["base_scale"] == 0.2
    node.set_scales(base_scale=0.5, max_scale=2.0, beat_boost=2.0)
    s = node.state()
    assert (s["base_scale"], s["max_scale"], s["beat_boost"]) == (0.5, 2.0, 2.0)


def test_set_entity_count_changes_the_next_scene() -> None:
    node = pattern_node(entities=64)
    feed(node, steady(0, 0.0, 3))
    node.set_entity_count(16.0)  # JSON numbers may arrive as floats
    check_scene(node.process(features(3, 3 / 60), "in"), 16)
    node.set_pattern("ring")  # a crossfade in progress survives a count change
    feed(node, steady(4, 4 / 60, 3))
    node.set_entity_count(256)
    scene = node.process(features(7, 7 / 60), "in")
    check_scene(scene, 256)
    assert node.state()["entity_count"] == 256


def test_band_sensitivity_and_preset_reach_the_patterns() -> None:
    loud = pattern_node(pattern="ring")
    muted = pattern_node(pattern="ring")
    for band in range(5):
        muted.set_band_sensitivity(band, 0.0)
    a = feed(loud, steady(0, 0.0, 20, bands=(0.8,) * 5))[-1]
    b = feed(muted, steady(0, 0.0, 20, bands=(0.8,) * 5))[-1]
    assert b.scale.mean() < a.scale.mean() - 0.1
    muted.set_preset("EDM")
    edm = get_preset("edm").band_sensitivity
    assert muted.state()["preset"] == "edm" and muted.state()["band_sensitivity"] == list(edm)


def test_blackout_keeps_ids_and_zeroes_every_scale() -> None:
    node = pattern_node(entities=16)
    feed(node, steady(0, 0.0, 5))
    assert node.set_blackout() is True
    s = node.process(features(5, 5 / 60), "in")
    check_scene(s, 16)
    assert s.blackout and (s.scale == 0).all() and not s.visible.any()
    assert node.state()["blackout"]
    node.trigger_effect("blackout", intensity=0.0)  # MCAV: intensity <= 0 turns it off
    s = node.process(features(6, 6 / 60), "in")
    assert not s.blackout and s.visible.any()
    node.trigger_effect("blackout")  # > 0 toggles
    assert node.state()["blackout"]
    node.trigger_effect("blackout", intensity=-1.0)
    assert not node.state()["blackout"]
    node.trigger_effect("freeze")
    node.trigger_effect("freeze", intensity=0.0)
    assert not node.state()["freeze"] and node.set_blackout(False) is False


def test_freeze_resends_the_last_entities_with_fresh_features() -> None:
    node = pattern_node(entities=16, pattern="ring")
    last = feed(node, steady(0, 0.0, 10))[-1]
    assert node.set_freeze(True) is True
    frozen = feed(node, steady(10, 10 / 60, 10, bands=(1.0,) * 5, beat=True, intensity=1.0))
    for s in frozen:
        assert s.frozen and s.features.seq >= 10
        assert np.array_equal(s.x, last.x) and np.array_equal(s.scale, last.scale)
    assert node.set_freeze() is False
    thawed = node.process(features(20, 20 / 60, bands=(1.0,) * 5), "in")
    assert not thawed.frozen and not np.array_equal(thawed.scale, last.scale)


def test_time_comes_from_the_frame_clock_and_a_pause_is_clamped() -> None:
    paused = pattern_node(pattern="wave")
    stepped = pattern_node(pattern="wave")
    feed(paused, steady(0, 0.0, 5))
    feed(stepped, steady(0, 0.0, 5))
    a = paused.process(features(5, 4 / 60 + 30.0), "in")  # 30 s later: seen as 0.25 s
    b = stepped.process(features(5, 4 / 60 + 0.25), "in")
    assert np.allclose(a.x, b.x) and np.allclose(a.z, b.z)
    c = pattern_node(pattern="wave")
    feed(c, steady(0, 0.0, 5))
    d = c.process(features(5, 4 / 60 + 0.1), "in")
    assert not np.allclose(b.x, d.x)  # the step size matters, so the clamp above did something


def _switch_run(first: str, switch_to: str, at: int, frames: int, **node_params: object) -> list:
    node = pattern_node(pattern=first, **node_params)
    out = []
    for k in range(frames):
        if k == at:
            node.set_pattern(switch_to)
        out.append(node.process(features(k, k / 60, bands=(0.6, 0.5, 0.4, 0.5, 0.6)), "in"))
    return out


@pytest.mark.parametrize("easing", ["linear", "ease_in", "smoothstep"])
def test_crossfade_blends_old_into_new_with_the_easing(easing: str) -> None:
    at, frames = 10, 10 + 40
    params = {"transition": {"duration": 0.5, "easing": easing}, "entities": 32}
    fade = _switch_run("spectrum", "ring", at, frames, **params)
    old = _switch_run("spectrum", "spectrum", at, frames, **params)  # the old pattern, never switched
    new = _switch_run("wave", "ring", at, frames, transition={"duration": 0, "easing": "linear"}, entities=32)
    for k in (at, at + 6, at + 15, at + 29):
        w = ease(easing, (k - at + 1) / 60 / 0.5)
        expect = old[k].x + (new[k].x - old[k].x) * w
        assert np.allclose(fade[k].x, expect, atol=1e-5), (k, w)
        assert fade[k].pattern == "ring"
    assert np.allclose(fade[at].x, old[at].x, atol=0.02)  # starts from the old pattern
    for k in range(at + 30, frames):  # 0.5 s = 30 frames: then exactly the new one
        assert np.array_equal(fade[k].x, new[k].x) and np.array_equal(fade[k].scale, new[k].scale)


def test_a_change_during_a_crossfade_starts_from_what_is_on_screen() -> None:
    node = pattern_node(pattern="spectrum", entities=64, transition={"duration": 1.0, "easing": "linear"})
    out = []
    for k in range(60):
        if k == 10:
            node.set_pattern("ring")
        if k == 30:
            node.set_pattern("bars")
        out.append(node.process(features(k, k / 60, bands=(0.6,) * 5), "in"))
    step = np.abs(out[30].x - out[29].x).max() + np.abs(out[30].y - out[29].y).max()
    ring = _switch_run("wave", "ring", 10, 31, transition={"duration": 0, "easing": "linear"}, entities=64)[30]
    jump_from_ring = np.abs(ring.x - out[29].x).max() + np.abs(ring.y - out[29].y).max()
    assert step < 0.08 < jump_from_ring


def test_instant_switch_with_zero_transition() -> None:
    out = _switch_run("spectrum", "bars", 5, 7, transition={"duration": 0, "easing": "linear"}, entities=16)
    ref = _switch_run("ring", "bars", 5, 7, transition={"duration": 0, "easing": "linear"}, entities=16)
    assert np.array_equal(out[5].y, ref[5].y) and out[5].pattern == "bars"


def test_control_from_another_thread_while_frames_run() -> None:
    node = pattern_node(entities=64)
    counts = (16, 64, 100)
    errors: list[BaseException] = []
    done = threading.Event()

    def control() -> None:
        keys = [p["id"] for p in node.patterns()]
        k = 0
        try:
            while not done.is_set():
                node.set_pattern(keys[k % len(keys)])
                node.set_entity_count(counts[k % 3])
                node.trigger_effect("pulse", 1.0, 0.2)
                node.set_band_sensitivity(k % 5, 1.5)
                node.state()
                k += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    th = threading.Thread(target=control)
    th.start()
    try:
        for k in range(400):
            s = node.process(features(k, k / 60, bands=(0.5,) * 5, beat=k % 20 == 0, intensity=1.0), "in")
            assert s.count in counts
            check_scene(s, s.count)
    finally:
        done.set()
        th.join()
    assert not errors


def test_runs_in_a_graph_driven_by_the_synth() -> None:
    from mcav.runtime.engine import Runtime

    graph = build(
        "nodes:\n"
        "  src: {kind: synth, duration: 3, speed: max}\n"
        "  fft: {kind: fft, in: src}\n"
        "  beat: {kind: beat, in: fft}\n"
        "  viz: {kind: pattern, in: beat, pattern: ring, entities: 48}\n"
        "  out: {kind: collect, in: viz}\n"
    )
    rt = Runtime(graph)
    assert rt.run() == 0
    scenes = list(rt.node("out").frames)
    assert len(scenes) > 100
    for s in scenes:
        check_scene(s, 48)
    beats = [k for k, s in enumerate(scenes) if s.features.beat and k > 10]
    assert len(beats) >= 3
    mean_scale = np.array([s.scale.mean() for s in scenes])
    # At a beat the sphere swells: its scale beats the frame just before it.
    assert all(mean_scale[k] > 1.1 * mean_scale[k - 1] for k in beats)


def test_entity_count_change_while_frozen_pads_with_unused_entities() -> None:
    node = pattern_node(entities=16, pattern="ring")
    last = feed(node, steady(0, 0.0, 5))[-1]
    node.set_freeze(True)
    node.set_entity_count(20)
    s = node.process(features(5, 5 / 60), "in")
    check_scene(s, 20)
    assert s.frozen and np.array_equal(s.x[:16], last.x) and (s.scale[16:] == 0).all()
    node.set_entity_count(8)
    check_scene(node.process(features(6, 6 / 60), "in"), 8)


def test_status_reports_the_audio_it_reacts_to() -> None:
    node = pattern_node(entities=16)
    assert "bands" not in node.status() and node.status()["beats"] == 0
    frames = steady(0, 0.0, 10)
    frames[3].beat = True
    frames[-1].bands[:] = [0.9, 0.1, 0.2, 0.3, 0.4]
    frames[-1].bpm, frames[-1].tempo_confidence = 126.0, 0.8
    feed(node, frames)
    st = node.status()
    assert st["bands"] == [0.9, 0.1, 0.2, 0.3, 0.4]
    assert (st["bpm"], st["tempo_confidence"], st["beats"]) == (126.0, 0.8, 1)


def test_band_sensitivities_apply_all_five_or_none() -> None:
    node = pattern_node()
    node.set_band_sensitivities([0.5, 1.0, 1.5, 2.0, 0.0])
    assert node.state()["band_sensitivity"] == [0.5, 1.0, 1.5, 2.0, 0.0]
    for bad in ([1, 1, 1, 1], [1, 1, 1, 1, 2.5], "11111", [1, 1, "x", 1, 1]):
        with pytest.raises(ValueError):
            node.set_band_sensitivities(bad)  # type: ignore[arg-type]
        assert node.state()["band_sensitivity"] == [0.5, 1.0, 1.5, 2.0, 0.0]
