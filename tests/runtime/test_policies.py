"""Reconnect and heartbeat policies: CONNECTIVITY.md defaults, presets and exact schedules."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from mcav.runtime.clock import ManualClock
from mcav.runtime.policies import (
    Backoff,
    HeartbeatMonitor,
    HeartbeatPolicy,
    ReconnectPolicy,
    resolve_policy,
)
from mcav.nodes.audio.capture import AUDIO_DEVICE
from mcav.nodes.browser.links import VJ_BROWSER
from mcav.nodes.dj.links import DJ_RELAY
from mcav.nodes.minecraft.links import VIZ_CLIENT, VJ_MINECRAFT
from mcav.nodes.web.links import ADMIN_PANEL

LINKS = {l.name: l for l in (AUDIO_DEVICE, VJ_BROWSER, DJ_RELAY, VIZ_CLIENT, VJ_MINECRAFT, ADMIN_PANEL)}


def default_policy(policy: str, link: str, preset: str = "default"):  # type: ignore[no-untyped-def]
    return LINKS[link].policy(policy, preset)

DJ_OUTAGE = [5, 7.5, 11.25, 16.875, 25.3125, 30, 30]


def test_dj_relay_outage_schedule_within_jitter() -> None:
    backoff = Backoff(default_policy("reconnect", "dj_relay"), random.Random(7))
    backoff.connected()  # after a loss, reconnects go on forever
    delays = [backoff.lost()] + [backoff.failed() for _ in range(6)]
    for got, nominal in zip(delays, DJ_OUTAGE):
        assert got is not None and nominal * 0.9 <= got <= nominal * 1.1
    assert len({round(d / n, 6) for d, n in zip(delays, DJ_OUTAGE)}) > 1  # jitter really varies


def test_dj_relay_first_connection_gives_up_after_three_attempts() -> None:
    backoff = Backoff(default_policy("reconnect", "dj_relay"), random.Random(1))
    first = backoff.failed()
    second = backoff.failed()
    assert first is not None and 4.5 <= first <= 5.5
    assert second is not None and 6.75 <= second <= 8.25
    assert backoff.failed() is None  # third failed attempt: give up


def test_schedule_resets_after_success() -> None:
    backoff = Backoff(ReconnectPolicy(initial=5, multiplier=1.5, max=60))
    backoff.failed(), backoff.failed(), backoff.failed()
    backoff.connected()
    assert backoff.lost() == 5


def test_without_reset_the_schedule_continues() -> None:
    backoff = Backoff(ReconnectPolicy(initial=1, multiplier=2, max=60, reset_on_success=False))
    backoff.failed(), backoff.failed()
    backoff.connected()
    assert backoff.lost() == 4


def test_vj_minecraft_schedule_is_exact() -> None:
    policy = default_policy("reconnect", "vj_minecraft")
    assert policy.check_interval == 5
    backoff = Backoff(policy)
    assert [backoff.failed() for _ in range(8)] == [5, 7.5, 11.25, 16.875, 25.3125, 37.96875, 56.953125, 60]


@pytest.mark.parametrize(
    "link,expected",
    [
        ("admin_panel", [2, 3, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30, 30, None]),
        ("viz_client", [1, 1.5, 2.25, 3.375, 5.0625, 7.59375, 11.390625, 17.0859375, 25.62890625, None]),
    ],
)
def test_ten_attempt_links(link: str, expected: list[float | None]) -> None:
    backoff = Backoff(default_policy("reconnect", link))
    assert [backoff.failed() for _ in range(10)] == expected


def test_network_tuning_presets() -> None:
    lan = default_policy("reconnect", "dj_relay", "lan")
    wan = default_policy("reconnect", "dj_relay", "wan")
    assert (lan.initial, lan.max_attempts, wan.initial, wan.max_attempts) == (2, 5, 10, 3)
    assert default_policy("heartbeat", "dj_relay", "lan").interval == 1
    assert default_policy("heartbeat", "dj_relay", "wan").interval == 5
    viz_wan = default_policy("reconnect", "viz_client", "wan")
    assert (viz_wan.connect_timeout, viz_wan.max_reconnect_attempts) == (30, 15)


def test_heartbeat_defaults_match_connectivity_tables() -> None:
    assert default_policy("heartbeat", "dj_relay") == HeartbeatPolicy(interval=2, failure_threshold=3)
    assert default_policy("heartbeat", "viz_client") == HeartbeatPolicy(interval=10, timeout=30)
    assert default_policy("heartbeat", "vj_browser") == HeartbeatPolicy(interval=15, failure_threshold=2)
    assert default_policy("heartbeat", "admin_panel") == HeartbeatPolicy(interval=5, timeout=20)


def test_mapping_merges_over_the_link_defaults_and_rejects_bad_fields() -> None:
    policy, problems = resolve_policy("reconnect", DJ_RELAY, {"preset": "lan", "max": 12})
    assert not problems and (policy.initial, policy.max, policy.multiplier) == (2, 12, 1.5)
    _, problems = resolve_policy("reconnect", DJ_RELAY, {"intial": 3})
    assert problems and "did you mean 'initial'" in problems[0].message
    _, problems = resolve_policy("reconnect", DJ_RELAY, "lna")
    assert problems and "did you mean 'lan'" in problems[0].message


def test_heartbeat_monitor_threshold_and_timeout() -> None:
    clock = ManualClock()
    by_count = HeartbeatMonitor(HeartbeatPolicy(interval=2, failure_threshold=3), clock)
    by_count.missed(), by_count.missed()
    assert not by_count.dead
    by_count.missed()
    assert by_count.dead
    by_count.answered()
    assert not by_count.dead

    by_time = HeartbeatMonitor(HeartbeatPolicy(interval=10, timeout=30), clock)
    clock.advance(29.9)
    assert not by_time.dead
    clock.advance(0.2)
    assert by_time.dead


def test_a_retry_loop_driven_by_the_manual_clock_sleeps_the_exact_schedule() -> None:
    """A connect loop awaits clock.sleep(); the test advances time without sleeping."""
    clock = ManualClock()
    policy = ReconnectPolicy(initial=5, multiplier=1.5, max=30, max_attempts=4)
    attempts: list[float] = []
    finished = threading.Event()

    async def connect_loop() -> None:
        backoff = Backoff(policy)
        while True:
            attempts.append(clock.monotonic())
            delay = backoff.failed()  # every attempt fails: nobody listens
            if delay is None:
                break
            await clock.sleep(delay)
        finished.set()

    thread = threading.Thread(target=asyncio.run, args=(connect_loop(),))
    thread.start()
    for _ in range(3):
        assert clock.wait_for_sleepers(1, timeout=5)
        clock.advance(clock.next_deadline() or 0)
    assert finished.wait(5)
    thread.join(5)
    t0 = attempts[0]
    assert [a - t0 for a in attempts] == [0, 5, 12.5, 23.75]
    assert clock.sleep_log == [5, 7.5, 11.25]


def test_keepalive_pings_counts_misses_and_drops_the_silent() -> None:
    from mcav.runtime.keepalive import KeepAlive

    clock = ManualClock()
    pinged: list[str] = []
    dropped: list[str] = []
    ka: KeepAlive[str] = KeepAlive(HeartbeatPolicy(interval=15, failure_threshold=2), clock, pinged.append, dropped.append)

    async def scenario() -> None:
        task = asyncio.ensure_future(ka.run(lambda: ["a", "b"]))
        for _ in range(3):
            await asyncio.to_thread(clock.wait_for_sleepers, 1)
            clock.advance(15)
            await asyncio.sleep(0)
            await asyncio.to_thread(clock.wait_for_sleepers, 1)
            ka.answered("a")  # a answers every ping, b never
        task.cancel()

    asyncio.run(scenario())
    assert pinged == ["a", "b", "a", "b", "a"] and dropped == ["b"] and ka.timeouts == 1
