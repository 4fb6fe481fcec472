"""Effects: each formula (WIRE.md 7.3 and the three new ones), and effects through the node."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pattern_support import check_scene, feed, pattern_node, steady

from mcav.nodes.patterns import effects as fx
from mcav.nodes.patterns.base import Entities
from mcav.nodes.patterns.easing import EASINGS, ease

N = 8
I = np.arange(N)


def _entities() -> Entities:
    e = Entities(N)
    e.x[:] = np.linspace(0.1, 0.9, N)
    e.y[:] = np.linspace(0.9, 0.1, N)
    e.z[:] = np.linspace(0.3, 0.6, N)
    e.scale[:] = [0.5, 1.2, 0.0, 0.3, 0.8, 0.0, 2.0, 0.05]  # two unused (0)
    return e


def _apply(name: str, intensity: float, elapsed: float, duration: float) -> tuple[Entities, Entities]:
    before = _entities()
    after = _entities()
    fx.TIMED_EFFECTS[name](after, intensity, elapsed, duration)
    return before, after


CASES = [(1.0, 0.0, 2.0), (1.0, 0.5, 2.0), (0.5, 1.3, 2.0), (2.0, 0.2, 0.5)]


@pytest.mark.parametrize(("i", "el", "du"), CASES)
def test_flash(i: float, el: float, du: float) -> None:
    b, a = _apply("flash", i, el, du)
    k = i * (1 - min(1, el / du))
    used = b.scale > 0
    assert np.allclose(a.scale[used], np.maximum(b.scale, np.minimum(1, b.scale + 0.5 * k))[used])
    assert (a.scale[~used] == 0).all()
    assert np.allclose(a.y, np.minimum(1, b.y + 0.2 * k))


@pytest.mark.parametrize("el", [0.0, 0.1, 0.13, 0.26, 0.4])
def test_strobe_is_off_every_other_eighth_second(el: float) -> None:
    b, a = _apply("strobe", 1.0, el, 2.0)
    used = b.scale > 0
    off = int(el * 8) % 2 == 1
    assert np.allclose(a.scale[used], 0.01 if off else b.scale[used])
    assert (a.scale[~used] == 0).all()


@pytest.mark.parametrize(("i", "el", "du"), CASES)
def test_pulse(i: float, el: float, du: float) -> None:
    b, a = _apply("pulse", i, el, du)
    used = b.scale > 0
    expect = np.maximum(0.05, b.scale * (1 + 0.5 * i * math.sin(4 * math.pi * el)))
    assert np.allclose(a.scale[used], expect[used]) and (a.scale[~used] == 0).all()


@pytest.mark.parametrize(("i", "el", "du"), CASES)
def test_wave(i: float, el: float, du: float) -> None:
    b, a = _apply("wave", i, el, du)
    assert np.allclose(a.y, np.clip(b.y + 0.3 * i * np.sin(3 * el + 2 * math.pi * I / N), 0, 1))
    assert np.array_equal(a.x, b.x) and np.array_equal(a.scale, b.scale)


@pytest.mark.parametrize(("i", "el", "du"), CASES)
def test_spiral(i: float, el: float, du: float) -> None:
    _, a = _apply("spiral", i, el, du)
    r = 0.3 * i * (1 - 0.5 * min(1, el / du))
    ang = 2 * el + 2 * math.pi * I / N
    assert np.allclose(a.x, 0.5 + np.cos(ang) * r) and np.allclose(a.z, 0.5 + np.sin(ang) * r)


@pytest.mark.parametrize(("i", "el", "du"), CASES)
def test_explode(i: float, el: float, du: float) -> None:
    b, a = _apply("explode", i, el, du)
    k = i * (1 - min(1, el / du))
    d = np.stack([b.x - 0.5, b.y - 0.5, b.z - 0.5])
    force = 0.3 * k / np.maximum(0.1, np.linalg.norm(d, axis=0))
    assert np.allclose(np.stack([a.x, a.y, a.z]), 0.5 + d * (1 + force))
    assert np.allclose(a.scale, b.scale * (1 + 0.5 * k))


@pytest.mark.parametrize(("i", "el", "du"), CASES)
def test_bass_drop(i: float, el: float, du: float) -> None:
    b, a = _apply("bass_drop", i, el, du)
    k = (1 - min(1, el / du)) ** 2
    assert np.allclose(a.y, b.y * (1 - 0.7 * min(i, 1) * k))
    assert np.allclose(a.x, 0.5 + (b.x - 0.5) * (1 + 0.25 * i * k))
    assert np.allclose(a.scale, b.scale * (1 + i * k))


@pytest.mark.parametrize("name", ["spin_up", "spin_down"])
@pytest.mark.parametrize(("i", "el", "du"), CASES)
def test_spins_turn_about_the_centre(name: str, i: float, el: float, du: float) -> None:
    b, a = _apply(name, i, el, du)
    p = min(1, el / du)
    turns = max(1, round(i * du))
    frac = p * p if name == "spin_up" else 1 - (1 - p) ** 2
    ang = 2 * math.pi * turns * frac
    dx, dz = b.x - 0.5, b.z - 0.5
    assert np.allclose(a.x, 0.5 + dx * math.cos(ang) - dz * math.sin(ang))
    assert np.allclose(a.z, 0.5 + dx * math.sin(ang) + dz * math.cos(ang))
    assert np.array_equal(a.y, b.y)


@pytest.mark.parametrize("name", ["spin_up", "spin_down"])
def test_spins_end_where_they_started(name: str) -> None:
    b, a = _apply(name, 1.3, 2.0, 2.0)
    assert np.allclose(a.x, b.x) and np.allclose(a.z, b.z)
    _, half = _apply(name, 1.3, 0.9, 2.0)
    assert not np.allclose(half.x, b.x)


@pytest.mark.parametrize("easing", list(EASINGS))
def test_easing_endpoints_and_monotonic(easing: str) -> None:
    assert ease(easing, 0.0) == 0.0 and ease(easing, 1.0) == pytest.approx(1.0)
    assert ease(easing, -0.5) == 0.0 and ease(easing, 1.5) == pytest.approx(1.0)
    values = [ease(easing, t) for t in np.linspace(0, 1, 101)]
    assert all(b >= a for a, b in zip(values, values[1:]))


@pytest.mark.parametrize(
    ("easing", "t", "value"),
    [
        ("linear", 0.3, 0.3),
        ("ease_in", 0.5, 0.25),
        ("ease_out", 0.5, 0.75),
        ("ease_in_out", 0.25, 0.125),
        ("ease_in_out", 0.75, 0.875),
        ("sine", 0.5, 0.5),
        ("sine", 1 / 3, 0.25),
        ("smoothstep", 0.25, 0.15625),
        ("smoothstep", 0.5, 0.5),
    ],
)
def test_easing_shapes(easing: str, t: float, value: float) -> None:
    assert ease(easing, t) == pytest.approx(value)


def test_effect_through_the_node_runs_for_its_duration_then_ends() -> None:
    node = pattern_node(entities=64, pattern="ring")
    twin = pattern_node(entities=64, pattern="ring")
    feed(node, steady(0, 0.0, 10))
    feed(twin, steady(0, 0.0, 10))
    node.trigger_effect("spiral", 1.0, 0.5)
    assert node.state()["effects"] == ["spiral"]
    frames = steady(10, 10 / 60, 40)
    during, plain = feed(node, frames[:20]), feed(twin, frames[:20])
    for s, p in zip(during, plain):
        check_scene(s, 64)
    assert np.abs(during[5].x - plain[5].x).mean() > 0.05
    after, plain = feed(node, frames[20:]), feed(twin, frames[20:])  # 0.5 s = 30 frames after the trigger
    assert node.state()["effects"] == []
    assert np.array_equal(after[-1].x, plain[-1].x)


@pytest.mark.parametrize("name", list(fx.TIMED_EFFECTS))
def test_no_effect_brings_back_unused_entities(name: str) -> None:
    node = pattern_node(entities=64, pattern="bars")
    quiet = feed(node, steady(0, 0.0, 10, bands=(0.1,) * 5))[-1]
    unused = quiet.scale == 0
    assert unused.any()
    node.trigger_effect(name, 2.0, 1.0)
    for s in feed(node, steady(10, 10 / 60, 20, bands=(0.1,) * 5)):
        check_scene(s, 64)
        assert (s.scale[unused] == 0).all(), name


def test_effects_stack_and_a_retrigger_restarts() -> None:
    node = pattern_node()
    node.trigger_effect("flash", 1.0, 0.5)
    node.trigger_effect("wave", 1.0, 0.5)
    feed(node, steady(0, 0.0, 20))
    assert sorted(node.state()["effects"]) == ["flash", "wave"]
    node.trigger_effect("flash", 1.0, 0.5)
    feed(node, steady(20, 20 / 60, 15))  # wave ends (0.5 s after its start), the restarted flash does not
    assert node.state()["effects"] == ["flash"]
