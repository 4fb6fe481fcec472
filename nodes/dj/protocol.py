"""The DJ wire on :9000 (WIRE.md section 2): every message, both directions, in one place.

Nothing else in mcav writes DJ-wire JSON by hand: builders return dicts whose
first key is ``type`` and :func:`encode` serialises them compactly with
:mod:`mcav.runtime.jsonwire` (the ``type`` key is forced first; NaN/inf are
refused). :func:`decode` parses one frame and raises :class:`ProtocolError`
naming what was wrong and the close code a handshake answers it with.

Per-frame hygiene (WIRE.md 2.4) lives in :mod:`mcav.nodes.dj.sanitize` and is
re-exported here: :func:`sanitize_audio_frame`, :class:`BpmStabilizer`,
:func:`clock_offset`.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Any, Mapping

from mcav.nodes.presets import get_preset, preset_name
from mcav.runtime import jsonwire
from mcav.runtime.jsonwire import clamp_finite

from .sanitize import BpmStabilizer, clock_offset, sanitize_audio_frame

__all__ = [
    "BpmStabilizer",
    "CloseCode",
    "DEFAULT_PATTERN_CONFIG",
    "ProtocolError",
    "clamp_finite",
    "clock_offset",
    "decode",
    "encode",
    "preset_name",
    "sanitize_audio_frame",
]

#: ``pattern_config`` MCAV sends when nothing else is known (16 entities, spectrum).
DEFAULT_PATTERN_CONFIG: dict[str, float] = {
    "entity_count": 16,
    "zone_size": 10.0,
    "beat_boost": 1.5,
    "base_scale": 0.2,
    "max_scale": 1.0,
}


class CloseCode(IntEnum):
    """WebSocket close codes of the DJ link (value, and the reason text MCAV sends)."""

    AUTH_TIMEOUT = 4001  # "Authentication timeout": no first message within 10 s
    INVALID_JSON = 4002  # "Invalid JSON"
    UNEXPECTED = 4003  # "Expected dj_auth or code_auth message" (also: server full)
    AUTH_FAILED = 4004  # "Authentication failed" / "Invalid connect code" / "Connect code expired"
    ALREADY_CONNECTED = 4005  # "Already connected"
    DENIED = 4006  # "Connection denied by VJ"
    KICKED = 4010  # "Kicked by VJ"
    THROTTLED = 4029  # "Too many failed attempts; retry in N s" / "Server busy" (as MCAV's NEW server)


class ProtocolError(jsonwire.WireError):
    """A frame that is not a DJ-wire message.

    Attributes:
        close_code: What a handshake closes with: 4002 for bad JSON, 4003 for
            JSON that is not an object with a string ``type``.
    """

    def __init__(self, message: str, close_code: int = 4002) -> None:
        super().__init__(message)
        self.close_code = close_code


# -- framing ------------------------------------------------------------------------------------


def encode(message: Mapping[str, Any]) -> str:
    """Serialise one message: ``type`` first, compact separators.

    Raises:
        jsonwire.WireError: (a ValueError) no string ``type``, or a NaN/inf value.
    """
    return jsonwire.encode(message)


def decode(data: str | bytes) -> dict[str, Any]:
    """Parse one frame into a dict with a string ``type`` (a binary frame is read as UTF-8 text, as MCAV does).

    Raises:
        ProtocolError: the frame is not UTF-8 JSON (close code 4002), or not an object with a
            string ``type`` (4003).
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"binary frame is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return jsonwire.decode(data)
    except jsonwire.WireError as exc:
        text = str(exc)
        code = CloseCode.INVALID_JSON if text.startswith("invalid JSON") else CloseCode.UNEXPECTED
        raise ProtocolError(text, code) from None


def _num(x: Any, digits: int = 4) -> float:
    """A finite, rounded Python float (numpy scalars included); non-finite → 0."""
    v = float(x)
    return round(v, digits) if math.isfinite(v) else 0.0


