"""The onset rows' input level: every input analysed as if its recent peaks reached full scale.

The onset rows compare ``log(1 + γ·|X|)`` between hops (:mod:`.odf`). That log is a level ratio only where
``γ·|X|`` is well above 1; below, the rises shrink towards linear ones. So what the tracker made of a sound
depended on the capture gain:

* music at −40 dBFS peak (a low line-in gain, a quiet loopback) read the right tempo with confidence 0 and
  never locked;
* speech at −14 dB under its test level, about −20 dBFS peak, locked (confidence 0.65), though at its test
  level it stays at 0.13;
* soft music locked late (the Ballroom waltz at 12.8 s).

Each hop's magnitudes are therefore multiplied by ``NOMINAL / reference`` before the onset rows, the
reference being a peak follower of the input (instant attack, ``RELEASE_S`` half-life): whatever the gain,
the onset rows see the input as if its recent peaks were at full scale, and the beatless tests pass at every
level from 0 to −50 dB. Digital silence stays zero; the bands keep their own AGC and never see this gain.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_GAIN", "NOMINAL", "RELEASE_S", "InputLevel"]

#: The peak level (full scale = 1) every input is analysed at.
NOMINAL = 1.0
#: The most the input is raised: +60 dB (input peaking at −60 dBFS and below is raised by this much).
MAX_GAIN = 1000.0
#: Half-life of the peak follower's fall (s): a breakdown of a few bars is not raised to the song's level.
RELEASE_S = 10.0


class InputLevel:
    """A peak follower over hops, and the gain it gives each hop's magnitudes.

    Args:
        hop_s: Time between hops in s.
    """

    def __init__(self, hop_s: float) -> None:
        self._fall = 0.5 ** (hop_s / RELEASE_S)  # per hop
        self._reference = 0.0  # the follower after the last hop (0: nothing heard yet)
        self._powers: dict[int, np.ndarray] = {}  # fall ** -(j + 1) per block length
        self._scaled: dict[tuple[int, int], np.ndarray] = {}  # the scaled magnitudes' buffer per block shape

    def scale(self, mag: np.ndarray, newest: np.ndarray) -> np.ndarray:
        """``mag`` ``[hops, bins]`` times each hop's gain, given each hop's newest samples ``[hops, hop]``.

        Returns a buffer reused per block shape (the onset rows read it at once); ``mag`` is left as it is
        (the bands' bass bins read it after).
        """
        peaks = np.maximum(newest.max(axis=1), -newest.min(axis=1))  # |x| at its largest, without a copy of |x|
        out = self._scaled.get(mag.shape)
        if out is None:
            out = self._scaled[mag.shape] = np.empty(mag.shape, np.float32)
        return np.multiply(mag, self.gains(peaks)[:, None], out=out)

    def gains(self, peaks: np.ndarray) -> np.ndarray:
        """float32 gain of each hop, given each hop's largest absolute sample (oldest first).

        The follower at hop i is the largest of ``peaks[j]·fall^(i−j)`` (j ≤ i) and the level before the
        block times ``fall^(i+1)``: one cumulative maximum over the block instead of a loop over its hops.
        """
        n = peaks.shape[0]
        up = self._powers.get(n)
        if up is None:
            up = self._powers[n] = self._fall ** -np.arange(1, n + 1, dtype=np.float64)
        follow = np.maximum.accumulate(np.maximum(peaks * up, self._reference))
        follow /= up
        self._reference = float(follow[-1])
        return (NOMINAL / np.maximum(follow, NOMINAL / MAX_GAIN)).astype(np.float32)
