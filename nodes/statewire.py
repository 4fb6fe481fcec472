"""The browser wire's per-frame ``state`` message (WIRE.md 3.2), shared by the families that send it.

The ``browser`` node writes it to its clients; ``redis_pub`` publishes the
same bytes for edge processes, whose ``browser`` passes them on as they are
(``Scene.state_text``). Pure: a Scene in, one string out; :func:`state_head`
reads one back without its entity list.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

from mcav.nodes.entities import BROWSER_FIELDS, EntityEncoder
from mcav.runtime import jsonwire
from mcav.runtime.frames import Scene

__all__ = ["StateEncoder", "state_head"]

#: How :meth:`StateEncoder.encode` starts every message: the entity list comes right after ``type``.
_PREFIX = '{"type":"state","entities":'



def _r(v: float, digits: int = 4) -> float:
    v = float(v)
    return round(v, digits) if math.isfinite(v) else 0.0


class StateEncoder:
    """Builds the ``state`` broadcast (WIRE.md 3.2) of one Scene as one string.

    Entities are the pattern's full fixed set with ``band`` and ``visible``
    (``[]`` during blackout, as MCAV pages expect); ``bands`` are the raw
    bands. Beyond the OLD keys it adds ``bpm``, ``blackout`` and ``frozen``.
    """

    #: The last message encoded by any encoder: (scene, dj fields, text). A VJ's ``browser`` and
    #: ``redis_pub`` both encode each Scene (the same frame object) on the same loop; the second gets the
    #: first's text instead of paying the ~120 µs again. One entry; replaced whole (atomic).
    _last: tuple[Scene, tuple[tuple[str, Any], ...], str] | None = None

    def __init__(self) -> None:
        self.entities = EntityEncoder(BROWSER_FIELDS)

    def encode(self, scene: Scene, dj: Mapping[str, Any]) -> str:
        """``dj``: ``active_dj``, ``latency_ms``, ``ping_ms``, ``pipeline_latency_ms``, ``fps`` (may be None)."""
        key = tuple(dj.items())
        last = StateEncoder._last
        if last is not None and last[0] is scene and last[1] == key:
            return last[2]
        text = self._encode(scene, dj)
        StateEncoder._last = (scene, key, text)
        return text

    def _encode(self, scene: Scene, dj: Mapping[str, Any]) -> str:
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
        return _PREFIX + body + "," + text[len('{"type":"state",') :]


def state_head(text: str) -> tuple[dict[str, Any], str]:
    """A ``state`` message's fields but ``entities`` (parsed), and its entity list (JSON, unparsed).

    The entity list of :meth:`StateEncoder.encode`'s layout is skipped, not parsed (it is ~85 % of
    the bytes and of the parse time); a message in another layout is parsed whole.

    Raises:
        ValueError: not JSON, or not a JSON object.
    """
    end = text.find("],", len(_PREFIX)) if text.startswith(_PREFIX) else -1  # entities hold no nested list
    if end < 0:
        head = json.loads(text)
        if not isinstance(head, dict):
            raise ValueError("not a JSON object")
        return head, json.dumps(head.pop("entities", []))
    head = json.loads('{"type":"state",' + text[end + 2 :])
    if not isinstance(head, dict):  # pragma: no cover - the prefix makes it an object or invalid JSON
        raise ValueError("not a JSON object")
    return head, text[len(_PREFIX) : end + 1]
