"""Solid shapes: expanding sphere, breathing cube, pyramid, tesseract, crystal."""

from __future__ import annotations

import numpy as np

from .base import TAU, Audio, Entities, Pattern, fib_sphere

__all__ = ["ExpandingSphere"]


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
