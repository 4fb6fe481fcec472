"""Spirals and tunnels: DNA helix, vortex, wormhole portal."""

from __future__ import annotations

import math

import numpy as np

from .base import TAU, Audio, Entities, Pattern, groups

__all__ = ["DNAHelix", "Vortex", "WormholePortal"]


class DNAHelix(Pattern):
    key = "wave"
    name = "DNA Helix"
    description = "Two strands twisting round each other with glowing rungs; the twist speeds up with the bass."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        # Each entity sits at a height (0-1) and at c ∈ [-1, 1] across the helix:
        # c = ±1 on the two strands, in between on a rung.
        rungs = n // 4 if n >= 24 else 0
        strand = n - rungs
        levels = max(1, (strand + 1) // 2)
        k = np.arange(strand)
        h = np.empty(n)
        c = np.empty(n)
        h[:strand] = (k // 2) / max(1, levels - 1)
        c[:strand] = np.where(k % 2 == 0, 1.0, -1.0)
        if rungs:
            per = 2 if rungs >= 2 else 1
            count = -(-rungs // per)
            j = np.arange(rungs)
            # Rungs at evenly spaced strand levels, so they line up with strand points.
            level = np.rint((j // per + 0.5) * levels / count - 0.5) / max(1, levels - 1)
            h[strand:] = np.clip(level, 0.0, 1.0)
            c[strand:] = np.where(per == 2, np.where(j % 2 == 0, 1 / 3, -1 / 3), 0.0)
        self.h, self.c = h, c
        self.rung = np.abs(c) < 1.0
        self.band = np.minimum(h * 5, 4).astype(np.int8)
        self.twist = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.twist += a.dt * (0.5 + 2.5 * a.bands[0])
        lv = a.bands[self.band]
        ang = self.h * (TAU * 1.5) + self.twist
        r = (0.14 + 0.12 * lv + 0.08 * a.pulse) * self.c
        e.x[:] = 0.5 + r * np.cos(ang)
        e.z[:] = 0.5 + r * np.sin(ang)
        e.y[:] = 0.06 + 0.88 * self.h
        e.scale[:] = a.size(lv) * np.where(self.rung, 0.7, 1.0)
        e.brightness[:] = np.where(self.rung, 8.0 + 7.0 * a.pulse, 6.0 + 9.0 * lv)
        e.glow[:] = self.rung & (a.pulse > 0.3)
        e.band[:] = self.band


class Vortex(Pattern):
    key = "vortex"
    name = "Vortex"
    description = "A spinning funnel of spiral arms, narrow at the floor and wide at the top; the bass drives the spin."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        arms = 3 if n >= 9 else 1
        arm, rank, size = groups(n, arms)
        self.u = (rank + 0.5) / size  # 0 = floor, 1 = top
        self.arm0 = arm * TAU / arms
        self.band = np.minimum(self.u * 5, 4).astype(np.int8)
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.spin += a.dt * (1.0 + 4.0 * a.bands[0])
        u = self.u
        lv = a.bands[self.band]
        r = np.minimum(0.42, 0.03 + u**1.3 * (0.28 + 0.08 * a.bands[2] + 0.06 * a.pulse))
        ang = self.arm0 + u * TAU * (1.2 + 0.4 * a.bands[2]) - self.spin * (1.6 - u)  # the narrow end turns faster
        e.x[:] = 0.5 + r * np.cos(ang)
        e.z[:] = 0.5 + r * np.sin(ang)
        e.y[:] = 0.05 + 0.88 * u
        e.scale[:] = a.size(lv) * (0.6 + 0.6 * u)
        e.brightness[:] = 5.0 + 10.0 * lv
        e.glow[:] = (lv > 0.6) & (u > 0.5)
        e.band[:] = self.band


class WormholePortal(Pattern):
    key = "wormhole"
    name = "Wormhole Portal"
    description = "Rings flowing through an hourglass tunnel towards the audience; the throat opens on the beat."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        per = max(3, min(24, round(math.sqrt(2 * n))))
        rings = max(1, round(n / per))
        ring, rank, size = groups(n, rings)
        self.ring0 = ring / rings
        self.theta = rank * TAU / size + ring * 0.4
        self.turn = np.where(ring % 2 == 0, 1.0, -1.0)
        self.band = (ring % 5).astype(np.int8)
        self.flow = 0.0
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.flow += a.dt * (0.08 + 0.35 * a.level)
        self.spin += a.dt * (0.4 + 1.5 * a.bands[3])
        depth = (self.ring0 + self.flow) % 1.0  # 0 = far mouth, 1 = near mouth
        throat = 0.07 + 0.06 * a.bands[0] + 0.06 * a.pulse
        r = np.minimum(0.42, throat * np.sqrt(1.0 + ((depth - 0.5) / 0.16) ** 2))
        ang = self.theta + self.spin * self.turn
        e.x[:] = 0.5 + r * np.cos(ang)
        e.y[:] = 0.5 + r * np.sin(ang)
        e.z[:] = 0.05 + 0.9 * depth
        lv = a.bands[self.band]
        edge = np.abs(depth - 0.5) * 2.0
        fade = np.minimum(1.0, np.minimum(depth, 1.0 - depth) / 0.08)  # rings wrap round unseen
        e.scale[:] = a.size(lv) * (0.5 + 0.7 * edge) * np.maximum(fade, 0.05)
        e.brightness[:] = 15.0 - 9.0 * edge  # the throat glows
        e.glow[:] = edge < 0.3
        e.band[:] = self.band
