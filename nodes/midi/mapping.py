"""mcav's MIDI map, without I/O: which note or controller does what, read from and written to YAML.

A map file::

    channel: all            # or 1-16: listen to that channel only
    notes:                  # note number (0-127) → a trigger action, fired by note-on (velocity > 0)
      36: pattern 1         # the admin panel's first pattern
      37: pattern bars      # by key
      40: scene Intro       # the rest of the line is the scene's name
      44: effect flash      # intensity 0-2 from the velocity
      45: {pattern: galaxy, quantize: bar}
      48: blackout          # toggle ("blackout on" / "blackout off" set it)
      50: go                # the cue list
      51: beat_rate 0.5     # the visuals follow every other tracked beat (again: re-sync)
    cc:                     # controller number (0-127) → a fader, or a trigger fired when it passes 64
      1: band 0             # 0-127 → sensitivity 0-2 of band 0 (bass) … band 4 (air)
      7: entities           # 0-127 → 1-256 entities ("entities 1024": up to 1024)
      10: transition        # 0-127 → a 0-10 s crossfade ("transition 4": up to 4 s)
      64: freeze            # a button sending 127 then 0: one toggle per press

Trigger actions: ``pattern KEY|N``, ``scene NAME``, ``effect NAME``, ``preset NAME``, ``blackout [on|off]``,
``freeze [on|off]``, ``go``, ``back``, ``beat_rate 0.5|1|2``; the mapping form adds ``quantize`` (beat, bar, phrase, off) to
pattern, scene and effect, and ``intensity`` (0-2, instead of the velocity) and ``duration`` (s) to effect.
Faders (controllers only): ``band N``, ``entities [MAX]``, ``transition [MAX_S]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mcav.nodes.actions import Call
from mcav.runtime.errors import GraphError
from mcav.runtime.yamlsource import SourceMap, YamlProblem, load_yaml, parse_yaml

__all__ = ["FADERS", "TRIGGERS", "Action", "MapProblem", "MidiMap", "load_map", "parse_action", "parse_map"]

#: Trigger verbs → whether they take an argument (True: required, None: optional, False: none).
TRIGGERS: dict[str, bool | None] = {"pattern": True, "scene": True, "effect": True, "preset": True,
                                    "blackout": None, "freeze": None, "go": False, "back": False, "beat_rate": True}
#: The beat rates a map may name (the pattern node's, PatternControl.set_beat_rate).
_BEAT_RATES = ("0.5", "1", "2")
#: Fader verbs → their argument's meaning.
FADERS = {"band": "the band 0-4", "entities": "the most entities (default 256)",
          "transition": "the longest crossfade in s (default 10)"}
_OPTIONS = {"quantize": ("pattern", "scene", "effect"), "intensity": ("effect",), "duration": ("effect",)}
_QUANTIZE = ("off", "beat", "bar", "phrase")


class MapProblem(Exception):
    """A map file that cannot be used; ``errors`` name the file, line and key of each problem."""

    def __init__(self, errors: list[GraphError]) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Action:
    """One mapped action: ``verb`` with its ``arg`` and options (see the module's doc)."""

    verb: str
    arg: str | None = None
    quantize: str | None = None
    intensity: float | None = None
    duration: float = 0.5

    @property
    def fader(self) -> bool:
        """A continuous action (controllers only), as opposed to a trigger."""
        return self.verb in FADERS

    def text(self) -> str | dict[str, Any]:
        """How the map file writes it: ``"pattern bars"``, or the mapping form when it has options."""
        short = self.verb if self.arg is None else f"{self.verb} {self.arg}"
        extra = {k: v for k, v in (("quantize", self.quantize), ("intensity", self.intensity)) if v is not None}
        if self.duration != 0.5:
            extra["duration"] = self.duration
        return {self.verb: self.arg if self.arg is not None else True, **extra} if extra else short

    def call(self, value: int) -> Call:
        """The control call for a note's velocity or a controller's value (0-127)."""
        x = max(0, min(127, value)) / 127
        v, a = self.verb, self.arg
        if v == "pattern":
            assert a is not None
            return Call("pattern", "set_pattern", (self.quantize,), index=int(a)) if a.isdigit() else \
                Call("pattern", "set_pattern", (a, self.quantize))
        if v == "scene":
            return Call("show", "recall_scene", (a, self.quantize))
        if v == "effect":
            level = self.intensity if self.intensity is not None else round(2 * x, 4)
            return Call("pattern", "trigger_effect", (a, level, self.duration, self.quantize))
        if v == "preset":
            return Call("pattern", "set_preset", (a,))
        if v in ("blackout", "freeze"):
            return Call("pattern", f"set_{v}", (None if a is None else a == "on",))
        if v in ("go", "back"):
            return Call("show", v)
        if v == "beat_rate":
            return Call("pattern", "set_beat_rate", (float(a or 1),))
        if v == "band":
            return Call("pattern", "set_band_sensitivity", (int(a or 0), round(2 * x, 4)))
        if v == "entities":
            return Call("pattern", "set_entity_count", (max(1, round(x * int(a or 256))),))
        return Call("pattern", "set_transition", (round(x * float(a or 10), 3),))


def _positive(text: str, top: float) -> bool:
    try:
        return 0 < float(text) <= top
    except ValueError:
        return False


def _check_arg(verb: str, arg: str | None) -> None:
    if verb == "band" and (arg is None or not arg.isdigit() or not 0 <= int(arg) <= 4):
        raise ValueError(f"band needs a band number 0-4, got {arg!r}")
    if verb == "entities" and arg is not None and (not arg.isdigit() or not 1 <= int(arg) <= 1024):
        raise ValueError(f"entities takes the most entities 1-1024, got {arg!r}")
    if verb == "transition" and arg is not None and not _positive(arg, 60):
        raise ValueError(f"transition takes the longest crossfade in s (0-60], got {arg!r}")
    if verb == "beat_rate" and arg not in _BEAT_RATES:
        raise ValueError(f"beat_rate takes 0.5, 1 or 2 (times the tracker's beats), got {arg!r}")
    if verb in FADERS:
        return
    takes = TRIGGERS[verb]
    if takes is True and not arg:
        raise ValueError(f"{verb} needs an argument (e.g. '{verb} NAME')")
    if takes is False and arg is not None:
        raise ValueError(f"{verb} takes no argument, got {arg!r}")
    if takes is None and arg not in (None, "on", "off"):
        raise ValueError(f"{verb} takes on, off or nothing (toggle), got {arg!r}")


def parse_action(raw: Any) -> Action:
    """An action from its map-file form (``"pattern bars"`` or ``{pattern: bars, quantize: bar}``).

    Raises:
        ValueError: naming what is wrong and the valid verbs.
    """
    options: dict[str, Any] = {}
    if isinstance(raw, dict):
        verbs = [k for k in raw if k in TRIGGERS or k in FADERS]
        unknown = [str(k) for k in raw if k not in verbs and k not in _OPTIONS]
        if len(verbs) != 1 or unknown:
            raise ValueError(f"an action mapping has one action key ({', '.join([*TRIGGERS, *FADERS])}) and "
                             f"options {', '.join(_OPTIONS)}; got {', '.join(map(str, raw)) or 'nothing'}")
        verb = verbs[0]
        value = raw[verb]
        arg = None if value is True or value is None else str(value)
        options = {k: raw[k] for k in raw if k in _OPTIONS}
    elif isinstance(raw, str) and raw.strip():
        verb, _, rest = raw.strip().partition(" ")
        arg = rest.strip() or None
    else:
        raise ValueError(f"an action is a string like 'pattern bars' or a mapping, got {raw!r}")
    if verb not in TRIGGERS and verb not in FADERS:
        raise ValueError(f"unknown action {verb!r}; actions: {', '.join([*TRIGGERS, *FADERS])}")
    _check_arg(verb, arg)
    for key, value in options.items():
        if verb not in _OPTIONS[key]:
            raise ValueError(f"{key} applies to {', '.join(_OPTIONS[key])}, not {verb}")
        if key == "quantize" and value not in _QUANTIZE:
            raise ValueError(f"quantize must be {', '.join(_QUANTIZE)}, got {value!r}")
        if key != "quantize" and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 <= value <= (2 if key == "intensity" else 60)):
            raise ValueError(f"{key} must be a number {'0-2' if key == 'intensity' else 'of s 0-60'}, got {value!r}")
    return Action(verb, arg, options.get("quantize"), options.get("intensity"), float(options.get("duration", 0.5)))


