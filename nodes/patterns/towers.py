"""Spectrum displays: the stacked tower (MCAV's default), bars, tubes and a circle."""

from __future__ import annotations

import math

import numpy as np

from .base import TAU, Audio, Entities, Pattern, groups

__all__ = ["SpectrumBars", "SpectrumCircle", "SpectrumTubes", "StackedTower"]

# Bars and tubes stand in a row across x, bass on the left.
_ROW_X = np.array([0.14, 0.32, 0.5, 0.68, 0.86])


def _stack_visible(frac: np.ndarray, height: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Blocks of a stack shown up to ``height`` (0-1); the bottom one always (a baseline)."""
    return (frac <= height) | (rank == 0)


class StackedTower(Pattern):
    key = "spectrum"
    name = "Stacked Tower"
    description = "A spinning tower of rings, bass at the bottom to air at the top; each ring swells with its band."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        per = 4 if n < 128 else 8
        layers = math.ceil(n / per)
        layer, slot = self.i // per, self.i % per
        self.lf = layer / max(1, layers - 1)
        self.band = np.minimum(self.lf * 5, 4).astype(np.int8)
        self.angle0 = slot * (TAU / per) + layer * 0.4  # a slight twist between layers
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.spin += a.dt * (0.4 + 1.6 * a.bands[1])
        lv = a.bands[self.band]
        r = 0.06 + 0.28 * lv + 0.06 * a.pulse
        ang = self.angle0 + self.spin
        e.x[:] = 0.5 + r * np.cos(ang)
        e.z[:] = 0.5 + r * np.sin(ang)
        height = 0.4 + 0.45 * min(1.0, a.level + 0.2 * a.pulse)
        e.y[:] = 0.05 + self.lf * height
        e.scale[:] = a.size(lv)
        e.brightness[:] = 6.0 + 9.0 * lv
        e.glow[:] = lv > 0.7
        e.band[:] = self.band


class SpectrumBars(Pattern):
    key = "bars"
    name = "Spectrum Bars"
    description = "Five equaliser bars, bass to air, with a glowing peak-hold block that falls slowly."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        bar, rank, size = groups(n, 5)
        # Tall bars (many entities) get a 2×2 footprint instead of one very thin column.
        cols = np.where(size >= 24, 4, 1)
        col = rank % cols
        rows = np.ceil(size / cols)
        row = rank // cols
        self.bar = bar.astype(np.int8)
        self.rank = row
        self.frac = (row + 0.5) / rows
        self.half_row = 0.5 / rows
        self.x = _ROW_X[bar] + np.where(cols == 4, (col % 2 - 0.5) * 0.05, 0.0)
        self.z = 0.5 + np.where(cols == 4, (col // 2 - 0.5) * 0.05, 0.0)
        self.hold = np.zeros(5)

    def render(self, a: Audio, e: Entities) -> None:
        height = np.minimum(1.0, a.bands + 0.15 * a.pulse)
        self.hold = np.maximum(height, self.hold - 0.5 * a.dt)  # the peak falls at 0.5 bar heights per s
        h = height[self.bar]
        peak_row = np.abs(self.frac - self.hold[self.bar]) < self.half_row
        shown = _stack_visible(self.frac, h, self.rank) | peak_row
        e.x[:] = self.x
        e.z[:] = self.z
        e.y[:] = 0.06 + 0.86 * self.frac
        e.scale[:] = np.where(shown, a.size(h), 0.0)
        e.brightness[:] = np.where(peak_row, 15.0, 7.0 + 8.0 * self.frac)
        e.glow[:] = peak_row
        e.band[:] = self.bar


class SpectrumTubes(Pattern):
    key = "tubes"
    name = "Spectrum Tubes"
    description = "Five turning glass tubes, bass to air, filling up with their band and widening on the beat."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        tube, rank, size = groups(n, 5)
        ring = np.select([size < 4, size < 12, size < 40], [1, 3, 4], 6)
        row, slot = rank // ring, rank % ring
        self.tube = tube.astype(np.int8)
        self.rank = row
        self.frac = (row + 0.5) / np.ceil(size / ring)
        self.angle0 = slot * TAU / ring + row * 0.5
        self.hollow = ring > 1
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.spin += a.dt * (0.6 + 1.5 * a.bands[2])
        h = np.minimum(1.0, a.bands[self.tube] + 0.15 * a.pulse)
        r = np.where(self.hollow, 0.035 + 0.03 * h + 0.02 * a.pulse, 0.0)
        ang = self.angle0 + self.spin
        e.x[:] = _ROW_X[self.tube] + r * np.cos(ang)
        e.z[:] = 0.5 + r * np.sin(ang)
        e.y[:] = 0.06 + 0.86 * self.frac
        shown = _stack_visible(self.frac, h, self.rank)
        e.scale[:] = np.where(shown, a.size(h) * 0.8, 0.0)
        e.brightness[:] = 5.0 + 10.0 * h
        e.glow[:] = self.frac > h - 0.15
        e.band[:] = self.tube


class SpectrumCircle(Pattern):
    key = "circle"
    name = "Spectrum Circle"
    description = "A ring of level meters around the floor, the spectrum mirrored bass→air→bass, bulging on the beat."

    def __init__(self, n: int) -> None:
        super().__init__(n)
        slots = n if n <= 32 else 32
        slot, rank, size = groups(n, slots)
        self.theta = slot * TAU / slots
        # Position around the circle → a fractional band, mirrored so both halves match.
        u = 1.0 - np.abs(2.0 * slot / slots - 1.0)
        fb = u * 4.0
        self.b0 = np.floor(fb).astype(int)
        self.b1 = np.minimum(self.b0 + 1, 4)
        self.bw = fb - self.b0
        self.band = np.rint(fb).astype(np.int8)
        self.single = size == 1
        self.rank = rank
        self.frac = (rank + 0.5) / size
        self.spin = 0.0

    def render(self, a: Audio, e: Entities) -> None:
        self.spin += a.dt * (0.2 + 0.6 * a.bands[3])
        b = a.bands
        lv = b[self.b0] * (1.0 - self.bw) + b[self.b1] * self.bw
        lv = lv * (0.85 + 0.15 * np.sin(6.0 * self.theta + 3.0 * a.t))
        r = 0.3 + 0.04 * lv + 0.08 * a.pulse
        ang = self.theta + self.spin
        e.x[:] = 0.5 + r * np.cos(ang)
        e.z[:] = 0.5 + r * np.sin(ang)
        e.y[:] = np.where(self.single, 0.08 + 0.75 * lv, 0.06 + 0.8 * self.frac)
        shown = self.single | _stack_visible(self.frac, lv, self.rank)
        e.scale[:] = np.where(shown, a.size(lv), 0.0)
        e.brightness[:] = 6.0 + 9.0 * lv
        e.glow[:] = lv > 0.75
        e.band[:] = self.band

