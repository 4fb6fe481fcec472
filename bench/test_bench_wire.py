"""Message encoding on the hot paths: one ``batch_update``, one ``state``, one DJ frame.

Run: ``python -m pytest bench/test_bench_wire.py --benchmark-only`` (``python -m bench.run``
folds the results into its report). Each group holds a baseline measured in the
same run: the naive encoding, one dict per entity through ``json.dumps``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcav.runtime.frames import Features, Scene


def _scene(n: int) -> Scene:
    rng = np.random.default_rng(7)
    f = Features(seq=1, t_capture=0, bands=rng.random(5).astype(np.float32), peak=0.7, beat=True,
                 beat_intensity=0.8, bpm=128.0, tempo_confidence=0.7, beat_phase=0.1)
    return Scene(
        seq=1, t_capture=0, features=f,
        x=rng.random(n, dtype=np.float32), y=rng.random(n, dtype=np.float32), z=rng.random(n, dtype=np.float32),
        scale=rng.random(n, dtype=np.float32), brightness=rng.integers(0, 16, n).astype(np.int8),
        glow=np.zeros(n, bool), visible=np.ones(n, bool), band=(np.arange(n) % 5).astype(np.int8), pattern="spectrum",
    )


def _naive(scene: Scene) -> str:
    """The baseline: a dict per entity, then json.dumps (what MCAV's Python server did)."""
    ents = [
        {"id": f"block_{i}", "x": float(scene.x[i]), "y": float(scene.y[i]), "z": float(scene.z[i]),
         "scale": float(scene.scale[i]), "band": int(scene.band[i]), "visible": bool(scene.visible[i])}
        for i in range(scene.count)
    ]
    return json.dumps({"type": "batch_update", "zone": "main", "entities": ents, "bands": [float(b) for b in scene.features.bands]})


@pytest.mark.parametrize("n", [64, 256])
@pytest.mark.benchmark(group="encode-scene")
def test_batch_update_encoder(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    from mcav.nodes.minecraft.protocol import BatchEncoder

    enc, scene = BatchEncoder(), _scene(n)
    out = benchmark(enc.encode, scene, "main", 1)
    assert out[0].startswith('{"type":"batch_update"')


@pytest.mark.parametrize("n", [64, 256])
@pytest.mark.benchmark(group="encode-scene")
def test_state_encoder(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    from mcav.nodes.browser.protocol import StateEncoder

    enc, scene = StateEncoder(), _scene(n)
    out = benchmark(enc.encode, scene, {"active_dj": "dj_a", "fps": 60.0})
    assert out.startswith('{"type":"state"')


@pytest.mark.parametrize("n", [64, 256])
@pytest.mark.benchmark(group="encode-scene")
def test_naive_dict_per_entity_baseline(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    benchmark(_naive, _scene(n))


@pytest.mark.benchmark(group="dj-frame")
def test_dj_frame_encode(benchmark) -> None:  # type: ignore[no-untyped-def]
    from mcav.nodes.dj import protocol as P

    f = _scene(1).features
    benchmark(lambda: P.encode(P.dj_audio_frame(42, 1.7e9, f)))


@pytest.mark.benchmark(group="dj-frame")
def test_dj_frame_decode_and_sanitize(benchmark) -> None:  # type: ignore[no-untyped-def]
    from mcav.nodes.dj import protocol as P
    from mcav.nodes.dj.sanitize import sanitize_audio_frame

    text = P.encode(P.dj_audio_frame(42, 1.7e9, _scene(1).features))
    benchmark(lambda: sanitize_audio_frame(P.decode(text)))


@pytest.mark.benchmark(group="dj-frame")
def test_json_loads_baseline(benchmark) -> None:  # type: ignore[no-untyped-def]
    from mcav.nodes.dj import protocol as P

    text = P.encode(P.dj_audio_frame(42, 1.7e9, _scene(1).features))
    benchmark(json.loads, text)
