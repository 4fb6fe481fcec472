"""MIDI messages → control calls, and learn mode, without I/O.

:class:`Router` takes mido ``Message`` objects (or anything with the same
``type``, ``channel``, ``note``, ``velocity``, ``control`` and ``value``
attributes) and answers with the :class:`~mcav.nodes.actions.Call` a mapped
note or controller asks for, a :class:`Learned` binding while learn mode waits,
or None. A trigger on a controller fires when its value rises past 64 (a
button sending 127 then 0 is one press), so a held button never repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcav.nodes.actions import Call

from .mapping import Action, MidiMap, parse_action

__all__ = ["Learned", "Router"]

_PRESSED = 64  # a controller at or above this is "on" (the MIDI convention for switches)


@dataclass(frozen=True, slots=True)
class Learned:
    """Learn mode bound ``kind`` (``"note"`` or ``"cc"``) ``number`` to ``action``."""

    action: Action
    kind: str
    number: int
    channel: int  # 1-16, the channel it came on

    def describe(self) -> dict[str, Any]:
        """Plain data for the ``learned`` event."""
        return {"action": self.action.text(), self.kind: self.number, "channel": self.channel}


class Router:
    """The map in force, learn mode and the controllers' last values.

    Args:
        midimap: The map (changed in place by learn mode).
    """

    def __init__(self, midimap: MidiMap) -> None:
        self.map = midimap
        self.learning: Action | None = None
        self._last_cc: dict[tuple[int, int], int] = {}

    def learn(self, action: Any) -> Action:
        """Bind the next note (trigger actions) or controller to ``action`` (its map-file form).

        Raises:
            ValueError: ``action`` is not one (the message names the actions).
        """
        self.learning = parse_action(action)
        return self.learning

    def feed(self, msg: Any) -> Call | Learned | None:
        """What ``msg`` asks for: a call, a binding learnt, or None (unmapped, another channel, note-off…)."""
        kind = msg.type
        if kind not in ("note_on", "control_change"):
            return None
        channel = msg.channel + 1
        if self.map.channel is not None and channel != self.map.channel:
            return None
        if kind == "note_on":
            if msg.velocity == 0:  # running-status note-off
                return None
            return self._learnt("note", msg.note, channel) or self._fire(self.map.notes.get(msg.note), msg.velocity)
        last = self._last_cc.get((channel, msg.control), 0)
        self._last_cc[(channel, msg.control)] = msg.value
        learnt = self._learnt("cc", msg.control, channel) if msg.value >= _PRESSED or self._fader_learning() else None
        if learnt:
            return learnt
        action = self.map.cc.get(msg.control)
        if action is None or action.fader:
            return self._fire(action, msg.value)
        return self._fire(action, msg.value) if last < _PRESSED <= msg.value else None

    def _fader_learning(self) -> bool:
        return self.learning is not None and self.learning.fader

    def _learnt(self, kind: str, number: int, channel: int) -> Learned | None:
        action = self.learning
        if action is None or (kind == "note" and action.fader):
            return None  # a fader waits for a controller
        self.learning = None
        (self.map.notes if kind == "note" else self.map.cc)[number] = action
        return Learned(action, kind, number, channel)

    @staticmethod
    def _fire(action: Action | None, value: int) -> Call | None:
        return None if action is None else action.call(value)
