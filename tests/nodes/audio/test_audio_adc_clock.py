"""AdcClock: capture times from PortAudio's stream times, without the callback's wait for the GIL."""

from __future__ import annotations

import numpy as np

from mcav.nodes.audio.capture import AdcClock

RATE, BLOCK = 48000, 128
PERIOD = BLOCK / RATE


def _feed(clock: AdcClock, waits_ns: np.ndarray, offset_ns: int, speed: float = 1.0) -> np.ndarray:
    """Blocks whose first samples' true times are ``offset_ns`` + k periods; PortAudio's clock runs at ``speed``."""
    out = []
    for k, wait in enumerate(waits_ns):
        adc = 10.0 + k * PERIOD * speed  # PortAudio's time of the block's first sample
        current = adc + 0.0053 * speed  # the callback is due one latency later (in PortAudio's time)
        now = offset_ns + round((10.0 + k * PERIOD + 0.0053) * 1e9) + int(wait)  # ...and runs after the GIL wait
        out.append(clock.first_sample_ns(now, current, adc, BLOCK))
    return np.asarray(out)


def test_the_gil_wait_does_not_reach_the_capture_times() -> None:
    rng = np.random.default_rng(0)
    waits = rng.exponential(800_000, 2000)  # up to several ms, as under load
    waits[::50] = rng.uniform(0, 20_000, waits[::50].size)  # now and then the GIL is free
    truth = 7_000_000_000 + np.round((10.0 + np.arange(waits.size) * PERIOD) * 1e9)
    got = _feed(AdcClock(RATE), waits, 7_000_000_000)
    assert np.all(np.diff(got) > 0)  # never backwards (taken as they came: they were, by ms)
    err = (got - truth)[50:]  # after the first wait near 0
    assert err.min() >= 0 and err.max() < 40_000  # within 40 µs (the creep between free GILs), the waits reach ms
    naive = truth + waits  # what "now minus the lag" gave
    assert np.any(np.diff(naive) < 0)


def test_a_slower_portaudio_clock_is_followed() -> None:
    waits = np.zeros(20_000)  # 53 s of audio, no GIL wait at all
    got = _feed(AdcClock(RATE), waits, 0, speed=1 - 50e-6)  # PortAudio's clock 50 ppm slow
    truth = np.round((10.0 + np.arange(waits.size) * PERIOD) * 1e9)
    assert np.abs(got - truth).max() < 10_000  # the offset creeps with it (up to 100 ppm)


def test_without_stream_times_the_arrival_minus_a_block() -> None:
    clock = AdcClock(RATE)
    assert clock.first_sample_ns(1_000_000_000, 0.0, 0.0, BLOCK) == 1_000_000_000 - BLOCK * 1_000_000_000 // RATE
    # a late block then an early one: still in order
    a = clock.first_sample_ns(1_010_000_000, 0.0, 0.0, BLOCK)
    b = clock.first_sample_ns(1_009_000_000, 0.0, 0.0, BLOCK)
    assert b > a
