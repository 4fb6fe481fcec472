"""Every browser command of WIRE.md 3.3 against a real VJ graph (dj_server → pattern → minecraft + browser).

Browsers and DJs are raw WebSocket clients; Minecraft is the plugin stand-in.
"""

from __future__ import annotations

import asyncio
import base64
import io
import struct
import sys
import zlib

import pytest
from conftest import build
from plugin_standin import PluginStandIn
from dj_support import RawDJ
from vj_support import RawBrowser, running, two_browsers, wait_until

from mcav.nodes.browser.commands_mc import MAX_BANNER_PROFILES
from mcav.nodes.browser.protocol import PARTICLE_EFFECTS
from mcav.runtime.clock import ManualClock

SKIP = ("state", "ping", "dj_roster", "connect_codes", "minecraft_status")


def vj(mc_port: int, extra: str = "") -> str:
    return f"""
graph: vj
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: 0}}
  viz: {{kind: pattern, in: djs, entities: 16}}
  mc: {{kind: minecraft, in: viz, host: 127.0.0.1, port: {mc_port}}}
  web: {{kind: browser, in: viz, host: 127.0.0.1, port: 0{extra}}}
"""


@pytest.fixture
def vj_running():
    with PluginStandIn(zones=("main", "stage")) as plugin, running(build(vj(plugin.port, ", commands_per_s: 1000, command_burst: 1000"))) as rt:
        web = rt.node("web")
        assert web.ready.wait(5) and rt.node("djs").ready.wait(5)
        # The browser learns of the link from the sink's `link` event, marshalled from the sink's own loop.
        wait_until(lambda: rt.node("mc").connected and web.mc_info.get("connected"))
        yield rt, plugin, web.status()["port"], rt.node("djs").port
    assert plugin.violations == []


def test_pattern_commands_change_the_pattern_node_and_tell_browsers_and_djs(vj_running):
    rt, plugin, port, dj_port = vj_running
    viz = rt.node("viz")

    async def scenario() -> None:
        a, b = await two_browsers(port)
        dj = await RawDJ.connect(dj_port)
        await dj.auth("dj_alice")
        pats = await a.ask({"type": "get_patterns"}, "patterns", skip=SKIP)
        assert pats["current"] == "spectrum" and {"id", "name", "description"} <= set(pats["patterns"][0])
        await a.send({"type": "set_pattern", "pattern": "ring"})
        for br in (a, b):
            changed = await br.expect("pattern_changed", skip=SKIP)
            assert changed["pattern"] == "ring" and changed["patterns"] == pats["patterns"]
        sync = await dj_expect(dj, "pattern_sync")
        assert sync["pattern"] == "ring" and sync["config"]["entity_count"] == 16
        await b.send({"type": "set_pattern", "pattern": "ring"})  # re-selected: answered as the original does
        for br in (a, b):
            assert (await br.expect("pattern_changed", skip=SKIP))["pattern"] == "ring"
        await dj_expect(dj, "pattern_sync")
        assert "nope" in (await a.ask({"type": "set_pattern", "pattern": "nope"}, "error", skip=SKIP))["message"]

        update = await a.ask({"type": "set_entity_count", "count": 24}, "config_update", skip=SKIP)
        assert update == {"type": "config_update", "entity_count": 24, "zone": "main", "current_pattern": "ring"}
        assert (await dj_expect(dj, "config_sync"))["entity_count"] == 24
        assert "1-256" in (await a.ask({"type": "set_block_count", "count": 999}, "error", skip=SKIP))["message"]

        edm = await a.ask({"type": "set_preset", "preset": "EDM"}, "preset_changed", skip=SKIP)
        assert edm["preset"] == "edm" and edm["settings"]["band_sensitivity"] == [1.5, 0.8, 0.9, 1.2, 1.0]
        assert (await dj_expect(dj, "preset_sync"))["preset"]["attack"] == 0.7
        bad = {"name": "chill", "band_sensitivity": [9, 1, 1, 1, 1]}  # refused before the analysis is switched
        assert "band_sensitivity[0]" in (await a.ask({"type": "set_preset", "preset": bad}, "error", skip=SKIP))["message"]
        custom = {"attack": 0.3, "release": 0.1, "beat_threshold": 1.2, "band_sensitivity": [1, 1, 2, 1, 1]}
        assert (await a.ask({"type": "set_preset", "preset": custom}, "preset_changed", skip=SKIP))["preset"] == "custom"
        bad = {"band_sensitivity": [1, 1, 9, 1, 1]}
        assert "band_sensitivity[2]" in (await a.ask({"type": "set_preset", "preset": bad}, "error", skip=SKIP))["message"]
        await a.send({"type": "set_band_sensitivity", "band": 4, "sensitivity": 0.5})
        assert "band" in (await a.ask({"type": "set_band_sensitivity", "band": 7, "sensitivity": 1}, "error", skip=SKIP))["message"]
        await a.send({"type": "set_audio_setting", "setting": "attack", "value": 0.5})
        assert "setting" in (await a.ask({"type": "set_audio_setting", "setting": "x", "value": 1}, "error", skip=SKIP))["message"]

        fx = await a.ask({"type": "trigger_effect", "effect": "flash", "intensity": 1.0, "duration": 2000},
                         "effect_triggered", skip=SKIP)
        assert fx == {"type": "effect_triggered", "effect": "flash"}
        assert (await dj_expect(dj, "effect_triggered"))["effect"] == "flash"
        assert "effect" in (await a.ask({"type": "trigger_effect", "effect": "warp"}, "error", skip=SKIP))["message"]
        assert (await a.ask({"type": "set_blackout", "enabled": True}, "effect_triggered", skip=SKIP))["enabled"] is True
        assert (await a.ask({"type": "freeze"}, "effect_triggered", skip=SKIP))["enabled"] is True
        await a.send({"type": "set_transition", "duration": 0.25, "easing": "linear"})
        state = await a.ask({"type": "get_state"}, "vj_state", skip=SKIP)
        assert state["current_pattern"] == "ring" and state["entity_count"] == 24 and state["blackout"] is True
        assert state["band_sensitivity"] == [1, 1, 2, 1, 0.5] and state["freeze"] is True
        assert state["transition"] == {"duration": 0.25, "easing": "linear"} and state["audio_settings"]["attack"] == 0.5
        await dj.close()

    asyncio.run(scenario())
    assert viz.state()["pattern"] == "ring" and viz.state()["effects"]


