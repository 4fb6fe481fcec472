"""Steady periodicity: a beat at one tempo for several estimates running locks, soft onsets or not (``periodicity``)."""

from __future__ import annotations

import numpy as np

from mcav.nodes.audio.periodicity import CONTRAST_FLOOR, STEADY_ESTIMATES, Periodicity

RATE = 93.75  # onset samples/s: hop 512 at 48 kHz
PERIOD = 62.5  # 90 BPM
N = 564  # a 6 s window


def soft_beat(seed: int, periodic: bool = True, period: float = PERIOD) -> np.ndarray:
    """A detrended onset window of soft onsets over a noise floor: contrast just above CONTRAST_FLOOR.

    ``periodic``: one onset every ``period`` samples; otherwise as many at random times.
    """
    rng = np.random.default_rng(seed)
    x = np.abs(rng.normal(0.0, 0.0105, N))
    at = np.arange(5.0, N, period) if periodic else rng.choice(N, size=int(N / period), replace=False)
    x[np.round(at).astype(int)] += 0.08
    return x


def estimates(ev: Periodicity, windows: list[np.ndarray], lags: list[float]) -> list[float]:
    return [ev.confidence(w, lag) for w, lag in zip(windows, lags)]


def test_soft_onsets_at_one_tempo_for_three_estimates_count_without_the_contrast_factor() -> None:
    # A waltz's start: four estimates at a wrong tempo pull the running mean below chance, then the
    # tracked tempo turns right (within the tempo tolerance: 2 %) for three.
    windows = [soft_beat(10 + s) for s in range(4)] + [soft_beat(s) for s in range(STEADY_ESTIMATES)]
    lags = [0.7 * PERIOD] * 4 + [PERIOD, 1.02 * PERIOD, PERIOD]
    off = Periodicity(RATE, 28, 94, steady=0.0)
    on = Periodicity(RATE, 28, 94, steady=1.3)
    quiet, steady = estimates(off, windows, lags), estimates(on, windows, lags)
    assert CONTRAST_FLOOR < on.contrast < CONTRAST_FLOOR + 0.005 and on.density < 0.085  # soft, sparse
    assert max(quiet) < 0.2 and on.trend < 1.5  # the running mean and the contrast factor hold it down
    assert not off.steadied and on.steadied and on.steady >= 1.3
    assert steady[:-1] == quiet[:-1] and steady[-1] >= 0.5  # from the third estimate at the right tempo


def test_a_tempo_move_or_a_window_without_a_beat_breaks_the_run() -> None:
    ev = Periodicity(RATE, 28, 94, steady=1.3)
    estimates(ev, [soft_beat(s) for s in range(STEADY_ESTIMATES)], [PERIOD] * STEADY_ESTIMATES)
    assert ev.steadied
    ev.confidence(soft_beat(7, period=1.1 * PERIOD), 1.1 * PERIOD)  # a beat, but the tempo moved by 10 %
    assert ev.ratio >= 1.3 and not ev.steadied and ev.steady == 0.0
    estimates(ev, [soft_beat(8), soft_beat(9, periodic=False), soft_beat(10)], [PERIOD] * 3)
    assert not ev.steadied  # one window of onsets at random times among three


def test_reset_forgets_the_run() -> None:
    ev = Periodicity(RATE, 28, 94, steady=1.3)
    estimates(ev, [soft_beat(s) for s in range(STEADY_ESTIMATES)], [PERIOD] * STEADY_ESTIMATES)
    ev.reset()
    assert not ev.steadied and ev.steady == 0.0
    ev.confidence(soft_beat(3), PERIOD)
    assert not ev.steadied  # one estimate is no run
