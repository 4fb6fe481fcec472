"""The plugin stand-in's own behaviour (WIRE.md 1.1) and VizClient against it on loopback."""

from __future__ import annotations

import asyncio
import gc
import json
import logging

import pytest
import websockets
from conftest import async_wait_until
from plugin_standin import PluginStandIn
from websockets.asyncio.client import connect

from mcav.nodes.minecraft import protocol
from mcav.nodes.minecraft.viz_client import NotConnected, VizClient
from mcav.runtime.clock import ManualClock

T = 5.0  # real-time guard on every wait


async def raw(port: int):
    ws = await connect(f"ws://127.0.0.1:{port}", proxy=None, compression=None, ping_interval=None)
    welcome = json.loads(await asyncio.wait_for(ws.recv(), T))
    return ws, welcome


# -- the stand-in behaves like the plugin --------------------------------------------------------


def test_standin_welcome_fast_path_sync_replies_errors_and_size_limit():
    async def scenario(port: int) -> None:
        ws, welcome = await raw(port)
        assert welcome["type"] == "connected" and welcome["message"] == "Connected to AudioViz server"
        await ws.send('{"type":"batch_update","zone":"main","entities":[]}')  # fast path: no reply
        await ws.send('{"type":"audio_state","zone":"main","bands":[0,0,0,0,0],"amplitude":0,'
                      '"is_beat":false,"beat_intensity":0,"frame":1}')
        await ws.send('{"type":"get_zones"}')
        assert json.loads(await asyncio.wait_for(ws.recv(), T))["type"] == "zones"  # first reply answers get_zones
        await ws.send('{"type":"warp_drive"}')
        assert json.loads(await ws.recv()) == {"type": "error", "message": "Unknown message type: warp_drive"}
        await ws.send('{"type":"set_visible","zone":"no way","visible":true}')
        assert json.loads(await ws.recv()) == {"type": "error", "message": "Invalid zone name"}
        await ws.send('{"type":"ping","pad":"' + "x" * 262_144 + '"}')  # over the limit: dropped unseen
        await ws.send('{"type":"ping"}')
        assert json.loads(await ws.recv())["type"] == "pong"
        await ws.close()

    with PluginStandIn() as mc:
        asyncio.run(scenario(mc.port))
        assert mc.dropped_oversize == 1
        assert [m["type"] for m in mc.messages] == [
            "batch_update", "audio_state", "get_zones", "warp_drive", "set_visible", "ping"]


def test_standin_pings_every_15s_and_closes_after_45s_without_pong():
    clock = ManualClock()

    async def scenario(port: int) -> tuple[int | None, str]:
        ws, _ = await raw(port)
        for t in (15, 30):
            assert await asyncio.to_thread(clock.wait_for_sleepers, 1)
            clock.advance(15)
            ping = json.loads(await asyncio.wait_for(ws.recv(), T))
            assert ping["type"] == "ping" and isinstance(ping["timestamp"], int)
        assert await asyncio.to_thread(clock.wait_for_sleepers, 1)
        clock.advance(15)  # 45 s without a pong
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), T)
        return ws.close_code, ws.close_reason

    with PluginStandIn(clock=clock) as mc:
        assert asyncio.run(scenario(mc.port)) == (1000, "Heartbeat timeout")


# -- VizClient ------------------------------------------------------------------------------------


def test_vizclient_defaults_are_connectivity_md():
    c = VizClient()
    assert (c.host, c.port, c.auto_reconnect) == ("localhost", 8765, False)
    p = c.reconnect_policy
    assert (p.connect_timeout, p.initial, p.multiplier, p.max, p.max_reconnect_attempts) == (10.0, 1.0, 1.5, 30.0, 10)
    assert (c.heartbeat_policy.interval, c.heartbeat_policy.timeout) == (10.0, 30.0)


