"""Solid shapes: expanding sphere, breathing cube, pyramid, tesseract, crystal."""

from __future__ import annotations

import itertools
import math

import numpy as np

from .base import TAU, Audio, Entities, Pattern, allocate, along, approach, fib_sphere, groups, rot_y

__all__ = ["BreathingCube", "CrystalGrowth", "ExpandingSphere", "Pyramid", "Tesseract"]


class ExpandingSphere(Pattern):
    key = "ring"
    name = "Expanding Sphere"
    description = "A turning sphere of blocks that grows with the music and bursts outward on every beat."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.ux, self.uy, self.uz = fib_sphere(n)
        self.band = np.minimum((self.uy + 1.0) * 2.5, 4).astype(np.int8)  # bass at the bottom
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.spin += a.dt * (0.3 + 1.2 * a.bands[2])
        lv = a.bands[self.band]
        r = 0.12 + 0.2 * a.level + 0.08 * a.pulse + 0.06 * lv
        c, s = np.cos(self.spin), np.sin(self.spin)
        e.x[:] = 0.5 + r * (self.ux * c - self.uz * s)
        e.z[:] = 0.5 + r * (self.ux * s + self.uz * c)
        e.y[:] = 0.5 + r * self.uy
        e.scale[:] = a.size(lv)
        e.brightness[:] = 6.0 + 9.0 * lv
        e.glow[:] = a.pulse > 0.5
        e.band[:] = self.band


