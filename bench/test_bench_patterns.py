"""Per-frame cost of every pattern at N = 64 and 256, and of the whole ``pattern`` node.

Run: ``python -m pytest bench/test_bench_patterns.py --benchmark-only``. Each group
holds a baseline measured in the same run (``bare``: resetting the buffer and
writing its seven arrays once, the least any pattern does), so read patterns as
ratios to it. Goal: every pattern under 0.2 ms per frame at N = 256.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcav.nodes.patterns.base import Audio, Entities
from mcav.nodes.patterns.registry import PATTERNS
from mcav.nodes.patterns.stage import Stage
from mcav.runtime.frames import Features

NS = (64, 256)


def _audio() -> Audio:
    return Audio(dt=1 / 60, bands=np.array([0.8, 0.6, 0.5, 0.4, 0.3]), level=0.52, pulse=0.5, since_beat=0.1)


def _step(a: Audio) -> None:
    a.t += a.dt


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("key", list(PATTERNS))
def test_pattern_render(benchmark, key: str, n: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"patterns-N{n}"
    pattern = PATTERNS[key](n)
    e = Entities(n)
    a = _audio()

    def frame() -> None:
        _step(a)
        e.reset()
        pattern.render(a, e)

    benchmark(frame)


@pytest.mark.parametrize("n", NS)
def test_bare_baseline(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"patterns-N{n}"
    e = Entities(n)
    a = _audio()
    values = np.linspace(0.0, 1.0, n)

    def frame() -> None:
        _step(a)
        e.reset()
        for arr in (e.x, e.y, e.z, e.scale, e.brightness):
            arr[:] = values
        e.glow[:] = values > 0.5
        e.band[:] = 2

    benchmark(frame)


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("mode", ["steady", "crossfade+effects"])
def test_stage_frame(benchmark, mode: str, n: int) -> None:  # type: ignore[no-untyped-def]
    """The node's whole frame (audio update, pattern, crossfade, effects, Scene), for ``spectrum``."""
    benchmark.group = f"stage-N{n}"
    stage = Stage("spectrum", n, [1.0] * 5, 0.2, 1.0, 1.5, 1e9 if mode != "steady" else 1.0, "smoothstep")
    if mode != "steady":
        stage.set_pattern("ring")  # a crossfade that never ends: both patterns every frame
        stage.trigger("pulse", 1.0, 1e9)
        stage.trigger("wave", 1.0, 1e9)
    seq = [0]

    def frame() -> None:
        seq[0] += 1
        f = Features(seq=seq[0], t_capture=seq[0] * 16_666_667, bands=np.full(5, 0.5, np.float32), beat=seq[0] % 30 == 0)
        stage.render(f, 1 / 60)

    benchmark(frame)
