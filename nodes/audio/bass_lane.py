"""The fast bass/kick lane: a low-pass envelope per block, without the FFT window's delay."""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

try:  # lfilter's argument checks cost 3x the filtering itself on a 512-sample block
    from scipy.signal._sigtools import _linear_filter as _raw_lfilter
except ImportError:  # pragma: no cover - other scipy layouts
    _raw_lfilter = None

__all__ = ["BassLane"]


class BassLane:
    """A 1-pole low-pass, a peak envelope and a kick onset detector, updated once per block.

    The envelope rises at once (MCAV's 1 ms attack is shorter than any block)
    and falls with a 50 ms time constant. It is normalised by its own decaying
    peak (×0.999 per 10 ms). A kick is an envelope rise of more than
    ``0.15 × peak`` at least 150 ms after the previous one (WIRE.md 6.1).

    Args:
        sample_rate: Input rate in Hz.
        cutoff: Low-pass corner in Hz. Default 120 Hz.
    """

    RELEASE_S = 0.050
    MIN_GAP_S = 0.150
    RISE = 0.15

    def __init__(self, sample_rate: int, cutoff: float = 120.0) -> None:
        self.sr = sample_rate
        alpha = 1.0 - math.exp(-2.0 * math.pi * cutoff / sample_rate)
        self._b = np.array([alpha])
        self._a = np.array([1.0, alpha - 1.0])
        self._zi = np.zeros(1)
        self.env = 0.0
        self.peak = 1e-4
        self._t = 0.0
        self._last_kick = -1.0

    def update(self, mono: np.ndarray) -> tuple[float, bool]:
        """Feed one block; return ``(level 0-1, kick onset)``."""
        n = mono.shape[0]
        if n == 0:
            return min(1.0, self.env / self.peak), False
        dt = n / self.sr
        if _raw_lfilter is not None and mono.dtype == np.float64:
            low, self._zi = _raw_lfilter(self._b, self._a, mono, -1, self._zi)
        else:
            low, self._zi = lfilter(self._b, self._a, mono, zi=self._zi)
        level = float(np.abs(low).max())
        before = self.env
        self.env = level if level > self.env else self.env * math.exp(-dt / self.RELEASE_S)
        self.peak = max(self.env, self.peak * 0.999 ** (dt / 0.010), 1e-4)
        self._t += dt
        kick = self.env - before > self.RISE * self.peak and self._t - self._last_kick >= self.MIN_GAP_S
        if kick:
            self._last_kick = self._t
        return min(1.0, self.env / self.peak), kick