def _cube(dim: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Vertices (±1) and edges (vertex pairs one step apart) of a ``dim``-dimensional cube."""
    v = np.array(list(itertools.product((-1.0, 1.0), repeat=dim)))
    edges = [(a, b) for a, b in itertools.combinations(range(len(v)), 2) if np.abs(v[a] - v[b]).sum() == 2]
    return v, edges


_CUBE, _CUBE_EDGES = _cube(3)
_HYPER, _HYPER_EDGES = _cube(4)


def _heartbeat(since_beat: float, intensity: float) -> float:
    """A "lub-dub": two quick swells 0.2 s apart after each beat, 0-1."""
    lub = math.exp(-((since_beat - 0.04) / 0.06) ** 2)
    dub = 0.6 * math.exp(-((since_beat - 0.24) / 0.06) ** 2)
    return intensity * (lub + dub)


class BreathingCube(Pattern):
    key = "heartbeat"
    name = "Breathing Cube"
    description = "A wireframe cube that breathes with the music and beats like a heart (lub-dub) on every beat."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        pts = [_CUBE[: min(n, 8)]]
        edge = [np.arange(min(n, 8)) % 12]
        if n > 8:
            per = allocate(n - 8, [1] * 12)
            for k, (a, b) in enumerate(_CUBE_EDGES):
                f = (np.arange(per[k]) + 1.0) / (per[k] + 1.0)
                pts.append(_CUBE[a] + (_CUBE[b] - _CUBE[a]) * f[:, None])
                edge.append(np.full(per[k], k))
        p = np.vstack(pts)
        self.px, self.py, self.pz = p[:, 0], p[:, 1], p[:, 2]
        self.band = (np.concatenate(edge) % 5).astype(np.int8)
        self.corner = np.arange(n) < 8
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.spin += a.dt * (0.3 + 1.0 * a.bands[1])
        heart = _heartbeat(a.since_beat, a.beat_intensity)
        half = 0.14 + 0.1 * a.level + 0.07 * min(1.0, heart)
        lv = a.bands[self.band]
        x, z = rot_y(0.5 + half * self.px, 0.5 + half * self.pz, self.spin)
        e.x[:] = x
        e.z[:] = z
        e.y[:] = 0.5 + half * self.py
        e.scale[:] = a.size(lv) * np.where(self.corner, 1.3, 1.0)
        e.brightness[:] = 7.0 + 8.0 * min(1.0, heart + 0.5 * a.level)
        e.glow[:] = heart > 0.4
        e.band[:] = self.band


class Pyramid(Pattern):
    key = "pyramid"
    name = "Pyramid"
    description = "A stepped square pyramid turning slowly; its layers climb with the bass and the apex flares on the beat."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        layers = max(1, round(math.sqrt(n / 2)))
        # Layer k (0 = base) is a square ring; perimeter ∝ its width, plus one apex block.
        counts = allocate(n - 1, [layers - k for k in range(layers)]) + [1] if n > 1 else [1]
        if n == 1:
            layers = 0
        xs, zs, lay = [], [], []
        for k, c in enumerate(counts):
            w = 1.0 - k / (layers + 1) if k < layers else 0.0
            sq = along([(-w, -w), (w, -w), (w, w), (-w, w)], c, closed=True) if c else np.zeros((0, 2))
            xs.append(sq[:, 0])
            zs.append(sq[:, 1])
            lay.append(np.full(c, k))
        self.px, self.pz = np.concatenate(xs), np.concatenate(zs)
        self.lf = np.concatenate(lay) / max(1, layers)
        self.apex = self.lf >= 1.0
        self.band = np.minimum(self.lf * 5, 4).astype(np.int8)
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.spin += a.dt * (0.2 + 0.6 * a.bands[2])
        lv = a.bands[self.band]
        half = 0.26 + 0.04 * a.bands[0]
        x, z = rot_y(0.5 + half * self.px, 0.5 + half * self.pz, self.spin)
        e.x[:] = x
        e.z[:] = z
        height = 0.45 + 0.3 * a.bands[0] + 0.1 * a.pulse
        e.y[:] = 0.05 + height * self.lf
        e.scale[:] = a.size(lv) * np.where(self.apex, 1.0 + a.pulse, 1.0)
        e.brightness[:] = np.where(self.apex, 10.0 + 5.0 * a.pulse, 5.0 + 10.0 * lv)
        e.glow[:] = self.apex & (a.pulse > 0.2)
        e.band[:] = self.band


class Tesseract(Pattern):
    key = "tesseract"
    name = "Tesseract"
    description = "A four-dimensional hypercube turning through the fourth dimension, projected into the zone."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        a_idx = list(range(min(n, 16)))
        b_idx = list(a_idx)
        frac = [0.0] * len(a_idx)
        if n > 16:
            per = allocate(n - 16, [1] * 32)
            for k, (va, vb) in enumerate(_HYPER_EDGES):
                for j in range(per[k]):
                    a_idx.append(va)
                    b_idx.append(vb)
                    frac.append((j + 1.0) / (per[k] + 1.0))
        self.a, self.b = np.array(a_idx), np.array(b_idx)
        self.f = np.array(frac)[:, None]
        self.band = (self.a % 5).astype(np.int8)
        self.vertex = np.arange(n) < 16
        self.phase = np.zeros(3)

    def render(self, a: Audio, e: Entities) -> None:
        b = a.bands
        self.phase += a.dt * np.array([0.4 + 1.2 * b[0], 0.3 + 0.9 * b[2], 0.15 + 0.5 * b[4]])
        v = _HYPER.copy()
        for (i, j), ang in zip(((0, 3), (2, 3), (0, 2)), self.phase):  # xw, zw, then xz planes
            c, s = math.cos(ang), math.sin(ang)
            vi, vj = v[:, i].copy(), v[:, j]
            v[:, i] = vi * c - vj * s
            v[:, j] = vi * s + vj * c
        p = v[self.a] + (v[self.b] - v[self.a]) * self.f
        # Perspective from w = 3; |x|·3/(3-w) ≤ 2.67 since |x|, |w| ≤ √2 after the rotations.
        k = 3.0 / (3.0 - p[:, 3])
        size = 0.1 + 0.035 * a.level + 0.02 * a.pulse
        e.x[:] = 0.5 + size * p[:, 0] * k
        e.y[:] = 0.5 + size * p[:, 1] * k
        e.z[:] = 0.5 + size * p[:, 2] * k
        lv = b[self.band]
        e.scale[:] = a.size(lv) * (0.5 + 0.35 * k) * np.where(self.vertex, 1.2, 0.8)
        e.brightness[:] = 5.0 + 5.0 * np.minimum(k, 2.0)
        e.glow[:] = self.vertex & (a.pulse > 0.3)
        e.band[:] = self.band


class CrystalGrowth(Pattern):
    key = "crystal"
    name = "Crystal Growth"
    description = "Crystal shards growing out of a cluster on the floor with sustained energy, sparkling on highs."

    SHARDS = 7

    def __init__(self, n: int) -> None:
        super().__init__(n)
        k = min(self.SHARDS, n)
        shard, rank, size = groups(n, k)
        # One shard straight up, the others leaning out around it by 30-45°.
        rng = np.random.default_rng(7)
        tilt = np.concatenate(([0.0], rng.uniform(0.5, 0.8, k - 1)))
        az = np.concatenate(([0.0], np.arange(k - 1) * TAU / max(1, k - 1) + rng.uniform(-0.3, 0.3, k - 1)))
        d = np.stack([np.sin(tilt) * np.cos(az), np.cos(tilt), np.sin(tilt) * np.sin(az)], axis=1)
        self.d = d[shard]
        # Longest a shard may grow and stay inside the zone (root at x = z = 0.5, y = 0.05).
        self.reach = np.minimum(0.85 / np.maximum(d[:, 1], 1e-6), 0.44 / np.maximum(np.hypot(d[:, 0], d[:, 2]), 1e-6))
        self.u = (rank + 1.0) / size  # along the shard, tip = 1
        self.shard = shard
        self.band = (shard % 5).astype(np.int8)
        self.growth = np.full(k, 0.2)
        self.sparkle = rng.uniform(0, TAU, n)

    def render(self, a: Audio, e: Entities) -> None:
        target = np.minimum(1.0, a.bands[np.arange(self.growth.size) % 5] + 0.3 * a.pulse)
        self.growth = approach(self.growth, target, a.dt, 0.4)
        length = (self.reach * (0.25 + 0.75 * self.growth))[self.shard] * self.u
        e.x[:] = 0.5 + self.d[:, 0] * length
        e.y[:] = 0.05 + self.d[:, 1] * length
        e.z[:] = 0.5 + self.d[:, 2] * length
        lv = a.bands[self.band]
        e.scale[:] = a.size(lv) * (1.3 - 0.8 * self.u)  # thick at the root, thin at the tip
        twinkle = 0.5 + 0.5 * np.sin(self.sparkle + a.t * (3.0 + 8.0 * a.bands[4]))
        e.brightness[:] = 6.0 + 9.0 * twinkle * (0.4 + 0.6 * a.bands[3])
        e.glow[:] = (self.u > 0.8) & (twinkle > 0.6)
        e.band[:] = self.band
