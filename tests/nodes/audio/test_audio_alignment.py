"""The beats the tracker predicted, checked against the onsets that arrive (``mcav.nodes.audio.alignment``)."""

from __future__ import annotations

import numpy as np
import pytest

from mcav.nodes.audio.alignment import BeatPredictions
from mcav.nodes.audio.periodicity import Periodicity

RATE = 93.75  # onset samples/s: hop 512 at 48 kHz
PERIOD = 46.875  # 120 BPM


def pulses(n: int, period: float, offset: float = 0.0) -> np.ndarray:
    """``n`` onset samples, 0 but for a sharp onset every ``period`` samples from ``offset``."""
    x = np.zeros(n)
    x[np.round(np.arange(offset, n, period)).astype(int)] = 1.0
    return x


def run(predictions: BeatPredictions, x: np.ndarray, predicted_offset: float, every: int = 94) -> list[float]:
    """Estimates every ``every`` samples: predict the beats until the next one, check them at it; the alignment after each."""
    out = []
    for end in range(every, x.size + 1, every):
        predictions.check(x[:end], end)
        first = predicted_offset + PERIOD * np.ceil((end - predicted_offset) / PERIOD)
        predictions.predict(first, PERIOD, end + every)
        out.append(predictions.aligned)
    return out


def test_beats_predicted_on_the_onsets_align_once_eight_were_checked() -> None:
    seen = run(BeatPredictions(RATE), pulses(1200, PERIOD), 0.0)
    # Two beats a second, predicted from the first estimate on: eight are checked by the sixth or
    # seventh (a beat due in the very last sample before an estimate is not checked).
    assert seen[:4] == [0.0] * 4
    assert seen[-1] == 1.0 and seen.index(1.0) <= 6


@pytest.mark.parametrize("off", [0.5, 0.25])
def test_beats_predicted_off_the_onsets_do_not_align(off: float) -> None:
    assert max(run(BeatPredictions(RATE), pulses(1200, PERIOD), off * PERIOD)) == 0.0


def test_onsets_at_random_times_align_by_chance_only() -> None:
    rng = np.random.default_rng(1)
    x = np.zeros(3000)
    x[rng.choice(x.size, size=150, replace=False)] = 1.0  # as many onsets as beats, none periodic
    assert max(run(BeatPredictions(RATE), x, 0.0)) < 0.6


def test_reset_forgets_the_checked_beats() -> None:
    p = BeatPredictions(RATE)
    run(p, pulses(1200, PERIOD), 0.0)
    p.reset()
    assert p.aligned == 0.0
    p.check(pulses(1200, PERIOD), 1200)  # nothing pending
    assert p.aligned == 0.0


def test_alignment_counts_as_periodicity_unless_turned_off() -> None:
    # The predicted beats met their onsets (a pulse train); the window the periodicity test reads holds
    # sharp, sparse onsets at random times (no periodicity: below the lock without the alignment).
    rng = np.random.default_rng(0)
    onsets = np.zeros(564)
    onsets[rng.choice(560, size=12, replace=False)] = 1.0
    window = np.convolve(onsets, [0.2, 0.12, 0.07, 0.04])[:564] + np.abs(rng.normal(0, 0.002, 564))
    confidences = {}
    for alignment in (0.6, 1.0):
        ev = Periodicity(RATE, 28, 94, alignment=alignment)
        run(ev.predictions, pulses(752, PERIOD), 0.0)
        assert ev.predictions.aligned == 1.0
        confidences[alignment] = ev.confidence(window, PERIOD)
    assert ev.trend < 1.0 and ev.density < 0.085 and ev.contrast > 0.033  # sparse and sharp, not periodic
    assert confidences[1.0] < 0.2 and confidences[0.6] == 1.0
