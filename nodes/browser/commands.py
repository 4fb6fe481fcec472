"""The browser command table (WIRE.md 3.3): one handler per command ``type``, found by dict lookup.

A handler ``async def h(srv, client, msg)`` replies with ``client.send(...)``
and tells everyone with ``srv.broadcast(...)``/``srv.to_djs(...)``. Bad
arguments raise :class:`ValueError` with a clear message (the server turns it
into ``{"type":"error"}``; nothing has changed). ``mutating`` commands need an
operator when a password is set, and spend the client's rate budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from mcav.nodes.dj import protocol as dj_wire
from mcav.nodes.presets import apply_preset

from . import protocol as P

if TYPE_CHECKING:
    from .clients import Client
    from .server import BrowserServer

__all__ = ["COMMANDS", "Command", "command", "field"]

Handler = Callable[["BrowserServer", "Client", dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    handler: Handler
    mutating: bool


COMMANDS: dict[str, Command] = {}



def command(*names: str, mutating: bool = True) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for n in names:
            COMMANDS[n] = Command(fn, mutating)
        return fn

    return register


def field(msg: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """``msg[name]`` checked against ``kind`` (bools are not numbers); ValueError names the field."""
    if name not in msg:
        if default is ...:
            raise ValueError(f"missing field '{name}'")
        return default
    v = msg[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(v, bool) and bool not in kinds or not isinstance(v, kinds):
        want = " or ".join(k.__name__ for k in kinds)
        raise ValueError(f"field '{name}' must be {want}, got {v!r}")
    if isinstance(v, float) and not math.isfinite(v):  # JSON text may say NaN; it must never be stored
        raise ValueError(f"field '{name}' must be a finite number, got {v!r}")
    return v


# -- connection-level ---------------------------------------------------------------------------


@command("ping", mutating=False)
async def _ping(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.pong())


@command("pong", mutating=False)
async def _pong(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.monitor.answered()
    c.awaiting_pong = False


@command("vj_auth", mutating=False)
async def _vj_auth(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    login = srv.access.login(c.addr, field(msg, "password", str, ""))
    if login.operator:
        c.operator = True
        c.send(P.auth_success(True))
        return
    c.send(P.auth_error(login.message))
    if login.close_code is not None:
        srv.spawn(c.close(login.close_code, "Authentication failed" if login.close_code == 4004 else
                          "Too many failed attempts"))


@command("get_state", mutating=False)
async def _get_state(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(srv.vj_state(c))


@command("get_patterns", mutating=False)
async def _get_patterns(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.message("patterns", patterns=srv.patterns(), current=srv.pattern_state().get("pattern")))


@command("get_particle_effects", mutating=False)
async def _get_particle_effects(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    effects = [{"id": e, "name": e.replace("_", " ").title(), **srv.particle_effects.get(e, {"enabled": False})}
               for e in P.PARTICLE_EFFECTS]
    c.send(P.message("particle_effects", effects=effects))


# -- pattern ------------------------------------------------------------------------------------------


@command("set_pattern")
async def _set_pattern(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    key = field(msg, "pattern", str)
    srv.need_pattern().set_pattern(key)
    srv.broadcast(P.message("pattern_changed", pattern=key, patterns=srv.patterns()))
    st = srv.pattern_state()
    cfg = {"entity_count": st["entity_count"], "zone_size": 10.0,
           **{k: st[k] for k in ("beat_boost", "base_scale", "max_scale")}}
    await srv.to_djs(dj_wire.pattern_sync(key, cfg))


@command("set_entity_count", "set_block_count")
async def _set_entity_count(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    count = field(msg, "count", int)
    if not 1 <= count <= 256:
        raise ValueError(f"count must be 1-256 (the plugin's pool limit), got {count}")
    srv.need_pattern().set_entity_count(count)
    await srv.config_changed()


@command("set_preset")
async def _set_preset(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    """A named preset sets the pattern's band sensitivity and the local analysis (``fft`` nodes), as a
    DJ relay does on ``preset_sync``; a custom one sets the band sensitivity (and the analysis if it
    matches a named preset)."""
    preset = field(msg, "preset", (str, dict))
    pat = srv.need_pattern()
    if isinstance(preset, str):
        p = apply_preset(srv.ctx, preset)  # ValueError naming the presets if unknown
        pat.set_preset(p.name)
        name, settings = p.name, p.to_wire()
    else:
        bands = preset.get("band_sensitivity")
        if bands is None:
            raise ValueError("a custom preset needs 'band_sensitivity': 5 numbers 0-2")
        pat.set_band_sensitivities(bands)
        srv.audio_settings.update({k: v for k, v in preset.items() if k in ("attack", "release", "beat_threshold")})
        named = dj_wire.preset_name(preset)
        if named is not None:
            apply_preset(srv.ctx, named)
        name, settings = named or "custom", dict(preset)
        _band_sensitivity_changed(srv, c)
    srv.broadcast(P.message("preset_changed", preset=name, settings=settings))
    await srv.to_djs(dj_wire.preset_sync(name if isinstance(preset, str) else preset))


@command("set_band_sensitivity")
async def _set_band_sensitivity(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    srv.need_pattern().set_band_sensitivity(field(msg, "band", int), field(msg, "sensitivity", (int, float)))
    _band_sensitivity_changed(srv, c)


def _band_sensitivity_changed(srv: BrowserServer, sender: Client) -> None:
    """Keep the other admin pages' sliders in sync (the sender's page moved its own already)."""
    bands = srv.pattern_state().get("band_sensitivity")
    srv.broadcast(P.message("band_sensitivity_changed", band_sensitivity=bands), exclude=sender)


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
    srv.need_pattern().trigger_effect(effect, intensity, duration_ms / 1000.0)
    srv.broadcast(P.message("effect_triggered", effect=effect))
    await srv.to_djs(dj_wire.effect_triggered(effect))


@command("blackout", "set_blackout")
async def _blackout(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    on = srv.need_pattern().set_blackout(field(msg, "enabled", bool, None))
    srv.broadcast(P.message("effect_triggered", effect="blackout", enabled=on))


@command("freeze", "set_freeze")
async def _freeze(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    on = srv.need_pattern().set_freeze(field(msg, "enabled", bool, None))
    srv.broadcast(P.message("effect_triggered", effect="freeze", enabled=on))


@command("set_transition", "set_transition_duration")
async def _set_transition(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    st = srv.pattern_state()["transition"]
    srv.need_pattern().set_transition(field(msg, "duration", (int, float)), field(msg, "easing", str, st["easing"]))


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
    srv.need_dj().reorder(field(msg, "dj_id", str), field(msg, "new_position", int))


@command("generate_connect_code")
async def _generate_code(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    ttl = field(msg, "ttl_minutes", (int, float), 30)
    if not 0 < ttl <= 24 * 60:
        raise ValueError(f"ttl_minutes must be above 0 and at most 1440, got {ttl}")
    c.send(P.message("connect_code_generated", **srv.need_dj().generate_code(ttl)))


@command("get_connect_codes", mutating=False)
async def _get_codes(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    # Viewers get an empty list (not an error: the pages ask on load): a viewer could redeem a code.
    c.send(P.message("connect_codes", codes=srv.need_dj().codes() if c.operator else []))


@command("revoke_connect_code")
async def _revoke_code(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    srv.need_dj().revoke_code(field(msg, "code", str))


@command("get_dj_roster", mutating=False)
async def _get_roster(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    dj = srv.need_dj()
    c.send(P.message("dj_roster", roster=dj.roster(), active_dj=dj.active_dj))


@command("get_pending_djs", mutating=False)
async def _get_pending(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.message("pending_djs", pending=srv.need_dj().pending()))


# The Minecraft and banner commands live in their own module; importing it registers them.
from . import commands_mc  # noqa: E402,F401
