"""The ``midi`` node: a MIDI controller's notes and faders turned into show changes.

Messages from one MIDI input port (mido over python-rtmidi: ALSA, or JACK) are
routed by a YAML map (:mod:`.mapping`, :mod:`.router`) to the node's control
ports — the pattern control and, optionally, the show (scenes, GO/back) — by
the same :func:`~mcav.nodes.actions.perform` the ``osc`` node uses. It provides
``midi`` (:class:`~mcav.nodes.interfaces.MidiControl`): the map and a learn
mode, which binds the next note or controller to an action and saves the map.

rtmidi calls back on its own thread; each message is handed to the loop and
queued in a bounded buffer (the oldest dropped when full, counted), so a fader
storm never grows memory or stalls the loop. A port that is not there (a
controller plugged in later, unplugged and back) is looked for again every
``retry`` seconds; the graph runs on meanwhile.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcav.nodes.actions import ActionError, Call, perform
from mcav.nodes.interfaces import MidiControl, PatternControl, ShowControl
from mcav.runtime.atomicfile import write_text_atomic
from mcav.runtime.control import Require
from mcav.runtime.node import AsyncNode
from mcav.runtime.params import param

from .mapping import MapProblem, MidiMap, load_map
from .router import Learned, Router
from .transport import MidiUnavailable, attach, open_input

__all__ = ["DEFAULT_MAP", "MidiIn", "default_map_path"]

#: The map used while the node's map file does not exist yet.
DEFAULT_MAP = Path(__file__).with_name("default-map.yaml")


def default_map_path(graph: str) -> Path:
    """``$XDG_DATA_HOME/mcav/GRAPH.midi.yaml`` (``~/.local/share/mcav/…`` when unset), beside the show file."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mcav" / f"{graph}.midi.yaml"


