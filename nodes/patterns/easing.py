"""Crossfade easings and the entity blend used when the pattern changes.

Easings map progress 0-1 to a blend weight 0-1 (both ends fixed): the five of
MCAV's timeline crossfade plus ``smoothstep``, the NEW VJ server's default.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .base import Entities

__all__ = ["EASINGS", "blend", "ease"]


def _linear(t: float) -> float:
    return t


def _ease_in(t: float) -> float:
    return t * t


def _ease_out(t: float) -> float:
    return t * (2.0 - t)


def _ease_in_out(t: float) -> float:
    # Quadratic in, then quadratic out, meeting at (0.5, 0.5).
    return 2.0 * t * t if t < 0.5 else -1.0 + (4.0 - 2.0 * t) * t


def _sine(t: float) -> float:
    return 0.5 * (1.0 - math.cos(math.pi * t))


def _smoothstep(t: float) -> float:
    return t * t * (3.0 - 2.0 * t)


#: Easing name → function of progress 0-1.
EASINGS: dict[str, Callable[[float], float]] = {
    "linear": _linear,
    "ease_in": _ease_in,
    "ease_out": _ease_out,
    "ease_in_out": _ease_in_out,
    "sine": _sine,
    "smoothstep": _smoothstep,
}


def ease(name: str, progress: float) -> float:
    """The blend weight 0-1 of easing ``name`` at ``progress`` (clamped to 0-1)."""
    return EASINGS[name](min(1.0, max(0.0, progress)))


def blend(old: Entities, new: Entities, w: float, out: Entities) -> None:
    """Write the crossfade of ``old`` → ``new`` at weight ``w`` (0 = old, 1 = new) into ``out``.

    Entity ``i`` of one pattern fades into entity ``i`` of the other (MCAV's
    index-wise interpolation). An entity unused on one side (scale 0) grows or
    shrinks where it stands on the other side instead of flying in from
    wherever its unused slot happened to sit.
    """
    old_used = old.scale > 0.0
    new_used = new.scale > 0.0
    for name in ("x", "y", "z"):
        a, b = getattr(old, name), getattr(new, name)
        a = np.where(old_used, a, b)
        b = np.where(new_used, b, a)
        np.copyto(getattr(out, name), a + (b - a) * w)
    out.scale[:] = old.scale + (new.scale - old.scale) * w
    out.brightness[:] = old.brightness + (new.brightness - old.brightness) * w
    src = new if w >= 0.5 else old
    out.glow[:] = src.glow
    out.band[:] = src.band
