"""Spirals and tunnels: DNA helix, vortex, wormhole portal."""

from __future__ import annotations

import numpy as np

from .base import TAU, Audio, Entities, Pattern

__all__ = ["DNAHelix"]


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
