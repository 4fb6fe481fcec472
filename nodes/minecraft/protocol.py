"""The :8765 wire (VJ ⇄ MCAV Minecraft plugin): every message built and parsed here.

Facts from WIRE.md section 1 that shape this module:

* The plugin's fast path looks only at the first 60 characters for
  ``"type":"batch_update"`` (or ``audio_state``/``voice_audio``); such messages
  are queued and **never answered**. So ``type`` is always the first key.
* Every other message is answered synchronously, in order, with a reply whose
  type is fixed per request (:data:`REPLY_TYPES`), or ``{"type":"error"}``.
  There are no request ids, so replies are matched by type (see VizClient).
* Messages over 262 144 characters are silently dropped by the plugin.
* ``init_pool`` takes ``material`` (the schema's ``block_type`` is ignored).
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping


from mcav.nodes.entities import MC_FIELDS, EntityEncoder
from mcav.runtime import jsonwire
from mcav.runtime.frames import Features, Scene

__all__ = [
    "FAST_PATH_TYPES",
    "MAX_MESSAGE_CHARS",
    "REPLY_TYPES",
    "BatchEncoder",
    "ProtocolError",
    "check_zone",
    "decode",
    "dj_info",
    "encode",
    "expected_reply",
    "get_zones",
    "init_pool",
    "is_fast_path",
    "ping",
    "pong",
    "pool_size",
    "set_visible",
    "zone_names",
]

#: Largest message the plugin accepts (characters); longer ones are dropped unseen.
MAX_MESSAGE_CHARS = 262_144
#: Types the plugin queues for its next tick and never answers.
FAST_PATH_TYPES = frozenset({"batch_update", "audio_state", "voice_audio"})
#: Request type → the type of the plugin's synchronous reply (MessageHandler, WIRE.md 1.2).
REPLY_TYPES: dict[str, str] = {
    "ping": "pong",
    "get_zones": "zones",
    "get_zone": "zone",
    "init_pool": "pool_initialized",
    "update_entity": "entity_updated",
    "set_visible": "visibility_updated",
    "cleanup_zone": "zone_cleaned",
    "set_zone_config": "zone_config_updated",
    "set_entity_glow": "glow_updated",
    "set_entity_brightness": "brightness_updated",
    "set_render_mode": "render_mode_updated",
    "set_renderer_backend": "renderer_backend_updated",
    "get_renderer_capabilities": "renderer_capabilities",
    "renderer_capabilities": "renderer_capabilities",
    "set_hologram_config": "hologram_config_updated",
    "set_particle_viz_config": "particle_viz_config_updated",
    "set_particle_effect": "particle_effect_updated",
    "set_particle_config": "particle_config_updated",
    "dj_info": "dj_info_received",
    "banner_config": "banner_config_received",
    "voice_config": "voice_status",
    "get_voice_status": "voice_status",
    "get_ws_metrics": "ws_metrics",
    "get_stages": "stages",
    "get_stage": "stage",
    "create_stage": "stage_created",
    "get_stage_templates": "stage_templates",
}
_ZONE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_FAST_MARKERS = tuple(f'"type"{sep}"{t}"' for t in sorted(FAST_PATH_TYPES) for sep in (":", ": "))


class ProtocolError(jsonwire.WireError):
    """A message that is not valid on this wire (bad JSON, not an object, no ``type``, too long)."""


def encode(message: Mapping[str, Any]) -> str:
    """Compact JSON with ``type`` first, whatever order ``message`` has.

    Raises:
        ProtocolError: no string ``type``, a NaN/inf, or longer than :data:`MAX_MESSAGE_CHARS`
            (the plugin would drop it unseen).
    """
    try:
        return jsonwire.encode(message, MAX_MESSAGE_CHARS)
    except jsonwire.WireError as exc:
        raise ProtocolError(str(exc)) from None


def decode(text: str | bytes) -> dict[str, Any]:
    """Parse one message from the plugin.

    Raises:
        ProtocolError: a binary frame, not JSON, not an object, or no string ``type``.
    """
    try:
        return jsonwire.decode(text)
    except jsonwire.WireError as exc:
        raise ProtocolError(str(exc)) from None


def is_fast_path(text: str) -> bool:
    """True if the plugin would queue ``text`` without replying (its first-60-chars test)."""
    head = text[:60]
    return any(m in head for m in _FAST_MARKERS)


def expected_reply(msg_type: str) -> str | None:
    """The reply type the plugin sends for ``msg_type`` (None: no reply, or unknown)."""
    if msg_type in FAST_PATH_TYPES:
        return None
    return REPLY_TYPES.get(msg_type)


def check_zone(zone: str) -> str:
    """Return ``zone`` if the plugin accepts it as a name (``^[a-zA-Z0-9_-]+$``, ≤ 64 chars).

    Raises:
        ValueError: with the rule.
    """
    if not isinstance(zone, str) or not _ZONE.match(zone):
        raise ValueError(f"invalid zone name {zone!r}: use 1-64 letters, digits, '_' or '-'")
    return zone


# -- replies --------------------------------------------------------------------------------------


def _brief(reply: Mapping[str, Any]) -> str:
    text = json.dumps(reply, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def zone_names(reply: Mapping[str, Any]) -> list[str]:
    """The zone names of the plugin's answer to ``get_zones`` (``{"type":"zones","zones":[zoneObj…]}``).

    Raises:
        ProtocolError: an ``error`` reply (its message), or a malformed one (shown).
    """
    if reply.get("type") == "error":
        raise ProtocolError(f"get_zones refused: {reply.get('message')}")
    zones = reply.get("zones")
    if reply.get("type") != "zones" or not isinstance(zones, list):
        raise ProtocolError(f"malformed reply to get_zones: {_brief(reply)}")
    return [z["name"] for z in zones if isinstance(z, dict) and isinstance(z.get("name"), str)]


def pool_size(reply: Mapping[str, Any], asked: int) -> int:
    """The pool size the plugin confirmed for ``init_pool`` (``asked`` if the reply has no ``count``).

    Raises:
        ProtocolError: an ``error`` reply (its message), or a malformed one (shown).
    """
    if reply.get("type") == "error":
        raise ProtocolError(f"init_pool refused: {reply.get('message')}")
    count = reply.get("count", asked)
    if (reply.get("type") != "pool_initialized" or isinstance(count, bool) or not isinstance(count, (int, float))
            or not 0 <= count <= 1_000_000 or count != int(count)):
        raise ProtocolError(f"malformed reply to init_pool: {_brief(reply)}")
    return int(count)


# -- requests ---------------------------------------------------------------------------------


def ping() -> str:
    """Our heartbeat ping (reply ``pong``); the schema allows no other field."""
    return encode({"type": "ping"})


def pong(timestamp_ms: int) -> str:
    """Answer to the plugin's ``ping``; it only checks for ``"type":"pong"``."""
    return encode({"type": "pong", "timestamp": int(timestamp_ms)})


