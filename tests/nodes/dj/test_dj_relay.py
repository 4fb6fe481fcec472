"""DJRelay against scripted VJ servers on loopback: reconnect schedule, heartbeat failures, auth failures.

Every delay runs on a ManualClock: the test sees what the relay sleeps and
advances time itself; nothing sleeps real seconds.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
from conftest import async_wait_until, free_port
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from mcav.nodes.dj.relay import AuthFailed, DJRelay, DJRelayConfig, GaveUp
from mcav.runtime.clock import ManualClock
from mcav.runtime.frames import Features, now_ns
from mcav.nodes.dj.links import DJ_RELAY

TIMEOUT = 5.0


class FakeVJ:
    """A scripted MCAV VJ server: each connection follows the next entry of ``script``.

    Modes: ``accept`` (auth_success, clock sync, stream_route; acks heartbeats if ``ack``),
    ``drop`` (auth_success then close 1011), ``refuse`` (close 4004 as MCAV does for a bad key).
    """

    def __init__(self, script: list[str], ack: bool = True, chatter_every: int = 0) -> None:
        self.script = list(script)
        self.ack = ack
        self.chatter_every = chatter_every  # a slow VJ: one status_update per this many heartbeats, no acks
        self.connections = 0
        self.received: list[dict[str, Any]] = []
        self.event = asyncio.Event()
        self.port = 0

    async def __aenter__(self) -> FakeVJ:
        self.server = await serve(self.handler, "127.0.0.1", 0, compression=None)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def handler(self, ws: Any) -> None:
        self.connections += 1
        mode = self.script.pop(0) if self.script else "accept"
        try:
            auth = json.loads(await ws.recv())
            self.received.append(auth)
            self.event.set()
            if mode == "refuse":
                await ws.close(4004, "Authentication failed")
                return
            await ws.send(json.dumps({"type": "auth_success", "dj_id": auth.get("dj_id"), "dj_name": "x",
                                      "is_active": False, "current_pattern": "spectrum", "pattern_config": {}}))
            if mode == "drop":
                await ws.close(1011, "going down")
                return
            await ws.send(json.dumps({"type": "clock_sync_request", "server_time": 1.0}))
            await ws.send(json.dumps({"type": "stream_route", "route_mode": "relay", "is_active": True}))
            async for raw in ws:
                msg = json.loads(raw)
                self.received.append(msg)
                self.event.set()
                if msg["type"] == "dj_heartbeat" and self.ack:
                    await ws.send(json.dumps({"type": "heartbeat_ack", "server_time": 2.0, "echo_ts": msg["ts"]}))
                beats = sum(m["type"] == "dj_heartbeat" for m in self.received)
                if msg["type"] == "dj_heartbeat" and self.chatter_every and beats % self.chatter_every == 0:
                    await ws.send(json.dumps({"type": "status_update", "is_active": True}))
        except ConnectionClosed:
            pass

    async def wait_for(self, pred: Any, what: str) -> dict[str, Any]:
        async def scan() -> dict[str, Any]:
            while True:
                for m in self.received:
                    if pred(m):
                        return m
                self.event.clear()
                await self.event.wait()

        try:
            return await asyncio.wait_for(scan(), TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"the fake VJ never received {what}; got {self.received}") from None


def relay_for(url: str, clock: ManualClock, **cfg: Any) -> DJRelay:
    config = DJRelayConfig(vj_server_url=url, dj_id="dj_t", dj_name="T", dj_key="k", **cfg)
    return DJRelay(config, clock=clock, rng=random.Random(7))


#: Sleeps that are not backoff delays: the handshake timeout (10 s), heartbeat periods, the heartbeat send budget.
NOT_BACKOFF = (10.0, 2.0, 1000.0, 20.0)


def backoffs(clock: ManualClock) -> list[float]:
    """The backoff delays the relay slept so far."""
    return [d for d in list(clock.sleep_log) if d not in NOT_BACKOFF]


async def next_backoff(clock: ManualClock, index: int) -> float:
    """Wait until the relay started backoff sleep number ``index`` (0-based); return its duration."""
    calls = 0
    while len(backoffs(clock)) <= index:
        calls = len(clock.sleep_log) + 1
        assert await asyncio.to_thread(clock.wait_for_sleep_calls, calls, TIMEOUT), f"no backoff #{index}"
    return backoffs(clock)[index]


def within_jitter(value: float, base: float) -> bool:
    return base * 0.9 - 1e-9 <= value <= base * 1.1 + 1e-9


def test_config_fields_defaults_and_network_tuning():
    c = DJRelayConfig()
    assert (c.vj_server_url, c.dj_id, c.dj_name, c.dj_key) == ("ws://localhost:9000", "dj_1", "DJ 1", "")
    assert (c.reconnect_interval, c.heartbeat_interval, c.max_connect_attempts) == (5.0, 2.0, 3)
    assert [f for f in DJRelayConfig.__dataclass_fields__] == [
        "vj_server_url", "dj_id", "dj_name", "dj_key", "reconnect_interval", "heartbeat_interval",
        "max_connect_attempts"]
    lan, wan = DJRelayConfig.tuned("lan"), DJRelayConfig.tuned("wan", dj_id="x")
    assert (lan.reconnect_interval, lan.heartbeat_interval, lan.max_connect_attempts) == (2.0, 1.0, 5)
    assert (wan.reconnect_interval, wan.heartbeat_interval, wan.max_connect_attempts, wan.dj_id) == (10.0, 5.0, 3, "x")
    r = c.reconnect_policy()
    assert (r.initial, r.multiplier, r.max, r.jitter, r.max_attempts) == (5.0, 1.5, 30.0, 0.1, 3)
    assert c.heartbeat_policy().failure_threshold == 3
    assert lan.reconnect_policy() == DJ_RELAY.policy("reconnect", "lan")


def test_first_connection_three_attempts_with_backoff_then_gives_up():
    clock = ManualClock()
    url = f"ws://127.0.0.1:{free_port()}"  # nothing listens there

    async def scenario() -> None:
        relay = relay_for(url, clock)
        task = asyncio.ensure_future(relay.run())
        for n in (0, 1):
            clock.advance(await next_backoff(clock, n))
        with pytest.raises(GaveUp, match="after 3 attempts: connection refused"):
            await asyncio.wait_for(task, TIMEOUT)
        assert relay.connect_failures == 3

    asyncio.run(scenario())
    assert clock.sleep_log == backoffs(clock) and len(clock.sleep_log) == 2
    assert within_jitter(clock.sleep_log[0], 5.0) and within_jitter(clock.sleep_log[1], 7.5)


def test_auth_failure_is_never_retried():
    clock = ManualClock()

    async def scenario() -> None:
        async with FakeVJ(["refuse"]) as vj:
            relay = relay_for(vj.url, clock)
            with pytest.raises(AuthFailed, match="4004 Authentication failed"):
                await asyncio.wait_for(relay.run(), TIMEOUT)
            assert vj.connections == 1
            assert vj.received[0] == {"type": "dj_auth", "dj_id": "dj_t", "dj_name": "T", "dj_key": "k",
                                      "direct_mode": False}

    asyncio.run(scenario())
    assert backoffs(clock) == []


def test_lost_connection_backoff_grows_caps_at_30_and_resets_on_success():
    clock = ManualClock()

    async def scenario() -> None:
        # 1st connection drops at once; 2nd accepted then server closes; then the server is gone.
        async with FakeVJ(["drop", "accept"]) as vj:
            relay = relay_for(vj.url, clock, heartbeat_interval=1000.0)
            task = asyncio.ensure_future(relay.run())
            first = await next_backoff(clock, 0)
            assert within_jitter(first, 5.0), clock.sleep_log
            clock.advance(first)
            await vj.wait_for(lambda m: m["type"] == "clock_sync_response", "the clock sync answer")
            await async_wait_until(lambda: relay.connected, TIMEOUT)
            assert relay.connects == 2
        # The server is gone: the session ends (reset: 5 s again), then every reconnect fails.
        delays = []
        for k in range(1, 8):
            d = await next_backoff(clock, k)
            delays.append(d)
            clock.advance(d)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return delays

    delays = asyncio.run(scenario())
    expected = [5.0, 7.5, 11.25, 16.875, 25.3125, 30.0, 30.0]
    assert all(within_jitter(d, e) for d, e in zip(delays, expected)), delays
    assert len(set(delays)) == len(delays)  # jittered: no two identical


async def beat(vj: FakeVJ, clock: ManualClock, k: int) -> None:
    """Advance to heartbeat ``k`` (1-based, every 2 s) and wait until the fake VJ has it."""
    await asyncio.to_thread(clock.wait_for_sleepers, 1)
    assert clock.next_deadline() == pytest.approx(2.0)
    clock.advance(2.0)
    await vj.wait_for(lambda m: m["type"] == "dj_heartbeat" and
                      sum(x["type"] == "dj_heartbeat" for x in vj.received) >= k, f"heartbeat {k}")


def test_a_silent_vj_is_dropped_after_the_no_traffic_budget_not_after_three_heartbeats(caplog):
    clock = ManualClock()

    async def scenario() -> None:
        async with FakeVJ(["accept", "accept"], ack=False) as vj:
            relay = relay_for(vj.url, clock)
            assert relay.silence_budget == 20.0
            task = asyncio.ensure_future(relay.run())
            await vj.wait_for(lambda m: m["type"] == "clock_sync_response", "the clock sync answer")
            for k in range(1, 11):  # heartbeats at 2 … 20 s, none answered, nothing else from the VJ
                await beat(vj, clock, k)
                assert relay.connected and relay.connects == 1
            hb = vj.received[-1]
            assert list(hb) == ["type", "ts", "mc_connected"] and hb["mc_connected"] is False
            assert "heartbeats unanswered; keeping the link" in caplog.text
            await asyncio.to_thread(clock.wait_for_sleepers, 1)
            clock.advance(2.0)  # 22 s of silence: over the 20 s budget, the link is dead
            backoff = await next_backoff(clock, 0)
            assert within_jitter(backoff, 5.0)
            assert relay.heartbeat_failures == 10 and not relay.connected
            clock.advance(backoff)
            await vj.wait_for(lambda m: m["type"] == "dj_auth" and vj.connections == 2, "a second dj_auth")
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert "Heartbeat failures exceeded: nothing from the VJ for 22 s" in caplog.text


def test_a_slow_but_alive_vj_never_makes_the_relay_flap():
    """MCAV's VJ answers no heartbeat while it stalls ~10 s: the link must survive it (issue 14.2)."""
    clock = ManualClock()

    async def scenario() -> None:
        async with FakeVJ(["accept"], ack=False, chatter_every=5) as vj:
            relay = relay_for(vj.url, clock)
            task = asyncio.ensure_future(relay.run())
            await vj.wait_for(lambda m: m["type"] == "clock_sync_response", "the clock sync answer")
            for k in range(1, 31):  # 60 s: one VJ message every 10 s, no heartbeat ever acknowledged
                await beat(vj, clock, k)
                if k % 5 == 0:  # the VJ's message arrives before the next check
                    await async_wait_until(lambda: relay.clock.monotonic() - relay._last_rx < 1.0)
            assert relay.connected and relay.connects == 1 and vj.connections == 1
            assert relay.heartbeat_failures >= 25
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


