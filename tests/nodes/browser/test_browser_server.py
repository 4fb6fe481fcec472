"""The ``browser`` node with raw WebSocket clients: vj_state, state frames, heartbeat, bad input, limits, slow clients."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import subprocess
import sys

import numpy as np
from conftest import build
from vj_support import RawBrowser, make_scene, running, wait_until

from mcav.runtime.clock import ManualClock
from mcav.runtime.engine import Runtime
from mcav.runtime.frames import Scene

MS = 1_000_000
STATE_KEYS = {"type", "entities", "bands", "amplitude", "is_beat", "beat_intensity", "instant_bass", "instant_kick",
              "frame", "pattern", "active_dj", "latency_ms", "ping_ms", "pipeline_latency_ms", "fps", "zone_status"}
VJ_STATE_KEYS = {"type", "patterns", "current_pattern", "entity_count", "zone", "dj_roster", "active_dj",
                 "health_stats", "minecraft_connected", "pending_djs", "banner_profiles"}


def graph(extra: str = "") -> str:
    return f"""
graph: web
nodes:
  feed: {{kind: scene_feed}}
  web: {{kind: browser, in: feed, host: 127.0.0.1, port: 0{extra}}}
"""


def start(rt):
    web = rt.node("web")
    assert web.ready.wait(5)
    return web, rt.node("feed"), web.status()["port"]


def test_vj_state_on_connect_then_state_per_frame():
    with running(build(graph())) as rt:
        web, feed, port = start(rt)

        async def scenario() -> None:
            b = await RawBrowser.connect(port)
            hello = await b.recv()
            assert hello["type"] == "vj_state" and VJ_STATE_KEYS <= set(hello)
            assert hello["health_stats"]["current_browsers"] == 1 and hello["health_stats"]["browser_connects"] == 1
            assert list(hello["health_stats"]) == ["dj_connects", "dj_disconnects", "browser_connects",
                                                   "browser_disconnects", "mc_reconnect_count", "current_djs",
                                                   "current_browsers", "mc_connected"]
            assert hello["minecraft_connected"] is False and hello["zone"] == "main"
            feed.push(make_scene(16, seq=5, beat=True))
            st = await b.expect("state")
            assert STATE_KEYS <= set(st) and list(st)[:2] == ["type", "entities"]
            assert [e["id"] for e in st["entities"]] == [f"block_{i}" for i in range(16)]
            assert set(st["entities"][0]) == {"id", "x", "y", "z", "scale", "band", "visible"}
            assert st["frame"] == 5 and st["is_beat"] is True and st["bands"] == [0.8, 0.6, 0.4, 0.3, 0.2]
            assert st["zone_status"] == {"bpm_estimate": 128.0, "tempo_confidence": 0.7, "beat_phase": 0.25,
                                         "locked": False}
            feed.push(make_scene(16, seq=6, blackout=True, t_capture=st_t(6)))
            assert (await b.expect("state"))["entities"] == []
            await b.close()

        asyncio.run(scenario())
        wait_until(lambda: web.health()["browser_disconnects"] == 1)


def st_t(seq: int) -> int:
    """Capture times 17 ms apart (a 60 Hz source) so the 60 Hz cap never skips them."""
    return 10**12 + seq * 17 * MS


def test_state_rate_is_capped_by_capture_time_not_a_timer():
    with running(build(graph(", state_rate: 60"))) as rt:
        web, feed, port = start(rt)

        async def scenario() -> list[int]:
            b = await RawBrowser.connect(port)
            await b.expect("vj_state")
            # a 200 Hz burst (5 ms apart) then the end marker 40 ms later
            for k, (seq, t_ms) in enumerate([(s, s * 5) for s in range(10)] + [(99, 85)]):
                feed.push(make_scene(4, seq=seq, t_capture=10**12 + t_ms * MS))
                wait_until(lambda: web.ctx.metrics.frames_in > k)  # one at a time, none coalesced
            frames = []
            while not frames or frames[-1] != 99:
                frames.append((await b.expect("state"))["frame"])
            return frames

        frames = asyncio.run(scenario())
        # a 60 Hz grid (16.7 ms, 3.3 ms early allowed): frames at 0, 15, 30 ms go, 45 ms is early for 50 ms,
        # and the frame 55 ms after the burst starts a new grid
        assert frames == [0, 3, 6, 99]
        assert web.status()["states_skipped"] == 7


def test_an_attack_or_a_beat_goes_out_off_the_grid():
    with running(build(graph(", state_rate: 60"))) as rt:
        web, feed, port = start(rt)

        def scene(seq: int, t_ms: float, rise: float = 0.0, beat: bool = False) -> Scene:
            s = make_scene(4, seq=seq, t_capture=10**12 + int(t_ms * MS), beat=beat)
            bands = s.features.bands + np.float32(rise)
            return dataclasses.replace(s, features=dataclasses.replace(s.features, bands=bands))

        async def scenario() -> list[int]:
            b = await RawBrowser.connect(port)
            await b.expect("vj_state")
            # between two 60 Hz slots: a repeat (skipped), a band rising by 0.1 (sent), a repeat of that (skipped),
            # a beat (sent); then a frame in the next slot and the end marker
            for k, s in enumerate([scene(0, 0), scene(1, 3), scene(2, 6, rise=0.1), scene(3, 8, rise=0.1),
                                   scene(4, 10, beat=True), scene(5, 17), scene(99, 60)]):
                feed.push(s)
                wait_until(lambda: web.ctx.metrics.frames_in > k)
            frames = []
            while not frames or frames[-1] != 99:
                frames.append((await b.expect("state"))["frame"])
            return frames

        assert asyncio.run(scenario()) == [0, 2, 4, 5, 99]  # the slot at 16.7 ms stayed where it was
        assert web.status()["states_onset"] == 2 and web.status()["states_skipped"] == 2


def test_ping_every_15s_and_close_4100_after_two_missed_pongs():
    clock = ManualClock()
    with running(build(graph()), clock) as rt:
        web, feed, port = start(rt)

        async def scenario() -> None:
            good, bad = await RawBrowser.connect(port), await RawBrowser.connect(port)
            await good.expect("vj_state")
            await bad.expect("vj_state")
            assert await asyncio.to_thread(clock.wait_for_sleepers, 1)
            for t in (15, 30, 45):
                clock.advance(15)
                assert await good.expect("ping") == {"type": "ping"}
                await good.send({"type": "pong"})
                if t < 45:
                    assert (await bad.expect("ping"))["type"] == "ping"  # never answered
                assert await asyncio.to_thread(clock.wait_for_sleepers, 1)
            assert await bad.closed() == (4100, "Heartbeat timeout")  # 2 missed: closed at 45 s
            assert (await good.ask({"type": "ping"}, "pong")) == {"type": "pong"}  # the answering one stays

        asyncio.run(scenario())
        assert web.status()["heartbeat_timeouts"] == 1


def test_bad_input_gets_error_replies_and_the_connection_stays_up():
    with running(build(graph())) as rt:
        web, feed, port = start(rt)

        async def scenario() -> None:
            b, other = await RawBrowser.connect(port), await RawBrowser.connect(port)
            await b.expect("vj_state")
            await other.expect("vj_state")
            for bad, why in (("{nope", "invalid JSON"), ("[1, 2]", "JSON object"), ('{"type": 7}', "'type'"),
                             (b"\x00\x01", "binary"), ('{"type":"warp_drive"}', "Unknown command: warp_drive"),
                             ('{"type":"set_pattern","pattern":"ring"}', "no pattern node")):
                await b.send(bad)
                err = await b.expect("error")
                assert set(err) == {"type", "message"} and why in err["message"], (bad, err)
            assert await b.ask({"type": "ping"}, "pong") == {"type": "pong"}
            feed.push(make_scene(4, seq=1))
            assert (await other.expect("state"))["frame"] == 1  # others unaffected
            assert (await b.expect("state"))["frame"] == 1

        asyncio.run(scenario())
        s = web.status()
        assert s["bad_messages"] == 4 and s["unknown_commands"] == 1


def test_oversized_message_closes_1009_and_max_clients_closes_4003():
    with running(build(graph(", max_clients: 2, max_message_size: 2048"))) as rt:
        web, feed, port = start(rt)

        async def scenario() -> None:
            a, b = await RawBrowser.connect(port), await RawBrowser.connect(port)
            await a.expect("vj_state")
            await b.expect("vj_state")
            c = await RawBrowser.connect(port)
            assert await c.closed() == (4003, "Too many browsers")
            await a.send('{"type":"ping","pad":"' + "x" * 4096 + '"}')
            assert (await a.closed())[0] == 1009
            assert await b.ask({"type": "ping"}, "pong") == {"type": "pong"}

        asyncio.run(scenario())
        assert web.status()["rejected"] == 1


def stalled_client(port: int) -> socket.socket:
    """A browser that completes the WebSocket handshake and then never reads again."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    s.settimeout(5)
    assert s.recv(4096).startswith(b"HTTP/1.1 101")
    return s


