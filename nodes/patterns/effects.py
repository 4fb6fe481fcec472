"""Effects laid over whatever pattern is showing (WIRE.md 7.3, plus the three MCAV ignored).

Every timed effect is a function ``(e, intensity, elapsed, duration)`` that
changes the entity buffer in place. ``elapsed`` is the effect's age in s on
the frame clock, ``p = elapsed / duration`` its progress 0-1; ``i / n`` is an
entity's index fraction. Only entities in use (scale > 0) are ever made
visible: an effect never brings back an entity the pattern left unused.

MCAV's formulas, kept as they were, except that ``flash`` no longer shrinks an
entity that was already larger than 1 block (``min(1, s + …)`` did)::

    flash     scale = max(s, min(1, s + 0.5·I·(1-p)));  y = min(1, y + 0.2·I·(1-p))
    strobe    scale = 0.01 while int(elapsed·8) is odd (8 Hz on/off)
    pulse     scale = max(0.05, s·(1 + 0.5·I·sin(4π·elapsed)))
    wave      y += 0.3·I·sin(3·elapsed + 2π·i/n)
    spiral    x, z = 0.5 + (cos, sin)(2·elapsed + 2π·i/n)·0.3·I·(1 - 0.5p)
    explode   f = 0.3·I·(1-p)/max(0.1, dist);  pos = c + (pos - c)·(1 + f);  scale ×= 1 + 0.5·I·(1-p)

New here (MCAV's admin panel sends them; the old server ignored them)::

    bass_drop e = (1-p)²: everything slams to the floor and swells, then recovers:
              y ×= 1 - 0.7·min(I, 1)·e;  x, z spread ×(1 + 0.25·I·e) from the centre;  scale ×= 1 + I·e
    spin_up   the scene turns about the vertical axis by 2π·k·p²  (accelerating)
    spin_down the scene turns by 2π·k·(1 - (1-p)²)  (decelerating to a stop)
              k = max(1, round(I·duration)) whole turns, so the end joins up without a jump.

The stage clips positions to 0-1 and scale to 0-4 after the effects.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .base import TAU, Entities, rot_y

__all__ = [
    "DURATION_MAX",
    "EFFECTS",
    "INTENSITY_MAX",
    "TIMED_EFFECTS",
    "TOGGLES",
    "spin_turns",
]

#: Largest accepted effect duration, s.
DURATION_MAX = 60.0
#: Largest accepted effect intensity (1.0 is what MCAV's admin panel sends).
INTENSITY_MAX = 2.0

Effect = Callable[[Entities, float, float, float], None]


def _progress(elapsed: float, duration: float) -> float:
    return min(1.0, max(0.0, elapsed / duration))


def _index_angle(n: int) -> np.ndarray:
    return np.arange(n) * (TAU / n)


def flash(e: Entities, intensity: float, elapsed: float, duration: float) -> None:
    k = intensity * (1.0 - _progress(elapsed, duration))
    used = e.scale > 0.0
    e.scale[:] = np.where(used, np.maximum(e.scale, np.minimum(1.0, e.scale + 0.5 * k)), 0.0)
    e.y[:] = np.minimum(1.0, e.y + 0.2 * k)


def strobe(e: Entities, intensity: float, elapsed: float, duration: float) -> None:
    if int(elapsed * 8.0) % 2 == 1:
        e.scale[e.scale > 0.0] = 0.01


def pulse(e: Entities, intensity: float, elapsed: float, duration: float) -> None:
    factor = 1.0 + 0.5 * intensity * math.sin(4.0 * math.pi * elapsed)
    used = e.scale > 0.0
    e.scale[:] = np.where(used, np.maximum(0.05, e.scale * factor), 0.0)


def wave(e: Entities, intensity: float, elapsed: float, duration: float) -> None:
    e.y[:] = np.clip(e.y + 0.3 * intensity * np.sin(3.0 * elapsed + _index_angle(e.n)), 0.0, 1.0)


def spiral(e: Entities, intensity: float, elapsed: float, duration: float) -> None:
    radius = 0.3 * intensity * (1.0 - 0.5 * _progress(elapsed, duration))
    angle = 2.0 * elapsed + _index_angle(e.n)
    e.x[:] = 0.5 + np.cos(angle) * radius
    e.z[:] = 0.5 + np.sin(angle) * radius


def explode(e: Entities, intensity: float, elapsed: float, duration: float) -> None:
    k = intensity * (1.0 - _progress(elapsed, duration))
    dx, dy, dz = e.x - 0.5, e.y - 0.5, e.z - 0.5
    dist = np.sqrt(dx * dx + dy * dy + dz * dz)
    grow = 1.0 + 0.3 * k / np.maximum(0.1, dist)
    e.x[:] = 0.5 + dx * grow
    e.y[:] = 0.5 + dy * grow
    e.z[:] = 0.5 + dz * grow
    e.scale *= 1.0 + 0.5 * k


def bass_drop(e: Entities, intensity: float, elapsed: float, duration: float) -> None:
    k = (1.0 - _progress(elapsed, duration)) ** 2
    e.y *= 1.0 - 0.7 * min(intensity, 1.0) * k
    spread = 1.0 + 0.25 * intensity * k
    e.x[:] = 0.5 + (e.x - 0.5) * spread
    e.z[:] = 0.5 + (e.z - 0.5) * spread
    e.scale *= 1.0 + intensity * k


def spin_turns(intensity: float, duration: float) -> int:
    """Whole turns a spin effect makes (so it ends where it started)."""
    return max(1, round(intensity * duration))


def spin_up(e: Entities, intensity: float, elapsed: float, duration: float) -> None:
    p = _progress(elapsed, duration)
    e.x[:], e.z[:] = rot_y(e.x, e.z, TAU * spin_turns(intensity, duration) * p * p)


def spin_down(e: Entities, intensity: float, elapsed: float, duration: float) -> None:
    p = _progress(elapsed, duration)
    e.x[:], e.z[:] = rot_y(e.x, e.z, TAU * spin_turns(intensity, duration) * (1.0 - (1.0 - p) ** 2))


#: Effects with a duration, in the order they are applied.
TIMED_EFFECTS: dict[str, Effect] = {
    "flash": flash,
    "strobe": strobe,
    "pulse": pulse,
    "wave": wave,
    "spiral": spiral,
    "explode": explode,
    "bass_drop": bass_drop,
    "spin_up": spin_up,
    "spin_down": spin_down,
}

#: Effects that switch a state on or off instead of running for a while.
TOGGLES: tuple[str, ...] = ("blackout", "freeze")

#: Every effect name ``trigger_effect`` accepts.
EFFECTS: tuple[str, ...] = TOGGLES + tuple(TIMED_EFFECTS)