class MidiIn(AsyncNode):
    """MIDI control: pads and faders of a controller, through a YAML map, with a learn mode."""

    kind = "midi"
    provides = {"midi": MidiControl}
    requires = {
        "pattern": Require(PatternControl, doc="patterns, effects, blackout, freeze, faders"),
        "show": Require(ShowControl, optional=True, doc="scene recalls, GO and back"),
    }

    @dataclass
    class Params:
        port: str = param("", doc="input port: its name or part of it (\"\" = the first input); with "
                          "virtual, the name of the port mcav creates")
        api: str = param("alsa", doc="rtmidi's MIDI system", choices=("alsa", "jack"))
        virtual: bool = param(False, doc="create a virtual input port other programs connect to")
        map: str = param("", doc="the map file, relative to the graph (\"\" = $XDG_DATA_HOME/mcav/GRAPH.midi.yaml); "
                         "while it does not exist, the built-in default map, and learn mode creates it")
        retry: float = param(2.0, doc="time between looks for a port that is not there", unit="s", min=0.1)
        queue: int = param(256, doc="messages waiting at most (the oldest dropped when full)", min=1)

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.path = ctx.base_dir / params.map if params.map else default_map_path(ctx.graph)
        self.router = Router(MidiMap())
        self.port_name: str | None = None
        self._queue: asyncio.Queue[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.counters = dict.fromkeys(("messages", "applied", "unmapped", "errors", "learned", "dropped_full"), 0)

    def status(self) -> dict[str, Any]:
        return {"port": self.port_name, "map": str(self.path),
                "learning": self.router.learning.text() if self.router.learning else None, **self.counters}

    # -- the control interface -------------------------------------------------------------------------

    def mapping(self) -> dict[str, Any]:
        return {"file": str(self.path), **self.router.map.describe(),
                "learning": self.router.learning.text() if self.router.learning else None}

    def learn(self, action: str) -> dict[str, Any]:
        learning = self.router.learn(action)
        self.ctx.log.info("MIDI learn: the next %s will do %r", "controller" if learning.fader else "note or controller",
                          learning.text())
        return {"learning": learning.text()}

    def cancel_learn(self) -> None:
        self.router.learning = None

    # -- running ---------------------------------------------------------------------------------------

    def _load(self) -> MidiMap:
        source = self.path if self.path.exists() else DEFAULT_MAP
        midimap = load_map(source)
        self.ctx.log.info("MIDI map: %s (%d notes, %d controllers)", source, len(midimap.notes), len(midimap.cc))
        return midimap

    async def run(self) -> None:
        try:
            self.router.map = await asyncio.to_thread(self._load)
        except MapProblem as exc:
            self.ctx.fail(f"midi '{self.ctx.name}': bad MIDI map:\n{exc}")
            return
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(self.params.queue)
        port = await self._open()
        if port is None:
            return
        self.ctx.spawn(self._consume(self._queue), name="midi-in", critical=True)
        try:
            await self.ctx.wait_stopping()  # (a service: it ends when the graph stops)
        finally:
            port.close()

    async def _consume(self, queue: asyncio.Queue[Any]) -> None:
        while True:
            await self._handle(await queue.get())

    async def _open(self) -> Any:
        """The input port, once there (None: the MIDI system is unavailable and the graph fails, or the graph
        stopped first)."""
        p, missing_logged = self.params, False
        stopping = asyncio.ensure_future(self.ctx.wait_stopping())
        try:
            while True:
                try:
                    port = await asyncio.to_thread(open_input, p.port, p.api, p.virtual)
                except MidiUnavailable as exc:
                    self.ctx.fail(f"midi '{self.ctx.name}': {exc}")
                    return None
                if port is not None:
                    break
                if not missing_logged:
                    self.ctx.log.warning("no MIDI input matches %r (%s); looking again every %g s", p.port, p.api,
                                         p.retry)
                    missing_logged = True
                pause = asyncio.ensure_future(self.ctx.clock.sleep(p.retry))
                await asyncio.wait((pause, stopping), return_when=asyncio.FIRST_COMPLETED)
                pause.cancel()
                if stopping.done():
                    return None
        finally:
            stopping.cancel()
        attach(port, self.received)
        self.port_name = port.name  # only now: a message sent once status() shows the port is not missed
        self.ctx.log.info("MIDI in: %s (%s%s)", port.name, p.api, ", virtual" if p.virtual else "")
        return port

    def received(self, message: Any) -> None:
        """A message arrived (any thread): hand it to the loop's queue."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._enqueue, message)

    def _enqueue(self, message: Any) -> None:
        q = self._queue
        assert q is not None
        if q.full():
            q.get_nowait()
            self.counters["dropped_full"] += 1
        q.put_nowait(message)

    async def _handle(self, message: Any) -> None:
        self.counters["messages"] += 1
        result = self.router.feed(message)
        if result is None:
            self.counters["unmapped"] += 1
        elif isinstance(result, Learned):
            await self._save(result)
        else:
            await self._apply(result, message)

    async def _apply(self, call: Call, message: Any) -> None:
        try:
            await perform(call, self.ctx.control, f"MIDI {message}")
        except ActionError as exc:
            self.counters["errors"] += 1
            self.ctx.log.warning("MIDI %s: %s", message, exc)
            return
        self.counters["applied"] += 1

    async def _save(self, learned: Learned) -> None:
        data = {**learned.describe(), "file": str(self.path)}
        try:
            await asyncio.to_thread(write_text_atomic, self.path, self.router.map.to_yaml())
        except OSError as exc:
            self.counters["errors"] += 1
            self.ctx.log.error("MIDI learn: %s bound, but the map could not be saved to %s: %s", learned.kind,
                               self.path, exc)
            data["error"] = str(exc)
        else:
            self.counters["learned"] += 1
            self.ctx.log.info("MIDI learn: %s %d → %r (saved to %s)", learned.kind, learned.number,
                              learned.action.text(), self.path)
        self.ctx.publish("midi", "learned", data)
