"""Connect codes end to end: format, approval, denial, single use, expiry, revocation, and the relay's code_auth."""

from __future__ import annotations

import asyncio
import re

import pytest
from dj_support import RawDJ, async_wait_until, on_loop, running, vj_graph

from mcav.nodes.dj.codes import CODE_ALPHABET, CODE_WORDS, CodeBook, CodeRejected, dj_id_for_code
from mcav.nodes.dj.relay import AuthFailed, DJRelay, DJRelayConfig
from mcav.runtime.clock import ManualClock

CODE_RE = re.compile(r"^[A-Z]{4}-[A-Z2-9]{4}$")


def test_codebook_format_single_use_ttl_and_revoke():
    clock = ManualClock()
    book = CodeBook(clock)
    codes = [book.generate(30) for _ in range(50)]
    for c in codes:
        word, suffix = c.code.split("-")
        assert CODE_RE.match(c.code) and word in CODE_WORDS and set(suffix) <= set(CODE_ALPHABET)
        assert c.expires_at - c.created_at == pytest.approx(1800.0)
    first = codes[0]
    assert book.redeem(first.code.lower()).code == first.code  # input is upper-cased
    with pytest.raises(CodeRejected, match="Invalid connect code"):
        book.redeem(first.code)
    clock.advance(30 * 60)
    with pytest.raises(CodeRejected, match="Connect code has expired"):
        book.redeem(codes[1].code)
    assert book.valid() == []
    fresh = book.generate(5)
    book.revoke(fresh.code)
    with pytest.raises(CodeRejected):
        book.redeem(fresh.code)
    with pytest.raises(ValueError, match="unknown connect code"):
        book.revoke("BEAT-0000")
    with pytest.raises(ValueError, match="ttl_minutes"):
        book.generate(0)
    assert dj_id_for_code("BEAT-7K3M") == "dj_beat_7k3m"


def test_code_auth_pending_ping_then_approval_handshake():
    events: list[dict] = []
    with running(vj_graph()) as rt:
        djs = rt.node("djs")
        on_loop(djs, lambda: djs.hub.add_listener(events.append))
        info = on_loop(djs, lambda: djs.generate_code(10))
        assert CODE_RE.match(info["code"]) and info["ttl_minutes"] == 10
        assert [c["code"] for c in on_loop(djs, djs.codes)] == [info["code"]]

        async def scenario():
            dj = await RawDJ.connect(djs.port)
            await dj.send({"type": "code_auth", "code": info["code"].lower(), "dj_name": "DJ Spark"})
            (pending,) = await dj.expect("auth_pending")
            dj_id = dj_id_for_code(info["code"])
            assert pending == {"type": "auth_pending", "message": "Waiting for VJ approval...", "dj_id": dj_id}
            await dj.frame(seq=1)  # read and dropped while pending
            await dj.send({"type": "ping"})
            await dj.expect("pong")
            (p,) = await asyncio.to_thread(on_loop, djs, djs.pending)
            assert p["dj_id"] == dj_id and p["dj_name"] == "DJ Spark" and p["direct_mode"] is False
            await asyncio.to_thread(on_loop, djs, lambda: djs.approve(dj_id))
            approved, req = await dj.expect("auth_approved", "clock_sync_request")
            assert approved["dj_id"] == dj_id and approved["current_pattern"] == "spectrum"
            await dj.send({"type": "clock_sync_response", "dj_recv_time": req["server_time"],
                           "dj_send_time": req["server_time"]})
            await dj.expect("stream_route", "status_update", "stream_route")
            assert djs.active_dj == dj_id and await asyncio.to_thread(on_loop, djs, djs.pending) == []
            await asyncio.to_thread(on_loop, djs, djs.hub.send_stream_routes)
            (route,) = await dj.expect("stream_route")
            assert route["is_active"] is True and route["route_mode"] == "relay"
            assert await asyncio.to_thread(on_loop, djs, djs.codes) == []  # used codes are not listed
            await dj.close()

        asyncio.run(scenario())
        assert rt.node("sink").frames == type(rt.node("sink").frames)()  # the pending frame was dropped
    types = [e["type"] for e in events]
    assert types[:4] == ["connect_codes", "connect_codes", "dj_pending", "dj_approved"] and "dj_roster" in types
    assert len(events[0]["codes"]) == 1 and events[1]["codes"] == []  # the used code leaves the list
    assert events[2]["dj"]["dj_name"] == "DJ Spark"