# -- DJ → VJ ------------------------------------------------------------------------------------


def dj_auth(dj_id: str, dj_name: str, dj_key: str, direct_mode: bool = False) -> dict[str, Any]:
    """Credential handshake (first message)."""
    return {"type": "dj_auth", "dj_id": dj_id, "dj_name": dj_name, "dj_key": dj_key, "direct_mode": direct_mode}


def code_auth(code: str, dj_name: str, direct_mode: bool = False) -> dict[str, Any]:
    """Connect-code handshake (first message); ``code`` is sent upper-cased."""
    return {"type": "code_auth", "code": code.strip().upper(), "dj_name": dj_name, "direct_mode": direct_mode}


def dj_audio_frame(seq: int, ts: float, features: Any) -> dict[str, Any]:
    """One analysed audio frame from a :class:`~mcav.runtime.frames.Features`.

    Args:
        seq: Frames sent by this DJ so far (from 0).
        ts: DJ wall-clock time of the audio capture, s since the epoch.
        features: The frame; numpy values become rounded Python floats.
    """
    f = features
    return {
        "type": "dj_audio_frame",
        "seq": int(seq),
        "ts": round(float(ts), 6),
        "bands": [_num(b) for b in f.bands[:5]],
        "peak": _num(f.peak),
        "beat": bool(f.beat),
        "beat_i": _num(f.beat_intensity),
        "bpm": _num(f.bpm, 2),
        "tempo_conf": _num(f.tempo_confidence),
        "beat_phase": _num(f.beat_phase),
        "i_bass": _num(f.instant_bass),
        "i_kick": bool(f.instant_kick),
    }


def dj_heartbeat(ts: float, mc_connected: bool = False) -> dict[str, Any]:
    """Liveness every ``heartbeat_interval`` s; ``ts`` is the DJ send time (s)."""
    return {"type": "dj_heartbeat", "ts": round(float(ts), 6), "mc_connected": bool(mc_connected)}


def clock_sync_response(server_time: Any, dj_recv_time: float, dj_send_time: float) -> dict[str, Any]:
    """Answer to ``clock_sync_request`` (``server_time`` echoed as the Python relay does)."""
    return {"type": "clock_sync_response", "server_time": server_time, "dj_recv_time": dj_recv_time, "dj_send_time": dj_send_time}


def going_offline() -> dict[str, Any]:
    """Graceful leave."""
    return {"type": "going_offline"}


def ping() -> dict[str, Any]:
    """Keep-alive while pending approval."""
    return {"type": "ping"}


# -- VJ → DJ ------------------------------------------------------------------------------------


