"""What a pattern reads and writes, and shape helpers shared by the patterns.

A pattern is a class with a ``key``, a display ``name`` and a one-line
``description``. It is built for a fixed entity count ``n`` (precomputing its
layout once) and then called once per frame with :meth:`Pattern.render`,
which fills every entry of an :class:`Entities` buffer from an
:class:`Audio` snapshot. Everything is vectorised over the ``n`` entities.

Patterns must keep every coordinate inside 0-1 by construction (the stage
clips as a safety net, and the tests check the raw output). Time only ever
comes from ``Audio.dt`` / ``Audio.t`` (the frame clock, in seconds), so a
pattern looks the same at 20 and at 60 frames per second.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import ClassVar, Sequence, overload

import numpy as np

__all__ = [
    "TAU",
    "Audio",
    "Entities",
    "Pattern",
    "allocate",
    "along",
    "approach",
    "fib_sphere",
    "groups",
    "rng_for",
    "rot_y",
]

TAU = 2.0 * math.pi
NUM_BANDS = 5


def _bands() -> np.ndarray:
    return np.zeros(NUM_BANDS)


@dataclass(slots=True)
class Audio:
    """One frame of input as patterns see it.

    Attributes:
        t: Stage time in s (sum of the frame clock's deltas since the node started).
        dt: Time since the previous frame in s (0 on the first, at most 0.25).
        bands: float64 ``[5]`` 0-1, band sensitivity applied, lightly smoothed.
        level: Mean of ``bands``.
        peak: Amplitude 0-1.
        beat: True in the frame of a beat.
        beat_intensity: Intensity of the latest beat, 0-1.
        pulse: Beat envelope 0-1: jumps to the beat's intensity, decays with a 0.15 s time constant.
        pulse_area: Integral of ``pulse`` over this frame's step (s), exact at any frame rate:
            use it, not ``pulse * dt``, to let beats push a phase along.
        beats: Number of beats seen so far.
        since_beat: Time since the latest beat in s (large before the first).
        bpm: Tempo (0 while unknown).
        beat_phase: 0-1 inside the current beat period.
        instant_bass: Fast bass envelope 0-1.
        base_scale: Entity scale at silence (blocks).
        max_scale: Entity scale at a full band (blocks).
        beat_boost: Scale multiplier at the peak of a beat (1 = none).
    """

    t: float = 0.0
    dt: float = 0.0
    bands: np.ndarray = field(default_factory=_bands)
    level: float = 0.0
    peak: float = 0.0
    beat: bool = False
    beat_intensity: float = 0.0
    pulse: float = 0.0
    pulse_area: float = 0.0
    beats: int = 0
    since_beat: float = 1e3
    bpm: float = 0.0
    beat_phase: float = 0.0
    instant_bass: float = 0.0
    base_scale: float = 0.2
    max_scale: float = 1.0
    beat_boost: float = 1.5

    def size(self, level: np.ndarray | float) -> np.ndarray | float:
        """Entity scale for a level 0-1: base→max, times the beat boost while the pulse lasts."""
        boost = 1.0 + (self.beat_boost - 1.0) * self.pulse
        return (self.base_scale + (self.max_scale - self.base_scale) * level) * boost


#: Rows of :attr:`Entities.floats`: x, y, z, scale, brightness, and each row's value for "nothing shown".
FLOAT_FIELDS = ("x", "y", "z", "scale", "brightness")
_FLOAT_RESET = np.array([[0.5], [0.5], [0.5], [0.0], [15.0]])


class Entities:
    """The per-entity arrays a pattern fills (float64 for speed; the stage converts).

    Attributes:
        x, y, z: Positions 0-1 in the zone box (origin at a corner, y up).
        scale: 0-4 blocks; 0 means "not used" (hidden).
        brightness: 0-15.
        glow: Glowing outline.
        band: Band 0-4 the entity follows.
        floats: ``[5, n]`` float64: ``x``, ``y``, ``z``, ``scale`` and ``brightness`` are its rows (views), so
            the stage resets, copies and clips all five with one numpy call each instead of five: at 60 frames
            per second on cold caches every call on a small array costs several µs. Fill the rows in place
            (``e.x[:] = …``, ``e.scale *= …``); an attribute bound to another array would leave the matrix.
    """

    __slots__ = ("band", "brightness", "floats", "glow", "scale", "x", "y", "z")

    def __init__(self, n: int) -> None:
        self.floats = np.empty((len(FLOAT_FIELDS), n))
        self.floats[:] = _FLOAT_RESET
        self._views()
        self.glow = np.zeros(n, dtype=bool)
        self.band = np.zeros(n, dtype=np.int8)

    def _views(self) -> None:
        self.x, self.y, self.z, self.scale, self.brightness = self.floats

    @property
    def n(self) -> int:
        """Number of entities."""
        return int(self.floats.shape[1])

    def reset(self) -> None:
        """Back to "nothing shown": centred, scale 0, full brightness, no glow, band 0."""
        self.floats[:] = _FLOAT_RESET
        self.glow.fill(False)
        self.band.fill(0)

    def copy(self) -> Entities:
        """An independent copy."""
        out = Entities.__new__(Entities)
        out.floats = self.floats.copy()
        out._views()
        out.glow = self.glow.copy()
        out.band = self.band.copy()
        return out

    def copy_from(self, other: Entities) -> None:
        """Overwrite this buffer with ``other`` (same ``n``)."""
        np.copyto(self.floats, other.floats)
        np.copyto(self.glow, other.glow)
        np.copyto(self.band, other.band)

    def resized(self, n: int) -> Entities:
        """A copy with ``n`` entities: truncated, or padded with unused (scale 0) ones."""
        out = Entities(n)
        k = min(n, self.n)
        out.floats[:, :k] = self.floats[:, :k]
        out.glow[:k] = self.glow[:k]
        out.band[:k] = self.band[:k]
        return out


class Pattern:
    """Base of every pattern.

    Subclasses set ``key``/``name``/``description``, precompute their layout in
    ``__init__`` (call ``super().__init__(n)`` first) and implement :meth:`render`.
    """

    key: ClassVar[str] = ""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"a pattern needs at least 1 entity, got {n}")
        self.n = n
        self.i = np.arange(n)

    def render(self, a: Audio, e: Entities) -> None:
        """Fill every entry of ``e`` (length ``n``) for this frame."""
        raise NotImplementedError


# --- helpers -----------------------------------------------------------------


# An array in, an array out: a pattern keeps a smoothed array in an array-typed attribute.
@overload
def approach(current: np.ndarray, target: np.ndarray | float, dt: float, tau: float) -> np.ndarray: ...
@overload
def approach(current: float, target: np.ndarray, dt: float, tau: float) -> np.ndarray: ...
@overload
def approach(current: float, target: float, dt: float, tau: float) -> float: ...


def approach(current: np.ndarray | float, target: np.ndarray | float, dt: float, tau: float) -> np.ndarray | float:
    """Exponential smoothing towards ``target`` with time constant ``tau`` s, exact for any ``dt``."""
    return target + (current - target) * math.exp(-dt / tau)


def groups(n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``n`` entities into ``k`` near-equal consecutive groups (the first ones get the extras).

    Returns:
        ``(group, rank, size)`` per entity: its group 0..k-1, its index inside the
        group, and the size of its group.
    """
    k = max(1, min(k, n))
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    group = np.repeat(np.arange(k), sizes)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.arange(n) - starts[group]
    return group, rank, sizes[group]


def allocate(n: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Share ``n`` entities among parts by weight (largest remainder), each part ≥ ``minimum`` if possible."""
    w = np.asarray(weights, dtype=float)
    base = np.full(len(w), minimum if n >= minimum * len(w) else 0)
    rest = n - int(base.sum())
    exact = w / w.sum() * rest
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: rest - int(counts.sum())]] += 1
    return [int(c) for c in base + counts]


def fib_sphere(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` near-evenly spread unit vectors (golden-angle spiral), y from -1 (bottom) to 1."""
    k = np.arange(n) + 0.5
    uy = 1.0 - 2.0 * k / n
    r = np.sqrt(np.maximum(0.0, 1.0 - uy * uy))
    theta = k * (math.pi * (3.0 - math.sqrt(5.0)))
    return r * np.cos(theta), -uy, r * np.sin(theta)


def along(points: Sequence[Sequence[float]], k: int, closed: bool = False) -> np.ndarray:
    """``k`` points evenly spaced along a polyline (``closed`` joins the last vertex to the first).

    Returns:
        Array ``[k, d]`` (d = the vertices' dimension). Open lines include both ends.
    """
    p = np.asarray(points, dtype=float)
    if closed:
        p = np.vstack([p, p[:1]])
    if k <= 0:
        return np.zeros((0, p.shape[1]))
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    total = cum[-1]
    if closed:
        s = np.arange(k) * total / k
    else:
        s = np.linspace(0.0, total, k) if k > 1 else np.array([total / 2])
    return np.stack([np.interp(s, cum, p[:, d]) for d in range(p.shape[1])], axis=1)


def rot_y(x: np.ndarray, z: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate positions about the vertical axis through the zone's centre (x = z = 0.5)."""
    c, s = math.cos(angle), math.sin(angle)
    dx, dz = x - 0.5, z - 0.5
    return 0.5 + dx * c - dz * s, 0.5 + dx * s + dz * c


def rng_for(key: str) -> np.random.Generator:
    """A generator seeded from a pattern key, so random layouts are the same on every run."""
    return np.random.default_rng(zlib.crc32(key.encode()))
