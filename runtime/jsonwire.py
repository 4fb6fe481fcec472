"""JSON text on the MCAV wires: one encoder, one decoder, one clamp, shared by every protocol module.

The Minecraft plugin's fast path reads only the first 60 characters of a
message, so ``type`` always comes first (WIRE.md 1.1). Each wire (minecraft,
dj, browser) keeps its own message builders in its own ``protocol`` module
and uses these three functions for the text itself.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

__all__ = ["WireError", "clamp_finite", "decode", "encode"]


class WireError(ValueError):
    """A message that is not valid JSON-wire text (bad JSON, not an object, no ``type``, too long, NaN)."""


def encode(message: Mapping[str, Any], max_chars: int | None = None) -> str:
    """Compact JSON with ``type`` first, whatever order ``message`` has.

    Args:
        message: Must have a non-empty string ``type``.
        max_chars: Longest text allowed (None = no limit).

    Raises:
        WireError: no string ``type``, a NaN/inf value, or longer than ``max_chars``.
    """
    mtype = message.get("type")
    if not isinstance(mtype, str) or not mtype:
        raise WireError(f"message has no string 'type': keys {sorted(map(str, message))}")
    ordered = {"type": mtype, **{k: v for k, v in message.items() if k != "type"}}
    try:
        text = json.dumps(ordered, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        raise WireError(f"'{mtype}' message holds a non-finite number: {exc}") from None
    if max_chars is not None and len(text) > max_chars:
        raise WireError(f"'{mtype}' message is {len(text)} chars, over the limit of {max_chars}")
    return text


def decode(data: str | bytes) -> dict[str, Any]:
    """Parse one WebSocket text frame into a dict with a non-empty string ``type``.

    Raises:
        WireError: a binary frame, invalid JSON (also: nested deeper than the parser's recursion
            limit, ~1000 levels), not an object, or no string ``type``.
    """
    if isinstance(data, (bytes, bytearray)):
        raise WireError("binary messages are not supported; send JSON text")
    try:
        msg = json.loads(data)
    except ValueError as exc:
        raise WireError(f"invalid JSON: {exc}") from None
    except RecursionError:  # ~1000 nested arrays/objects fit in a few KB; the parser recurses per level
        raise WireError("invalid JSON: nested too deeply") from None
    if not isinstance(msg, dict):
        raise WireError(f"expected a JSON object, got {type(msg).__name__}")
    if not isinstance(msg.get("type"), str) or not msg["type"]:
        raise WireError("missing string field 'type'")
    return msg


def clamp_finite(value: Any, lo: float, hi: float, default: float) -> float:
    """``value`` as a float clamped to ``[lo, hi]``; ``default`` if it is not a finite number.

    Ints and bools count as numbers (``True`` → 1.0), as in MCAV; strings,
    None, lists, NaN and ±inf give ``default``.
    """
    if not isinstance(value, (int, float)):
        return float(default)
    v = float(value)
    if not math.isfinite(v):
        return float(default)
    return min(hi, max(lo, v))