def get_zones() -> str:
    """List the zones (reply ``zones{zones}``)."""
    return encode({"type": "get_zones"})


def init_pool(zone: str, count: int, material: str) -> str:
    """(Re)build the zone's pool of ``count`` block displays ``block_0…`` of ``material``."""
    if not 1 <= int(count) <= 1024:
        raise ValueError(f"pool size {count} out of range 1-1024")
    return encode({"type": "init_pool", "zone": check_zone(zone), "count": int(count), "material": material})


def set_visible(zone: str, visible: bool) -> str:
    """Show or hide every entity of the zone (blackout; ``false`` at shutdown)."""
    return encode({"type": "set_visible", "zone": check_zone(zone), "visible": bool(visible)})


def dj_info(dj_name: str, dj_id: str, bpm: float, is_active: bool = True) -> str:
    """Tell the plugin's stage decorators who is playing (reply ``dj_info_received``)."""
    return encode(
        {"type": "dj_info", "dj_name": dj_name, "dj_id": dj_id, "bpm": _num(bpm, 0.0, 300.0), "is_active": is_active}
    )


def forward(message: Mapping[str, Any]) -> str:
    """A browser command passed through to the plugin as is, re-encoded with ``type`` first."""
    return encode(message)


# -- the per-frame message ----------------------------------------------------------------------


