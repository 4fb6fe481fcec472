"""``set_beat_rate`` over a real WebSocket on loopback: the pattern node's beat rate, told to every browser.

A real graph (DJ input → pattern → browser); browsers are raw WebSocket clients speaking hand-written JSON,
as the MCAV pages are.
"""

from __future__ import annotations

import asyncio

from conftest import build
from vj_support import RawBrowser, running, two_browsers

SKIP = ("state", "ping")


def graph(extra: str = "") -> str:
    return f"""
graph: rate
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: 0}}
  viz: {{kind: pattern, in: djs, entities: 16}}
  web: {{kind: browser, in: viz, host: 127.0.0.1, port: 0{extra}}}
"""


def test_set_beat_rate_changes_the_pattern_and_every_browser_hears_of_it() -> None:
    with running(build(graph(", commands_per_s: 1000, command_burst: 1000"))) as rt:
        web, viz = rt.node("web"), rt.node("viz")
        assert web.ready.wait(5)

        async def scenario() -> None:
            a, b = await two_browsers(web.status()["port"])
            assert (await a.ask({"type": "get_state"}, "vj_state", skip=SKIP))["beat_rate"] == 1

            await a.send({"type": "set_beat_rate", "rate": 2})
            for br in (a, b):  # the asker too: its buttons follow the server, not the click
                assert await br.expect("beat_rate_changed", skip=SKIP) == {"type": "beat_rate_changed", "beat_rate": 2}
            assert viz.state()["beat_rate"] == 2
            assert (await b.ask({"type": "get_state"}, "vj_state", skip=SKIP))["beat_rate"] == 2

            # Set elsewhere (here the pattern's own API, as OSC, MIDI or a show does it): browsers are told too.
            await asyncio.to_thread(viz.set_beat_rate, 0.5)
            for br in (a, b):
                assert (await br.expect("beat_rate_changed", skip=SKIP))["beat_rate"] == 0.5

            # Bad values: an error naming what was wrong (and the valid rates), nothing changes.
            bad = (await a.ask({"type": "set_beat_rate", "rate": 3}, "error", skip=SKIP))["message"]
            assert bad.startswith("set_beat_rate: ") and "0.5, 1 or 2" in bad and bad.endswith("got 3")
            wrong = (await a.ask({"type": "set_beat_rate", "rate": "double"}, "error", skip=SKIP))["message"]
            assert "'rate'" in wrong and "double" in wrong
            assert "missing field 'rate'" in (await a.ask({"type": "set_beat_rate"}, "error", skip=SKIP))["message"]
            assert "'rate'" in (await a.ask({"type": "set_beat_rate", "rate": True}, "error", skip=SKIP))["message"]
            assert (await b.ask({"type": "get_state"}, "vj_state", skip=SKIP))["beat_rate"] == 0.5

        asyncio.run(scenario())
        assert viz.state()["beat_rate"] == 0.5


def test_a_viewer_cannot_set_the_beat_rate() -> None:
    with running(build(graph(', operator_password: "s3cret"'))) as rt:
        web, viz = rt.node("web"), rt.node("viz")
        assert web.ready.wait(5)

        async def scenario() -> None:
            viewer, op = await two_browsers(web.status()["port"])
            refused = await viewer.ask({"type": "set_beat_rate", "rate": 2}, "error", skip=SKIP)
            assert "set_beat_rate" in refused["message"] and "vj_auth" in refused["message"]
            assert await op.ask({"type": "vj_auth", "password": "s3cret"}, "auth_success", skip=SKIP)
            await op.send({"type": "set_beat_rate", "rate": 0.5})
            assert (await viewer.expect("beat_rate_changed", skip=SKIP))["beat_rate"] == 0.5  # viewers are told

        asyncio.run(scenario())
        assert web.status()["unauthorized"] == 1 and viz.state()["beat_rate"] == 0.5


def test_a_browser_on_a_graph_without_a_pattern_node_is_told_so() -> None:
    with running(build("""
graph: bare
nodes:
  feed: {kind: scene_feed}
  web: {kind: browser, in: feed, host: 127.0.0.1, port: 0}
""")) as rt:
        web = rt.node("web")
        assert web.ready.wait(5)

        async def scenario() -> None:
            a = await RawBrowser.connect(web.status()["port"])
            assert (await a.expect("vj_state"))["beat_rate"] is None  # the pages turn the control off
            err = await a.ask({"type": "set_beat_rate", "rate": 2}, "error", skip=SKIP)
            assert err["message"] == "set_beat_rate: this graph has no pattern node"

        asyncio.run(scenario())
