"""The ``minecraft`` sink in a running graph against the plugin stand-in, time from a ManualClock."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from conftest import async_wait_until, build, free_port
from plugin_standin import PluginStandIn
from dj_support import RawDJ
from vj_support import make_scene, running, wait_until

from mcav.runtime.clock import ManualClock
from mcav.runtime.engine import Runtime


def graph(port: int, extra: str = "") -> str:
    return f"""
graph: mc
nodes:
  feed: {{kind: scene_feed}}
  mc: {{kind: minecraft, in: feed, host: 127.0.0.1, port: {port}{extra}}}
"""


def test_connect_sequence_full_entity_set_and_no_reply_awaited_for_batches():
    clock = ManualClock()
    with PluginStandIn(clock=clock) as plugin, running(build(graph(plugin.port)), clock) as rt:
        mc, feed = rt.node("mc"), rt.node("feed")
        wait_until(lambda: mc.status()["connected"])
        visible = np.ones(16, bool)
        visible[12:] = False
        feed.push(make_scene(16, seq=1, visible=visible))
        plugin.wait_messages("batch_update", 1)
        types = [m["type"] for m in plugin.messages]
        assert types[:3] == ["get_zones", "init_pool", "batch_update"]
        init = plugin.of_type("init_pool")[-1]
        assert init["zone"] == "main" and init["count"] == 16 and init["material"] == "SEA_LANTERN"
        batch = plugin.of_type("batch_update")[0]
        assert [e["id"] for e in batch["entities"]] == [f"block_{i}" for i in range(16)]
        assert batch["bpm"] == 128.0 and batch["tempo_confidence"] == 0.7 and batch["beat_phase"] == 0.25
        assert sorted(plugin.entities["main"]) == sorted(f"block_{i}" for i in range(16))
        assert all(plugin.entities["main"][f"block_{i}"]["scale"] == 0 for i in range(12, 16))
        assert mc.client.stats["received"] == 2  # zones + pool_initialized: the batch got no reply
        status = mc.status()
        assert status["zone"] == "main" and status["pool"] == 16 and status["mc_reconnect_count"] == 0
    assert plugin.violations == []


def test_picks_the_plugins_first_zone_when_the_configured_one_is_missing():
    clock = ManualClock()
    with PluginStandIn(clock=clock, zones=("stage", "club")) as plugin, \
            running(build(graph(plugin.port)), clock) as rt:
        mc = rt.node("mc")
        wait_until(lambda: mc.status()["connected"])
        assert mc.status()["zone"] == "stage" and plugin.of_type("init_pool")[0]["zone"] == "stage"


def test_batches_are_capped_at_the_rate_and_the_held_frame_still_goes_out():
    clock = ManualClock()
    with PluginStandIn(clock=clock) as plugin, running(build(graph(plugin.port, ", rate: 20")), clock) as rt:
        mc, feed = rt.node("mc"), rt.node("feed")
        wait_until(lambda: mc.status()["connected"])
        for seq in range(30):  # 0.5 s of a 60 Hz feed, over a budget of 20 per s in bursts of 1
            feed.push(make_scene(8, seq=seq))
            wait_until(lambda: mc.ctx.metrics.frames_in > seq)
            clock.advance(1 / 60)
        clock.advance(0.05)  # the budget allows the last held frame
        wait_until(lambda: plugin.of_type("batch_update") and plugin.of_type("batch_update")[-1]["frame"] == 29)
        frames = [m["frame"] for m in plugin.of_type("batch_update")]
        assert 10 <= len(frames) <= 12, frames  # 20 Hz over 0.55 s, not 30
        assert frames == sorted(frames) and frames[0] == 0
        assert mc.status()["frames_coalesced"] > 0


def test_frames_within_the_budget_go_out_on_arrival_without_waiting_for_a_tick():
    clock = ManualClock()
    with PluginStandIn(clock=clock) as plugin, running(build(graph(plugin.port)), clock) as rt:
        mc, feed = rt.node("mc"), rt.node("feed")
        wait_until(lambda: mc.status()["connected"])
        for seq in range(6):  # the default budget (120/s) takes a plugin tick's worth (6) back to back
            feed.push(make_scene(8, seq=seq))
            plugin.wait_messages("batch_update", seq + 1)  # the clock stands still: sent on arrival
            clock.advance(0.001)
        assert [m["frame"] for m in plugin.of_type("batch_update")] == list(range(6))
        assert mc.status()["frames_coalesced"] == 0


def test_blackout_hides_the_zone_and_sends_no_entities_then_restores():
    clock = ManualClock()
    with PluginStandIn(clock=clock) as plugin, running(build(graph(plugin.port, ", rate: 120")), clock) as rt:
        mc, feed = rt.node("mc"), rt.node("feed")
        wait_until(lambda: mc.status()["connected"])
        feed.push(make_scene(8, seq=1))
        plugin.wait_messages("batch_update", 1)
        clock.advance(0.01)
        feed.push(make_scene(8, seq=2, blackout=True))
        plugin.wait_messages("set_visible", 1)
        assert plugin.wait_for(lambda: plugin.visible.get("main") is False)
        assert plugin.wait_messages("batch_update", 2)[-1]["entities"] == []
        clock.advance(0.01)
        feed.push(make_scene(8, seq=3))
        assert plugin.wait_for(lambda: plugin.visible.get("main") is True)
        assert len(plugin.wait_messages("batch_update", 3)[-1]["entities"]) == 8


def test_entity_count_change_resizes_the_pool():
    clock = ManualClock()
    with PluginStandIn(clock=clock) as plugin, running(build(graph(plugin.port, ", rate: 120")), clock) as rt:
        mc, feed = rt.node("mc"), rt.node("feed")
        wait_until(lambda: mc.status()["connected"])
        feed.push(make_scene(8, seq=1))
        plugin.wait_messages("batch_update", 1)
        clock.advance(0.01)
        feed.push(make_scene(24, seq=2))
        batch = plugin.wait_messages("batch_update", 2)[-1]
        assert plugin.of_type("init_pool")[-1]["count"] == 24 and len(batch["entities"]) == 24
        assert mc.status()["pool"] == 24


def test_shutdown_hides_the_zone_and_closes_with_going_away():
    clock = ManualClock()
    with PluginStandIn(clock=clock) as plugin:
        with running(build(graph(plugin.port)), clock) as rt:
            wait_until(lambda: rt.node("mc").status()["connected"])
        assert plugin.wait_for(lambda: plugin.close_codes == [1001])
        assert plugin.of_type("set_visible")[-1] == {"type": "set_visible", "zone": "main", "visible": False}


def test_minecraft_down_then_up_then_restarted_follows_the_reconnect_schedule():
    clock = ManualClock()
    port = free_port()
    with running(build(graph(port)), clock) as rt:
        mc, feed = rt.node("mc"), rt.node("feed")
        schedule = []
        for attempt in range(5):  # Minecraft is not there: 5, 7.5, 11.25, 16.875, 25.3125 s
            wait_until(lambda: mc.status()["connect_failures"] == attempt + 1 and clock.next_deadline() is not None)
            schedule.append(mc.status()["retry_delay_s"])
            clock.advance(schedule[-1])
        assert schedule == [5.0, 7.5, 11.25, 16.875, 25.3125]
        assert rt.node("feed") and not mc.status()["connected"]
        feed.push(make_scene(8, seq=1))  # the graph keeps running; the frame is dropped and counted
        wait_until(lambda: mc.status()["frames_unsent"] == 1)
        with PluginStandIn(port=port, clock=clock) as plugin:
            wait_until(lambda: mc.status()["connect_failures"] == 6 and mc.status()["retry_delay_s"] == 37.96875)
            clock.advance(37.96875)
            wait_until(lambda: mc.status()["connected"])
            assert mc.status()["mc_reconnect_count"] == 0  # the first connection is not a reconnect
            plugin.restart()  # plugin restarted: connection closed, pools forgotten
            wait_until(lambda: not mc.status()["connected"] and mc.status()["retry_delay_s"] == 5.0)
            clock.advance(5.0)
            wait_until(lambda: mc.status()["connected"])
            assert mc.status()["mc_reconnect_count"] == 1
            assert len(plugin.of_type("init_pool")) == 2  # the pool was re-initialised
            feed.push(make_scene(8, seq=2))
            assert plugin.wait_messages("batch_update", 1)[-1]["frame"] == 2
        assert plugin.violations == []


def test_pong_timeout_drops_the_connection_and_reconnects():
    clock = ManualClock()
    with PluginStandIn(clock=clock) as plugin, running(build(graph(plugin.port)), clock) as rt:
        mc = rt.node("mc")
        wait_until(lambda: mc.status()["connected"])
        plugin.answer_pings = False
        # 10 s sleeps so far: the connect timeout's and the heartbeat's
        wait_until(lambda: clock.sleep_log.count(10.0) == 2)
        for k in range(3):  # pings at 10, 20, 30 s go unanswered
            clock.advance(10)
            wait_until(lambda: clock.sleep_log.count(10.0) == k + 3 and mc.client.stats["pings_sent"] == k + 1)
        clock.advance(10)  # 40 s without a pong > 30 s
        wait_until(lambda: not mc.status()["connected"])
        assert "pong timeout" in mc.status()["last_error"]
        plugin.answer_pings = True
        wait_until(lambda: mc.status()["retry_delay_s"] == 5.0)
        clock.advance(5.0)
        wait_until(lambda: mc.status()["connected"])
        assert mc.status()["mc_reconnect_count"] == 1


def test_malformed_plugin_replies_are_failed_attempts_and_the_schedule_goes_on(caplog):
    clock = ManualClock()
    with caplog.at_level(logging.INFO, logger="mcav"), PluginStandIn(clock=clock) as plugin, \
            running(build(graph(plugin.port)), clock) as rt:
        mc = rt.node("mc")
        plugin.replies["get_zones"] = {"type": "zones", "zones": None}
        wait_until(lambda: mc.status()["connect_failures"] == 1 and mc.status()["retry_delay_s"] == 5.0)
        assert "malformed reply to get_zones" in mc.status()["last_error"]
        assert 'malformed reply to get_zones: {"type": "zones", "zones": null}' in caplog.text
        del plugin.replies["get_zones"]
        plugin.replies["init_pool"] = {"type": "pool_initialized", "zone": "main", "count": None}
        clock.advance(5.0)
        wait_until(lambda: mc.status()["connect_failures"] == 2 and mc.status()["retry_delay_s"] == 7.5)
        assert "malformed reply to init_pool" in mc.status()["last_error"]
        plugin.replies.clear()  # the plugin is fixed: the next attempt of the schedule connects
        clock.advance(7.5)
        wait_until(lambda: mc.status()["connected"])
        assert mc.status()["pool"] == 16 and rt.exit_code == 0
        assert plugin.close_codes == [1011, 1011]  # each broken handshake was closed by us


def test_a_crash_of_the_connection_manager_fails_the_graph_with_a_traceback(caplog):
    def broken_listener(event) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("listener bug")

    clock = ManualClock()
    with caplog.at_level(logging.INFO, logger="mcav"), PluginStandIn(clock=clock) as plugin:
        rt = Runtime(build(graph(plugin.port, extra="}\n  watch: {kind: link_watch")), clock=clock)
        rt.control_port("watch", "link").subscribe(broken_listener)  # called on the manager's task: a bug there
        rt.start()
        try:
            assert rt.stop_event.wait(5), "the graph kept running without a Minecraft connection manager"
        finally:
            rt.shutdown()
    assert rt.exit_code == 1
    crash = [r for r in caplog.records if "connection manager failed" in r.getMessage()]
    assert crash and crash[0].exc_info is not None and "listener bug" in caplog.text


def dual_graph(port: int) -> str:
    return f"""