async def dj_expect(dj: RawDJ, mtype: str) -> dict:
    while True:
        msg = await dj.recv()
        if msg["type"] == mtype:
            return msg


def test_dj_commands_drive_the_dj_server(vj_running):
    rt, plugin, port, dj_port = vj_running

    async def scenario() -> None:
        a, b = await two_browsers(port)
        alice, bob = await RawDJ.connect(dj_port), await RawDJ.connect(dj_port)
        await alice.auth("dj_alice", name="DJ Alice")
        await bob.auth("dj_bob", name="DJ Bob")
        await wait_for_roster(a, lambda r: len(r["roster"]) == 2)  # both joined (broadcast)
        roster = await a.ask({"type": "get_dj_roster"}, "dj_roster", skip=SKIP[:2] + SKIP[3:])
        assert [d["dj_id"] for d in roster["roster"]] == ["dj_alice", "dj_bob"] and roster["active_dj"] == "dj_alice"
        await a.send({"type": "set_active_dj", "dj_id": "dj_bob"})
        await wait_for_roster(b, lambda r: r["active_dj"] == "dj_bob")
        await a.send({"type": "reorder_dj_queue", "dj_id": "dj_bob", "new_position": 0})
        await wait_for_roster(b, lambda r: r["roster"][0]["dj_id"] == "dj_bob")
        await a.send({"type": "kick_dj", "dj_id": "dj_alice"})
        assert (await alice.closed())[0] == 4010
        await wait_for_roster(b, lambda r: [d["dj_id"] for d in r["roster"]] == ["dj_bob"])
        for cmd in ("set_active_dj", "kick_dj", "approve_dj", "deny_dj"):
            assert "dj_ghost" in (await a.ask({"type": cmd, "dj_id": "dj_ghost"}, "error", skip=SKIP))["message"]

        code = await a.ask({"type": "generate_connect_code", "ttl_minutes": 10}, "connect_code_generated", skip=SKIP)
        assert code["ttl_minutes"] == 10 and len(code["code"]) == 9 and code["code"][4] == "-"
        codes = await a.ask({"type": "get_connect_codes"}, "connect_codes", skip=("state", "ping", "dj_roster"))
        assert [c["code"] for c in codes["codes"]][-1] == code["code"]
        newcomer = await RawDJ.connect(dj_port)
        await newcomer.send({"type": "code_auth", "code": code["code"], "dj_name": "DJ Spark", "direct_mode": False})
        assert (await newcomer.recv())["type"] == "auth_pending"
        pending = (await b.expect("dj_pending", skip=SKIP))["dj"]
        assert pending["dj_name"] == "DJ Spark"
        listed = await a.ask({"type": "get_pending_djs"}, "pending_djs", skip=SKIP + ("dj_pending",))
        assert [p["dj_id"] for p in listed["pending"]] == [pending["dj_id"]]
        await a.send({"type": "approve_dj", "dj_id": pending["dj_id"]})
        assert (await b.expect("dj_approved", skip=SKIP))["dj_id"] == pending["dj_id"]
        spare = await a.ask({"type": "generate_connect_code"}, "connect_code_generated", skip=SKIP + ("dj_approved",))
        await a.send({"type": "revoke_connect_code", "code": spare["code"]})
        while spare["code"] in [c["code"] for c in (await b.expect("connect_codes", skip=SKIP[:3]))["codes"]]:
            pass
        for dj in (bob, newcomer):
            await dj.close()

    asyncio.run(scenario())


