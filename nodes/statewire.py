"""The browser wire's per-frame ``state`` message (WIRE.md 3.2), shared by the families that send it.

The ``browser`` node writes it to its clients; ``redis_pub`` publishes the
same bytes for edge processes. Pure: a Scene in, one string out.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from mcav.nodes.entities import BROWSER_FIELDS, EntityEncoder
from mcav.runtime import jsonwire
from mcav.runtime.frames import Scene

__all__ = ["StateEncoder"]


def _r(v: float, digits: int = 4) -> float:
    v = float(v)
    return round(v, digits) if math.isfinite(v) else 0.0


class StateEncoder:
    """Builds the ``state`` broadcast (WIRE.md 3.2) of one Scene as one string.

    Entities are the pattern's full fixed set with ``band`` and ``visible``
    (``[]`` during blackout, as MCAV pages expect); ``bands`` are the raw
    bands. Beyond the OLD keys it adds ``bpm``, ``blackout`` and ``frozen``.
    """

    def __init__(self) -> None:
        self.entities = EntityEncoder(BROWSER_FIELDS)

    def encode(self, scene: Scene, dj: Mapping[str, Any]) -> str:
        """``dj``: ``active_dj``, ``latency_ms``, ``ping_ms``, ``pipeline_latency_ms``, ``fps`` (may be None)."""
        f = scene.features
        head = {
            "type": "state",
            "bands": [_r(min(1.0, max(0.0, float(b)))) for b in f.bands[:5]],
            "amplitude": _r(max(0.0, f.peak)),
            "is_beat": bool(f.beat),
            "beat_intensity": _r(max(0.0, f.beat_intensity)),
            "instant_bass": _r(max(0.0, f.instant_bass)),
            "instant_kick": bool(f.instant_kick),
            "frame": int(scene.seq),
            "pattern": scene.pattern,
            "active_dj": dj.get("active_dj"),
            "latency_ms": dj.get("latency_ms"),
            "ping_ms": dj.get("ping_ms"),
            "pipeline_latency_ms": dj.get("pipeline_latency_ms"),
            "fps": dj.get("fps"),
            "bpm": _r(max(0.0, f.bpm), 2),
            "zone_status": {
                "bpm_estimate": _r(max(0.0, f.bpm), 2),
                "tempo_confidence": _r(f.tempo_confidence, 3),
                "beat_phase": _r(f.beat_phase, 3),
                "locked": bool(f.locked),  # mcav's own: the tracker holds a beat (beats are flagged only then)
            },
            "blackout": bool(scene.blackout),
            "frozen": bool(scene.frozen),
        }
        body = "[]" if scene.blackout else self.entities.encode(scene)
        text = jsonwire.encode(head)
        # Entities go second, right after `type`, like the OLD server's key order.
        return '{"type":"state","entities":' + body + "," + text[len('{"type":"state",') :]