@dataclass
class MidiMap:
    """Note and controller numbers (0-127) → actions; ``channel`` 1-16 or None for every channel."""

    notes: dict[int, Action] = field(default_factory=dict)
    cc: dict[int, Action] = field(default_factory=dict)
    channel: int | None = None

    def to_yaml(self) -> str:
        """The map as a file :func:`parse_map` reads back."""
        doc = {"channel": self.channel or "all",
               "notes": {n: a.text() for n, a in sorted(self.notes.items())},
               "cc": {n: a.text() for n, a in sorted(self.cc.items())}}
        return "# mcav MIDI map (see README: MIDI control)\n" + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)

    def describe(self) -> dict[str, Any]:
        """Plain data for ``mapping()``."""
        return {"channel": self.channel, "notes": {str(n): a.text() for n, a in sorted(self.notes.items())},
                "cc": {str(n): a.text() for n, a in sorted(self.cc.items())}}


def _section(raw: SourceMap, key: str, file: str, errors: list[GraphError], faders: bool) -> dict[int, Action]:
    body = raw.get(key) or SourceMap()
    if not isinstance(body, dict):
        errors.append(GraphError(f"'{key}' maps numbers 0-127 to actions", file, raw.line_of(key), key=key))
        return {}
    out: dict[int, Action] = {}
    for number, (first, again) in getattr(body, "duplicates", {}).items():
        errors.append(GraphError(f"written twice (lines {first} and {again})", file, again, key=f"{key}.{number}"))
    for number, value in body.items():
        line = body.line_of(number) if isinstance(body, SourceMap) else None
        where = f"{key}.{number}"
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 127:
            errors.append(GraphError(f"a {'controller' if faders else 'note'} number is 0-127", file, line, key=where))
            continue
        try:
            action = parse_action(value)
        except ValueError as exc:
            errors.append(GraphError(str(exc), file, line, key=where))
            continue
        if action.fader and not faders:
            errors.append(GraphError(f"{action.verb} is a fader: map it to a controller (cc)", file, line, key=where))
            continue
        out[number] = action
    return out