def test_a_stalled_browser_loses_frames_and_never_delays_the_others():
    with running(build(graph(", send_buffer: 4096"))) as rt:
        web, feed, port = start(rt)
        stuck = stalled_client(port)
        try:
            async def scenario() -> list[int]:
                fast = [await RawBrowser.connect(port) for _ in range(3)]
                for b in fast:
                    await b.expect("vj_state")
                wait_until(lambda: web.status()["browsers"] == 4)
                got = []
                for seq in range(150):  # ~25 KB frames: the stalled socket's buffers fill within a few
                    feed.push(make_scene(256, seq=seq, t_capture=st_t(seq)))
                    frames = [(await b.expect("state"))["frame"] for b in fast]
                    assert frames == [seq] * 3  # every fast browser got this frame before the next was made
                    got.append(seq)
                return got

            assert len(asyncio.run(scenario())) == 150
            assert web.status()["frames_dropped"] > 100  # the stalled one lost frames (counted)
        finally:
            stuck.close()


@contextlib.contextmanager
def occupied_port():
    """A port some other program listens on (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_port_in_use_is_a_clear_failure_not_a_crash(caplog):
    with occupied_port() as port, caplog.at_level(logging.INFO, logger="mcav"):
        rt = Runtime(build(graph().replace("port: 0", f"port: {port}")))
        assert rt.run() == 1
    web = rt.node("web")
    assert web.ready.is_set() and web.port is None
    assert f"browser 'web': cannot listen on 127.0.0.1:{port}: Address already in use" in caplog.text
    assert "crashed" not in caplog.text and "Traceback" not in caplog.text


def test_mcav_run_with_the_browser_port_taken_exits_1_with_one_clear_line(tmp_path):
    with occupied_port() as port:
        path = tmp_path / "g.yaml"
        path.write_text(f"""
