"""Things thrown and floating: the fountain and the floating platforms."""

from __future__ import annotations

import numpy as np

from .base import TAU, Audio, Entities, Pattern, groups

__all__ = ["FloatingPlatforms", "Fountain"]


class Fountain(Pattern):
    key = "matrix"
    name = "Fountain"
    description = "Water jets arcing up from the centre and falling back in a circle; the bass throws them higher."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        # Jets in a ring, each a stream of drops spaced evenly along its 0-1 flight, so
        # every jet draws a clear arc; drops never stop and the audio reshapes the arcs.
        jets = int(np.clip(n // 6, 1, 12))
        jet, rank, size = groups(n, jets)
        self.heading = jet * TAU / jets + 0.3
        self.reach = 0.8 + 0.2 * (jet % 2)  # alternate jets land at two distances
        self.start = rank / size + jet * 0.37
        self.band = (jet % 5).astype(np.int8)
        self.clock = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.clock += a.dt * (0.5 + 0.4 * a.level)
        age = (self.start + self.clock) % 1.0
        lv = a.bands[self.band]
        height = 0.25 + 0.45 * a.bands[0] + 0.15 * a.pulse  # ≤ 0.85
        spread = (0.28 + 0.1 * a.bands[2]) * self.reach  # ≤ 0.38
        e.y[:] = 0.05 + 4.0 * height * age * (1.0 - age)
        e.x[:] = 0.5 + spread * age * np.cos(self.heading)
        e.z[:] = 0.5 + spread * age * np.sin(self.heading)
        e.scale[:] = a.size(lv) * (1.0 - 0.5 * age)
        e.brightness[:] = 15.0 - 8.0 * age
        e.glow[:] = age < 0.15
        e.band[:] = self.band


class FloatingPlatforms(Pattern):
    key = "columns"
    name = "Floating Platforms"
    description = "Five square platforms circling the centre and bobbing in the air, each lifted by its own band."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        count = min(5, n)
        plat, rank, size = groups(n, count)
        side = np.ceil(np.sqrt(size))
        spacing = 0.16 / np.maximum(side - 1, 1)
        self.dx = (rank % side - (side - 1) / 2) * spacing
        self.dz = (rank // side - (np.ceil(size / side) - 1) / 2) * spacing
        self.plat = plat
        self.angle = plat * TAU / count
        self.bob = plat * 1.3
        self.band = (plat % 5).astype(np.int8)
        self.orbit = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.orbit += a.dt * (0.15 + 0.4 * a.bands[1])
        lv = a.bands[self.band]
        ang = self.angle + self.orbit
        cx, cz = 0.5 + 0.27 * np.cos(ang), 0.5 + 0.27 * np.sin(ang)
        # Platforms keep their own orientation while circling; ≤ 0.08 + 0.27 from the centre.
        e.x[:] = cx + self.dx
        e.z[:] = cz + self.dz
        e.y[:] = 0.12 + 0.55 * lv + 0.05 * np.sin(a.t * 1.3 + self.bob) + 0.12 * a.pulse
        e.scale[:] = a.size(lv)
        e.brightness[:] = 6.0 + 9.0 * lv
        e.glow[:] = lv > 0.75
        e.band[:] = self.band

