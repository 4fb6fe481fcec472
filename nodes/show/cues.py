"""Cue lists: a show as a YAML file of cues, each a trigger and actions. Parsing and stepping, without I/O.

.. code-block:: yaml

    cues:
      - name: Doors
        actions: [{scene: Ambient}]                 # trigger: manual (GO) is the default
      - name: First drop
        trigger: {bars: 16}                         # 16 bars after the previous cue fired
        actions: [{pattern: galaxy, quantize: bar}, {effect: flash}]
      - name: Break
        trigger: {after: 90}                        # 90 s after the previous cue fired
        actions: [{blackout: true}]
      - name: Second drop
        trigger: {drop: 8}                          # the next drop after a breakdown of 8 bars or more
        actions: [{scene: Peak}]

A ``drop`` trigger (``drop`` alone: 8 bars) waits for the pattern control's
``drop`` event — bass back strongly after a breakdown with little bass (the
rule: :mod:`mcav.nodes.patterns.drop`) — whose breakdown lasted at least that
many bars, since the previous cue fired.

Actions: ``scene`` (recall it), ``pattern`` (with an optional ``quantize``),
``effect`` (``intensity``, ``duration`` s, ``quantize``), ``blackout`` (true/false).
Every problem is reported with the file and line (:func:`load_cues`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcav.runtime.errors import GraphError
from mcav.runtime.yamlsource import SourceMap, YamlProblem, load_yaml, parse_yaml

__all__ = ["Cue", "CueList", "load_cues", "parse_cues"]

_ACTIONS = {"scene": str, "pattern": str, "effect": str, "blackout": bool}
_OPTIONS = {"quantize", "intensity", "duration"}


@dataclass(frozen=True)
class Cue:
    """One cue: ``trigger`` is ``("manual", 0)``, ``("after", seconds)``, ``("bars", count)`` or
    ``("drop", breakdown_bars)``."""

    name: str
    trigger: tuple[str, float]
    actions: tuple[dict[str, Any], ...]
    line: int | None = None

    def to_wire(self) -> dict[str, Any]:
        kind, value = self.trigger
        return {"name": self.name, "trigger": kind if kind == "manual" else {kind: value},
                "actions": [dict(a) for a in self.actions]}


@dataclass
class CueList:
    """The cues of a show and where the show is in them (``position`` -1 = before the first)."""

    cues: list[Cue] = field(default_factory=list)
    position: int = -1
    fired_at: float = 0.0  # clock time (s) the current cue fired
    bars_at: int = 0  # beat index when it fired
    drops: list[float] = field(default_factory=list)  # breakdown bars of each drop since it fired

    @property
    def next(self) -> Cue | None:
        return self.cues[self.position + 1] if self.position + 1 < len(self.cues) else None

    def go(self, now: float, beat_index: int) -> Cue | None:
        """Fire the next cue (GO); None at the end of the list."""
        cue = self.next
        if cue is not None:
            self.position += 1
            self.fired_at, self.bars_at, self.drops = now, beat_index, []
        return cue

    def note_drop(self, breakdown_bars: float) -> None:
        """A drop came (its breakdown lasted ``breakdown_bars``): a waiting ``drop`` trigger may be due."""
        self.drops = [*self.drops[-63:], float(breakdown_bars)]

    def back(self) -> Cue | None:
        """Step back one cue and fire it again (None before the first)."""
        if self.position <= 0:
            self.position = -1
            return None
        self.position -= 1
        return self.cues[self.position]

    def due(self, now: float, beat_index: int) -> bool:
        """Whether the next cue's automatic trigger has come (never for a manual one, or before the first GO)."""
        cue = self.next
        if cue is None or self.position < 0:
            return False
        kind, value = cue.trigger
        if kind == "after":
            return now - self.fired_at >= value
        if kind == "bars":
            return beat_index - self.bars_at >= 4 * value
        if kind == "drop":
            return any(bars >= value for bars in self.drops)
        return False

    def to_wire(self) -> dict[str, Any]:
        nxt = self.next
        return {"cues": [c.to_wire() for c in self.cues], "position": self.position,
                "current": self.cues[self.position].name if self.position >= 0 else None,
                "next": nxt.name if nxt is not None else None}