def parse_map(text: str, filename: str = "<midi map>") -> MidiMap:
    """A map from its YAML text.

    Raises:
        MapProblem: every problem, each naming the file, line and key.
    """
    try:
        raw = parse_yaml(text, filename)
    except YamlProblem as exc:
        raise MapProblem([exc.error]) from None
    return _build(raw, filename)


def load_map(path: str | Path) -> MidiMap:
    """A map from its file.

    Raises:
        MapProblem: the file cannot be read, or every problem in it, each naming the line and key.
    """
    try:
        raw = load_yaml(path)
    except YamlProblem as exc:
        raise MapProblem([exc.error]) from None
    return _build(raw, str(path))


def _build(raw: Any, file: str) -> MidiMap:
    if raw is None:
        return MidiMap()
    if not isinstance(raw, SourceMap):
        raise MapProblem([GraphError("a MIDI map is a mapping with 'notes' and 'cc'", file, 1)])
    errors = [GraphError("unknown key (a MIDI map has channel, notes and cc)", file, raw.line_of(k), key=str(k))
              for k in raw if k not in ("channel", "notes", "cc")]
    errors += [GraphError(f"written twice (lines {a} and {b})", file, b, key=k) for k, (a, b) in raw.duplicates.items()]
    channel = raw.get("channel", "all")
    if channel != "all" and (isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 16):
        errors.append(GraphError(f"channel is 1-16 or all, got {channel!r}", file, raw.line_of("channel"),
                                 key="channel"))
    result = MidiMap(_section(raw, "notes", file, errors, False), _section(raw, "cc", file, errors, True),
                     None if channel == "all" else channel)
    if errors:
        raise MapProblem(sorted(errors, key=lambda e: e.line or 0))
    return result