def test_answered_heartbeats_keep_the_link():
    clock = ManualClock()

    async def scenario() -> None:
        async with FakeVJ(["accept"], ack=True) as vj:
            relay = relay_for(vj.url, clock)
            task = asyncio.ensure_future(relay.run())
            await vj.wait_for(lambda m: m["type"] == "clock_sync_response", "the clock sync answer")
            for k in range(6):
                await asyncio.to_thread(clock.wait_for_sleep_calls, k + 1)
                clock.advance(2.0)
                await vj.wait_for(lambda m, k=k: sum(x["type"] == "dj_heartbeat" for x in vj.received) >= k + 1,
                                  f"heartbeat {k + 1}")
                await asyncio.to_thread(clock.wait_for_sleep_calls, k + 2)  # the ack arrived before the next beat
            assert relay.connected and relay.heartbeat_failures == 0 and relay.connects == 1
            assert relay.rtt_ms is not None
            await relay.stop()
            await asyncio.wait_for(task, TIMEOUT)
            await vj.wait_for(lambda m: m["type"] == "going_offline", "going_offline")

    asyncio.run(scenario())


def test_frames_while_disconnected_are_dropped_and_counted_then_sent_in_order():
    clock = ManualClock()

    def features(seq: int) -> Features:
        return Features(seq=seq, t_capture=now_ns(), bpm=128.0, beat=seq % 2 == 0, tempo_confidence=0.5)

    async def scenario() -> None:
        async with FakeVJ(["accept"]) as vj:
            relay = relay_for(vj.url, clock)
            assert await relay.send_frame(features(0)) is False

            async def eager() -> None:  # a source that pushes frames from the very start
                while not relay.connected:
                    await relay.send_frame(features(0))
                    await asyncio.sleep(0)

            task = asyncio.ensure_future(relay.run())
            await asyncio.wait_for(eager(), TIMEOUT)
            await vj.wait_for(lambda m: m["type"] == "clock_sync_response", "the clock sync answer")
            # as an MCAV server expects: the message after dj_auth is the clock-sync reply, not a frame
            assert [m["type"] for m in vj.received[:2]] == ["dj_auth", "clock_sync_response"]
            assert await relay.send_frame(features(1)) and await relay.send_frame(features(2))
            f = await vj.wait_for(lambda m: m["type"] == "dj_audio_frame" and m["seq"] == 1, "frame seq 1")
            assert list(f) == ["type", "seq", "ts", "bands", "peak", "beat", "beat_i", "bpm", "tempo_conf",
                               "beat_phase", "i_bass", "i_kick"]
            assert f["bpm"] == 128.0 and f["beat"] is True and f["tempo_conf"] == 0.5 and len(f["bands"]) == 5
            assert relay.frames_dropped >= 2 and relay.frames_sent == 2
            await relay.stop()
            await asyncio.wait_for(task, TIMEOUT)

    asyncio.run(scenario())