async def wait_for_roster(b: RawBrowser, pred) -> dict:
    while True:
        r = await b.expect("dj_roster", skip=("state", "ping", "connect_codes", "minecraft_status"))
        if pred(r):
            return r


def _png() -> str:
    PIL = pytest.importorskip("PIL.Image")
    buf = io.BytesIO()
    PIL.new("RGBA", (64, 32), (255, 0, 0, 255)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_minecraft_commands_are_forwarded_and_replies_relayed_to_the_asker(vj_running):
    rt, plugin, port, dj_port = vj_running

    async def scenario() -> None:
        a, b = await two_browsers(port)
        zones = await a.ask({"type": "get_zones"}, "zones", skip=SKIP)
        assert [z["name"] for z in zones["zones"]] == ["main", "stage"]
        assert (await a.ask({"type": "get_zone", "zone": "stage"}, "zone", skip=SKIP))["zone"]["name"] == "stage"
        assert (await a.ask({"type": "get_zone", "zone": "nowhere"}, "error", skip=SKIP))["message"] == "Zone not found: nowhere"
        replies = {
            "set_render_mode": ({"zone": "main", "mode": "particles"}, "render_mode_updated"),
            "set_renderer_backend": ({"zone": "main", "backend": "particles"}, "renderer_backend_updated"),
            "get_renderer_capabilities": ({"zone": "main"}, "renderer_capabilities"),
            "renderer_capabilities": ({}, "renderer_capabilities"),
            "set_hologram_config": ({"zone": "main", "config": {}}, "hologram_config_updated"),
            "set_particle_viz_config": ({"zone": "main", "config": {"density": 3}}, "particle_viz_config_updated"),
            "set_particle_effect": ({"zone": "main", "effect": "particle_burst", "enabled": True}, "particle_effect_updated"),
            "set_particle_config": ({"zone": "main", "threshold": 0.5}, "particle_config_updated"),
            "set_entity_glow": ({"zone": "main", "glow": True}, "glow_updated"),
            "set_entity_brightness": ({"zone": "main", "brightness": 12}, "brightness_updated"),
            "banner_config": ({"banner_mode": "text", "grid_width": 24, "grid_height": 12}, "banner_config_received"),
            "cleanup_zone": ({"zone": "stage"}, "zone_cleaned"),
            "init_pool": ({"zone": "stage", "count": 8, "material": "GLOWSTONE"}, "pool_initialized"),
            "set_zone_config": ({"zone": "main", "config": {"base_scale": 0.3}}, "zone_config_updated"),
        }
        for mtype, (fields, reply) in replies.items():
            got = await a.ask({"type": mtype, **fields}, reply, skip=SKIP)
            assert got["type"] == reply, mtype
        assert (await a.ask({"type": "set_render_mode", "zone": "main", "mode": "hologram"}, "error", skip=SKIP))
        sent = plugin.of_type("set_zone_config")[-1]
        assert sent["config"]["entity_count"] == 16  # filled in so the plugin keeps our pool size (WIRE 11.6)
        effects = (await a.ask({"type": "get_particle_effects"}, "particle_effects", skip=SKIP))["effects"]
        assert {e["id"]: e["enabled"] for e in effects}["particle_burst"] is True
        assert (await a.ask({"type": "voice_config", "enabled": True, "zone": "main"}, "voice_status", skip=SKIP))
        assert (await b.expect("voice_status", skip=SKIP))["available"] is False  # broadcast to the others
        assert (await a.ask({"type": "get_voice_status"}, "voice_status", skip=SKIP))["connected_players"] == 0
        update = await a.ask({"type": "set_zone", "zone": "stage"}, "config_update", skip=SKIP)
        assert update["zone"] == "stage"
        assert plugin.wait_for(lambda: plugin.pools.get("stage", {}).get("count") == 16)
        assert plugin.visible.get("main") is False  # the old zone is hidden, not left with ghosts

        saved = await a.ask({"type": "set_banner_profile", "dj_id": "dj_x", "profile": {"banner_mode": "text"}},
                            "banner_profile_saved", skip=SKIP)
        assert saved == {"type": "banner_profile_saved", "dj_id": "dj_x"}
        prof = await a.ask({"type": "get_banner_profile", "dj_id": "dj_x"}, "banner_profile", skip=SKIP)
        assert prof["profile"] == {"banner_mode": "text", "has_image": False}
        logo = await a.ask({"type": "upload_banner_logo", "dj_id": "dj_x", "image_base64": _png(),
                            "grid_width": 24, "grid_height": 12}, "banner_logo_processed", skip=SKIP)
        assert logo["pixel_count"] == 24 * 12
        assert "base64" in (await a.ask({"type": "upload_banner_logo", "dj_id": "dj_x", "image_base64": "!!"},
                                        "error", skip=SKIP))["message"]
        allp = await a.ask({"type": "get_all_banner_profiles"}, "all_banner_profiles", skip=SKIP)
        assert allp["profiles"]["dj_x"]["has_image"] is True

        await asyncio.to_thread(plugin.restart)  # Minecraft goes away
        plugin_down = await b.expect("minecraft_status", skip=("state", "ping", "config_update"))
        assert plugin_down == {"type": "minecraft_status", "connected": False}
        assert (await a.ask({"type": "get_zones"}, "zones", skip=SKIP))["zones"] == []  # none known: no error
        assert (await a.ask({"type": "get_zone", "zone": "main"}, "zone", skip=SKIP))["zone"] is None
        status = await a.ask({"type": "get_voice_status"}, "voice_status", skip=SKIP)
        assert status == {"type": "voice_status", "available": False, "streaming": False, "channel_type": "static",
                          "connected_players": 0}

    asyncio.run(scenario())


def test_operator_password_from_env_guards_mutating_commands(monkeypatch):
    monkeypatch.setenv("MCAV_TEST_VJ_PASSWORD", "s3cret")
    g = build(vj(1, ', operator_password: "${MCAV_TEST_VJ_PASSWORD}"').replace("port: 1}", "port: 1, rate: 1}"))
    with running(g) as rt:
        web = rt.node("web")
        assert web.ready.wait(5)
        port = web.status()["port"]

        async def scenario() -> None:
            viewer, op = await RawBrowser.connect(port), await RawBrowser.connect(port)
            assert (await viewer.expect("vj_state"))["operator_auth"] is True
            await op.expect("vj_state")
            err = await viewer.ask({"type": "set_pattern", "pattern": "ring"}, "error", skip=SKIP)
            assert "vj_auth" in err["message"]
            assert (await viewer.ask({"type": "get_patterns"}, "patterns", skip=SKIP))["current"] == "spectrum"
            assert await op.ask({"type": "vj_auth", "password": "s3cret"}, "auth_success", skip=SKIP)
            await op.send({"type": "set_pattern", "pattern": "ring"})
            assert (await viewer.expect("pattern_changed", skip=SKIP))["pattern"] == "ring"  # viewers still told
            intruder = await RawBrowser.connect(port)
            await intruder.expect("vj_state")
            assert (await intruder.ask({"type": "vj_auth", "password": "guess"}, "auth_error", skip=SKIP))
            assert (await intruder.closed())[0] == 4004

        asyncio.run(scenario())
        assert rt.node("viz").state()["pattern"] == "ring" and web.status()["unauthorized"] == 1


def test_mutating_commands_are_rate_limited_per_client():
    clock = ManualClock()
    g = build("""
graph: web
nodes:
  feed: {kind: scene_feed}
  web: {kind: browser, in: feed, host: 127.0.0.1, port: 0, commands_per_s: 10, command_burst: 10}
""")
    with running(g, clock) as rt:
        web = rt.node("web")
        assert web.ready.wait(5)

        async def scenario() -> None:
            a, b = await two_browsers(web.status()["port"])
            for _ in range(12):
                await a.send({"type": "set_audio_setting", "setting": "attack", "value": 0.4})
            await a.send({"type": "ping"})
            errors = [await a.recv() for _ in range(3)]
            assert [e["type"] for e in errors] == ["error", "error", "pong"]
            assert "rate limited" in errors[0]["message"]
            await b.send({"type": "set_audio_setting", "setting": "attack", "value": 0.4})  # b has its own budget
            assert await b.ask({"type": "ping"}, "pong") == {"type": "pong"}
            clock.advance(1.0)  # refilled
            await a.send({"type": "set_audio_setting", "setting": "attack", "value": 0.4})
            assert await a.ask({"type": "ping"}, "pong") == {"type": "pong"}

        asyncio.run(scenario())
        assert web.status()["rate_limited"] == 2


def _png_claiming(width: int, height: int) -> str:
    """A tiny PNG whose header claims ``width``×``height`` pixels (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


def test_browser_input_cannot_grow_the_banner_and_effect_stores(vj_running):
    rt, plugin, port, dj_port = vj_running
    web = rt.node("web")

    async def scenario() -> None:
        (a, _), dj = await two_browsers(port), await RawDJ.connect(dj_port)
        await dj.auth("dj_live")
        for i in range(MAX_BANNER_PROFILES):
            await a.ask({"type": "set_banner_profile", "dj_id": f"dj_{i}", "profile": {"banner_mode": "text"}},
                        "banner_profile_saved", skip=SKIP)
        full = await a.ask({"type": "set_banner_profile", "dj_id": "dj_stranger", "profile": {}}, "error", skip=SKIP)
        assert f"{MAX_BANNER_PROFILES} banner profiles" in full["message"] and "dj_stranger" in full["message"]
        assert "not connected" in (await a.ask({"type": "upload_banner_logo", "dj_id": "dj_stranger",
                                                "image_base64": ""}, "error", skip=SKIP))["message"]
        # a connected DJ always gets its profile; known profiles can still be edited; unknown fields are dropped
        await a.ask({"type": "set_banner_profile", "dj_id": "dj_live", "profile": {"text_style": "bold", "junk": "x" * 999}},
                    "banner_profile_saved", skip=SKIP)
        await a.ask({"type": "set_banner_profile", "dj_id": "dj_3", "profile": {"text_format": "%name%"}},
                    "banner_profile_saved", skip=SKIP)
        assert "256 characters" in (await a.ask({"type": "set_banner_profile", "dj_id": "dj_3",
                                                 "profile": {"text_format": "x" * 300}}, "error", skip=SKIP))["message"]
        effect = await a.ask({"type": "set_particle_effect", "zone": "main", "effect": "confetti_cannon"}, "error",
                             skip=SKIP)
        assert "confetti_cannon" in effect["message"] and "explosion_visual" in effect["message"]
        assert "finite" in (await a.ask({"type": "set_audio_setting", "setting": "attack", "value": float("nan")},
                                        "error", skip=SKIP))["message"]
        await dj.close()

    asyncio.run(scenario())
    assert len(web.banners) == MAX_BANNER_PROFILES + 1 and web.banners["dj_live"] == {"text_style": "bold"}
    assert set(web.particle_effects) <= set(PARTICLE_EFFECTS)
    assert not plugin.of_type("set_particle_effect")  # refused before reaching Minecraft


def test_logo_upload_refuses_decompression_bombs_and_says_when_pillow_is_missing(vj_running, monkeypatch):
    pytest.importorskip("PIL.Image")
    rt, plugin, port, dj_port = vj_running

    async def scenario() -> None:
        a, b = await two_browsers(port)
        bomb = {"type": "upload_banner_logo", "dj_id": "dj_x", "image_base64": _png_claiming(8000, 8000)}
        refused = await a.ask(bomb, "error", skip=SKIP)
        assert "8000×8000 = 64000000 pixels" in refused["message"] and "limit" in refused["message"]
        assert await b.ask({"type": "ping"}, "pong") == {"type": "pong"}  # the loop kept serving everyone
        monkeypatch.setitem(sys.modules, "PIL", None)  # as on a machine without the optional Pillow
        missing = await a.ask({"type": "upload_banner_logo", "dj_id": "dj_x", "image_base64": _png_claiming(4, 4)},
                              "error", skip=SKIP)
        assert "Pillow" in missing["message"] and "optional" in missing["message"]
        assert "pip install pillow" in missing["message"]

    asyncio.run(scenario())
    assert "dj_x" not in rt.node("web").banners
