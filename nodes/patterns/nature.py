"""Nature: mushroom, aurora, ocean waves, fireflies."""

from __future__ import annotations

import math

import numpy as np

from .base import TAU, Audio, Entities, Pattern, allocate, fib_sphere, groups, rng_for

__all__ = ["Aurora", "Fireflies", "Mushroom", "OceanWaves"]


class Mushroom(Pattern):
    key = "mushroom"
    name = "Mushroom"
    description = "A mushroom with a domed, spotted cap on a stem; the cap bounces with the bass and its spots glow."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        stem, cap = allocate(n, [0.25, 0.75], minimum=1) if n >= 2 else (0, n)
        self.is_stem = self.i < stem
        per = 3 if stem < 24 else 5
        s_row, s_slot = np.arange(stem) // per, np.arange(stem) % per
        rows = max(1, math.ceil(stem / per))
        # Cap: the upper half of a sphere of points, from the top down to the rim.
        ux, uy, uz = fib_sphere(2 * cap)
        self.ux = np.concatenate((np.cos(s_slot * TAU / per + s_row * 0.6), ux[:cap]))
        self.uz = np.concatenate((np.sin(s_slot * TAU / per + s_row * 0.6), uz[:cap]))
        self.uy = np.concatenate(((s_row + 0.5) / rows, -uy[:cap]))  # stem: height fraction; cap: 0 rim .. 1 top
        self.spot = ~self.is_stem & (rng_for(self.key).uniform(0, 1, n) > 0.75)
        self.band = np.where(self.is_stem, 0, np.where(self.spot, 4, 2 + (self.uy > 0.5))).astype(np.int8)
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        b = a.bands
        self.spin += a.dt * (0.2 + 0.5 * b[2])
        stem_top = 0.32 + 0.1 * b[1] + 0.05 * a.pulse
        cap_r = 0.27 + 0.08 * b[0] + 0.05 * a.pulse
        c, s = math.cos(self.spin), math.sin(self.spin)
        cx, cz = self.ux * c - self.uz * s, self.ux * s + self.uz * c
        sr = 0.04 + 0.01 * b[0]
        stem = self.is_stem
        r = np.where(stem, sr, cap_r)
        e.x[:] = 0.5 + r * cx
        e.z[:] = 0.5 + r * cz
        # The dome is flattened (0.6) and its rim droops a little below the stem's top.
        e.y[:] = np.where(stem, 0.05 + (stem_top - 0.05) * self.uy, stem_top - 0.04 + 0.6 * cap_r * self.uy)
        lv = b[self.band]
        e.scale[:] = a.size(lv) * np.where(stem, 0.8, 1.0)
        e.brightness[:] = np.where(self.spot, 8.0 + 7.0 * b[4], np.where(stem, 7.0, 5.0 + 8.0 * lv))
        e.glow[:] = self.spot & (b[4] + a.pulse > 0.5)
        e.band[:] = self.band