def _relay_node(extra: str) -> Any:
    from conftest import build

    from mcav.runtime.engine import Runtime

    rt = Runtime(build(f"""
graph: dj
nodes:
  source: {{kind: synth}}
  fft: {{kind: fft, in: source}}
  beat: {{kind: beat, in: fft}}
  relay: {{kind: dj_relay, in: beat{extra}}}
"""))
    return rt.node("relay").relay


@pytest.mark.parametrize("extra, initial, attempts, interval", [
    ("", 5.0, 3, 2.0),
    (", reconnect: lan, heartbeat: lan", 2.0, 5, 1.0),
    (", reconnect: wan, heartbeat: wan", 10.0, 3, 5.0),
    (", reconnect: lan, reconnect_interval: 3, max_connect_attempts: 7", 3.0, 7, 2.0),
    (", heartbeat_interval: 0.5, reconnect: {initial: 4}", 4.0, 3, 0.5),
])
def test_node_policies_presets_and_field_precedence(extra, initial, attempts, interval):
    relay = _relay_node(extra)
    assert (relay.reconnect.initial, relay.reconnect.max_attempts, relay.heartbeat.interval) == (
        initial, attempts, interval)
    assert relay.reconnect.multiplier == 1.5 and relay.reconnect.max == 30.0 and relay.reconnect.jitter == 0.1
    assert relay.heartbeat.failure_threshold == 3


def test_node_key_from_environment(monkeypatch):
    from conftest import build

    from mcav.runtime.engine import Runtime

    monkeypatch.setenv("MCAV_DJ_KEY", "from-the-env")
    g = build("""
graph: dj
nodes:
  source: {kind: synth}
  fft: {kind: fft, in: source}
  beat: {kind: beat, in: fft}
  relay: {kind: dj_relay, in: beat, dj_key: "${MCAV_DJ_KEY}"}
""")
    assert Runtime(g).node("relay").relay.config.dj_key == "from-the-env"
