"""Every pattern at N = 16, 64, 256: ids, ranges, use of the entities, beat and band response."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from pattern_support import check_scene, features, pattern_node

from mcav.nodes.patterns.base import Audio, Entities
from mcav.nodes.patterns.registry import MCAV_ORDER, PATTERNS, describe

KEYS = list(PATTERNS)
NS = (16, 64, 256)
FPS = 60.0


def test_the_27_mcav_keys_in_registry_order_with_names() -> None:
    assert KEYS == list(MCAV_ORDER)
    names = {p["id"]: p["name"] for p in describe()}
    assert names["spectrum"] == "Stacked Tower" and names["matrix"] == "Fountain" and names["circle"] == "Spectrum Circle"
    assert len(set(names.values())) == 27


@functools.cache
def _twins(n: int):  # type: ignore[no-untyped-def]
    """Two nodes with N entities and instant switching, reused by every pattern at that N."""
    instant = {"duration": 0, "easing": "linear"}
    return pattern_node(entities=n, transition=instant), pattern_node(entities=n, transition=instant)


class _Clock:
    def __init__(self) -> None:
        self.seq = 0

    def frame(self, **kw: object):  # type: ignore[no-untyped-def]
        f = features(self.seq, self.seq / FPS, **kw)  # type: ignore[arg-type]
        self.seq += 1
        return f


def _diff(a, b) -> float:  # type: ignore[no-untyped-def]
    """How different two scenes look: relative scale change plus mean position change."""
    ds = np.abs(a.scale - b.scale).mean() / (b.scale.mean() + 1e-3)
    dp = (np.abs(a.x - b.x) + np.abs(a.y - b.y) + np.abs(a.z - b.z)).mean()
    return float(ds + 10 * dp)


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("key", KEYS)
def test_pattern_at_n(key: str, n: int) -> None:
    a, b = _twins(n)
    clock = _Clock()
    for node in (a, b):
        node.set_pattern(key)

    def both(**kw: object):  # type: ignore[no-untyped-def]
        f = clock.frame(**kw)
        return a.process(f, "in"), b.process(f, "in")

    # Silence: exactly N ids, everything finite and in range.
    for _ in range(15):
        for s in both(bands=(0.0,) * 5, peak=0.0):
            check_scene(s, n)
            assert s.pattern == key
    # Full-scale noise with beats (bands 0.8-1.0: the stage smooths lightly, so the last frame shows its own
    # level): in range, and most entities in use at distinct places.
    rng = np.random.default_rng(n)
    for k in range(30):
        sa, _ = both(bands=tuple(rng.uniform(0.8, 1.0, 5)), peak=1.0, beat=k % 8 == 0, intensity=1.0)
        check_scene(sa, n)
    used = sa.scale > 0
    assert used.mean() >= 0.75, f"{key}: only {used.sum()}/{n} entities in use at full level"
    spots = {tuple(p) for p in np.round(np.stack([sa.x, sa.y, sa.z], 1)[used], 3)}
    assert len(spots) >= 0.6 * used.sum(), f"{key}: entities pile up ({len(spots)} places for {used.sum()})"
    # A beat: A gets it, B does not; the difference must be visible.
    for _ in range(30):
        both(bands=(0.5,) * 5)
    f = clock.frame(bands=(0.5,) * 5)
    beat = a.process(features(f.seq, f.t_audio, bands=(0.5,) * 5, beat=True, intensity=1.0), "in")
    plain = b.process(f, "in")
    check_scene(beat, n)
    assert _diff(beat, plain) > 0.1, f"{key}: a beat changes little ({_diff(beat, plain):.3f})"
    # The bands: bass-only and air-only music must look different.
    for _ in range(30):
        f = clock.frame()
        sa = a.process(features(f.seq, f.t_audio, bands=(1, 0, 0, 0, 0)), "in")
        sb = b.process(features(f.seq, f.t_audio, bands=(0, 0, 0, 0, 1)), "in")
    assert _diff(sa, sb) > 0.1, f"{key}: bass-only and air-only look alike ({_diff(sa, sb):.3f})"


def _audio_cases() -> list[tuple[str, np.ndarray, bool]]:
    return [("silence", np.zeros(5), False), ("full", np.ones(5), True), ("mixed", np.array([1, 0, 1, 0, 1.0]), True)]


@pytest.mark.parametrize("key", KEYS)
def test_raw_output_stays_in_the_zone_for_any_n(key: str) -> None:
    """Before the stage's safety clip: every coordinate in 0-1 by construction, for N = 1 … 1024."""
    for n in (1, 2, 3, 5, 7, 16, 64, 256, 1024):
        pattern = PATTERNS[key](n)
        e = Entities(n)
        a = Audio(dt=1 / 30)
        for name, bands, beats in _audio_cases():
            for k in range(40 if n < 1024 else 10):
                a.t += a.dt
                a.bands = bands
                a.level = float(bands.mean())
                a.beat = beats and k % 10 == 0
                if a.beat:
                    a.pulse, a.beat_intensity, a.since_beat = 1.0, 1.0, 0.0
                    a.beats += 1
                else:
                    a.pulse *= 0.8
                    a.since_beat += a.dt
                e.reset()
                pattern.render(a, e)
                for arr in (e.x, e.y, e.z):
                    assert np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0, (key, n, name, k)
                assert e.scale.min() >= 0.0 and e.scale.max() <= 4.0
                assert e.brightness.min() >= 0.0 and e.brightness.max() <= 15.0, (key, n, name)
                assert e.band.min() >= 0 and e.band.max() <= 4


@pytest.mark.parametrize("key", KEYS)
def test_same_look_at_20_and_60_fps(key: str) -> None:
    """Time comes from the frame clock: 1.5 s of the same music at 20 or 60 fps ends in the same picture."""
    instant = {"duration": 0, "easing": "linear"}
    out = {}
    for fps in (20, 60):
        node = pattern_node(pattern=key, entities=64, transition=instant)
        frames = int(1.5 * fps) + 1
        for k in range(frames):
            t = k / fps
            s = node.process(features(k, t, bands=(0.7, 0.5, 0.6, 0.4, 0.5), beat=k == fps, intensity=1.0), "in")
        out[fps] = s
    a, b = out[20], out[60]
    pos = np.abs(a.x - b.x) + np.abs(a.y - b.y) + np.abs(a.z - b.z)
    assert pos.mean() < 0.02 and np.abs(a.scale - b.scale).mean() < 0.03, (key, pos.mean(), pos.max())
    # ...while 1.5 s against 0.75 s of the same music does look different (the check can fail).
    node = pattern_node(pattern=key, entities=64, transition=instant)
    for k in range(int(0.75 * 60) + 1):
        c = node.process(features(k, k / 60, bands=(0.7, 0.5, 0.6, 0.4, 0.5), beat=k == 60, intensity=1.0), "in")
    assert _diff(b, c) > 0.02