def test_connect_refused_returns_false_with_reason():
    async def scenario() -> None:
        c = VizClient("127.0.0.1", _closed_port(), connect_timeout=2)
        assert await c.connect() is False
        assert "Connect" in c.last_error or "refused" in c.last_error.lower()
        with pytest.raises(NotConnected):
            await c.request(protocol.get_zones())

    asyncio.run(scenario())


def _closed_port() -> int:
    from conftest import free_port

    return free_port()


def test_concurrent_requests_get_their_own_replies_and_fast_path_is_never_awaited():
    async def scenario(mc: PluginStandIn) -> None:
        c = VizClient("127.0.0.1", mc.port)
        assert await c.connect() and c.welcome["type"] == "connected"
        with pytest.raises(ValueError, match="does not answer"):
            await c.request('{"type":"batch_update","zone":"main","entities":[]}')
        await c.send('{"type":"batch_update","zone":"main","entities":[]}')
        zones, missing, pool, info, vis = await asyncio.gather(
            c.request(protocol.get_zones()), c.request({"zone": "nowhere", "type": "get_zone"}),
            c.request(protocol.init_pool("main", 8, "SEA_LANTERN")),
            c.request(protocol.dj_info("DJ A", "dj_a", 128)), c.request(protocol.set_visible("main", True)),
        )
        assert zones["type"] == "zones" and [z["name"] for z in zones["zones"]] == ["main"]
        assert missing == {"type": "error", "message": "Zone not found: nowhere"}
        assert pool == {"type": "pool_initialized", "zone": "main", "count": 8, "material": "SEA_LANTERN"}
        assert info == {"type": "dj_info_received", "dj_name": "DJ A"}  # matched: no 10 s wait (WIRE 11.2)
        assert vis["type"] == "visibility_updated"
        assert c.stats["received"] == 5 and c.stats["timeouts"] == 0
        await c.disconnect()
        assert not c.connected

    with PluginStandIn() as mc:
        asyncio.run(scenario(mc))
        assert mc.violations == []


def test_request_times_out_on_the_injected_clock_and_late_reply_is_not_misrouted():
    clock = ManualClock()

    async def scenario(mc: PluginStandIn) -> None:
        c = VizClient("127.0.0.1", mc.port, clock=clock)
        assert await c.connect()
        mc.reply_to_sync = False
        task = asyncio.ensure_future(c.request(protocol.get_zones(), timeout=5))
        assert await asyncio.to_thread(mc.wait_for, lambda: len(mc.of_type("get_zones")) == 1)
        await asyncio.to_thread(clock.wait_for_sleepers, 3)  # two heartbeats + the request timer
        clock.advance(5)
        with pytest.raises(TimeoutError, match="get_zones"):
            await asyncio.wait_for(task, T)
        mc.reply_to_sync = True
        # the first request's reply never came; this one is answered and gets its own reply
        assert (await asyncio.wait_for(c.request(protocol.dj_info("B", "dj_b", 0)), T))["dj_name"] == "B"
        await c.disconnect()

    with PluginStandIn(clock=clock) as mc:
        asyncio.run(scenario(mc))


def test_answers_plugin_pings_and_declares_the_plugin_dead_after_30s_without_pong():
    clock = ManualClock()

    async def step(seconds: float) -> bool:
        clock.advance(seconds)  # then wait until both heartbeats (ours, the plugin's) sleep again
        return await asyncio.to_thread(clock.wait_for_sleepers, 2, 1.0)

    async def scenario(mc: PluginStandIn) -> None:
        c = VizClient("127.0.0.1", mc.port, clock=clock)
        assert await c.connect()
        await asyncio.to_thread(clock.wait_for_sleepers, 2)
        for _ in range(6):  # 60 s: we ping every 10 s, the plugin pings us and we answer
            assert await step(10)
        # every ping answered (the last pong must be in before the clock moves on, or the silence starts later)
        await async_wait_until(lambda: len(mc.of_type("pong")) >= 3 and c.stats["pongs_received"] == 6, T)
        assert c.connected and mc.connections == 1  # our pongs kept the plugin's 45 s timer happy
        mc.answer_pings = False  # from now on the plugin ignores our pings
        for _ in range(3):  # 30 s of silence is not yet dead
            assert await step(10) and c.connected
        clock.advance(10)
        await async_wait_until(lambda: not c.connected, T)
        assert "pong timeout" in c.last_error

    with PluginStandIn(clock=clock) as mc:
        asyncio.run(scenario(mc))


