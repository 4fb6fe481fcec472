"""mcav's OSC address scheme, without I/O: an OSC message in, the control call it asks for out.

=======================================  ==============================================================
address and arguments                    does
=======================================  ==============================================================
``/mcav/pattern "key"`` or ``i`` [q]     switch pattern (by key, or 1-based number in the admin order)
``/mcav/effect "name" [f] [f] [q]``      one-shot effect, optional intensity 0-2 and duration (s)
``/mcav/blackout i`` / ``/mcav/freeze i``  1 on, 0 off (no argument: toggle)
``/mcav/preset "name"``                  analysis preset's band sensitivity (auto, edm, chill, rock…)
``/mcav/band/N f``                       fader 0-1 → sensitivity 0-2 of band N (0 bass … 4 air)
``/mcav/entities i``                     entity count 1-1024
``/mcav/transition f``                   crossfade length (s)
``/mcav/beat_rate f``                    the visuals' beat as 0.5, 1 or 2 times the tracker's (0.5 again: re-sync)
``/mcav/scene "name" [q]``               recall a scene (needs a ``show`` node)
``/mcav/scene/save "name"``              save what is on screen as a scene
``/mcav/go`` / ``/mcav/back``            the cue list: fire the next cue / step back one
``/mcav/midi/learn "action"``            bind the next MIDI note or CC to a MIDI action (needs a ``midi`` node)
``/mcav/ping``                           answered ``/mcav/pong``
=======================================  ==============================================================

``q`` is an optional quantize: ``"beat"``, ``"bar"``, ``"phrase"`` or ``"off"``
(default: the pattern node's). Every message gets a reply to its sender: ``/mcav/ok ADDRESS`` or
``/mcav/error ADDRESS "message"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcav.nodes.actions import Call

__all__ = ["Call", "Refused", "route"]


@dataclass(frozen=True, slots=True)
class Refused:
    """The message is not one mcav understands; ``message`` says why."""

    message: str


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) == float("inf"):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _flag(args: list[Any]) -> bool | None:
    if not args:
        return None
    return bool(_number(args[0], "the flag"))


def _quantize(args: list[Any]) -> str | None:
    """An optional trailing ``"beat"``/``"bar"``/``"phrase"``/``"off"`` (None: the pattern node's default)."""
    if not args:
        return None
    if not isinstance(args[0], str):
        raise ValueError(f"quantize must be off, beat, bar or phrase, got {args[0]!r}")
    return args[0]


def route(address: str, args: list[Any]) -> Call | Refused:
    """The control call an OSC message asks for, or why it is refused."""
    parts = address.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "mcav":
        return Refused(f"unknown address {address[:80]!r}; mcav's addresses start with /mcav/")
    what, rest = parts[1], parts[2:]
    try:
        if what == "pattern" and args and not rest:
            q = _quantize(args[1:])
            if isinstance(args[0], str):
                return Call("pattern", "set_pattern", (args[0], q))
            return Call("pattern", "set_pattern", (q,), index=int(_number(args[0], "the pattern number")))
        if what == "effect" and args and isinstance(args[0], str) and not rest:
            intensity = _number(args[1], "intensity") if len(args) > 1 else 1.0
            duration = _number(args[2], "duration") if len(args) > 2 else 0.5
            return Call("pattern", "trigger_effect", (args[0], intensity, duration, _quantize(args[3:])))
        if what in ("blackout", "freeze") and not rest:
            return Call("pattern", f"set_{what}", (_flag(args),))
        if what == "preset" and args and isinstance(args[0], str) and not rest:
            return Call("pattern", "set_preset", (args[0],))
        if what == "band" and len(rest) == 1 and rest[0].isdigit() and args:
            fader = min(1.0, max(0.0, _number(args[0], "the fader")))
            return Call("pattern", "set_band_sensitivity", (int(rest[0]), round(2.0 * fader, 4)))
        if what == "entities" and args and not rest:
            return Call("pattern", "set_entity_count", (int(_number(args[0], "the entity count")),))
        if what == "transition" and args and not rest:
            return Call("pattern", "set_transition", (_number(args[0], "the transition"),))
        if what == "beat_rate" and args and not rest:  # which rates are valid is the pattern node's to say
            return Call("pattern", "set_beat_rate", (_number(args[0], "the beat rate"),))
        if what == "scene" and args and isinstance(args[0], str):
            if not rest:
                return Call("show", "recall_scene", (args[0], _quantize(args[1:])))
            if rest == ["save"]:
                return Call("show", "save_scene", (args[0],))
        if what == "ping" and not rest:
            return Call("", "ping")
        if what == "midi" and rest == ["learn"] and args and isinstance(args[0], str):
            return Call("midi", "learn", (args[0],))
        if what in ("go", "back") and not rest:
            return Call("show", what)
    except ValueError as exc:
        return Refused(f"{address}: {exc}")
    return Refused(f"{address[:80]} with {len(args)} argument(s) is not one of mcav's OSC messages (see README)")
