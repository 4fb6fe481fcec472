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


def message(mtype: str, **fields: Any) -> str:
    """Any other VJ→browser message of WIRE.md 3.4 (``pattern_changed``, ``config_update``…)."""
    return encode({"type": mtype, **fields})


def relay(msg: Mapping[str, Any]) -> str:
    """A message from another wire (plugin reply, DJ-server event) passed on as is, ``type`` first."""
    return encode(msg)


def vj_state(**fields: Any) -> str:
    """``vj_state`` (WIRE.md 3.1): sent on connect and as the reply to ``get_state``."""
    return encode({"type": "vj_state", **fields})
