"""Helpers shared by the pattern tests (no tests here): Features frames and a ready ``pattern`` node."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from conftest import build

from mcav.runtime.engine import Runtime
from mcav.runtime.frames import Features, Scene

T0_NS = 1_000_000_000


def features(
    seq: int,
    t: float,
    bands: Sequence[float] = (0.5, 0.5, 0.5, 0.5, 0.5),
    beat: bool = False,
    intensity: float = 0.0,
    peak: float | None = None,
) -> Features:
    """A Features frame captured ``t`` s after an arbitrary origin."""
    b = np.asarray(bands, dtype=np.float32)
    return Features(
        seq=seq,
        t_capture=T0_NS + int(round(t * 1e9)),
        t_audio=t,
        bands=b,
        peak=float(b.max()) if peak is None else peak,
        beat=beat,
        beat_intensity=intensity,
    )


def pattern_node(**params: object):  # type: ignore[no-untyped-def]
    """A ``pattern`` node from a real graph (synth → fft → beat → pattern) that has run and ended.

    The test then drives it with :meth:`process` and its control API directly.
    """
    extra = "".join(f", {k}: {_yaml(v)}" for k, v in params.items())
    graph = build(
        "nodes:\n"
        "  src: {kind: synth, duration: 0, speed: max}\n"
        "  fft: {kind: fft, in: src}\n"
        "  beat: {kind: beat, in: fft}\n"
        f"  viz: {{kind: pattern, in: beat{extra}}}\n"
    )
    rt = Runtime(graph)
    assert rt.run() == 0
    return rt.node("viz")


def _yaml(v: object) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_yaml(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml(x) for x in v) + "]"
    return str(v).lower() if isinstance(v, bool) else str(v)


def feed(node, frames: Sequence[Features]) -> list[Scene]:  # type: ignore[no-untyped-def]
    """Every scene ``node`` makes from ``frames``."""
    return [node.process(f, "in") for f in frames]


def steady(start_seq: int, start_t: float, count: int, fps: float = 60.0, **kw: object) -> list[Features]:
    """``count`` frames at ``fps`` starting at ``start_t`` s."""
    return [features(start_seq + k, start_t + k / fps, **kw) for k in range(count)]  # type: ignore[arg-type]


def check_scene(scene: Scene, n: int) -> None:
    """Exactly ``n`` entities, every value finite and in range."""
    assert scene.count == n
    for name in ("x", "y", "z", "scale", "brightness", "glow", "visible", "band"):
        arr = getattr(scene, name)
        assert arr.shape == (n,), name
    for name in ("x", "y", "z"):
        arr = getattr(scene, name)
        assert np.isfinite(arr).all() and (arr >= 0).all() and (arr <= 1).all(), name
    assert np.isfinite(scene.scale).all() and (scene.scale >= 0).all() and (scene.scale <= 4).all()
    assert (scene.brightness >= 0).all() and (scene.brightness <= 15).all()
    assert (scene.band >= 0).all() and (scene.band <= 4).all()
    assert scene.glow.dtype == bool and scene.visible.dtype == bool
    assert (scene.visible == (scene.scale > 0)).all()
