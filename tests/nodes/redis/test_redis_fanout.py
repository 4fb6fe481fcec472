"""One show served by many processes through a real redis-server: a VJ (``vj-fanout.yaml``), edges
(``edge.yaml``) and a synth DJ, each ``mcav run`` in its own process; raw browsers on every side.

Covers the happy path, operator commands through an edge (applied at the VJ, seen on every edge),
viewers refused at the edge, Redis killed and restarted (the VJ carries on; edges show "source lost"
and resume with a fresh snapshot), and an edge killed and restarted (nobody else notices).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterator

import pytest
from conftest import wait_until
from redis_support import Proc, RedisServer, is_state, need_redis, read_until
from vj_support import RawBrowser

PASSWORD = "s3cret"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(need_redis(), tmp_path)
    server.start()
    yield server
    server.pause(False)
    server.kill()


class Show:
    """A VJ, a synth DJ streaming into it at 60 fps, and edges on demand; all stopped at the end."""

    def __init__(self, redis: RedisServer, tmp: Path) -> None:
        self.redis, self.tmp = redis, tmp
        self.env = {"MCAV_VJ_PASSWORD": PASSWORD, "MCAV_REDIS_URL": redis.url}
        self.procs: list[Proc] = []
        from conftest import free_port

        dj_port = free_port()
        self.vj = self._add(Proc("vj-fanout.yaml", tmp, "vj", f"djs.port={dj_port}", "mc.host=127.0.0.1",
                                 f"mc.port={free_port()}", "pub.reconnect=lan", env=self.env))
        self.dj = self._add(Proc("dj-synth.yaml", tmp, "dj", f"relay.vj_server_url=ws://127.0.0.1:{dj_port}",
                                 "relay.reconnect=lan", admin=False))
        self.edges: list[Proc] = []

    def _add(self, p: Proc) -> Proc:
        self.procs.append(p)
        return p

    def edge(self, name: str = "edge") -> Proc:
        e = self._add(Proc("edge.yaml", self.tmp, name, "sub.reconnect=lan", env=self.env))
        self.edges.append(e)
        return e

    def close(self) -> None:
        for p in reversed(self.procs):
            p.stop()


@pytest.fixture
def show(redis_server: RedisServer, tmp_path: Path) -> Iterator[Show]:
    s = Show(redis_server, tmp_path)
    try:
        yield s
    finally:
        s.close()


async def live_browser(port: int, operator: bool = False) -> RawBrowser:
    """A browser that got vj_state and then a state frame of the live synth DJ."""
    b = await RawBrowser.connect(port)
    assert (await b.recv(10))["type"] == "vj_state"  # a snapshot before any delta
    if operator:
        assert (await b.ask({"type": "vj_auth", "password": PASSWORD}, "auth_success"))["role"] == "operator"
    await read_until(b, is_state(active_dj="dj_synth"), 20, "a state frame of the synth DJ")
    return b


def test_edges_serve_the_show_forward_operator_commands_and_refuse_viewers(show: Show) -> None:
    a, b = show.edge("edge_a"), show.edge("edge_b")

    async def scenario() -> None:
        at_vj = await live_browser(show.vj.web)
        viewer_a, operator_a = await live_browser(a.web), await live_browser(a.web, operator=True)
        viewer_b = await live_browser(b.web)
        hello = await (await RawBrowser.connect(b.web)).recv(10)
        assert hello["type"] == "vj_state" and hello["current_pattern"] == "spectrum" and hello["entity_count"] == 64
        assert [d["dj_id"] for d in hello["dj_roster"]] == ["dj_synth"] and hello["active_dj"] == "dj_synth"
        assert hello["operator_auth"] is True and hello["health_stats"]["source_lost"] is False
        frame = await read_until(viewer_b, is_state(), what="state")
        assert len(frame["entities"]) == 64 and frame["pattern"] == "spectrum" and len(frame["bands"]) == 5

        # A viewer's command stops at its edge: refused there, nothing reaches the VJ.
        await viewer_a.send({"type": "set_pattern", "pattern": "ring"})
        refused = await read_until(viewer_a, lambda m: m["type"] == "error", what="the viewer's error")
        assert "not allowed for viewers" in refused["message"]

        # An operator's command travels to the VJ; every side sees the result.
        await operator_a.send({"type": "set_pattern", "pattern": "wave"})
        assert (await read_until(operator_a, lambda m: m["type"] == "pattern_changed"))["pattern"] == "wave"
        for side in (at_vj, viewer_b, viewer_a):
            await read_until(side, is_state(pattern="wave"), what="the new pattern")
        assert not any(m.get("pattern") == "ring" for side in (at_vj, viewer_b) for m in side.seen)
        await operator_a.send({"type": "generate_connect_code", "ttl_minutes": 5})
        code = (await read_until(operator_a, lambda m: m["type"] == "connect_code_generated"))["code"]
        def has_code(m: dict) -> bool:
            return m["type"] == "connect_codes" and code in [c["code"] for c in m["codes"]]

        # the new code's list reaches the operator at the edge (it may have come before the reply), never a viewer
        if not any(has_code(m) for m in operator_a.seen):
            await read_until(operator_a, has_code, what="connect_codes at the operator of edge A")
        await operator_a.send({"type": "set_blackout", "enabled": True})
        dark = await read_until(viewer_b, is_state(blackout=True), what="blackout at edge B")
        assert dark["entities"] == []
        assert not any(m["type"] == "connect_codes" and m["codes"] for m in viewer_b.seen)  # codes: operators only
        # A bad argument is refused by the VJ and the reason reaches the operator at the edge.
        await operator_a.send({"type": "set_pattern", "pattern": "no_such_pattern"})
        err = await read_until(operator_a, lambda m: m["type"] == "error", what="the VJ's refusal")
        assert "no_such_pattern" in err["message"]
        st = await viewer_b.ask({"type": "get_state"}, "vj_state", skip=("state", "ping", "dj_roster", "connect_codes",
                                                                          "effect_triggered"))
        assert st["current_pattern"] == "wave" and st["blackout"] is True

    asyncio.run(scenario())


def test_redis_restart_leaves_the_vj_alone_and_edges_resume_with_a_snapshot(show: Show) -> None:
    edge = show.edge()

    async def scenario() -> None:
        at_vj, at_vj_op = await live_browser(show.vj.web), await live_browser(show.vj.web, operator=True)
        at_edge = await live_browser(edge.web)
        show.redis.kill()
        wait_until(lambda: (edge.health() or {}).get("source_lost") is True, timeout=10, what="source lost at the edge")
        wait_until(lambda: (show.vj.health() or {}).get("redis_connected") is False, timeout=10, what="the VJ's link down")
        # The VJ and its own browsers carry on, and can change the show meanwhile.
        seen = len([m for m in at_vj.seen if m["type"] == "state"])
        await at_vj_op.send({"type": "set_pattern", "pattern": "orbit"})
        await read_until(at_vj, is_state(pattern="orbit"), what="the VJ's own browsers unaffected")
        for _ in range(60):
            await read_until(at_vj, is_state(), what="VJ frames while Redis is down")
        assert len([m for m in at_vj.seen if m["type"] == "state"]) >= seen + 60
        show.redis.start()
        # The edge kept its browser, and resumes with the change it missed (only in the snapshot).
        await read_until(at_edge, is_state(pattern="orbit"), 20, "the edge resuming")
        st = await at_edge.ask({"type": "get_state"}, "vj_state", skip=("state", "ping", "dj_roster", "minecraft_status"))
        assert st["current_pattern"] == "orbit" and st["health_stats"]["source_lost"] is False
        vj = wait_until(lambda: (h := show.vj.health() or {}).get("redis_connected") and h, timeout=10, what="VJ health")
        assert vj["redis_reconnects"] == 1 and st["health_stats"]["redis_reconnects"] == 1

    asyncio.run(scenario())
    assert show.vj.text().count("Redis at redis://127.0.0.1") == 3  # connected, lost (once), back
    assert "source lost" in show.edges[0].text()


def test_an_edge_killed_and_restarted_gets_the_show_again_and_nobody_else_notices(show: Show) -> None:
    first, other = show.edge("edge_1"), show.edge("edge_2")

    async def scenario() -> None:
        at_vj, at_other = await live_browser(show.vj.web), await live_browser(other.web)
        op = await live_browser(show.vj.web, operator=True)
        await live_browser(first.web)
        first.kill()
        await op.send({"type": "set_pattern", "pattern": "galaxy"})
        for side in (at_vj, at_other):  # the VJ and the other edge carry on
            await read_until(side, is_state(pattern="galaxy"), what="frames after the edge died")
        again = show.edge("edge_1b")
        b = await RawBrowser.connect(again.web)
        hello = await b.recv(10)
        assert hello["type"] == "vj_state" and hello["current_pattern"] == "galaxy"
        assert [d["dj_id"] for d in hello["dj_roster"]] == ["dj_synth"]
        await read_until(b, is_state(pattern="galaxy", active_dj="dj_synth"), what="frames at the new edge")

    asyncio.run(scenario())
    for p in (show.vj, show.edges[1]):
        assert p.proc.poll() is None, p.text()


def test_a_hung_redis_never_slows_the_vj_and_the_edge_comes_back_when_it_answers_again(show: Show) -> None:
    edge = show.edge()

    async def scenario() -> None:
        at_vj, at_edge = await live_browser(show.vj.web), await live_browser(edge.web)
        show.redis.pause()
        try:
            for _ in range(120):  # 2 s of a 60 fps DJ, while publishing to Redis cannot complete
                await read_until(at_vj, is_state(), 2, "VJ frames while Redis hangs")
            wait_until(lambda: (edge.health() or {}).get("source_lost") is True, timeout=10, what="source lost")
        finally:
            show.redis.pause(False)
        mark = len(at_edge.seen)
        await read_until(at_edge, is_state(active_dj="dj_synth"), 20, "the edge resuming")
        assert len(at_edge.seen) > mark
        wait_until(lambda: (edge.health() or {}).get("source_lost") is False, timeout=10, what="source back")

    asyncio.run(scenario())


def test_operator_changes_at_one_edge_reach_every_browser_once(show: Show) -> None:
    """preset_changed, band_sensitivity_changed, config_update and effect_triggered are the pattern's events: an
    operator at edge A changes the show, and a browser at edge B and one at the VJ each hear of it exactly once."""
    a, b = show.edge("edge_a"), show.edge("edge_b")
    wanted = {
        "preset_changed": lambda m: m["preset"] == "edm" and m["settings"]["band_sensitivity"] == [1.5, 0.8, 0.9, 1.2, 1.0],
        "band_sensitivity_changed": lambda m: m["band_sensitivity"] == [0.5, 0.8, 0.9, 1.2, 1.0],
        "config_update": lambda m: m["entity_count"] == 32 and m["current_pattern"] == "spectrum",
        "effect_triggered": lambda m: m == {"type": "effect_triggered", "effect": "flash"},
    }

    def count(side: RawBrowser, kind: str) -> int:
        return sum(1 for m in side.seen if m["type"] == kind and wanted[kind](m))

    async def scenario() -> None:
        at_vj, at_b = await live_browser(show.vj.web), await live_browser(b.web)
        op = await live_browser(a.web, operator=True)
        await op.send({"type": "set_preset", "preset": "edm"})
        await op.send({"type": "set_band_sensitivity", "band": 0, "sensitivity": 0.5})
        await op.send({"type": "set_entity_count", "count": 32})
        await op.send({"type": "trigger_effect", "effect": "flash", "duration": 200})
        # Last, a pattern switch: the VJ publishes its pattern_changed after the four above, on the same path, so
        # once a side has it any duplicate of theirs would have come already.
        await op.send({"type": "set_pattern", "pattern": "wave"})
        for side in (at_vj, at_b):
            if not any(m["type"] == "pattern_changed" and m["pattern"] == "wave" for m in side.seen):
                await read_until(side, lambda m: m["type"] == "pattern_changed" and m["pattern"] == "wave",
                                 what="the closing pattern_changed")
            assert {kind: count(side, kind) for kind in wanted} == dict.fromkeys(wanted, 1), \
                [m for m in side.seen if m["type"] in wanted]
        # The operator's own page: the preset, entity count and effect, but its own slider move is not echoed.
        if not any(m["type"] == "pattern_changed" and m["pattern"] == "wave" for m in op.seen):
            await read_until(op, lambda m: m["type"] == "pattern_changed" and m["pattern"] == "wave",
                             what="the operator's pattern_changed")
        assert {kind: count(op, kind) for kind in wanted} == {**dict.fromkeys(wanted, 1), "band_sensitivity_changed": 0}

    asyncio.run(scenario())
