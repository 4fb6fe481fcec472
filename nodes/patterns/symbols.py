"""Figures and ornaments: skull, sacred geometry, mandala, laser array."""

from __future__ import annotations

import math

import numpy as np

from .base import TAU, Audio, Entities, Pattern, allocate, along, groups, rot_y

__all__ = ["LaserArray", "Mandala", "SacredGeometry", "Skull"]


def _circle(cx: float, cy: float, r: float, k: int) -> np.ndarray:
    th = np.arange(k) * TAU / max(k, 1) + math.pi / 2
    return np.stack((cx + r * np.cos(th), cy + r * np.sin(th)), axis=1)


def _parts(n: int, weights: list[float], makers: list) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """Points of every part, ``n`` in all shared by weight; returns (points [n, 2], part index [n])."""
    counts = allocate(n, weights, minimum=1)
    pts = [make(c) for make, c in zip(makers, counts)]
    return np.vstack(pts), np.repeat(np.arange(len(counts)), counts)


class Skull(Pattern):
    key = "skull"
    name = "Skull"
    description = "A skull facing the crowd, swaying its head; the jaw chomps with the bass and the eyes burn on the highs."

    # In skull units (x right, y up, about ±0.3); the lower jaw is everything below y = -0.15.
    _CRANIUM = [(0.3 * math.cos(a), 0.12 + 0.3 * math.sin(a)) for a in np.linspace(-0.45, math.pi + 0.45, 24)]
    _JAW = [(0.27, -0.01), (0.22, -0.16), (0.14, -0.27), (0.0, -0.3), (-0.14, -0.27), (-0.22, -0.16), (-0.27, -0.01)]
    _NOSE = [(0.0, -0.06), (-0.035, -0.13), (0.035, -0.13)]

    def __init__(self, n: int) -> None:
        super().__init__(n)

        def teeth(k: int) -> np.ndarray:
            xs = np.linspace(-0.1, 0.1, max(1, (k + 1) // 2))
            rows = [np.stack((xs, np.full(xs.size, -0.18)), 1), np.stack((xs, np.full(xs.size, -0.22)), 1)]
            return np.vstack(rows)[:k]

        pts, part = _parts(
            n,
            [0.34, 0.16, 0.12, 0.12, 0.08, 0.18],
            [
                lambda k: along(self._CRANIUM, k),
                lambda k: along(self._JAW, k),
                lambda k: _circle(-0.11, 0.03, 0.065, k),
                lambda k: _circle(0.11, 0.03, 0.065, k),
                lambda k: along(self._NOSE, k, closed=True),
                teeth,
            ],
        ) if n >= 6 else (along(self._CRANIUM, n), np.zeros(n, int))  # fmt: skip
        self.sx, self.sy = pts[:, 0], pts[:, 1]
        self.eye = (part == 2) | (part == 3)
        self.eye_cx = np.where(part == 2, -0.11, 0.11)
        self.jaw = self.sy < -0.15
        self.depth = np.sqrt(np.maximum(0.0, 1.0 - (self.sx / 0.35) ** 2))
        self.band = np.select([self.eye, self.jaw, part == 4], [4, 0, 3], np.where(part == 0, 2, 1)).astype(np.int8)

    def render(self, a: Audio, e: Entities) -> None:
        b = a.bands
        chomp = 0.05 * min(1.0, b[0] + a.pulse)
        glare = min(1.0, b[4] + a.pulse)
        sx = np.where(self.eye, self.eye_cx + (self.sx - self.eye_cx) * (1.0 + 0.3 * glare), self.sx)
        sy = np.where(self.eye, 0.03 + (self.sy - 0.03) * (1.0 + 0.3 * glare), self.sy - self.jaw * chomp)
        x, z = rot_y(0.5 + 1.1 * sx, 0.5 - 0.12 * self.depth, 0.35 * math.sin(0.4 * a.t) * (0.5 + a.level))
        e.x[:] = x
        e.z[:] = z
        e.y[:] = 0.44 + 1.1 * sy
        lv = b[self.band]
        e.scale[:] = a.size(lv) * np.where(self.eye, 1.0 + 0.4 * glare, 1.0)
        e.brightness[:] = np.where(self.eye, 6.0 + 9.0 * glare, 9.0 + 4.0 * lv)
        e.glow[:] = self.eye & (glare > 0.4)
        e.band[:] = self.band


class SacredGeometry(Pattern):
    key = "sacred"
    name = "Sacred Geometry"
    description = "A hexagram in a circle round a hexagon and an inner circle, its triangles turning against each other."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        s3 = 1.0 / math.sqrt(3.0)
        up = [(math.cos(a), math.sin(a)) for a in (math.pi / 2 + k * TAU / 3 for k in range(3))]
        hexagon = [(s3 * math.cos(a), s3 * math.sin(a)) for a in (k * TAU / 6 for k in range(6))]
        if n >= 5:
            pts, part = _parts(
                n,
                [0.3, 0.2, 0.2, 0.15, 0.15],
                [
                    lambda k: _circle(0, 0, 1.0, k),
                    lambda k: along(up, k, closed=True),
                    lambda k: along(up, k, closed=True),  # turned by π below: the downward triangle
                    lambda k: _circle(0, 0, 0.5, k),
                    lambda k: along(hexagon, k, closed=True),
                ],
            )
        else:
            pts, part = _circle(0, 0, 1.0, n), np.zeros(n, int)
        self.px, self.py = pts[:, 0], pts[:, 1]
        self.part = part
        self.turn = np.select([part == 1, part == 2], [1.0, -1.0], 0.0)
        self.base = np.where(part == 2, math.pi, 0.0)
        self.band = np.array([0, 1, 3, 2, 4])[part].astype(np.int8)
        self.spin = np.zeros(2)

    def render(self, a: Audio, e: Entities) -> None:
        b = a.bands
        self.spin += a.dt * np.array([0.3 + 1.2 * b[0], 0.3 + 1.2 * b[3]])
        ang = self.base + np.where(self.turn > 0, self.spin[0], np.where(self.turn < 0, -self.spin[1], 0.0))
        c, s = np.cos(ang), np.sin(ang)
        radius = 0.3 + 0.06 * a.level + 0.06 * a.pulse
        u = (self.px * c - self.py * s) * radius
        v = (self.px * s + self.py * c) * radius
        x, z = rot_y(0.5 + u, 0.5 + 0.04 * np.sin(3.0 * np.arctan2(v, u) + a.t), 0.4 * math.sin(0.25 * a.t))
        e.x[:] = x
        e.z[:] = z
        e.y[:] = 0.5 + v
        lv = b[self.band]
        e.scale[:] = a.size(lv)
        e.brightness[:] = 7.0 + 8.0 * lv
        e.glow[:] = (self.part == 0) & (a.pulse > 0.3) | (lv > 0.8)
        e.band[:] = self.band


class Mandala(Pattern):
    key = "mandala"
    name = "Mandala"
    description = "Concentric rings of eight-fold petals turning in alternate directions, each ring on its own band."

    SYMMETRY = 8

    def __init__(self, n: int) -> None:
        super().__init__(n)
        rings = int(np.clip(round(math.sqrt(n / 6)), 1, 6))
        counts = allocate(n, [k + 1 for k in range(rings)])
        ring = np.repeat(np.arange(rings), counts)
        rank = np.concatenate([np.arange(c) for c in counts])
        size = np.repeat(counts, counts)
        self.rho = 0.06 + 0.28 * (ring + 1) / rings
        self.theta = rank * TAU / np.maximum(size, 1) + ring * (math.pi / self.SYMMETRY)
        self.dir = np.where(ring % 2 == 0, 1.0, -1.0)
        self.lift = 1.0 - (ring + 1) / (rings + 1)  # inner rings sit higher: a shallow dome
        self.band = (ring % 5).astype(np.int8)
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.spin += a.dt * (0.2 + 0.8 * a.bands[2])
        lv = a.bands[self.band]
        th = self.theta + self.spin * self.dir
        petal = np.cos(self.SYMMETRY * self.theta)  # petals fixed to each ring, turning with it
        r = self.rho * (1.0 + 0.12 * petal * (0.5 + 0.5 * lv)) * (1.0 + 0.05 * a.pulse)
        e.x[:] = 0.5 + r * np.cos(th)
        e.z[:] = 0.5 + r * np.sin(th)
        e.y[:] = 0.35 + 0.25 * self.lift + 0.08 * lv * petal + 0.05 * a.pulse
        e.scale[:] = a.size(lv) * (0.8 + 0.3 * (petal > 0.5))
        e.brightness[:] = 6.0 + 9.0 * lv
        e.glow[:] = (petal > 0.9) & (a.pulse > 0.2)
        e.band[:] = self.band


class LaserArray(Pattern):
    key = "laser"
    name = "Laser Array"
    description = "A row of laser beams fanning up from the floor, sweeping over the crowd and snapping round on beats."

    MARGIN = 0.03

    def __init__(self, n: int) -> None:
        super().__init__(n)
        beams = int(np.clip(n // 4, 1, 8))
        beam, rank, size = groups(n, beams)
        self.beam = beam
        self.u = (rank + 0.5) / size
        self.ox = 0.15 + 0.7 * np.arange(beams) / max(1, beams - 1) if beams > 1 else np.array([0.5])
        self.band = (beam % 5).astype(np.int8)
        self.sweep = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        b = a.bands
        self.sweep += a.dt * (0.6 + 1.5 * b[2]) + 6.0 * a.pulse_area  # beats whip the beams round
        k = np.arange(self.ox.size)
        phi = 0.6 * np.sin(self.sweep + k * 0.9)  # lean left/right
        psi = -0.3 - 0.2 * np.sin(self.sweep * 0.7 + k)  # lean towards the crowd (-z)
        d = np.stack((np.sin(phi) * np.cos(psi), np.cos(phi) * np.cos(psi), np.sin(psi)))
        o = np.stack((self.ox, np.full(k.size, 0.04), np.full(k.size, 0.7)))
        # Longest beam that stays in the zone along each direction.
        with np.errstate(divide="ignore"):
            lim = np.where(d > 0, (1.0 - self.MARGIN - o) / d, np.where(d < 0, (self.MARGIN - o) / d, np.inf))
        length = np.minimum(lim.min(axis=0), 0.35 + 0.6 * b[k % 5] + 0.1 * a.pulse)
        reach = length[self.beam] * self.u
        e.x[:] = o[0, self.beam] + d[0, self.beam] * reach
        e.y[:] = o[1, self.beam] + d[1, self.beam] * reach
        e.z[:] = o[2, self.beam] + d[2, self.beam] * reach
        lv = b[self.band]
        e.scale[:] = a.size(lv) * 0.6
        e.brightness[:] = 10.0 + 5.0 * max(a.pulse, float(lv.max()) if lv.size else 0.0)
        e.glow[:] = a.pulse > 0.2
        e.band[:] = self.band
