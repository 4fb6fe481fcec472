"""dj_server against a raw MCAV DJ client on loopback: handshakes, close codes, roster, operator API."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import pytest
from dj_support import RawDJ, async_wait_until, build, on_loop, running, vj_graph, wait_until

from mcav.nodes.dj.auth import KeyStore
from mcav.runtime.clock import ManualClock
from mcav.runtime.engine import Runtime
from mcav.runtime.frames import Features


def test_no_auth_handshake_order_frames_and_heartbeat():
    with running(vj_graph()) as rt:
        djs, sink = rt.node("djs"), rt.node("sink")

        async def scenario():
            dj = await RawDJ.connect(djs.port)
            await dj.send({"type": "dj_auth", "dj_id": "dj_alice", "dj_name": "DJ Alice", "dj_key": "",
                           "direct_mode": False})
            ok = await dj.recv()
            assert list(ok)[0] == "type" and ok["type"] == "auth_success"
            assert ok["dj_id"] == "dj_alice" and ok["dj_name"] == "DJ Alice" and ok["is_active"] is False
            assert ok["current_pattern"] == "spectrum" and ok["pattern_config"]["entity_count"] == 16
            assert ok["route_mode"] == "relay"
            req = await dj.recv()
            assert req["type"] == "clock_sync_request" and isinstance(req["server_time"], float)
            t = req["server_time"] + 0.25  # a DJ clock 250 ms ahead
            await dj.send({"type": "clock_sync_response", "dj_recv_time": t, "dj_send_time": t})
            route, status, route2 = await dj.expect("stream_route", "status_update", "stream_route")
            assert route["is_active"] is False and route["relay_fallback"] is True
            assert route["minecraft_port"] == 8765 and route["zone"] == "main"
            assert status["is_active"] is True and route2["is_active"] is True
            assert route2["reason"] == "standby_or_relay_mode"
            await dj.frame(seq=7, bpm=128.0, beat=True, beat_i=0.8)
            ack = await dj.heartbeat(ts=1700000000.5)
            assert list(ack) == ["type", "server_time", "echo_ts"] and ack["echo_ts"] == 1700000000.5
            (entry,) = await asyncio.to_thread(on_loop, djs, djs.roster)
            assert entry["dj_id"] == "dj_alice" and entry["is_active"] and entry["queue_position"] == 0
            assert entry["clock_offset_ms"] == pytest.approx(250.0, abs=50)
            assert djs.status()["djs"]["dj_alice"]["frames"] == 1
            assert djs.health() == {"dj_connects": 1, "dj_disconnects": 0, "current_djs": 1}
            await dj.close()

        asyncio.run(scenario())
        frames = wait_until(lambda: list(sink.frames), what="a Features frame")
        f = frames[0]
        assert isinstance(f, Features) and f.source == "dj_alice"
        assert f.bands.tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
        assert f.beat is True and f.beat_intensity == pytest.approx(0.8)
        assert 120.0 < f.bpm < 128.0  # the stabiliser moves 40 % from 120 towards 128
        wait_until(lambda: djs.health()["dj_disconnects"] == 1, what="the disconnect")


def test_keys_file_auth_accepts_right_key_and_refuses_wrong_with_4004(tmp_path, caplog):
    store = KeyStore()
    store.add("dj_alice", "DJ Alice", "s3cret-key", priority=5)
    store.save(tmp_path / "keys.yaml")
    assert "s3cret-key" not in (tmp_path / "keys.yaml").read_text()
    graph = vj_graph(f", auth: {{keys: {tmp_path / 'keys.yaml'}}}")
    caplog.set_level(logging.DEBUG)
    with running(graph) as rt:
        djs = rt.node("djs")

        async def scenario():
            bad = await RawDJ.connect(djs.port)
            await bad.send({"type": "dj_auth", "dj_id": "dj_alice", "dj_name": "x", "dj_key": "wrong-key"})
            assert await bad.closed() == (4004, "Authentication failed")
            unknown = await RawDJ.connect(djs.port)
            await unknown.send({"type": "dj_auth", "dj_id": "dj_bob", "dj_name": "x", "dj_key": "s3cret-key"})
            assert (await unknown.closed())[0] == 4004
            good = await RawDJ.connect(djs.port)
            ok, _, _ = await good.auth("dj_alice", key="s3cret-key", name="ignored")
            assert ok["dj_name"] == "DJ Alice"  # the name comes from the keys file
            (entry,) = await asyncio.to_thread(on_loop, djs, djs.roster)
            assert entry["priority"] == 5 and entry["dj_name"] == "DJ Alice"
            assert djs.status()["auth_failures"] == 2
            await good.close()

        asyncio.run(scenario())
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("mcav"))
    assert "s3cret-key" not in ours and "wrong-key" not in ours
    assert "DJ auth failed for 'dj_alice'" in ours


def test_old_mcav_keys_file_with_salted_sha256_is_accepted(tmp_path):
    import hashlib

    digest = hashlib.sha256(b"abcd:pw1").hexdigest()
    (tmp_path / "dj_auth.json").write_text(json.dumps(
        {"djs": {"dj_old": {"name": "Old DJ", "key_hash": f"sha256:abcd:{digest}", "priority": 3}},
         "vj_operators": {}}))
    with running(vj_graph(f", auth: {{keys: {tmp_path / 'dj_auth.json'}, require: true}}")) as rt:
        async def scenario():
            dj = await RawDJ.connect(rt.node("djs").port)
            ok, _, _ = await dj.auth("dj_old", key="pw1")
            assert ok["dj_name"] == "Old DJ"
            await dj.close()

        asyncio.run(scenario())


@pytest.mark.parametrize(
    "first, code, reason",
    [
        ("{not json", 4002, "Invalid JSON"),
        (json.dumps({"type": "dj_audio_frame", "seq": 1}), 4003, "Expected dj_auth or code_auth message"),
        (json.dumps([1, 2]), 4003, "Expected dj_auth or code_auth message"),
    ],
)
def test_bad_first_message_close_codes(first, code, reason):
    with running(vj_graph()) as rt:
        async def scenario():
            dj = await RawDJ.connect(rt.node("djs").port)
            await dj.send(first)
            return await dj.closed()

        assert asyncio.run(scenario()) == (code, reason)


def test_auth_timeout_closes_4001_on_the_injected_clock():
    clock = ManualClock()
    with running(vj_graph(), clock=clock) as rt:
        async def scenario():
            dj = await RawDJ.connect(rt.node("djs").port)
            await asyncio.to_thread(clock.wait_for_sleepers, 1)
            assert clock.next_deadline() == pytest.approx(10.0)
            clock.advance(10.0)
            return await dj.closed()

        assert asyncio.run(scenario()) == (4001, "Authentication timeout")


def test_duplicate_id_4005_and_other_djs_unaffected():
    with running(vj_graph()) as rt:
        djs = rt.node("djs")

        async def scenario():
            a = await RawDJ.connect(djs.port)
            await a.auth("dj_a")
            dup = await RawDJ.connect(djs.port)
            await dup.send({"type": "dj_auth", "dj_id": "dj_a", "dj_name": "A2", "dj_key": ""})
            assert await dup.closed() == (4005, "Already connected")
            ack = await a.heartbeat(ts=5.0)  # the first connection still works
            assert ack["echo_ts"] == 5.0
            await a.close()

        asyncio.run(scenario())


def test_roster_failover_set_active_reorder_kick_and_events():
    events: list[dict] = []
    with running(vj_graph()) as rt:
        djs, sink = rt.node("djs"), rt.node("sink")
        on_loop(djs, lambda: djs.hub.add_listener(events.append))

        async def scenario():
            a = await RawDJ.connect(djs.port)
            await a.auth("dj_a")
            await a.expect("status_update", "stream_route")
            b = await RawDJ.connect(djs.port)
            await b.auth("dj_b")
            c = await RawDJ.connect(djs.port)
            await c.auth("dj_c")
            await async_wait_until(lambda: len(djs.status()["djs"]) == 3)
            assert djs.active_dj == "dj_a"
            # operator reorders: c before b
            await asyncio.to_thread(on_loop, djs, lambda: djs.reorder("dj_c", 1))
            order = [e["dj_id"] for e in await asyncio.to_thread(on_loop, djs, djs.roster)]
            assert order == ["dj_a", "dj_c", "dj_b"]
            # the active DJ leaves: the next in the queue (dj_c) takes over and everyone is told
            await a.close()
            st_b, _ = await b.expect("status_update", "stream_route")
            st_c, route_c = await c.expect("status_update", "stream_route")
            assert st_b["is_active"] is False and st_c["is_active"] is True and route_c["is_active"] is True
            assert djs.active_dj == "dj_c"
            # only the active DJ's frames come out
            await b.frame(seq=1)
            await c.frame(seq=2, bands=[1, 1, 1, 1, 1])
            await b.heartbeat()
            await c.heartbeat()
            # operator switches to b, then kicks b
            await asyncio.to_thread(on_loop, djs, lambda: djs.set_active("dj_b"))
            assert (await b.expect("status_update"))[0]["is_active"] is True
            await asyncio.to_thread(on_loop, djs, lambda: djs.kick("dj_b"))
            assert await b.closed() == (4010, "Kicked by VJ")
            assert djs.active_dj == "dj_c"
            with pytest.raises(ValueError, match="no connected DJ 'nobody'"):
                await asyncio.to_thread(on_loop, djs, lambda: djs.kick("nobody"))
            await c.close()

        asyncio.run(scenario())
        assert [f.source for f in sink.frames] == ["dj_c"]
        wait_until(lambda: djs.health()["current_djs"] == 0)
        assert djs.health() == {"dj_connects": 3, "dj_disconnects": 3, "current_djs": 0}
        assert djs.active_dj is None
    rosters = [e for e in events if e["type"] == "dj_roster"]
    assert rosters and rosters[-1] == {"type": "dj_roster", "roster": [], "active_dj": None}
    assert any(e["active_dj"] == "dj_c" for e in rosters)


def test_invalid_messages_are_dropped_counted_and_the_connection_survives():
    with running(vj_graph()) as rt:
        djs = rt.node("djs")

        async def scenario():
            dj = await RawDJ.connect(djs.port)
            await dj.auth("dj_x")
            await dj.send("{broken")
            await dj.send(json.dumps({"no": "type"}))
            await dj.send(b"\xff\xfe binary garbage")
            await dj.send(json.dumps({"type": "something_new", "x": 1}))
            ack = await dj.heartbeat(ts=1.0)
            await dj.close()
            return ack

        assert asyncio.run(scenario())["echo_ts"] == 1.0
        assert djs.status()["dropped_invalid"] == 3


def test_oversized_message_closes_only_that_dj():
    with running(vj_graph(", max_message_size: 4096")) as rt:
        djs = rt.node("djs")

        async def scenario():
            a = await RawDJ.connect(djs.port)
            await a.auth("dj_a")
            b = await RawDJ.connect(djs.port)
            await b.auth("dj_b")
            await b.send(json.dumps({"type": "dj_audio_frame", "pad": "x" * 8000}))
            assert (await b.closed())[0] == 1009  # message too big
            assert (await a.heartbeat(ts=9.0))["echo_ts"] == 9.0
            await a.close()

        asyncio.run(scenario())


def test_direct_mode_dj_gets_minecraft_details_dual_route_and_reports_mc_connected():
    with running(vj_graph()) as rt:
        djs = rt.node("djs")

        async def scenario():
            dj = await RawDJ.connect(djs.port)
            await dj.send({"type": "dj_auth", "dj_id": "dj_d", "dj_name": "D", "dj_key": "", "direct_mode": True})
            ok = await dj.recv()
            assert (ok["minecraft_host"], ok["minecraft_port"], ok["zone"], ok["entity_count"]) == (
                "localhost", 8765, "main", 16)
            req = await dj.recv()
            await dj.send({"type": "clock_sync_response", "dj_recv_time": req["server_time"],
                           "dj_send_time": req["server_time"]})
            _, status, route = await dj.expect("stream_route", "status_update", "stream_route")
            assert route["route_mode"] == "dual" and route["reason"] == "active_direct_dj"
            await dj.send({"type": "dj_heartbeat", "ts": 1.0, "mc_connected": True})
            await dj.expect("heartbeat_ack")
            (entry,) = await asyncio.to_thread(on_loop, djs, djs.roster)
            assert entry["direct_mode"] is True and entry["mc_connected"] is True
            await dj.close()

        asyncio.run(scenario())


def test_port_in_use_is_a_clear_failure_not_a_crash(caplog):
    with socket.socket() as taken, caplog.at_level(logging.INFO, logger="mcav"):
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rt = Runtime(build(vj_graph().replace("port: 0", f"port: {port}")))
        assert rt.run() == 1
    assert rt.node("djs").ready.is_set() and rt.node("djs").port is None
    assert f"dj_server 'djs': cannot listen on 127.0.0.1:{port}: Address already in use" in caplog.text
    assert "crashed" not in caplog.text and "Traceback" not in caplog.text