graph: demo
nodes:
  source: {{kind: synth}}
  fft: {{kind: fft, in: source}}
  beat: {{kind: beat, in: fft}}
  viz: {{kind: pattern, in: beat}}
  web: {{kind: browser, in: viz, host: 127.0.0.1, port: {port}}}
""")
        res = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "run", str(path), "--no-dashboard"],
                             capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in res.stderr
    assert "crashed" not in res.stderr and "Traceback" not in res.stderr


async def state_frames(b: RawBrowser, until: int) -> list[int]:
    """The frame numbers of the ``state`` messages ``b`` receives, up to frame ``until``."""
    got: list[int] = []
    while not got or got[-1] != until:
        msg = await b.recv()
        if msg["type"] == "state":
            got.append(msg["frame"])
    return got


def test_a_fan_out_in_chunks_delivers_every_frame_or_counts_it_and_always_the_last():
    # One socket per loop turn: frames pushed in bursts wait for (or replace) each other mid-fan-out.
    with running(build(graph(", fanout_chunk: 1"))) as rt:
        web, feed, port = start(rt)

        async def scenario() -> list[list[int]]:
            browsers = [await RawBrowser.connect(port) for _ in range(3)]
            for b in browsers:
                await b.expect("vj_state")
            for burst in range(6):
                for k in range(5):
                    seq = burst * 5 + k
                    feed.push(make_scene(8, seq=seq, t_capture=st_t(seq)))
                await asyncio.sleep(0.002)  # pacing the bursts, not a wait: the checks hold however they interleave

            return list(await asyncio.gather(*(state_frames(b, until=29) for b in browsers)))

        received = asyncio.run(scenario())
        assert all(got == sorted(set(got)) for got in received)  # in order, no frame twice
        st = web.status()
        assert st["states_sent"] >= 1 and st["states_skipped"] == 0
        # every frame the node sent reached each browser or was counted as dropped for it
        assert sum(map(len, received)) + st["frames_dropped"] == 3 * st["states_sent"]


def test_a_fan_out_backlog_lets_a_burst_through_whole():
    # A burst read back to back (an edge's frames from Redis after a stall): with room for it in the ring and
    # the fan-out's backlog, every browser gets every frame, in order, one socket per loop turn notwithstanding.
    text = """
graph: web
nodes:
  feed: {kind: scene_feed}
  web: {kind: browser, in: {from: feed, queue: {slots: 16, leaky: downstream}}, host: 127.0.0.1, port: 0,
        fanout_chunk: 1, fanout_backlog: 16}
"""
    with running(build(text)) as rt:
        web, feed, port = start(rt)

        async def scenario() -> list[list[int]]:
            browsers = [await RawBrowser.connect(port) for _ in range(3)]
            for b in browsers:
                await b.expect("vj_state")
            for seq in range(12):
                feed.push(make_scene(8, seq=seq, t_capture=st_t(seq)))

            return list(await asyncio.gather(*(state_frames(b, until=11) for b in browsers)))

        received = asyncio.run(scenario())
        assert received == [list(range(12))] * 3
        st = web.status()
        assert st["states_sent"] == 12 and st["frames_dropped"] == 0


def test_a_departed_browser_is_freed_without_waiting_for_the_garbage_collector():
    """Its sender task and the client were a reference cycle (bench/SOAK.md): only a full collection freed them."""
    import gc
    import weakref

    with running(build(graph())) as rt:
        web, feed, port = start(rt)
        gone: list[weakref.ref] = []

        async def scenario() -> None:
            b = await RawBrowser.connect(port)
            await b.recv()  # vj_state: sent just before the server registers the client and starts its sender
            (client,) = wait_until(lambda: list(web.clients), what="the client registered")
            gone.append(weakref.ref(client))
            del client
            await b.close()

        gc.disable()
        try:
            asyncio.run(scenario())
            wait_until(lambda: not web.clients, what="the server dropped the client")
            wait_until(lambda: gone[0]() is None, what="the client freed by reference counting alone")
        finally:
            gc.enable()