def auth_success(
    dj_id: str, dj_name: str, is_active: bool, current_pattern: str, pattern_config: Mapping[str, Any],
    route_mode: str = "relay", direct: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Credential handshake accepted; ``direct`` adds minecraft_host/port, zone, entity_count."""
    msg = {"type": "auth_success", "dj_id": dj_id, "dj_name": dj_name, "is_active": is_active,
           "current_pattern": current_pattern, "pattern_config": dict(pattern_config)}
    msg.update(direct or {})
    msg["route_mode"] = route_mode
    return msg


def auth_pending(dj_id: str) -> dict[str, Any]:
    """Connect code accepted; waiting for the VJ's approval."""
    return {"type": "auth_pending", "message": "Waiting for VJ approval...", "dj_id": dj_id}


def auth_approved(
    dj_id: str, dj_name: str, is_active: bool, current_pattern: str, pattern_config: Mapping[str, Any]
) -> dict[str, Any]:
    """The VJ approved a pending DJ."""
    return {"type": "auth_approved", "dj_id": dj_id, "dj_name": dj_name, "is_active": is_active,
            "current_pattern": current_pattern, "pattern_config": dict(pattern_config)}


def auth_denied() -> dict[str, Any]:
    """The VJ denied a pending DJ (then close 4006)."""
    return {"type": "auth_denied", "message": "Connection denied by VJ"}


def auth_error(error: str) -> dict[str, Any]:
    """A connect code was refused (then close 4004)."""
    return {"type": "auth_error", "error": error}


def clock_sync_request(server_time: float) -> dict[str, Any]:
    """NTP-style sync probe; ``server_time`` is t1 (s)."""
    return {"type": "clock_sync_request", "server_time": server_time}


def stream_route(
    is_active: bool, direct_mode: bool, current_pattern: str, pattern_config: Mapping[str, Any],
    minecraft_host: str = "localhost", minecraft_port: int = 8765, zone: str = "main", entity_count: int = 16,
) -> dict[str, Any]:
    """Where the DJ's visuals go: ``dual`` for the active direct-mode DJ, else ``relay``."""
    dual = bool(direct_mode and is_active)
    return {
        "type": "stream_route", "route_mode": "dual" if dual else "relay", "is_active": is_active,
        "minecraft_host": minecraft_host, "minecraft_port": minecraft_port, "zone": zone,
        "entity_count": entity_count, "current_pattern": current_pattern, "pattern_config": dict(pattern_config),
        "relay_fallback": True, "reason": "active_direct_dj" if dual else "standby_or_relay_mode",
    }


def status_update(is_active: bool) -> dict[str, Any]:
    """Sent to every DJ on each active-DJ switch."""
    return {"type": "status_update", "is_active": is_active}


def heartbeat_ack(server_time: float, echo_ts: Any) -> dict[str, Any]:
    """Answer to ``dj_heartbeat``; ``echo_ts`` is the heartbeat's ``ts`` as received."""
    return {"type": "heartbeat_ack", "server_time": server_time, "echo_ts": echo_ts}


def pattern_sync(pattern: str, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The VJ changed pattern; ``config`` defaults to :data:`DEFAULT_PATTERN_CONFIG`."""
    return {"type": "pattern_sync", "pattern": pattern, "config": dict(config or DEFAULT_PATTERN_CONFIG)}


def config_sync(entity_count: int, zone: str) -> dict[str, Any]:
    """The VJ changed entity count or zone."""
    return {"type": "config_sync", "entity_count": int(entity_count), "zone": zone}


def preset_sync(preset: str | Mapping[str, Any]) -> dict[str, Any]:
    """The VJ changed preset: a name is sent as MCAV's AudioConfig dict, a dict as given."""
    body = get_preset(preset).to_wire() if isinstance(preset, str) else dict(preset)
    return {"type": "preset_sync", "preset": body}


def effect_triggered(effect: str) -> dict[str, Any]:
    """The VJ fired an effect."""
    return {"type": "effect_triggered", "effect": effect}


def pong() -> dict[str, Any]:
    """Answer to a pending DJ's ``ping``."""
    return {"type": "pong"}


# -- VJ → browsers (events for the browser node, WIRE.md 3.4) -------------------------------------


def dj_roster_event(roster: list[dict[str, Any]], active_dj: str | None) -> dict[str, Any]:
    """``dj_roster{roster, active_dj}``."""
    return {"type": "dj_roster", "roster": roster, "active_dj": active_dj}


def dj_pending_event(dj: Mapping[str, Any]) -> dict[str, Any]:
    """``dj_pending{dj}`` with dj_id, dj_name, waiting_since, direct_mode."""
    return {"type": "dj_pending", "dj": dict(dj)}


def dj_decision_event(approved: bool, dj_id: str) -> dict[str, Any]:
    """``dj_approved{dj_id}`` or ``dj_denied{dj_id}``."""
    return {"type": "dj_approved" if approved else "dj_denied", "dj_id": dj_id}


def connect_codes_event(codes: list[dict[str, Any]]) -> dict[str, Any]:
    """``connect_codes{codes}``."""
    return {"type": "connect_codes", "codes": codes}


# -- presets ------------------------------------------------------------------------------------
