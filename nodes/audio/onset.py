"""Onset strength history and a reactive onset detector (used before the tracker is locked)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["History", "OnsetDetector"]


class History:
    """The last ``size`` values of a stream, readable as one contiguous array.

    Each value is written twice in a buffer of ``2·size`` so that the newest
    ``m`` values are always one slice (no copy, no ``np.roll``). With ``columns``
    (default 0: scalars) each value is a row of that many numbers.
    """

    def __init__(self, size: int, columns: int = 0) -> None:
        self.size = size
        self._buf = np.zeros((2 * size, columns) if columns else 2 * size)
        self._pos = 0
        #: Values pushed in all.
        self.count = 0

    def push(self, value: float) -> None:
        """Append one value (the oldest is forgotten)."""
        buf, pos = self._buf, self._pos
        buf[pos] = value
        buf[pos + self.size] = value
        self._pos = pos + 1 if pos + 1 < self.size else 0
        self.count += 1

    def extend(self, values: np.ndarray) -> None:
        """Append several values, oldest first (one slice copy per part instead of a call per value)."""
        size = self.size
        m = values.shape[0]
        self.count += m
        buf, pos = self._buf, self._pos
        if m >= size:  # only the newest `size` survive; the oldest of them goes at the new write position
            new = (pos + m) % size
            buf[new:size] = values[m - size : m - new]
            buf[:new] = values[m - new :]
            buf[size:] = buf[:size]
            self._pos = new
            return
        end = pos + m  # < 2·size: one contiguous write; then the mirror of each part
        buf[pos:end] = values
        if end <= size:
            buf[pos + size : end + size] = values
            self._pos = end if end < size else 0
        else:
            split = size - pos
            buf[pos + size :] = values[:split]
            buf[: end - size] = values[split:]
            self._pos = end - size

    def last(self, m: int) -> np.ndarray:
        """The newest ``m`` values, oldest first (a view; zeros before the stream started)."""
        end = self._pos + self.size
        return self._buf[end - min(m, self.size) : end]


class OnsetDetector:
    """Flags the rising edge of onset strength above ``mean + threshold·σ`` of the last second.

    Args:
        rate: Onset samples per second (Hz).
        min_gap: Shortest time between two onsets, in s. Default 0.15 s (MCAV).
        floor: Smallest threshold, in onset-strength units. Default 0.05.
    """

    def __init__(self, rate: float, min_gap: float = 0.15, floor: float = 0.05) -> None:
        self._a = 1.0 - math.exp(-1.0 / rate)  # 1 s exponential window
        self._gap = max(1, round(min_gap * rate))
        self.floor = floor
        self.mean = 0.0
        self.var = 0.0
        self._above = False
        self._since = self._gap
        #: Ratio of the last onset's strength to its threshold.
        self.strength = 0.0

    def push(self, value: float, threshold: float) -> bool:
        """Feed one onset-strength sample; True on a detected onset."""
        limit = max(self.floor, self.mean + threshold * math.sqrt(self.var))
        above = value > limit
        onset = above and not self._above and self._since >= self._gap
        self._above = above
        self._since = 0 if onset else self._since + 1
        if onset:
            self.strength = value / limit
        d = value - self.mean
        self.mean += self._a * d
        self.var += self._a * (d * d - self.var)
        return onset

    def push_all(self, values: list[float], threshold: float) -> bool:
        """Feed several samples, oldest first; True if any was an onset (same as :meth:`push` on each).

        The state lives in locals during the loop: attribute access per sample
        costs more than the arithmetic.
        """
        a, gap, floor, sqrt = self._a, self._gap, self.floor, math.sqrt
        mean, var, was_above, since = self.mean, self.var, self._above, self._since
        any_onset = False
        for value in values:
            limit = mean + threshold * sqrt(var)
            if limit < floor:
                limit = floor
            above = value > limit
            if above and not was_above and since >= gap:
                any_onset = True
                since = 0
                self.strength = value / limit
            else:
                since += 1
            was_above = above
            d = value - mean
            mean += a * d
            var += a * (d * d - var)
        self.mean, self.var, self._above, self._since = mean, var, was_above, since
        return any_onset