def test_auto_reconnect_after_a_plugin_restart_uses_1s_backoff():
    clock = ManualClock()

    async def scenario(mc: PluginStandIn) -> None:
        c = VizClient("127.0.0.1", mc.port, clock=clock, auto_reconnect=True)
        assert await c.connect()
        await asyncio.to_thread(mc.restart)
        await async_wait_until(lambda: not c.connected, T)
        await async_wait_until(lambda: 1.0 in clock.sleep_log, T)
        clock.advance(1.0)
        await async_wait_until(lambda: c.connected, T)
        assert c.stats["reconnects"] == 1 and mc.total_connections == 2
        await c.disconnect()

    with PluginStandIn(clock=clock) as mc:
        asyncio.run(scenario(mc))


def test_standin_validates_against_the_schemas_with_the_documented_differences(shared_dir):
    async def scenario(port: int) -> None:
        ws, _ = await raw(port)
        await ws.send('{"type":"init_pool","zone":"main","count":16,"material":"SEA_LANTERN"}')  # plugin form: ok
        await ws.send('{"type":"batch_update","zone":"main","entities":[{"id":"block_0","x":0.5,"glow":true}],'
                      '"bpm":128,"beat_phase":0.5,"frame":3}')  # plugin-read extras: ok
        await ws.send('{"type":"set_visible","zone":"main","visible":"yes"}')  # violation
        await ws.send('{"zone":"main","type":"get_zones"}')  # violation: type not first
        await ws.send('{"type":"ping"}')
        while json.loads(await asyncio.wait_for(ws.recv(), T))["type"] != "pong":
            pass
        await ws.close()

    with PluginStandIn(shared_dir=shared_dir) as mc:
        asyncio.run(scenario(mc.port))
        assert len(mc.violations) == 3, mc.violations
        assert "'yes' is not of type 'boolean'" in mc.violations[0]
        assert "first key" in mc.violations[1] and "additional" in mc.violations[2].lower()


def test_unanswered_and_timed_out_requests_log_nothing_when_the_plugin_goes_away(caplog):
    """A request that timed out, and a reply-bearing message sent without waiting, are pending when the
    plugin restarts: nobody awaits their futures any more, so asyncio must have nothing to complain about."""
    clock = ManualClock()

    async def scenario(mc: PluginStandIn) -> None:
        c = VizClient("127.0.0.1", mc.port, clock=clock)
        assert await c.connect()
        mc.reply_to_sync = False  # a stalled plugin: reads everything, answers nothing
        await c.send(protocol.set_visible("main", True))  # answered by the plugin, but awaited by nobody
        task = asyncio.ensure_future(c.request(protocol.get_zones(), timeout=5))
        assert await asyncio.to_thread(mc.wait_for, lambda: len(mc.of_type("get_zones")) == 1)
        await asyncio.to_thread(clock.wait_for_sleepers, 3)  # two heartbeats + the request timer
        clock.advance(5)
        with pytest.raises(TimeoutError, match="get_zones"):
            await asyncio.wait_for(task, T)
        await asyncio.to_thread(mc.restart)  # the plugin goes away with both still unanswered
        await async_wait_until(lambda: not c.connected, T)
        await c.disconnect()

    with caplog.at_level(logging.ERROR, logger="asyncio"), PluginStandIn(clock=clock) as mc:
        asyncio.run(scenario(mc))
        gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()], caplog.text
