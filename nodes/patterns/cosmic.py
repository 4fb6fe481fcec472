"""Space: supernova, atom model, galaxy, black hole, nebula."""

from __future__ import annotations

import math

import numpy as np

from .base import TAU, Audio, Entities, Pattern, allocate, fib_sphere, groups, rng_for

__all__ = ["AtomModel", "BlackHole", "GalaxySpiral", "Nebula", "Supernova"]


class Supernova(Pattern):
    key = "explode"
    name = "Supernova"
    description = "A glowing core that blasts a shell of debris outward on every beat, which then drifts and fades."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        core = max(1, n // 7) if n >= 4 else 0
        self.core = self.i < core
        cx, cy, cz = fib_sphere(max(core, 1))
        sx, sy, sz = fib_sphere(max(n - core, 1))
        self.ux = np.concatenate((cx[:core], sx[: n - core]))
        self.uy = np.concatenate((cy[:core], sy[: n - core]))
        self.uz = np.concatenate((cz[:core], sz[: n - core]))
        self.speed = rng_for(self.key).uniform(0.6, 1.0, n)
        self.band = np.minimum((self.uy + 1.0) * 2.5, 4).astype(np.int8)
        self.age = 10.0  # s since the last blast; long ago = fully spread shell
        self.strength = 0.6
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        if a.beat:
            self.age = 0.0
            self.strength = max(0.4, a.beat_intensity)
        else:
            self.age += a.dt
        self.spin += a.dt * (0.2 + 0.6 * a.bands[2])
        blast = 1.0 - math.exp(-(self.age + 0.08) / 0.25)  # a blast is already under way at its beat
        shell = 0.08 + 0.32 * self.speed * blast * (0.6 + 0.4 * self.strength) * (0.85 + 0.15 * a.level)
        r = np.where(self.core, 0.04 + 0.05 * a.bands[0] + 0.03 * a.pulse, shell)
        c, s = math.cos(self.spin), math.sin(self.spin)
        e.x[:] = 0.5 + r * (self.ux * c - self.uz * s)
        e.z[:] = 0.5 + r * (self.ux * s + self.uz * c)
        e.y[:] = 0.5 + r * self.uy
        fresh = math.exp(-self.age / 0.6)
        lv = a.bands[self.band]
        e.scale[:] = a.size(lv) * np.where(self.core, 1.4, 0.5 + 0.6 * fresh)
        e.brightness[:] = np.where(self.core, 15.0, 5.0 + 10.0 * fresh)
        e.glow[:] = self.core | (fresh > 0.5)
        e.band[:] = self.band


class AtomModel(Pattern):
    key = "orbit"
    name = "Atom Model"
    description = "A pulsing nucleus with electrons racing round three tilted orbits, each orbit driven by its own band."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        nuc = max(1, n // 6)
        self.nuc = self.i < nuc
        nx, ny, nz = fib_sphere(nuc)
        orbit, rank, size = groups(max(n - nuc, 1), 3)
        orbit, rank, size = orbit[: n - nuc], rank[: n - nuc], size[: n - nuc]
        # Each orbit: two electrons, each with a comet tail of the orbit's remaining entities.
        electron = rank % 2
        tail = rank // 2
        tails = np.ceil(size / 2)
        self.lag = np.concatenate((np.zeros(nuc), electron * math.pi - tail / np.maximum(tails, 1) * 1.2))
        self.taper = np.concatenate((np.ones(nuc), 1.0 - 0.7 * tail / np.maximum(tails, 1)))
        self.orbit = np.concatenate((np.zeros(nuc, int), orbit))
        self.nxyz = np.stack((np.concatenate((nx, np.zeros(n - nuc))), np.concatenate((ny, np.zeros(n - nuc))),
                              np.concatenate((nz, np.zeros(n - nuc)))))  # fmt: skip
        # Orbit planes: tilted 60° and turned 120° apart; basis vectors u, v per orbit.
        tilt = math.radians(60)
        self.u = np.zeros((3, 3))
        self.v = np.zeros((3, 3))
        for k in range(3):
            az = k * TAU / 3
            self.u[k] = (math.cos(az), 0.0, math.sin(az))
            self.v[k] = (-math.sin(az) * math.cos(tilt), math.sin(tilt), math.cos(az) * math.cos(tilt))
        self.band = np.where(self.nuc, 0, self.orbit + 1).astype(np.int8)
        self.phase = np.zeros(3)

    def render(self, a: Audio, e: Entities) -> None:
        b = a.bands
        self.phase += a.dt * np.array([1.5 + 3.0 * b[1], -(1.2 + 3.0 * b[2]), 1.8 + 3.0 * b[3]])
        o = self.orbit
        radius = 0.3 + 0.1 * b[o + 1]
        th = self.phase[o] + self.lag
        c, s = np.cos(th), np.sin(th)
        pos = (self.u[o].T * c + self.v[o].T * s) * radius
        nr = 0.05 + 0.04 * b[0] + 0.04 * a.pulse
        jiggle = 1.0 + 0.15 * np.sin(a.t * 9.0 + self.i)
        pos = np.where(self.nuc, self.nxyz * nr * jiggle, pos)
        e.x[:] = 0.5 + pos[0]
        e.y[:] = 0.5 + pos[1]
        e.z[:] = 0.5 + pos[2]
        lv = b[self.band]
        e.scale[:] = a.size(lv) * np.where(self.nuc, 1.3, self.taper)
        e.brightness[:] = np.where(self.nuc, 12.0 + 3.0 * a.pulse, 6.0 + 9.0 * self.taper * lv)
        e.glow[:] = self.nuc & (a.pulse > 0.3) | (self.taper > 0.95) & ~self.nuc
        e.band[:] = self.band


class GalaxySpiral(Pattern):
    key = "galaxy"
    name = "Galaxy"
    description = "A slowly turning spiral galaxy seen at a tilt: a bright core bulge and star-streaked arms."

    TILT = 0.45  # rad, so the front view shows a disc, not a line

    def __init__(self, n: int) -> None:
        super().__init__(n)
        rng = rng_for(self.key)
        core = max(1, n // 7)
        arms = 2 if n < 40 else 3
        self.is_core = self.i < core
        arm, rank, size = groups(max(n - core, 1), arms)
        u = np.sqrt((rank[: n - core] + 0.5) / size[: n - core])  # uniform density over the disc
        r_core = rng.uniform(0.0, 0.06, core)
        self.r = np.concatenate((r_core, 0.06 + 0.34 * u))
        scatter = rng.normal(0.0, 0.18, n - core) * (1.2 - u)
        self.theta = np.concatenate((rng.uniform(0, TAU, core), arm[: n - core] * TAU / arms + 4.0 * u + scatter))
        self.h = rng.normal(0.0, 1.0, n).clip(-2, 2) * np.where(self.is_core, 0.02, 0.008)
        self.band = np.minimum(self.r / 0.4 * 5, 4).astype(np.int8)
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.spin += a.dt * (0.15 + 0.6 * a.bands[2])
        lv = a.bands[self.band]
        r = self.r * (0.92 + 0.05 * a.level + 0.08 * a.pulse)
        # Inner stars turn faster (differential rotation), which winds the arms.
        th = self.theta + self.spin * (1.0 + 0.06 / (self.r + 0.06))
        dx, dz = r * np.cos(th), r * np.sin(th)
        c, s = math.cos(self.TILT), math.sin(self.TILT)
        e.x[:] = 0.5 + dx
        e.y[:] = 0.5 + dz * s + self.h * (1.0 + a.bands[0])
        e.z[:] = 0.5 + dz * c
        e.scale[:] = a.size(lv) * np.where(self.is_core, 1.3, 0.8)
        e.brightness[:] = np.where(self.is_core, 12.0 + 3.0 * a.pulse, 4.0 + 11.0 * lv)
        e.glow[:] = self.is_core & (a.pulse > 0.3) | (lv > 0.8)
        e.band[:] = self.band


class BlackHole(Pattern):
    key = "blackhole"
    name = "Black Hole"
    description = "An accretion disc spiralling into a dark centre past a bright photon ring, with jets on the highs."

    R_IN, R_OUT = 0.09, 0.42

    def __init__(self, n: int) -> None:
        super().__init__(n)
        rng = rng_for(self.key)
        disc, ring, jet = allocate(n, [0.7, 0.15, 0.15], minimum=1) if n >= 3 else (n, 0, 0)
        self.kind = np.repeat([0, 1, 2], [disc, ring, jet])
        self.r = rng.uniform(self.R_IN, self.R_OUT, n)
        self.theta = rng.uniform(0, TAU, n)
        self.theta[self.kind == 1] = np.arange(ring) * TAU / max(ring, 1)
        self.h = rng.normal(0, 0.01, n)
        self.jet_u = rng.uniform(0, 1, n)
        self.jet_side = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        disc_band = np.minimum((self.r - self.R_IN) / (self.R_OUT - self.R_IN) * 3, 2)  # bass inside .. mid at the rim
        self.band = np.select([self.kind == 1, self.kind == 2], [2, 4], disc_band).astype(np.int8)

    def render(self, a: Audio, e: Entities) -> None:
        b = a.bands
        disc, ring, jet = self.kind == 0, self.kind == 1, self.kind == 2
        # Disc: fall inward (faster with the bass), orbit faster near the centre; respawn at the rim.
        self.r = np.where(disc, self.r - a.dt * (0.02 + 0.1 * b[0]), self.r)
        gone = self.r < self.R_IN
        self.r[gone] += self.R_OUT - self.R_IN
        omega = (0.5 + 1.5 * b[1]) * np.minimum(12.0, (0.15 / self.r) ** 1.5)
        self.theta += a.dt * np.where(ring, 1.5 + 2.0 * b[2], omega)
        self.jet_u = (self.jet_u + a.dt * (0.4 + 1.2 * b[4])) % 1.0
        r = np.where(ring, 0.075 + 0.015 * a.pulse, self.r)
        e.x[:] = np.where(jet, 0.5, 0.5 + r * np.cos(self.theta))
        e.z[:] = np.where(jet, 0.5, 0.5 + r * np.sin(self.theta))
        reach = 0.1 + 0.3 * min(1.0, b[4] + 0.5 * a.pulse)
        e.y[:] = np.where(jet, 0.5 + self.jet_side * (0.04 + reach * self.jet_u), 0.5 + self.h)
        heat = np.clip(1.0 - (self.r - self.R_IN) / (self.R_OUT - self.R_IN), 0.0, 1.0)
        lv = b[self.band]
        e.scale[:] = np.select(
            [ring, jet], [a.size(b[2]) * 0.9, a.size(b[4]) * (1.0 - self.jet_u) * 0.8], a.size(lv) * (0.5 + 0.6 * heat)
        )
        e.brightness[:] = np.select([ring, jet], [15.0, 10.0], 4.0 + 11.0 * heat)
        e.glow[:] = ring | jet & (a.pulse > 0.2)
        e.band[:] = self.band


class Nebula(Pattern):
    key = "nebula"
    name = "Nebula"
    description = "Drifting, swirling gas clouds in four colours of band that billow out on the beat."

    LOBES = 4

    def __init__(self, n: int) -> None:
        super().__init__(n)
        rng = rng_for(self.key)
        self.lobe = self.i % self.LOBES
        self.off = rng.normal(0, 1, (3, n)).clip(-2, 2)
        self.freq = rng.uniform(0.3, 0.9, (3, n))
        self.phase = rng.uniform(0, TAU, (3, n))
        self.lobe_phase = rng.uniform(0, TAU, (3, self.LOBES))
        self.weight = rng.uniform(0.4, 1.0, n)
        self.band = (self.lobe + (self.i // self.LOBES) % 2).astype(np.int8) % 5
        self.drift = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.drift += a.dt * (0.15 + 0.5 * a.bands[2])
        d = self.drift
        lv = a.bands[self.band]
        sigma = 0.07 + 0.05 * lv + 0.03 * a.pulse  # ≤ 0.15; offsets ≤ 2σ
        centres = 0.5 + 0.12 * np.sin(self.lobe_phase + d * np.array([[0.7], [0.5], [0.6]]))
        swirl = 0.03 * np.sin(self.phase + self.freq * d * 3.0)
        pos = centres[:, self.lobe] + self.off * sigma + swirl
        e.x[:] = pos[0]
        e.y[:] = pos[1]
        e.z[:] = pos[2]
        e.scale[:] = a.size(lv) * self.weight
        e.brightness[:] = 3.0 + 12.0 * self.weight * (0.4 + 0.6 * lv)
        e.glow[:] = self.weight * (lv + a.pulse) > 0.9
        e.band[:] = self.band
