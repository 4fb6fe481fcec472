"""The :8766 wire (VJ server ⇄ admin panel and 3D preview): every message built and parsed here.

Shapes follow WIRE.md 3.1-3.4 (the OLD server). The per-frame ``state`` is
encoded once per frame by :class:`StateEncoder` and the same string goes to
every browser; entity arrays are written without a dict per entity.
"""

from __future__ import annotations

from typing import Any, Mapping

from mcav.nodes.statewire import StateEncoder  # moved there so other families can publish `state`
from mcav.runtime import jsonwire
from mcav.runtime.jsonwire import WireError

__all__ = ["ProtocolError", "StateEncoder", "WireError", "decode", "encode", "error"]

# The plugin's particle effects (WIRE.md 1.2 set_particle_effect), listed for `get_particle_effects`.
PARTICLE_EFFECTS = ("particle_burst", "screen_shake", "lightning", "explosion_visual")
DEFAULT_VOICE_STATUS = {"available": False, "streaming": False, "channel_type": "static", "connected_players": 0}


class ProtocolError(jsonwire.WireError):
    """A browser message that is not a JSON object with a string ``type``."""


def encode(message: Mapping[str, Any]) -> str:
    """Compact JSON with ``type`` first (:func:`mcav.runtime.jsonwire.encode`; NaN/inf refused)."""
    return jsonwire.encode(message)


def decode(data: str | bytes) -> dict[str, Any]:
    """Parse one browser message.

    Raises:
        ProtocolError: binary frame, bad JSON, not an object, or no string ``type`` (clear message).
    """
    try:
        return jsonwire.decode(data)
    except jsonwire.WireError as exc:
        raise ProtocolError(str(exc)) from None


# -- simple messages ------------------------------------------------------------------------------


def error(message: str) -> str:
    """``{"type":"error","message":…}`` — the only error shape MCAV pages know."""
    return encode({"type": "error", "message": message})


def ping() -> str:
    return encode({"type": "ping"})


def pong() -> str:
    return encode({"type": "pong"})


def auth_success(operator: bool) -> str:
    """Answer to a correct ``vj_auth``."""
    return encode({"type": "auth_success", "role": "operator" if operator else "viewer"})


def auth_error(message: str) -> str:
    return encode({"type": "auth_error", "message": message})


def relay(msg: Mapping[str, Any]) -> str:
    """A message from another wire (plugin reply, DJ-server event) passed on as is, ``type`` first."""
    return encode(msg)


def vj_state(**fields: Any) -> str:
    """``vj_state`` (WIRE.md 3.1): sent on connect and as the reply to ``get_state``."""
    return encode({"type": "vj_state", **fields})


# -- replies and events (WIRE.md 3.3-3.4) --------------------------------------------------------


def patterns(patterns: list[dict[str, Any]], current: str | None) -> str:
    """Reply to ``get_patterns``."""
    return encode({"type": "patterns", "patterns": patterns, "current": current})


def particle_effects(effects: list[dict[str, Any]]) -> str:
    """Reply to ``get_particle_effects``."""
    return encode({"type": "particle_effects", "effects": effects})


def pattern_changed(pattern: str, patterns: list[dict[str, Any]]) -> str:
    """Every browser: the pattern changed."""
    return encode({"type": "pattern_changed", "pattern": pattern, "patterns": patterns})


def preset_changed(preset: str, settings: Mapping[str, Any]) -> str:
    """Every browser: the preset changed (``settings``: its audio settings)."""
    return encode({"type": "preset_changed", "preset": preset, "settings": dict(settings)})


def band_sensitivity_changed(band_sensitivity: list[float] | None) -> str:
    """The other admin pages: move their sliders."""
    return encode({"type": "band_sensitivity_changed", "band_sensitivity": band_sensitivity})


def beat_rate_changed(beat_rate: float) -> str:
    """Every browser: the beats the visuals follow, as a multiple of the tracker's (0.5, 1 or 2), changed."""
    return encode({"type": "beat_rate_changed", "beat_rate": beat_rate})


def effect_triggered(effect: str, enabled: bool | None = None) -> str:
    """Every browser: an effect fired (``enabled`` for the blackout and freeze toggles)."""
    msg: dict[str, Any] = {"type": "effect_triggered", "effect": effect}
    if enabled is not None:
        msg["enabled"] = enabled
    return encode(msg)


def config_update(entity_count: int | None, zone: str, current_pattern: str | None) -> str:
    """Every browser: the entity count or zone changed."""
    return encode({"type": "config_update", "entity_count": entity_count, "zone": zone,
                   "current_pattern": current_pattern})


