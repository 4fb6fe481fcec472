"""Causal beat tracking by forward filtering over a beat-pointer state space (Krebs, Böck & Widmer 2015).

A hidden state is a pair (beat interval ``N`` in onset samples, position
``p`` = samples since the last beat, ``0 ≤ p < N``). Each onset sample the
position advances by one; at the end of a beat (``p = N − 1``) the pointer
starts a new beat (``p = 0``) and may change its interval, with probability
falling as ``exp(−λ·|N'/N − 1|)``. Observations: the onset function, scaled
by its running mean (``z``), multiplies the states near a beat (``p`` within
``N/32`` of 0, weighted by a triangle) by ``exp(β·(z − z₀))`` against the
others: an onset well above the mean favours a beat here, its absence
counts against one. The forward filter (the
posterior over states given the onsets so far, no look-ahead) gives both the
tempo and the time to the next beat, which is predicted before it sounds.

Cost: every state's position is implicit. The mass of interval ``N`` at
position ``p`` lives in slot ``(t − p) mod N`` of that interval's segment,
so advancing time moves no data; a block of samples touches only the slots
that pass near a beat during it, with a fixed number of array operations
(see :meth:`BeatPointer.push`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["BeatPointer"]


class BeatPointer:
    """The forward filter over (beat interval, position) states.

    Args:
        rate: Onset samples per second (Hz).
        min_bpm: Slowest tempo represented (BPM).
        max_bpm: Fastest tempo represented (BPM).
        transition: λ of the interval change at a beat. Default 100 (a 2 % change costs e⁻²).
        gain: β, the log-likelihood ratio of a beat state per unit of onset strength ``z`` (the onset
            function over its running mean). Default 0.5.
        floor: ``z`` below which a beat state is less likely than the others (an expected beat with
            no onset counts against that phase). Default 3.
        width: Half width of the beat region as a fraction of the interval (at least one sample;
            triangular weights). Default 1/32.
        mean_s: Time constant of the onset function's running mean, in s (unbiased while it fills). Default 4.
    """

    def __init__(
        self,
        rate: float,
        min_bpm: float = 60.0,
        max_bpm: float = 200.0,
        transition: float = 100.0,
        gain: float = 0.5,
        floor: float = 3.0,
        width: float = 1.0 / 32.0,
        mean_s: float = 4.0,
    ) -> None:
        self.rate = rate
        lo, hi = max(2, int(np.floor(60.0 * rate / max_bpm))), int(np.ceil(60.0 * rate / min_bpm))
        self.intervals = np.arange(lo, hi + 1)
        n = self.intervals
        self.bpms = 60.0 * rate / n
        self._offset = np.concatenate(([0], np.cumsum(n)[:-1]))
        self.size = int(n.sum())
        self.alpha = np.full(self.size, 1.0 / self.size)
        ratio = n[None, :] / n[:, None]
        a = np.exp(-transition * np.abs(ratio - 1.0))
        self._redeal = np.ascontiguousarray((a / a.sum(axis=1, keepdims=True)).T)  # [to, from]
        # The beat region: positions −h…h around the beat (h = width·N, at least 1), triangular
        # weights. Column k of `_shape` is position H − k, H the largest h (0 outside an interval's h).
        half = np.maximum(1, np.round(width * n)).astype(int)
        big = int(half.max())
        p = big - np.arange(2 * big + 1)
        self._shape = np.maximum(0.0, 1.0 - np.abs(p)[None, :] / (half[:, None] + 1.0))
        before = np.where(p[None, :] < 0, self._shape, 0.0)  # positions before the beat
        # Rows 0…T−1: the weights before each interval's beat; rows T…2T−1: from the beat on.
        self._shapes = np.concatenate((before, self._shape - before))
        self._half = big
        # Every interval's slots twice over (its state indices, then again): slot (s + c) mod N for
        # 0 ≤ s < N and c ≤ N is one gather, ``_twice[_start + s + c]``, without an integer remainder.
        self._start = np.concatenate(([0], np.cumsum(2 * n)[:-1]))
        self._twice = np.concatenate([np.tile(np.arange(k), 2) + o for k, o in zip(n.tolist(), self._offset.tolist())])
        if n[0] <= 2 * big:
            raise ValueError(f"beat pointer: {rate:g} samples/s is too few for {max_bpm:g} BPM (a beat must span "
                             f"more than {2 * big} samples)")
        #: Samples one array-operation block takes (pushing fewer at a time costs as much per push): the
        #: slots a block touches, m + 2H per interval, must not wrap around.
        self.block = int(n[0]) - 2 * big
        self._plans: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._t = 0
        self.gain = gain
        self.floor = floor
        self._decay = 1.0 - 1.0 / max(1.0, mean_s * rate)
        # The running mean starts from 0: over its first seconds it is the sum of fewer samples than its
        # weights assume, so it is divided by the weight its samples have so far (`_filled`, 1 − decay^k).
        # Uncorrected, the first onsets read many times their strength and decided the state alone (the
        # phases never exchange mass): hiphop.00007's pointer ended up on the off-beat for 10 s.
        self._mean = 0.0
        self._filled = 0.0
        # For predictions: a state's samples to go (−N/4 < togo ≤ 3N/4, negative = the beat just passed)
        # are ((slot + L − t) mod N) − L with L = ⌈N/4⌉ − 1; kept per state as `_late_slot` = slot + L and
        # `_togo_off` = −L plus the shift that makes bin indices non-negative.
        self._state_n = np.repeat(n, n)
        late = -(-n // 4) - 1
        self._shift = int(n[-1]) // 4 + 1
        self._late_slot = np.arange(self.size) - np.repeat(self._offset - late, n)
        self._togo_off = np.repeat(self._shift - late, n)

    def _plan(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """For blocks of ``m`` samples: slot columns ``[1, m + 2H]`` and the gather of the observation terms."""
        plan = self._plans.get(m)
        if plan is None:
            width = m + 2 * self._half
            cols = np.arange(width)[None, :]
            # terms[k, c] = log weight of step j = c − k (0 ≤ j < m; index m reads a zero).
            j = cols - np.arange(2 * self._half + 1)[:, None]
            plan = self._plans[m] = (cols, np.where((j >= 0) & (j < m), j, m))
        return plan

    def push(self, onsets: np.ndarray) -> None:
        """Advance by the onset-strength samples ``onsets`` (oldest first).

        A block of ``m`` samples touches, per interval, the ``m + 2H`` slots that pass near a beat
        during it. Each slot's path through the block is known in advance (the one reaching the beat
        at step ``j`` is re-dealt among the intervals there), so the observation weights it meets
        before and after its beat are sums computed for all slots at once, and the re-dealing of
        all the block's beats is one matrix product: a fixed number of array operations per block.
        """
        for start in range(0, len(onsets), self.block):
            self._block(onsets[start : start + self.block])
        total = float(self.alpha.sum())  # the forecasts are relative: rescale only to stay in range
        if not 1e-30 < total < 1e30:
            self.alpha *= 1.0 / total

    def _block(self, onsets: np.ndarray) -> None:
        m = len(onsets)
        if m == 0:
            return
        mean, filled, decay, gain, floor = self._mean, self._filled, self._decay, self.gain, self.floor
        logs = []
        for o in onsets.tolist():  # the running mean is a recurrence: scalar arithmetic
            mean = decay * mean + (1.0 - decay) * o
            filled = decay * filled + (1.0 - decay)
            logs.append(min(gain * (o * filled / mean - floor), 30.0) if mean > 0 else 0.0)
        self._mean, self._filled = mean, filled
        cols, gather = self._plan(m)
        big = self._half
        first = (self._t + 1 - big) % self.intervals  # slot (t + 1 − H + c) mod N of column c (c ≤ N: no double wrap)
        first += self._start
        idx = self._twice[first[:, None] + cols]
        self._t += m
        logs.append(0.0)
        terms = np.array(logs)[gather]  # [2H + 1, m + 2H]
        weights = np.exp(np.dot(self._shapes, terms))
        count = self.intervals.size
        vals = self.alpha[idx]
        vals *= weights[:count]  # the observations before each slot's beat
        beats = vals[:, big : big + m]  # column H + j reaches the beat at step j
        vals[:, big : big + m] = np.dot(self._redeal, beats)
        vals *= weights[count:]  # from its beat on
        self.alpha[idx] = vals

    def weigh_tempo(self, weight: np.ndarray, keep: float = 0.0) -> None:
        """Multiply each interval's states by ``weight[interval index]`` (tempo evidence from elsewhere), renormalised.

        First every interval holding less than ``keep`` of the mass is lifted to ``keep``, its
        phase distribution unchanged (an interval with no mass at all gets a uniform phase). Why:
        evidence from elsewhere far from an interval multiplies it by a small number at every
        estimate, so after ``k`` estimates it would take ``k`` estimates of evidence for that
        interval to win the mass back: a tempo move (a new level, a DJ's cut) would reach the
        phase tracker seconds late, and meanwhile the starved interval's phase would be mostly what
        leaked into it from the dominant one (for half the tempo: both of its beats' parities).
        """
        if keep > 0.0:
            mass = np.add.reduceat(self.alpha, self._offset)
            floor = keep * float(mass.sum())
            empty = mass <= 0.0
            if empty.any():  # underflowed (or never reached): a uniform phase, at the floor
                states = np.repeat(empty, self.intervals)
                self.alpha[states] = floor / self._state_n[states]
                mass[empty] = floor
            weight = weight * np.maximum(1.0, floor / mass)
        self.alpha *= np.repeat(weight, self.intervals)
        self.alpha *= 1.0 / self.alpha.sum()

    def tempo(self) -> float:
        """The tempo of the most probable interval, in BPM (the states need not sum to 1)."""
        mass = np.add.reduceat(self.alpha, self._offset)
        return float(self.bpms[int(np.argmax(mass))])

    def ahead(self) -> tuple[float, float]:
        """The median number of samples until the nearest beat, and the probability of that sample.

        Negative when the beat passed less than a quarter beat ago (the onset that just came in
        placed it there): a beat not flagged yet is then late, not skipped. The median rather
        than the mode: flagging when the newest forecast says "due" picks the earliest of
        fluctuating forecasts, which the median's 50 % mass criterion does not.
        """
        # Only the intervals holding mass count (the tempo evidence keeps it to a few).
        tempo = np.add.reduceat(self.alpha, self._offset)
        held = np.flatnonzero(tempo > 1e-6 * float(tempo.max()))
        lo, hi = int(self._offset[held[0]]), int(self._offset[held[-1]] + self.intervals[held[-1]])
        togo = (self._late_slot[lo:hi] - self._t) % self._state_n[lo:hi]
        togo += self._togo_off[lo:hi]  # samples to go, plus `shift`
        shift = self._shift
        mass = np.bincount(togo, weights=self.alpha[lo:hi])
        cum = np.cumsum(mass)
        half = 0.5 * float(cum[-1])
        k = int(np.searchsorted(cum, half))
        # Interpolated inside sample k (its mass spread over k ± ½): a fractional forecast (clipped:
        # rounding in the running sum can leave a sample of no mass at the crossing).
        frac = 0.5 - (float(cum[k]) - half) / float(mass[k]) if mass[k] > 0 else 0.0
        return k - shift + min(0.5, max(-0.5, frac)), float(mass[k]) / float(cum[-1])