class Aurora(Pattern):
    key = "aurora"
    name = "Aurora"
    description = "Curtains of light rippling high in the sky, rising with the music and shimmering on the highs."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        curtains = 1 if n < 12 else 2 if n < 48 else 3
        cur, rank, size = groups(n, curtains)
        rows = np.maximum(1, np.rint(np.sqrt(size / 3.0))).astype(int)
        cols = np.ceil(size / rows)
        self.col = (rank % cols + 0.5) / cols  # 0-1 along the curtain
        self.row = (rank // cols) / np.maximum(rows - 1, 1)  # 0 bottom .. 1 top of the curtain
        self.cur = cur
        self.z0 = 0.5 + (cur - (curtains - 1) / 2) * 0.18
        self.band = ((cur + 2) % 5).astype(np.int8)
        self.flow = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        b = a.bands
        self.flow += a.dt * (0.4 + 1.0 * b[2])
        f, x = self.flow, self.col
        lv = b[self.band]
        bottom = 0.42 + 0.08 * np.sin(3.0 * x + f * 0.7 + self.cur)
        height = 0.15 + 0.15 * lv + 0.1 * b[0] + 0.05 * a.pulse  # ≤ 0.45
        e.x[:] = 0.06 + 0.88 * x
        e.y[:] = bottom + height * self.row
        ripple = 0.05 * a.pulse * np.sin(10.0 * x - 8.0 * a.t)
        sway = 0.04 + 0.05 * b[4]  # the highs make the curtains ripple harder
        e.z[:] = self.z0 + sway * np.sin(TAU * 1.3 * x + f + self.cur * 2.0) + 0.04 * np.sin(5.0 * x - 1.7 * f) + ripple
        shimmer = 0.5 + 0.5 * np.sin(17.0 * x + 6.0 * self.row + a.t * (2.0 + 8.0 * b[4]))
        e.scale[:] = a.size(lv) * (1.0 - 0.5 * self.row)
        e.brightness[:] = 6.0 + 9.0 * shimmer * (0.5 + 0.5 * b[3])
        e.glow[:] = True
        e.band[:] = self.band


class OceanWaves(Pattern):
    key = "ocean"
    name = "Ocean Waves"
    description = "A rolling sea surface: swell from the bass, chop from the highs, and a ring of ripple on each beat."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        side = math.ceil(math.sqrt(n))
        rows = math.ceil(n / side)
        self.gx = 0.06 + 0.88 * (self.i % side + 0.5) / side
        self.gz = 0.06 + 0.88 * (self.i // side + 0.5) / rows
        self.dist = np.hypot(self.gx - 0.5, self.gz - 0.5)
        self.band = np.minimum(self.dist / 0.62 * 5, 4).astype(np.int8)

    def render(self, a: Audio, e: Entities) -> None:
        b, t = a.bands, a.t
        x, z = self.gx, self.gz
        swell = (0.04 + 0.12 * b[0]) * (np.sin(7.0 * x + 1.3 * t) + 0.5 * np.sin(5.0 * z - 0.9 * t + 1.0))
        chop = 0.03 * b[3] * np.sin(23.0 * x + 17.0 * z + 4.0 * t)
        front = a.since_beat * 0.6  # the beat's ripple ring expands at 0.6 zone widths per s
        ripple = 0.12 * a.pulse * np.exp(-(((self.dist - front) / 0.07) ** 2))
        h = swell + chop + ripple
        e.x[:] = x
        e.z[:] = z
        e.y[:] = 0.4 + h
        crest = np.clip(h / 0.25, 0.0, 1.0)
        lv = b[self.band]
        e.scale[:] = a.size(lv)
        e.brightness[:] = 5.0 + 10.0 * crest
        e.glow[:] = crest > 0.6
        e.band[:] = self.band


class Fireflies(Pattern):
    key = "fireflies"
    name = "Fireflies"
    description = "Fireflies wandering through the night, each blinking on its own until a beat makes them flash together."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        rng = rng_for(self.key)
        self.w = rng.uniform(0.2, 0.7, (2, 3, n))  # two wander frequencies per axis
        self.ph = rng.uniform(0, TAU, (2, 3, n))
        self.blink_f = rng.uniform(0.3, 0.8, n)  # Hz
        self.blink_ph = rng.uniform(0, 1, n)
        self.band = (self.i % 5).astype(np.int8)
        self.tau = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.tau += a.dt * (0.3 + 1.2 * a.bands[2])
        wander = 0.6 * np.sin(self.w[0] * self.tau + self.ph[0]) + 0.4 * np.sin(self.w[1] * self.tau * 1.7 + self.ph[1])
        e.x[:] = 0.5 + 0.4 * wander[0]
        e.y[:] = 0.5 + 0.35 * wander[1]
        e.z[:] = 0.5 + 0.4 * wander[2]
        cycle = (self.blink_f * a.t + self.blink_ph) % 1.0
        blink = np.maximum(np.maximum(0.0, np.sin(cycle * TAU)) ** 4, a.pulse)
        lv = a.bands[self.band]
        e.scale[:] = a.size(lv) * (0.3 + 0.7 * blink)
        e.brightness[:] = 3.0 + 12.0 * blink
        e.glow[:] = blink > 0.5
        e.band[:] = self.band
