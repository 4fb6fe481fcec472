"""The browser port under hostile clients (issue 14): roles, password throttling, codes, nested JSON, read limits.

127.0.0.1 is made "remote" by trusting only 127.0.0.2/32; all traffic stays on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from websockets.asyncio.client import connect

from conftest import async_wait_until, build
from plugin_standin import PluginStandIn
from test_browser_server import graph as web_graph
from vj_support import RawBrowser, running, wait_until

from mcav.runtime.clock import ManualClock

REMOTE = ", trusted_networks: ['127.0.0.2/32']"  # this test's 127.0.0.1 counts as another host
NESTED = '{"type":"get_state","x":' + "[" * 1000 + "]" * 1000 + "}"
SKIP = ("state", "ping", "dj_roster", "minecraft_status")


def vj_graph(extra: str = "", mc_port: int | None = None) -> str:
    mc = f"\n  mc: {{kind: minecraft, in: viz, host: 127.0.0.1, port: {mc_port}}}" if mc_port else ""
    return f"""
graph: vj
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: 0}}
  viz: {{kind: pattern, in: djs, entities: 8}}{mc}
  web: {{kind: browser, in: viz, host: 127.0.0.1, port: 0{extra}}}
"""


def port_of(rt) -> int:  # type: ignore[no-untyped-def]
    web = rt.node("web")
    assert web.ready.wait(5) and web.port
    return int(web.port)


def test_remote_browsers_without_a_password_are_viewers_and_are_told_how_to_operate():
    with running(build(web_graph(REMOTE))) as rt:
        web = rt.node("web")

        async def scenario() -> None:
            b = await RawBrowser.connect(port_of(rt))
            hello = await b.expect("vj_state")
            assert hello["operator"] is False
            err = await b.ask({"type": "set_blackout", "enabled": True}, "error")
            assert "not allowed for viewers" in err["message"]
            auth = await b.ask({"type": "vj_auth", "password": "anything"}, "auth_error")
            assert "No operator password is set" in auth["message"] and "MCAV_VJ_PASSWORD" in auth["message"]
            assert (await b.ask({"type": "ping"}, "pong"))["type"] == "pong"  # still connected, still a viewer
            assert "not allowed for viewers" in (await b.ask({"type": "freeze"}, "error"))["message"]
            await b.close()

        asyncio.run(scenario())
        assert web.status()["security"]["refused_viewer_commands"] == 2


def test_local_browsers_without_a_password_operate_as_before():
    with running(build(web_graph())) as rt:
        async def scenario() -> None:
            b = await RawBrowser.connect(port_of(rt))
            assert (await b.expect("vj_state"))["operator"] is True
            await b.close()

        asyncio.run(scenario())


def test_wrong_operator_passwords_are_locked_out_per_address():
    with running(build(web_graph(REMOTE + ", operator_password: s3cret")), ManualClock()) as rt:
        web = rt.node("web")

        async def attempt(password: str) -> tuple[str, int | None]:
            b = await RawBrowser.connect(port_of(rt))
            await b.expect("vj_state")
            await b.send({"type": "vj_auth", "password": password})
            reply = await b.recv()
            while reply["type"] in SKIP:
                reply = await b.recv()
            if reply["type"] == "auth_success":
                await b.close()
                return "ok", None
            return reply["message"], (await b.closed())[0]

        async def scenario() -> None:
            for _ in range(6):
                assert await attempt("guess") == ("Invalid operator password", 4004)
            message, code = await attempt("guess")
            assert code == 4029 and message.startswith("Too many failed attempts")
            with pytest.raises(TimeoutError):  # told once: now held unanswered (tarpit) until the lockout ends
                await connect(f"ws://127.0.0.1:{port_of(rt)}", proxy=None, open_timeout=0.5)

        asyncio.run(scenario())
        wait_until(lambda: web.status()["security"]["auth_throttled"] == 2, what="the held connection counted")
        sec = web.status()["security"]
        assert sec["auth_failures"] == 6 and sec["throttled_sources"] == 1


def test_connect_codes_reach_operators_only():
    with running(build(vj_graph(", operator_password: pw"))) as rt:
        async def scenario() -> None:
            port = port_of(rt)
            op, viewer = await RawBrowser.connect(port), await RawBrowser.connect(port)
            await op.expect("vj_state")
            await viewer.expect("vj_state")
            await op.ask({"type": "vj_auth", "password": "pw"}, "auth_success", skip=SKIP)
            gen = await op.ask({"type": "generate_connect_code"}, "connect_code_generated", skip=SKIP + ("connect_codes",))
            codes = await op.ask({"type": "get_connect_codes"}, "connect_codes", skip=SKIP + ("connect_codes",))
            assert [c["code"] for c in codes["codes"]] == [gen["code"]]
            assert (await viewer.ask({"type": "get_connect_codes"}, "connect_codes", skip=SKIP))["codes"] == []
            err = await viewer.ask({"type": "revoke_connect_code", "code": gen["code"]}, "error", skip=SKIP)
            assert "not allowed for viewers" in err["message"]
            # the viewer never saw a code: no event carried one to it
            await viewer.ask({"type": "ping"}, "pong", skip=SKIP)
            assert [m for m in viewer.seen if m["type"] == "connect_codes"] == [{"type": "connect_codes", "codes": []}]
            assert gen["code"] not in repr(viewer.seen)
            await op.close()
            await viewer.close()

        asyncio.run(scenario())


def test_deeply_nested_json_gets_an_error_and_the_connection_stays_up():
    with running(build(web_graph())) as rt:
        web = rt.node("web")

        async def scenario() -> None:
            b = await RawBrowser.connect(port_of(rt))
            await b.expect("vj_state")
            for _ in range(3):
                err = await b.ask(NESTED, "error")
                assert err["message"] == "invalid JSON: nested too deeply"
            assert (await b.ask({"type": "get_state"}, "vj_state"))["type"] == "vj_state"
            await b.close()
            assert b.ws.close_code == 1000

        asyncio.run(scenario())
        assert web.status()["security"]["invalid_messages"] == 3


def test_read_only_commands_are_rate_limited_per_client():
    with running(build(web_graph(", reads_per_s: 1, read_burst: 3")), ManualClock()) as rt:
        web = rt.node("web")

        async def scenario() -> None:
            b = await RawBrowser.connect(port_of(rt))
            await b.expect("vj_state")
            for _ in range(3):
                await b.ask({"type": "get_patterns"}, "patterns")
            err = await b.ask({"type": "get_patterns"}, "error")
            assert err["message"] == "get_patterns: rate limited (at most 1 requests/s)"
            assert (await b.ask({"type": "ping"}, "pong"))["type"] == "pong"  # heartbeats are never limited
            await b.close()

        asyncio.run(scenario())
        assert web.status()["security"]["rate_limited_commands"] == 1


def test_plugin_reads_are_answered_from_a_short_cache():
    clock = ManualClock()
    with PluginStandIn(zones=("main", "stage"), clock=clock) as plugin, \
            running(build(vj_graph(", reads_per_s: 1000, read_burst: 1000", plugin.port)), clock) as rt:
        # The browser learns of the link from the sink's `link` event, marshalled from the sink's own loop.
        wait_until(lambda: rt.node("mc").connected and rt.node("web").mc_info.get("connected"))
        before = len(plugin.of_type("get_zones"))

        async def scenario() -> None:
            port = port_of(rt)
            browsers = [await RawBrowser.connect(port) for _ in range(3)]
            for b in browsers:
                await b.expect("vj_state")
            for _ in range(4):  # 12 requests, concurrently from 3 browsers
                await asyncio.gather(*(b.send({"type": "get_zones"}) for b in browsers))
            for b in browsers:
                for _ in range(4):
                    assert [z["name"] for z in (await b.expect("zones", skip=SKIP))["zones"]] == ["main", "stage"]
            assert len(plugin.of_type("get_zones")) == before + 1
            clock.advance(2.5)  # past the 2 s cache: asked again
            await browsers[0].ask({"type": "get_zones"}, "zones", skip=SKIP)
            assert len(plugin.of_type("get_zones")) == before + 2
            for b in browsers:
                await b.close()

        asyncio.run(scenario())
        assert rt.node("web").read_cache.hits == 11


def test_half_open_sockets_cannot_lock_browsers_out():
    """Raw TCP connections that never finish the WebSocket handshake are cut to make room for browsers."""
    with running(build(web_graph(", max_clients: 2, max_handshakes: 2"))) as rt:
        web = rt.node("web")

        async def scenario() -> None:
            port = port_of(rt)
            silent = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(6)]
            try:
                await async_wait_until(lambda: web.budget.evicted >= 2, what="half-open sockets cut")
                b = await RawBrowser.connect(port)  # the newest always gets its handshake done
                await b.expect("vj_state")
                c = await RawBrowser.connect(port)
                await c.expect("vj_state")
                assert web.budget.open <= 4
                await b.close()
                await c.close()
            finally:
                for s in silent:
                    s.close()

        asyncio.run(scenario())
        sec = web.status()["security"]
        assert sec["connections_evicted"] >= 4 and sec["connections_refused"] == 0


def test_start_up_banner_says_remote_browsers_are_viewers(caplog):
    caplog.set_level(logging.WARNING)
    with running(build(web_graph().replace("host: 127.0.0.1", "host: 0.0.0.0"))) as rt:
        port_of(rt)
    assert "browsers from other hosts than 127.0.0.0/8, ::1/128 are VIEWERS" in caplog.text
    assert "MCAV_VJ_PASSWORD" in caplog.text
