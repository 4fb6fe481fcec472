"""Do onsets arrive where the beat pointer predicted beats? A test a few seconds of music can pass.

The periodicity test (:mod:`.periodicity`) compares the window's autocorrelation
with shuffled surrogates' best lag. Below about 6 s of onsets that comparison
reads at or below chance even on clear beats (few products per lag, many lags
to be lucky at), so a song waited up to 10-18 s for its lock. This is a
*prediction* instead: at each tempo estimate the beat pointer's forecast of
the next beat, and the beats after it at the tracked period until the next
estimate, are recorded; at the next estimate each of them that has arrived is
checked for an onset (the onset function above its ``HIT_QUANTILE`` within
``HIT_TOLERANCE_S``). Nothing that arrived after a prediction chose it, so a
chance alignment — speech's syllables, noise — reads near the share of samples
above the quantile within the tolerance (about one beat in four at 94 onset samples/s), music with a
beat nearly every beat. The share of hits among the last ``beats`` predicted
beats is the alignment.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HIT_QUANTILE", "HIT_TOLERANCE_S", "BeatPredictions"]

#: Share of the window's samples below the level an onset must reach at a predicted beat.
HIT_QUANTILE = 0.9
#: How far from a predicted beat its onset may be (s): ±11 ms, one onset sample at 94 Hz (at least one sample).
HIT_TOLERANCE_S = 0.011


class BeatPredictions:
    """Predicted beats (absolute onset-sample positions) and how many of them met an onset.

    Args:
        rate: Onset samples per second (Hz).
        beats: Checked predicted beats the alignment is the share of hits among (0 until there
            are as many). Default 8.
    """

    def __init__(self, rate: float, beats: int = 8) -> None:
        self._tol = max(1, int(round(HIT_TOLERANCE_S * rate)))
        self._beats = beats
        #: Share of the last ``beats`` checked predicted beats that met an onset (0-1; 0 until there are as many).
        self.aligned = 0.0
        self.reset()

    def reset(self) -> None:
        """Forget predictions and checks (the onsets stopped)."""
        self._pending = np.empty(0)
        self._record = np.empty(0, bool)
        self.aligned = 0.0

    def predict(self, first: float, period: float, until: float) -> None:
        """Expect beats at ``first``, ``first + period``, … before ``until`` (absolute samples).

        The beats still pending are dropped (those due within the tolerance before the newest
        check: a few per cent of them).
        """
        self._pending = np.arange(first, until, period) if period > 0 and until > first else np.empty(0)

    def check(self, x: np.ndarray, end: int) -> None:
        """Score the predicted beats that ``x`` (detrended onsets ≥ 0, its last sample at ``end − 1``) covers.

        A beat counts once the samples within the tolerance after it are in; later ones stay
        pending. The level is the ``HIT_QUANTILE`` of all of ``x``.
        """
        if self._pending.size == 0 or x.size == 0:
            return
        at = np.round(self._pending).astype(np.intp) - (end - x.size)  # index into x
        done = at + self._tol < x.size
        at = at[done & (at - self._tol >= 0)]
        self._pending = self._pending[~done]
        if at.size == 0:
            return
        k = int(HIT_QUANTILE * (x.size - 1))
        level = float(np.partition(x, k)[k])  # the quantile's order statistic: a tenth of np.quantile's cost
        near = np.max([x[at + d] for d in range(-self._tol, self._tol + 1)], axis=0)
        self._record = np.concatenate((self._record, near > level))[-self._beats :]
        self.aligned = float(self._record.mean()) if self._record.size == self._beats else 0.0
