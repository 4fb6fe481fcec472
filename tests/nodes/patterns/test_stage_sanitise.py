"""The stage's per-frame sanitising: the fused forms give the same bits as one numpy call per field.

:meth:`Stage._finish` clips the five float fields as one matrix and :meth:`Stage._update_audio` works the
five bands in plain Python (for speed, at 60 frames per second on cold caches); the Scenes they make go to
the plugin and the browsers as text, where a -0.0 is written "-0". The reference here is the per-field
form they replaced, compared bit for bit on hostile values.
"""

from __future__ import annotations

import math

import numpy as np

from mcav.nodes.patterns.base import FLOAT_FIELDS, Entities
from mcav.nodes.patterns.stage import BAND_ATTACK_S, BAND_RELEASE_S, Stage
from mcav.runtime.frames import Features

N = 64
HOSTILE = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, -1e-300, 0.5, 1.0, 1.2, 3.9, 4.0, 4.1, 14.6, 15.0, 15.4,
                    15.6, 16.0, -0.4, -0.6, 1e300])


def _stage() -> Stage:
    return Stage("spectrum", N, [1.0, 1.3, 0.0, 2.0, 0.7], 0.2, 1.0, 1.5, 0.5, "smoothstep")


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _reference_finish(e: Entities) -> dict[str, np.ndarray]:
    """The per-field form: NaN/±inf → the field's fill, then one np.clip per field."""
    fields = {k: getattr(e, k).copy() for k in FLOAT_FIELDS}
    if not math.isfinite(float(sum(v.sum() for v in fields.values()))):
        for k, fill in zip(FLOAT_FIELDS, (0.5, 0.5, 0.5, 0.0, 15.0)):
            fields[k][~np.isfinite(fields[k])] = fill
    out = {k: np.clip(fields[k], 0.0, 1.0).astype(np.float32) for k in ("x", "y", "z")}
    out["scale"] = np.clip(fields["scale"], 0.0, 4.0).astype(np.float32)
    out["brightness"] = np.clip(np.rint(fields["brightness"]), 0, 15).astype(np.int8)
    out["band"] = np.clip(e.band, 0, 4).astype(np.int8)
    out["visible"] = out["scale"] > 0.0
    return out


def test_finish_matches_per_field_clips_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    stage = _stage()
    for i in range(200):
        e = Entities(N)
        pool = HOSTILE if i % 2 else HOSTILE[3:]  # every other frame all finite (no NaN repair)
        for k in FLOAT_FIELDS:
            getattr(e, k)[:] = pool[rng.integers(0, len(pool), N)]
        e.band[:] = rng.integers(-128, 127, N)
        with np.errstate(invalid="ignore"):  # inf + -inf in the finiteness sums
            want = _reference_finish(e)
            scene = stage._finish(Features(seq=i, t_capture=i), e)
        for k, v in want.items():
            assert _same_bits(getattr(scene, k), v), (i, k)
    assert stage.nonfinite_frames == 100


def test_finish_keeps_minus_zero() -> None:
    e = Entities(N)
    e.floats[:] = -0.0
    scene = _stage()._finish(Features(seq=0, t_capture=0), e)
    assert np.signbit(scene.x).all() and np.signbit(scene.scale).all()  # written "-0", as before


def test_bands_match_the_vectorised_form_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    stage = _stage()
    prev = stage.audio.bands.copy()
    for i in range(300):
        raw = (rng.random(5) * 1.4 - 0.2).astype(np.float32)
        raw[rng.integers(0, 5)] = HOSTILE[rng.integers(0, 6)]  # NaN, ±inf, ±0
        dt = 0.0 if i % 11 == 0 else float(rng.random() * 0.05)
        a = stage._update_audio(Features(seq=i, t_capture=i, bands=raw), dt)
        clean = np.nan_to_num(raw.astype(float), nan=0.0, posinf=1.0, neginf=0.0)
        target = np.clip(np.clip(clean, 0.0, 1.0) * stage.sensitivity, 0.0, 1.0)
        if dt > 0.0:
            k = np.where(target > prev, math.exp(-dt / BAND_ATTACK_S), math.exp(-dt / BAND_RELEASE_S))
            prev = target + (prev - target) * k
        assert _same_bits(a.bands, prev), i
        assert a.level == float(prev.mean())


def test_entities_fields_are_rows_of_one_matrix() -> None:
    e = Entities(5)
    e.x[:] = 0.1
    e.scale *= 0.0
    e.brightness[:] = 7.0
    assert e.floats[0].tolist() == [0.1] * 5 and e.floats[4].tolist() == [7.0] * 5
    c = e.copy()
    c.x[:] = 0.9
    assert e.x[0] == 0.1 and c.floats[0, 0] == 0.9  # a copy has its own matrix, its rows views of it
    e.copy_from(c)
    assert e.x[0] == 0.9
    r = e.resized(7)
    assert r.n == 7 and r.x[:5].tolist() == [0.9] * 5 and r.scale[5:].tolist() == [0.0, 0.0]
    assert r.y.base is r.floats
    e.reset()
    assert e.x.tolist() == [0.5] * 5 and e.brightness.tolist() == [15.0] * 5 and e.scale.tolist() == [0.0] * 5