def load_cues(path: str | Path) -> tuple[CueList, list[GraphError]]:
    """Read a cue file; every problem is a :class:`GraphError` naming the file and line."""
    try:
        raw = load_yaml(path)
    except YamlProblem as exc:
        return CueList(), [exc.error]
    return _build(raw, str(path))


def parse_cues(text: str, filename: str = "<cues>") -> tuple[CueList, list[GraphError]]:
    """Like :func:`load_cues` from text."""
    try:
        raw = parse_yaml(text, filename)
    except YamlProblem as exc:
        return CueList(), [exc.error]
    return _build(raw, filename)


def _build(raw: Any, file: str) -> tuple[CueList, list[GraphError]]:
    errors: list[GraphError] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("cues"), list):
        return CueList(), [GraphError("a cue file is a mapping with a 'cues' list", file, 1)]
    cues: list[Cue] = []
    for i, item in enumerate(raw["cues"], 1):
        line = item.line if isinstance(item, SourceMap) else None
        where = f"cue {i}"
        if not isinstance(item, dict):
            errors.append(GraphError(f"{where} must be a mapping with name, trigger and actions", file, line))
            continue
        for key in item:
            if key not in ("name", "trigger", "actions"):
                errors.append(GraphError(f"{where}: unknown key '{key}' (name, trigger, actions)", file,
                                         item.line_of(key) if isinstance(item, SourceMap) else line))
        name = item.get("name", f"Cue {i}")
        trigger = _trigger(item.get("trigger", "manual"), where, file, line, errors)
        actions = _actions(item.get("actions"), where, file, line, errors)
        if trigger is not None and actions is not None:
            cues.append(Cue(str(name), trigger, actions, line))
    return CueList(cues), errors


#: The breakdown a bare ``drop`` trigger waits for, in bars.
DROP_BARS = 8.0


def _trigger(raw: Any, where: str, file: str, line: int | None, errors: list[GraphError]) -> tuple[str, float] | None:
    if raw == "manual":
        return ("manual", 0.0)
    if raw == "drop":
        return ("drop", DROP_BARS)
    if isinstance(raw, dict) and len(raw) == 1:
        ((kind, value),) = raw.items()
        if (kind in ("after", "bars", "drop") and isinstance(value, (int, float)) and not isinstance(value, bool)
                and value > 0):
            return (kind, float(value))
    errors.append(GraphError(f"{where}: trigger must be manual, {{after: SECONDS}}, {{bars: COUNT}}, drop or "
                             f"{{drop: BREAKDOWN_BARS}}, got {raw!r}", file, line))
    return None


def _actions(raw: Any, where: str, file: str, line: int | None,
             errors: list[GraphError]) -> tuple[dict[str, Any], ...] | None:
    if not isinstance(raw, list) or not raw:
        errors.append(GraphError(f"{where}: actions must be a non-empty list", file, line))
        return None
    out = []
    for a in raw:
        a_line = a.line if isinstance(a, SourceMap) else line
        kinds = [k for k in a if k in _ACTIONS] if isinstance(a, dict) else []
        extra = [k for k in a if k not in _ACTIONS and k not in _OPTIONS] if isinstance(a, dict) else []
        if len(kinds) != 1 or extra:
            errors.append(GraphError(f"{where}: an action is one of {', '.join(_ACTIONS)} (plus quantize, intensity, "
                                     f"duration), got {dict(a) if isinstance(a, dict) else a!r}", file, a_line))
            return None
        kind = kinds[0]
        if not isinstance(a[kind], _ACTIONS[kind]):
            errors.append(GraphError(f"{where}: '{kind}' needs a {_ACTIONS[kind].__name__}, got {a[kind]!r}", file, a_line))
            return None
        out.append(dict(a))
    return tuple(out)