graph: vj
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: 0}}
  viz: {{kind: pattern, in: djs, entities: 8}}
  mc: {{kind: minecraft, in: viz, host: 127.0.0.1, port: {port}}}
"""


async def next_of(dj: RawDJ, mtype: str) -> dict:
    """The next message of ``mtype`` the DJ gets, skipping heartbeat acks."""
    while True:
        msg = await dj.recv()
        if msg["type"] == mtype:
            return msg
        assert msg["type"] == "heartbeat_ack", msg


def test_vj_yields_minecraft_to_a_direct_mode_dj_and_re_routes_djs_on_every_link_change():
    clock = ManualClock()
    with PluginStandIn(clock=clock) as plugin, running(build(dual_graph(plugin.port)), clock) as rt:
        djs, mc = rt.node("djs"), rt.node("mc")
        assert djs.ready.wait(5)
        wait_until(lambda: mc.connected)
        sent = 0

        async def frame(dj: RawDJ) -> None:  # one DJ frame, drawn (or yielded) by the sink at its due time
            nonlocal sent
            await dj.frame(sent)
            sent += 1
            await async_wait_until(lambda: mc.ctx.metrics.frames_in >= sent, what=f"frame {sent} at the sink")
            await async_wait_until(lambda: mc.counters["batches"] + mc.counters["frames_yielded_to_dj"] >= sent)
            clock.advance(0.05)

        async def scenario() -> None:
            dj = await RawDJ.connect(djs.port)
            await dj.send({"type": "dj_auth", "dj_id": "dj_d", "dj_name": "D", "dj_key": "", "direct_mode": True})
            _, req = await dj.expect("auth_success", "clock_sync_request")
            await dj.send({"type": "clock_sync_response", "dj_recv_time": req["server_time"],
                           "dj_send_time": req["server_time"]})
            _, _, route = await dj.expect("stream_route", "status_update", "stream_route")
            assert route["route_mode"] == "dual" and route["minecraft_port"] == plugin.port
            await frame(dj)  # the DJ has not said it is on Minecraft yet: the VJ draws
            assert mc.counters["batches"] == 1

            await dj.send({"type": "dj_heartbeat", "ts": 1.0, "mc_connected": True})
            await next_of(dj, "heartbeat_ack")
            for _ in range(3):
                await frame(dj)
            assert mc.counters["frames_yielded_to_dj"] == 3 and mc.counters["batches"] == 1
            assert await asyncio.to_thread(plugin.wait_for, lambda: len(plugin.of_type("batch_update")) == 1)

            await asyncio.to_thread(plugin.restart)  # Minecraft goes down: the DJ is told at once…
            down = await next_of(dj, "stream_route")
            assert down["route_mode"] == "dual" and down["is_active"] is True
            await async_wait_until(lambda: mc.status()["retry_delay_s"] == 5.0)
            clock.advance(5.0)  # …and again when it is back
            await async_wait_until(lambda: mc.connected)
            up = await next_of(dj, "stream_route")
            assert up["zone"] == "main" and up["minecraft_port"] == plugin.port

            await dj.send({"type": "dj_heartbeat", "ts": 2.0, "mc_connected": False})
            await next_of(dj, "heartbeat_ack")
            await frame(dj)  # the DJ lost its own link: the VJ draws again, on a freshly set-up pool
            assert mc.counters["batches"] == 2 and mc.counters["frames_yielded_to_dj"] == 3
            await dj.close()

        asyncio.run(scenario())
        assert plugin.wait_for(lambda: len(plugin.of_type("batch_update")) == 2)
        assert len(plugin.of_type("init_pool")) == 3  # connect, reconnect, and the resumed VJ's own pool
        assert plugin.violations == []


def test_two_minecraft_sinks_each_get_the_live_dj_and_their_own_link_state():
    """Two plugins (two servers or zones): both learn who is live; either link's change re-routes the DJs."""
    clock = ManualClock()
    with PluginStandIn(clock=clock) as one, PluginStandIn(clock=clock) as two:
        text = dual_graph(one.port) + f"  mc2: {{kind: minecraft, in: viz, host: 127.0.0.1, port: {two.port}}}\n"
        g = build(text)
        assert sorted(c.provider for c in g.controls if c.consumer == "djs" and c.port == "minecraft") == ["mc", "mc2"]
        with running(g, clock) as rt:
            djs, mc, mc2 = rt.node("djs"), rt.node("mc"), rt.node("mc2")
            assert djs.ready.wait(5)
            wait_until(lambda: mc.connected and mc2.connected)

            async def scenario() -> None:
                dj = await RawDJ.connect(djs.port)
                await dj.auth("dj_x", name="DJ X")
                await dj.expect("status_update", "stream_route")  # it goes live
                for seq in range(3):
                    await dj.frame(seq)
                    clock.advance(0.05)
                for plugin in (one, two):
                    await asyncio.to_thread(plugin.wait_for, lambda p=plugin: p.of_type("dj_info"))
                await asyncio.to_thread(two.restart)  # the second link drops: DJs get a fresh route
                route = await next_of(dj, "stream_route")
                assert route["minecraft_port"] == one.port  # routes name the first link's plugin
                await dj.close()

            asyncio.run(scenario())
        for plugin in (one, two):
            (info,) = plugin.of_type("dj_info")[:1]
            assert info["dj_id"] == "dj_x" and info["dj_name"] == "DJ X"
            assert plugin.violations == []


