"""An edge's Scene, from the ``state`` text the VJ published (pure).

The edge's own ``browser`` (and optionally ``minecraft``) nodes take Scene
frames, so they run there unchanged. The Scene carries the VJ's text
(``state_text``), which the edge's browser sends to its viewers as it is; only
the message's head (features, pattern, flags: ~15 % of the bytes) is parsed
per frame. The entity list is parsed the first time a node reads an entity
array (a ``minecraft`` node on the edge), never for browsers alone. What the
``state`` text lacks is filled with defaults: ``brightness`` 15, no ``glow``
(a ``minecraft`` node on an edge uses the zone's own look), ``next_beat_s`` 0.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np

from mcav.nodes.statewire import state_head
from mcav.runtime.frames import Features, Scene

__all__ = ["WireScene", "scene_from_state"]

_ENTITY_ARRAYS = ("x", "y", "z", "scale", "brightness", "glow", "visible", "band")


def _floats(rows: list[Mapping[str, Any]], key: str, default: float) -> np.ndarray:
    return np.fromiter((float(r.get(key, default)) for r in rows), np.float32, len(rows))


def _entity_arrays(entities: str, blackout: bool, entity_count: int) -> dict[str, np.ndarray]:
    try:
        rows = json.loads(entities)
        n = len(rows) if rows or not blackout else max(1, entity_count)
        if rows:
            x, y, z = (_floats(rows, k, 0.5) for k in ("x", "y", "z"))
            scale = _floats(rows, "scale", 0.0)
            band = np.fromiter((int(r.get("band", 0)) for r in rows), np.int8, n)
            visible = np.fromiter((bool(r.get("visible", True)) for r in rows), bool, n)
        else:
            x = y = z = np.full(n, 0.5, np.float32)
            scale, band, visible = np.zeros(n, np.float32), np.zeros(n, np.int8), np.zeros(n, bool)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"bad entities in a state message: {exc}") from None
    return {"x": x, "y": y, "z": z, "scale": scale, "brightness": np.full(n, 15, np.int8), "glow": np.zeros(n, bool),
            "visible": visible, "band": band}


def _lazy(name: str) -> property:
    return property(lambda self: self._arrays()[name], doc=f"``{name}``, parsed from the state text on first use")


class WireScene(Scene):
    """A Scene whose entity arrays are parsed from its ``state`` text the first time one is read.

    Like every frame it is read-only once emitted; a node wanting a changed copy builds a :class:`Scene`
    (``dataclasses.replace`` cannot call this constructor).

    Raises (on that first read):
        ValueError: the entity list is not what a ``state`` message holds.
    """

    __slots__ = ("_entities", "_entity_count", "_parsed")

    def __init__(self, *, entities: str, entity_count: int, seq: int, t_capture: int, features: Features,
                 pattern: str, blackout: bool, frozen: bool, state_text: str) -> None:
        # Scene's own __init__ would assign the entity arrays, which are read-only properties here.
        for name, value in (("seq", seq), ("t_capture", t_capture), ("features", features), ("pattern", pattern),
                            ("blackout", blackout), ("frozen", frozen), ("state_text", state_text)):
            object.__setattr__(self, name, value)
        self._entities, self._entity_count = entities, entity_count
        self._parsed: dict[str, np.ndarray] | None = None

    def _arrays(self) -> dict[str, np.ndarray]:
        if self._parsed is None:
            self._parsed = _entity_arrays(self._entities, self.blackout, self._entity_count)
        return self._parsed

    x, y, z, scale, brightness, glow, visible, band = (_lazy(n) for n in _ENTITY_ARRAYS)


def scene_from_state(text: bytes | str, t_capture: int, entity_count: int) -> tuple[Scene, dict[str, Any]]:
    """The Scene of a ``state`` message and the message's head (every field but ``entities``).

    Args:
        text: The browser wire's ``state`` JSON.
        t_capture: Its capture time on this process's clock (ns).
        entity_count: Entities of a blacked-out scene (its ``entities`` are ``[]``).

    Raises:
        ValueError: not a ``state`` message (bad JSON, missing fields).
    """
    try:
        if isinstance(text, bytes):
            text = text.decode()
        st, entities = state_head(text)
        zs = st.get("zone_status") or {}
        seq = int(st["frame"])
        feats = Features(
            seq=seq, t_capture=t_capture, bands=np.asarray(st["bands"], np.float32), peak=float(st["amplitude"]),
            beat=bool(st["is_beat"]), beat_intensity=float(st["beat_intensity"]), bpm=float(st.get("bpm") or 0.0),
            tempo_confidence=float(zs.get("tempo_confidence", 0.0)), beat_phase=float(zs.get("beat_phase", 0.0)),
            locked=bool(zs.get("locked", False)),
            instant_bass=float(st.get("instant_bass", 0.0)), instant_kick=bool(st.get("instant_kick", False)),
            source=str(st.get("active_dj") or ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a state message: {exc}") from None
    scene = WireScene(entities=entities, entity_count=entity_count, seq=seq, t_capture=t_capture, features=feats,
                      pattern=str(st.get("pattern") or ""), blackout=bool(st.get("blackout", False)),
                      frozen=bool(st.get("frozen", False)), state_text=text)
    return scene, st
