"""An edge's Scene, rebuilt from the ``state`` text the VJ published (pure).

The edge's own ``browser`` (and optionally ``minecraft``) nodes take Scene
frames, so they run there unchanged; rebuilding costs one JSON parse per
frame per edge process — not per viewer — and the edge's browser encodes it
again once for all its viewers. What the ``state`` text lacks is filled with
defaults: ``brightness`` 15, no ``glow`` (a ``minecraft`` node on an edge uses
the zone's own look), ``next_beat_s`` 0.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np

from mcav.runtime.frames import Features, Scene

__all__ = ["scene_from_state"]


def _floats(rows: list[Mapping[str, Any]], key: str, default: float) -> np.ndarray:
    return np.fromiter((float(r.get(key, default)) for r in rows), np.float32, len(rows))


def scene_from_state(text: bytes | str, t_capture: int, entity_count: int) -> tuple[Scene, dict[str, Any]]:
    """The Scene of a ``state`` message and the parsed message.

    Args:
        text: The browser wire's ``state`` JSON.
        t_capture: Its capture time on this process's clock (ns).
        entity_count: Entities of a blacked-out scene (its ``entities`` are ``[]``).

    Raises:
        ValueError: not a ``state`` message (bad JSON, missing fields).
    """
    try:
        st = json.loads(text)
        rows = st["entities"]
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
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a state message: {exc}") from None
    blackout = bool(st.get("blackout", False))
    n = len(rows) if rows or not blackout else max(1, entity_count)
    if rows:
        x, y, z = (_floats(rows, k, 0.5) for k in ("x", "y", "z"))
        scale = _floats(rows, "scale", 0.0)
        band = np.fromiter((int(r.get("band", 0)) for r in rows), np.int8, n)
        visible = np.fromiter((bool(r.get("visible", True)) for r in rows), bool, n)
    else:
        x = y = z = np.full(n, 0.5, np.float32)
        scale, band, visible = np.zeros(n, np.float32), np.zeros(n, np.int8), np.zeros(n, bool)
    scene = Scene(seq=seq, t_capture=t_capture, features=feats, x=x, y=y, z=z, scale=scale,
                  brightness=np.full(n, 15, np.int8), glow=np.zeros(n, bool), visible=visible, band=band,
                  pattern=str(st.get("pattern") or ""), blackout=blackout, frozen=bool(st.get("frozen", False)))
    return scene, st