def test_batches_are_encoded_on_the_producers_thread_and_a_zone_change_since_re_encodes():
    from mcav.runtime.frames import Prepared

    clock = ManualClock()
    with PluginStandIn(clock=clock, zones=("main", "stage")) as plugin, \
            running(build(graph(plugin.port, ", rate: 120")), clock) as rt:
        mc, feed = rt.node("mc"), rt.node("feed")
        assert not isinstance(mc.prepare(make_scene(16, seq=0), "in"), Prepared)  # link down: nothing to encode
        wait_until(lambda: mc.status()["connected"])
        early = mc.prepare(make_scene(16, seq=1), "in")  # what the runtime queues for this node, zone main
        assert isinstance(early, Prepared) and early.data[0] == "main"
        feed.push(make_scene(16, seq=2))
        assert plugin.wait_messages("batch_update", 1)[-1]["zone"] == "main"
        # The zone changes between the producer's encoding and this node's loop taking the frame (not
        # schedulable through the graph): the batch goes to the new zone, encoded again.
        loop = rt.loop_of("mc")
        asyncio.run_coroutine_threadsafe(mc.set_zone("stage"), loop).result(5)
        asyncio.run_coroutine_threadsafe(mc._deliver(early), loop).result(5)
        batch = plugin.wait_messages("batch_update", 2)[-1]
        assert batch["zone"] == "stage" and batch["frame"] == 1 and len(batch["entities"]) == 16
    assert plugin.violations == []
