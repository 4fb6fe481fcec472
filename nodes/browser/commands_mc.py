"""Browser commands that reach the Minecraft plugin (forwarded, replies relayed) and the DJ banner store.

Registered into :data:`mcav.nodes.browser.commands.COMMANDS` on import.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mcav.nodes.interfaces import LinkDown

from . import protocol as P
from .banners import MAX_BANNER_PROFILES, check_fields, process_logo
from .registry import command, field

if TYPE_CHECKING:
    from .clients import Client
    from .server import BrowserServer

#: Plugin commands passed through; the plugin's reply goes back to the asker (WIRE.md 1.5).
FORWARD_TO_MINECRAFT = (
    "set_zone_config", "set_render_mode", "set_renderer_backend", "renderer_capabilities", "get_renderer_capabilities",
    "set_hologram_config", "set_particle_viz_config", "set_particle_effect", "set_particle_config", "init_pool",
    "cleanup_zone", "set_entity_glow", "set_entity_brightness", "banner_config",
)
_READ_ONLY_FORWARDS = {"renderer_capabilities", "get_renderer_capabilities"}


# -- Minecraft --------------------------------------------------------------------------------------


async def _to_minecraft(srv: BrowserServer, c: Client, msg: dict[str, Any],
                        cached: bool = False) -> dict[str, Any] | None:
    """Forward ``msg`` and relay the plugin's reply to ``c``. ``cached``: a read answered from
    :attr:`BrowserServer.read_cache` when asked again within its TTL; anything else clears that cache."""
    mc = srv.mc
    if not mc or not srv.mc_info.get("connected"):
        c.send(P.error("Minecraft not connected"))
        return None
    try:
        if cached:
            zone = msg.get("zone")
            key = msg["type"] + (f"/{zone}" if isinstance(zone, str) and len(zone) <= 64 else "")
            reply = await srv.read_cache.get(key, lambda: mc.forward(msg))
        else:
            srv.read_cache.clear()
            reply = await mc.forward(msg)
    except LinkDown:
        c.send(P.error("Minecraft not connected"))
        return None
    except TimeoutError as exc:
        c.send(P.error(str(exc)))
        return None
    if reply is not None:
        c.send(P.relay(reply))
    return reply


@command("get_zones", "get_zone", mutating=False)
async def _zones(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    if not srv.mc or not srv.mc_info.get("connected"):
        # No plugin, no zones: a well-formed empty answer, as MCAV's own server gives (its newer panel
        # takes any `error` message for a broken connection). Commands that change something still get one.
        c.send(P.zones_unknown(msg["type"]))
        return
    await _to_minecraft(srv, c, msg, cached=msg["type"] == "get_zones")


@command("set_zone")
async def _set_zone(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    zone = field(msg, "zone", str)
    if not srv.mc:
        raise ValueError("this graph has no minecraft node")
    await srv.mc.set_zone(zone)
    srv.mc_info = await srv.mc.info()
    await srv.config_changed()


async def _forward(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    if msg["type"] == "set_zone_config":
        cfg = field(msg, "config", dict)
        pat = srv.need_pattern()
        count = cfg.get("entity_count")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
                raise ValueError(f"config.entity_count must be an integer 1-1000, got {count!r}")
        await pat.set_scales(cfg.get("base_scale"), cfg.get("max_scale"))
        if count is not None:
            await pat.set_entity_count(count)
        else:  # the plugin re-inits the pool to 16 when entity_count is absent (WIRE 11.6): keep ours
            msg = {**msg, "config": {**cfg, "entity_count": (await srv.pattern_state())["entity_count"]}}
    if msg["type"] == "set_particle_effect":
        effect = field(msg, "effect", str)
        if effect not in P.PARTICLE_EFFECTS:
            raise ValueError(f"unknown particle effect {effect[:40]!r}; effects: {', '.join(P.PARTICLE_EFFECTS)}")
        srv.particle_effects[effect] = {"enabled": field(msg, "enabled", bool, True), "beat_type": msg.get("beat_type")}
    await _to_minecraft(srv, c, msg, cached=msg["type"] in _READ_ONLY_FORWARDS)


for _name in FORWARD_TO_MINECRAFT:
    command(_name, mutating=_name not in _READ_ONLY_FORWARDS)(_forward)


@command("voice_config")
async def _voice_config(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    reply = await _to_minecraft(srv, c, msg)
    if reply is not None and reply.get("type") == "voice_status":
        srv.broadcast(P.relay(reply), exclude=c)


@command("get_voice_status", mutating=False)
async def _voice_status(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    if not srv.mc or not srv.mc_info.get("connected"):
        c.send(P.voice_status(P.DEFAULT_VOICE_STATUS))
    else:
        await _to_minecraft(srv, c, msg, cached=True)


# -- DJ banners -----------------------------------------------------------------------------------------


async def _banner_dj(srv: BrowserServer, msg: dict[str, Any]) -> str:
    """The ``dj_id`` of a banner command that may store a profile, checked so the store stays bounded.

    Raises:
        ValueError: a bad id, or :data:`MAX_BANNER_PROFILES` profiles kept and this DJ is not connected.
    """
    dj_id = field(msg, "dj_id", str)
    if not 1 <= len(dj_id) <= 64 or not dj_id.isprintable():
        raise ValueError("dj_id must be 1-64 printable characters")
    if dj_id in srv.banners or len(srv.banners) < MAX_BANNER_PROFILES:
        return dj_id
    dj = srv.djs
    known = bool(dj) and (any(e.get("dj_id") == dj_id for e in await dj.roster())
                          or any(p.get("dj_id") == dj_id for p in await dj.pending()))
    if not known:
        raise ValueError(f"{MAX_BANNER_PROFILES} banner profiles are kept already and DJ '{dj_id}' is not connected")
    return dj_id


@command("set_banner_profile")
async def _set_banner(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    dj_id = await _banner_dj(srv, msg)
    srv.banners[dj_id] = {**srv.banners.get(dj_id, {}), **check_fields(field(msg, "profile", dict))}
    srv.banners_changed()
    c.send(P.banner_profile_saved(dj_id))
    await srv.push_banner(dj_id)


@command("get_banner_profile", mutating=False)
async def _get_banner(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    dj_id = field(msg, "dj_id", str)
    profile = {k: v for k, v in srv.banners.get(dj_id, {}).items() if k != "image_pixels"}
    c.send(P.banner_profile(dj_id, {**profile, "has_image": "image_pixels" in srv.banners.get(dj_id, {})}))


@command("get_all_banner_profiles", mutating=False)
async def _get_banners(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.all_banner_profiles(srv.banner_summaries()))


@command("upload_banner_logo")
async def _upload_logo(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    dj_id = await _banner_dj(srv, msg)
    w, h = field(msg, "grid_width", int, 24), field(msg, "grid_height", int, 12)
    # Decoding and resizing is CPU work: off the I/O loop, so every socket keeps being served meanwhile.
    pixels = await asyncio.to_thread(process_logo, field(msg, "image_base64", str), w, h)
    await _banner_dj(srv, msg)  # still room after the wait (other uploads may have run meanwhile)
    srv.banners.setdefault(dj_id, {}).update(grid_width=w, grid_height=h, image_pixels=pixels)
    srv.banners_changed()
    c.send(P.banner_logo_processed(dj_id, w, h, len(pixels)))
    await srv.push_banner(dj_id)
