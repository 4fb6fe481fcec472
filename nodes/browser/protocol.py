"""The :8766 wire (VJ server ⇄ admin panel and 3D preview): every message built and parsed here.

Shapes follow WIRE.md 3.1-3.4 (the OLD server). The per-frame ``state`` is
encoded once per frame by :class:`StateEncoder` and the same string goes to
every browser; entity arrays are written without a dict per entity.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from mcav.nodes.entities import BROWSER_FIELDS, EntityEncoder
from mcav.runtime import jsonwire
from mcav.runtime.frames import Scene
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


# -- the per-frame state --------------------------------------------------------------------------


def _r(v: float, digits: int = 4) -> float:
    v = float(v)
    return round(v, digits) if math.isfinite(v) else 0.0


class StateEncoder:
    """Builds the ``state`` broadcast (WIRE.md 3.2) of one Scene as one string.

    Entities are the pattern's full fixed set with ``band`` and ``visible``
    (``[]`` during blackout, as MCAV pages expect); ``bands`` are the raw
    bands. Beyond the OLD keys it adds ``bpm``, ``blackout`` and ``frozen``.
    """

    def __init__(self) -> None:
        self.entities = EntityEncoder(BROWSER_FIELDS)

    def encode(self, scene: Scene, dj: Mapping[str, Any]) -> str:
        """``dj``: ``active_dj``, ``latency_ms``, ``ping_ms``, ``pipeline_latency_ms``, ``fps`` (may be None)."""
        f = scene.features
        head = {
            "type": "state",
            "bands": [_r(min(1.0, max(0.0, float(b)))) for b in f.bands[:5]],
            "amplitude": _r(max(0.0, f.peak)),
            "is_beat": bool(f.beat),
            "beat_intensity": _r(max(0.0, f.beat_intensity)),
            "instant_bass": _r(max(0.0, f.instant_bass)),
            "instant_kick": bool(f.instant_kick),
            "frame": int(scene.seq),
            "pattern": scene.pattern,
            "active_dj": dj.get("active_dj"),
            "latency_ms": dj.get("latency_ms"),
            "ping_ms": dj.get("ping_ms"),
            "pipeline_latency_ms": dj.get("pipeline_latency_ms"),
            "fps": dj.get("fps"),
            "bpm": _r(max(0.0, f.bpm), 2),
            "zone_status": {
                "bpm_estimate": _r(max(0.0, f.bpm), 2),
                "tempo_confidence": _r(f.tempo_confidence, 3),
                "beat_phase": _r(f.beat_phase, 3),
            },
            "blackout": bool(scene.blackout),
            "frozen": bool(scene.frozen),
        }
        body = "[]" if scene.blackout else self.entities.encode(scene)
        text = jsonwire.encode(head)
        # Entities go second, right after `type`, like the OLD server's key order.
        return '{"type":"state","entities":' + body + "," + text[len('{"type":"state",') :]
