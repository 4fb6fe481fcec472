"""Argument checks for the control API: each raises ValueError naming the value and what is valid."""

from __future__ import annotations

import math
from typing import Any, Iterable

from mcav.runtime.params import closest

__all__ = ["choice", "integer", "number", "optional_bool"]


def choice(what: str, value: Any, options: Iterable[str]) -> str:
    """``value`` if it is one of ``options``."""
    opts = list(options)
    if isinstance(value, str) and value in opts:
        return value
    hint = closest(value, opts) if isinstance(value, str) else None
    extra = f" (did you mean '{hint}'?)" if hint else ""
    raise ValueError(f"unknown {what} {value!r}{extra}; valid: {', '.join(opts)}")


def integer(what: str, value: Any, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi]; a float with an integral value (JSON ``16.0``) is accepted."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer from {lo} to {hi}, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{what} {value} is out of range {lo}-{hi}")
    return value


def number(what: str, value: Any, lo: float, hi: float, unit: str = "") -> float:
    """``value`` as a finite float in [lo, hi]."""
    u = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number from {lo:g} to {hi:g}{u}, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{what} {value!r}{u} is out of range {lo:g}-{hi:g}{u}")
    return v


def optional_bool(what: str, value: Any) -> None:
    """``value`` must be True, False or None (toggle)."""
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{what} must be true, false or null (toggle), got {value!r}")