def test_code_auth_denial_reuse_expiry_and_revocation():
    clock = ManualClock()
    with running(vj_graph(), clock=clock) as rt:
        djs = rt.node("djs")
        code = on_loop(djs, djs.generate_code)["code"]
        old = on_loop(djs, lambda: djs.generate_code(1))["code"]
        revoked = on_loop(djs, djs.generate_code)["code"]
        on_loop(djs, lambda: djs.revoke_code(revoked))

        async def attempt(c: str) -> tuple[dict, tuple]:
            dj = await RawDJ.connect(djs.port)
            await dj.send({"type": "code_auth", "code": c, "dj_name": "x"})
            return await dj.recv(), await dj.closed()

        async def scenario():
            dj = await RawDJ.connect(djs.port)
            await dj.send({"type": "code_auth", "code": code, "dj_name": "Guest"})
            (pending,) = await dj.expect("auth_pending")
            await asyncio.to_thread(on_loop, djs, lambda: djs.deny(pending["dj_id"]))
            denied = await dj.recv()
            assert denied == {"type": "auth_denied", "message": "Connection denied by VJ"}
            assert await dj.closed() == (4006, "Connection denied by VJ")
            # the same code again: single use
            err, closed = await attempt(code)
            assert err == {"type": "auth_error", "error": "Invalid connect code"} and closed[0] == 4004
            assert (await attempt(revoked))[0]["error"] == "Invalid connect code"
            clock.advance(61.0)  # the 1-minute code expires
            err, closed = await attempt(old)
            assert err["error"] == "Connect code has expired" and closed == (4004, "Connect code expired")
            with pytest.raises(ValueError, match="is waiting for approval"):
                await asyncio.to_thread(on_loop, djs, lambda: djs.approve("dj_nobody"))

        asyncio.run(scenario())
        assert djs.health()["dj_connects"] == 0 and djs.status()["auth_failures"] == 3


def test_relay_with_connect_code_is_approved_or_refused():
    with running(vj_graph()) as rt:
        djs = rt.node("djs")
        good, bad = on_loop(djs, djs.generate_code)["code"], on_loop(djs, djs.generate_code)["code"]
        url = f"ws://127.0.0.1:{djs.port}"

        async def scenario():
            relay = DJRelay(DJRelayConfig(url, dj_name="Guest"), connect_code=good)
            task = asyncio.ensure_future(relay.run())
            pending = await async_wait_until(lambda: djs.pending() if djs.loop else None, what="a pending DJ")
            await asyncio.to_thread(on_loop, djs, lambda: djs.approve(pending[0]["dj_id"]))
            await async_wait_until(lambda: relay.connected and relay.is_active, what="the approved relay live")
            assert relay.dj_id == dj_id_for_code(good)
            await relay.stop()
            await asyncio.wait_for(task, 5)
            denied = DJRelay(DJRelayConfig(url), connect_code=bad)
            task = asyncio.ensure_future(denied.run())
            pending = await async_wait_until(lambda: djs.pending(), what="a second pending DJ")
            await asyncio.to_thread(on_loop, djs, lambda: djs.deny(pending[0]["dj_id"]))
            with pytest.raises(AuthFailed, match="denied"):
                await asyncio.wait_for(task, 5)
            reused = DJRelay(DJRelayConfig(url), connect_code=good)
            with pytest.raises(AuthFailed, match="Invalid connect code"):
                await asyncio.wait_for(reused.run(), 5)

        asyncio.run(scenario())