def _num(v: float, lo: float, hi: float) -> float:
    """``v`` (numpy scalars too) clamped to ``[lo, hi]`` and rounded to 4 decimals; 0 if not finite."""
    return round(jsonwire.clamp_finite(float(v), lo, hi, 0.0), 4)


def _band(v: float) -> float:
    """A band level clamped to [0, 1] and rounded to 4 decimals; NaN → 0, ±inf → the bounds.

    Plain Python: for 5 values numpy's per-call overhead costs more than the work (a -0.0 stays -0.0,
    as numpy's clip leaves it).
    """
    return 0.0 if v != v else round(min(max(v, 0.0), 1.0), 4)


def audio_fields(f: Features) -> dict[str, Any]:
    """The audio fields the plugin reads on ``batch_update`` (WIRE.md 1.4), sanitised to its ranges."""
    return {
        "bands": [_band(float(b)) for b in f.bands[:5]],
        "amplitude": _num(f.peak, 0.0, 5.0),
        "is_beat": bool(f.beat),
        "beat_intensity": _num(f.beat_intensity, 0.0, 1.0),
        "bpm": _num(f.bpm, 0.0, 300.0),
        "tempo_confidence": _num(f.tempo_confidence, 0.0, 1.0),
        "beat_phase": _num(f.beat_phase, 0.0, 1.0),
    }


class BatchEncoder:
    """Builds the ``batch_update`` message(s) of one Scene.

    The message carries the full fixed-size entity set (hidden entities at
    scale 0, so no stale "ghost" blocks stay where a pattern left them), the
    audio fields including ``bpm``, ``tempo_confidence`` and ``beat_phase``,
    and ``frame``. If it would exceed :data:`MAX_MESSAGE_CHARS` the entities
    are split over several messages (the plugin applies all of a tick's
    batches together); only the first carries the audio fields.

    Args:
        particles_on_beat: Add a ``NOTE`` particle burst on strong beats, as the
            OLD server did (the plugin spawns particles only on its sync path).
        extra_fields: More entity fields, e.g. ``("brightness", "glow")``; they
            override the zone's ``dynamic_brightness``/``glow_on_beat``.
    """

    def __init__(self, particles_on_beat: bool = True, extra_fields: tuple[str, ...] = ()) -> None:
        self.particles_on_beat = particles_on_beat
        self.entities = EntityEncoder(MC_FIELDS + tuple(extra_fields), hide_invisible=True)

    def encode(self, scene: Scene, zone: str, frame: int) -> list[str]:
        """The message(s) for ``scene``; during blackout the entity list is empty."""
        f = scene.features
        audio = audio_fields(f)
        audio["frame"] = int(frame)
        if self.particles_on_beat and f.beat and f.beat_intensity > 0.2:
            count = int(min(100, max(1, int(20 * f.beat_intensity))))
            audio["particles"] = [{"particle": "NOTE", "x": 0.5, "y": 0.5, "z": 0.5, "count": count}]
        head = '{"type":"batch_update","zone":%s,"entities":' % json.dumps(check_zone(zone))
        tail = "," + json.dumps(audio, separators=(",", ":"))[1:]
        n = 0 if scene.blackout else scene.count
        body = self.entities.encode(scene, 0, n)
        text = head + body + tail
        if len(text) <= MAX_MESSAGE_CHARS:
            return [text]
        # Split: size each chunk from the average entity length, with margin for the headers.
        per_entity = max(1.0, len(body) / max(1, n))
        chunk = max(1, int((MAX_MESSAGE_CHARS - len(head) - len(tail) - 64) / (per_entity * 1.05)))
        while True:
            out = [
                head + self.entities.encode(scene, start, start + chunk) + (tail if start == 0 else "}")
                for start in range(0, n, chunk)
            ]
            if chunk == 1 or all(len(m) <= MAX_MESSAGE_CHARS for m in out):
                return out
            chunk //= 2  # unusually long numbers in this frame: split finer