def minecraft_status(connected: bool) -> str:
    """Every browser: the Minecraft link went up or down."""
    return encode({"type": "minecraft_status", "connected": connected})


def dj_roster(roster: list[dict[str, Any]], active_dj: str | None) -> str:
    """Reply to ``get_dj_roster`` (the hub's own roster events are relayed as they are)."""
    return encode({"type": "dj_roster", "roster": roster, "active_dj": active_dj})


def pending_djs(pending: list[dict[str, Any]]) -> str:
    """Reply to ``get_pending_djs``."""
    return encode({"type": "pending_djs", "pending": pending})


def connect_code_generated(code: Mapping[str, Any]) -> str:
    """Reply to ``generate_connect_code``: ``{code, expires_at, ttl_minutes}``."""
    return encode({"type": "connect_code_generated", **code})


def connect_codes(codes: list[dict[str, Any]]) -> str:
    """Reply to ``get_connect_codes`` (empty for viewers)."""
    return encode({"type": "connect_codes", "codes": codes})


def voice_status(status: Mapping[str, Any]) -> str:
    """Reply to ``get_voice_status`` while the plugin cannot answer."""
    return encode({"type": "voice_status", **status})


def zones_unknown(asked: str) -> str:
    """The answer to ``get_zones`` / ``get_zone`` while Minecraft is not connected: none known."""
    return encode({"type": "zones", "zones": []} if asked == "get_zones" else {"type": "zone", "zone": None})


def scenes_list(scenes: list[dict[str, Any]]) -> str:
    """Reply to ``list_scenes`` and, to every browser, the scene list after a change (newer MCAV panel)."""
    return encode({"type": "scenes_list", "scenes": scenes})


def scene_saved(name: str) -> str:
    return encode({"type": "scene_saved", "name": name})


def scene_loaded(name: str) -> str:
    """Every browser: scene ``name`` is on screen."""
    return encode({"type": "scene_loaded", "name": name})


def scene_deleted(name: str) -> str:
    return encode({"type": "scene_deleted", "name": name})


def scenes_exported(yaml_text: str) -> str:
    return encode({"type": "scenes_exported", "yaml": yaml_text})


def scenes_imported(count: int) -> str:
    return encode({"type": "scenes_imported", "count": count})


def cues(state: Mapping[str, Any]) -> str:
    """The cue list and where the show is in it: ``{cues, position, current, next}``."""
    return encode({"type": "cues", **state})


def quantize_pending(pending: list[dict[str, Any]]) -> str:
    """Every browser, whenever the quantised changes waiting for their beat change: ``pending`` is
    ``[{change, quantize, beats_left}]`` (empty: nothing waits, the last one landed)."""
    return encode({"type": "quantize_pending", "pending": pending})


def midi_map(available: bool, mapping: Mapping[str, Any] | None = None, learning: Any = None) -> str:
    """The MIDI map and learn mode (mcav's own panel): ``available`` false without a ``midi`` node (or for a
    viewer); ``mapping`` ``{file, channel, notes, cc}``; ``learning`` the action waiting for a note or CC."""
    return encode({"type": "midi_map", "available": available, "mapping": dict(mapping or {}), "learning": learning})


def midi_learned(data: Mapping[str, Any]) -> str:
    """Every operator: learn mode bound a note or CC (``{action, note or cc, channel, file[, error]}``)."""
    return encode({"type": "midi_learned", **data})


def empty_list(mtype: str, key: str) -> str:
    """``{"type": mtype, key: []}``: the well-formed answer to a newer panel's request for something mcav
    does not have (``stages``, ``bitmap_patterns``…)."""
    return encode({"type": mtype, key: []})


def banner_profile_saved(dj_id: str) -> str:
    return encode({"type": "banner_profile_saved", "dj_id": dj_id})


def banner_profile(dj_id: str, profile: Mapping[str, Any]) -> str:
    return encode({"type": "banner_profile", "dj_id": dj_id, "profile": dict(profile)})


def all_banner_profiles(profiles: Mapping[str, Any]) -> str:
    return encode({"type": "all_banner_profiles", "profiles": dict(profiles)})


def banner_logo_processed(dj_id: str, grid_width: int, grid_height: int, pixel_count: int) -> str:
    return encode({"type": "banner_logo_processed", "dj_id": dj_id, "grid_width": grid_width,
                   "grid_height": grid_height, "pixel_count": pixel_count})
