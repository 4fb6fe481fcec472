"""Browser commands of WIRE.md 3.3 for the show and the DJs (the Minecraft ones are in :mod:`.commands_mc`).

Each handler reaches the rest of the graph through the browser node's control
ports (``srv.pattern``, ``srv.djs``, ``srv.mc``, ``srv.presets``); none
imports another node family.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcav.nodes.presets import apply_preset, band_sensitivities, preset_name

from . import protocol as P
from .registry import command, field

if TYPE_CHECKING:
    from .clients import Client
    from .server import BrowserServer


# -- connection-level ---------------------------------------------------------------------------


@command("ping", mutating=False)
async def _ping(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.pong())


@command("pong", mutating=False)
async def _pong(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    srv.keepalive.answered(c)


@command("vj_auth", mutating=False)
async def _vj_auth(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    login = srv.access.login(c.addr, field(msg, "password", str, ""))
    if login.operator:
        c.operator = True
        c.send(P.auth_success(True))
        return
    c.send(P.auth_error(login.message))
    if login.close_code is not None:
        srv.ctx.spawn(c.close(login.close_code, "Authentication failed" if login.close_code == 4004 else
                              "Too many failed attempts"))


@command("get_state", mutating=False)
async def _get_state(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(await srv.vj_state(c))


@command("get_patterns", mutating=False)
async def _get_patterns(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.patterns(await srv.patterns(), (await srv.pattern_state()).get("pattern")))


@command("get_particle_effects", mutating=False)
async def _get_particle_effects(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    effects = [{"id": e, "name": e.replace("_", " ").title(), **srv.particle_effects.get(e, {"enabled": False})}
               for e in P.PARTICLE_EFFECTS]
    c.send(P.particle_effects(effects))


# -- pattern ------------------------------------------------------------------------------------------


@command("set_pattern")
async def _set_pattern(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    key = field(msg, "pattern", str)
    # Browsers get pattern_changed from the pattern's `changed` event (ShowLinks): when the switch lands.
    again = key == srv.shown_pattern  # re-selected: the pattern's `changed` event will not tell browsers
    await srv.need_pattern().set_pattern(key, field(msg, "quantize", str, None))
    if again:
        srv.announce_pattern(key)
    st = await srv.pattern_state()
    cfg = {"entity_count": st["entity_count"], "zone_size": 10.0,
           **{k: st[k] for k in ("beat_boost", "base_scale", "max_scale")}}
    await srv.tell_djs("sync_pattern", key, cfg)


@command("set_entity_count", "set_block_count")
async def _set_entity_count(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    count = field(msg, "count", int)
    if not 1 <= count <= 256:
        raise ValueError(f"count must be 1-256 (the plugin's pool limit), got {count}")
    await srv.need_pattern().set_entity_count(count)
    await srv.config_changed()


@command("set_preset")
async def _set_preset(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    """A named preset sets the pattern's band sensitivity and the local analysis (``fft`` nodes), as a
    DJ relay does on ``preset_sync``; a custom one sets the band sensitivity (and the analysis if it
    matches a named preset)."""
    preset = field(msg, "preset", (str, dict))
    pat = srv.need_pattern()
    if isinstance(preset, str):
        p = await apply_preset(srv.presets, preset)  # ValueError naming the presets if unknown
        await pat.set_preset(p.name)
        sync: str | dict[str, Any] = p.name
    else:
        bands = preset.get("band_sensitivity")
        if bands is None:
            raise ValueError("a custom preset needs 'band_sensitivity': 5 numbers 0-2")
        band_sensitivities(bands)  # checked before anything applies: a bad preset must not half-apply
        named = preset_name(preset)
        if named is not None:  # first, so the analysis is switched when browsers hear of it
            await apply_preset(srv.presets, named)
        await pat.set_band_sensitivities(bands, preset=dict(preset), origin=c.origin)
        srv.audio_settings.update({k: v for k, v in preset.items() if k in ("attack", "release", "beat_threshold")})
        sync = preset
    # Browsers get band_sensitivity_changed and preset_changed from the pattern's events (ShowLinks).
    await srv.tell_djs("sync_preset", sync)

@command("set_band_sensitivity")
async def _set_band_sensitivity(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    # The other admin pages' sliders follow the pattern's `bands` event (ShowLinks); this page is not echoed.
    await srv.need_pattern().set_band_sensitivity(field(msg, "band", int), field(msg, "sensitivity", (int, float)),
                                                  origin=c.origin)


@command("set_audio_setting")
async def _set_audio_setting(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    setting = field(msg, "setting", str)
    known = ("attack", "release", "beat_threshold", "agc_max_gain", "beat_sensitivity")
    if setting not in known:
        raise ValueError(f"unknown setting '{setting}'; settings: {', '.join(known)}")
    srv.audio_settings[setting] = float(field(msg, "value", (int, float)))


@command("trigger_effect")
async def _trigger_effect(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    effect = field(msg, "effect", str)
    intensity = field(msg, "intensity", (int, float), 1.0)
    duration_ms = field(msg, "duration", (int, float), 500)
    # Browsers get effect_triggered from the pattern's `effect` event (ShowLinks), as for blackout and freeze.
    await srv.need_pattern().trigger_effect(effect, intensity, duration_ms / 1000.0, field(msg, "quantize", str, None))
    await srv.tell_djs("sync_effect", effect)


@command("blackout", "set_blackout")
async def _blackout(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await srv.need_pattern().set_blackout(field(msg, "enabled", bool, None))


@command("freeze", "set_freeze")
async def _freeze(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await srv.need_pattern().set_freeze(field(msg, "enabled", bool, None))


@command("set_beat_rate")
async def _set_beat_rate(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    # The pattern node is the one judge of the rate (its ValueError names the valid ones); browsers hear of the
    # change from its `changed` event (ShowLinks: beat_rate_changed), whoever set it (a page, OSC, a show).
    await srv.need_pattern().set_beat_rate(field(msg, "rate", (int, float)))  # as sent: an error quotes it


@command("set_transition", "set_transition_duration")
async def _set_transition(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    st = (await srv.pattern_state())["transition"]
    await srv.need_pattern().set_transition(field(msg, "duration", (int, float)), field(msg, "easing", str, st["easing"]))


# -- DJs ------------------------------------------------------------------------------------------


@command("set_active_dj")
async def _set_active_dj(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await srv.need_dj().set_active(field(msg, "dj_id", str))


@command("kick_dj")
async def _kick_dj(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await srv.need_dj().kick(field(msg, "dj_id", str))


@command("approve_dj")
async def _approve_dj(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await srv.need_dj().approve(field(msg, "dj_id", str))


@command("deny_dj")
async def _deny_dj(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await srv.need_dj().deny(field(msg, "dj_id", str))


@command("reorder_dj_queue")
async def _reorder(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await srv.need_dj().reorder(field(msg, "dj_id", str), field(msg, "new_position", int))


@command("generate_connect_code")
async def _generate_code(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    ttl = field(msg, "ttl_minutes", (int, float), 30)
    if not 0 < ttl <= 24 * 60:
        raise ValueError(f"ttl_minutes must be above 0 and at most 1440, got {ttl}")
    c.send(P.connect_code_generated(await srv.need_dj().generate_code(ttl)))


@command("get_connect_codes", mutating=False)
async def _get_codes(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    # Viewers get an empty list (not an error: the pages ask on load): a viewer could redeem a code.
    c.send(P.connect_codes(await srv.need_dj().codes() if c.operator else []))


@command("revoke_connect_code")
async def _revoke_code(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await srv.need_dj().revoke_code(field(msg, "code", str))


@command("get_dj_roster", mutating=False)
async def _get_roster(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.dj_roster(await srv.need_dj().roster(), srv.live_dj["dj_id"]))


@command("get_pending_djs", mutating=False)
async def _get_pending(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.pending_djs(await srv.need_dj().pending()))

