"""The lock's periodicity re-read at the tempo now tracked (``Periodicity(reread=...)``, ``beat.lock_reread``)."""

from __future__ import annotations

import numpy as np
import pytest

from mcav.nodes.audio.periodicity import Periodicity

RATE = 93.75  # onset samples/s: hop 512 at 48 kHz
PERIOD = 46.875  # 120 BPM
WINDOW = 750  # 8 s
EVERY = 94  # one estimate a second


def onsets(n: int, times: np.ndarray, seed: int = 0) -> np.ndarray:
    """A detrended onset function of ``n`` samples: a sharp onset at each of ``times``, a little noise."""
    x = np.zeros(n)
    x[np.round(times).astype(int)] = 1.0
    rng = np.random.default_rng(seed)
    return np.convolve(x, [0.2, 0.12, 0.07, 0.04])[:n] + np.abs(rng.normal(0, 0.002, n))


def trends(ev: Periodicity, x: np.ndarray, lags: list[float]) -> list[float]:
    """The running average after each estimate, the tempo tracked at estimate i being ``lags[i]``."""
    out = []
    for i, lag in enumerate(lags):
        end = WINDOW + i * EVERY
        ev.confidence(x[end - WINDOW : end], lag)
        out.append(ev.trend)
    return out


def test_windows_read_at_a_wrong_tempo_count_at_the_tempo_found_later() -> None:
    x = onsets(WINDOW + 12 * EVERY, np.arange(0, WINDOW + 12 * EVERY, PERIOD))
    wrong = [PERIOD * 1.2] * 5 + [PERIOD] * 8  # a wrong tempo (5:6 of the beat) for five estimates, then the beat
    once = trends(Periodicity(RATE, 28, 94), x, wrong)
    again = trends(Periodicity(RATE, 28, 94, reread=8), x, wrong)
    right = trends(Periodicity(RATE, 28, 94), x, [PERIOD] * 13)
    # While the tempo is wrong the windows read below chance at it (the average falls) ...
    assert once[4] < 1.0 and again[4] == pytest.approx(once[4])
    # ... and once it is found, re-read, they count as the beat they held: as if it had been tracked all along.
    assert again[5] == pytest.approx(right[5], rel=1e-6) and again[5] > 1.5 > once[5]
    # Estimates beyond the kept ones stay as they were entered (at the better of both tempi).
    assert again[-1] == pytest.approx(right[-1], rel=1e-6)


def test_rereading_never_lowers_the_average_and_chance_stays_chance() -> None:
    rng = np.random.default_rng(3)
    n = WINDOW + 20 * EVERY
    x = onsets(n, np.sort(rng.choice(n, size=n // 47, replace=False)), seed=3)  # as many onsets, at random
    lags = list(rng.uniform(30, 90, 21))  # a tempo that wanders, as on speech
    once = trends(Periodicity(RATE, 28, 94), x, lags)
    again = trends(Periodicity(RATE, 28, 94, reread=8), x, lags)
    assert all(a >= o - 1e-9 for a, o in zip(again, once))
    assert max(again) < 1.0  # below chance: no periodicity to find at any of the tempi


def test_reset_forgets_the_kept_estimates() -> None:
    x = onsets(WINDOW + 4 * EVERY, np.arange(0, WINDOW + 4 * EVERY, PERIOD))
    ev = Periodicity(RATE, 28, 94, reread=8)
    trends(ev, x, [PERIOD] * 5)
    assert ev.trend > 1.5
    ev.reset()
    assert ev.trend == 1.0
    ev.confidence(x[:WINDOW], PERIOD * 1.2)
    assert ev.trend < 1.0  # one estimate, at a wrong tempo: nothing from before the reset re-read
