"""A node's frame rate as the dashboard, the status lines and /metrics show it."""

from __future__ import annotations

import random

import pytest

from mcav.runtime.metrics import NodeMetrics

SECOND = 1_000_000_000


def _read_at_random_moments(burst: int, rate: float, seconds: float = 10.0) -> list[float]:
    """Frames at ``rate`` per second arriving ``burst`` at a time (20 µs apart), the rate read at 500
    moments drawn uniformly in time, as a status line or a dashboard refresh reads it."""
    m = NodeMetrics()
    period = SECOND / rate
    rng = random.Random(0)
    moments = sorted(rng.uniform(2 * SECOND, seconds * SECOND) for _ in range(500))
    read = []
    for i in range(int(seconds * rate)):
        now = int(SECOND + (i // burst) * burst * period + (i % burst) * 20_000)
        while moments and moments[0] < now:
            read.append(m.rate.fps(int(moments.pop(0))))
        m.rate.tick(now)
    return read


@pytest.mark.parametrize("burst", [1, 2, 4])
def test_the_rate_of_blocks_that_come_in_bursts_is_their_rate(burst: int) -> None:
    # 128-sample blocks at 48 kHz are 375 a second; through PulseAudio they come two or more per callback.
    # The rate was 1 / an average of the last few inter-frame times: it read 396 (pairs) and 441 (fours).
    read = _read_at_random_moments(burst, 375.0)
    assert min(read) > 375 * 0.98 and max(read) < 375 * 1.02, (min(read), max(read))


def test_a_burst_handed_over_at_once_counts_all_its_frames() -> None:
    m = NodeMetrics()
    for k in range(100):  # a file at speed max: 32 frames at a time, 50 times a second
        m.rate.tick_many(SECOND + k * SECOND // 50, 32)
    assert m.rate.fps(SECOND + 99 * SECOND // 50) == pytest.approx(1600, rel=0.01)


def test_a_stalled_node_reads_zero_then_its_new_rate() -> None:
    m = NodeMetrics()
    for k in range(200):  # 100 fps for 2 s
        m.rate.tick(SECOND + k * SECOND // 100)
    last = SECOND + 199 * SECOND // 100
    assert m.rate.fps(last) == pytest.approx(100, rel=0.01)
    assert m.rate.fps(last + 2 * SECOND) == 0.0  # nothing for 2 s
    restart = last + 5 * SECOND
    for k in range(150):  # then 50 fps: the silence is not averaged in
        m.rate.tick(restart + k * SECOND // 50)
    assert m.rate.fps(restart + 149 * SECOND // 50) == pytest.approx(50, rel=0.01)
