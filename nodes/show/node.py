"""The ``show`` node: keeps the show's settings on disk and offers scenes.

It requires the pattern control (and, optionally, a Minecraft link, the DJ
roster and a browser node) and provides ``show``
(:class:`~mcav.nodes.interfaces.ShowControl`). At start it restores the
settings saved by the last run (pattern, entity count, preset, band
sensitivity, transition, scales, beat rate; the zone, the DJs' order and their
banners) unless ``fresh`` is set — a ``--set`` on the command line wins over a
saved value, which wins over the graph file — logging each value and where it
came from (:mod:`.restore`); then every change those nodes announce is saved, at
most once per ``save_delay`` (atomically: see :mod:`.store`). Scenes are named
snapshots of the pattern's settings but the beat rate (it fits a song, not a
look), saved in the same file, recalled with the pattern's crossfade, exported
and imported as YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mcav.nodes.interfaces import BrowserEndpoint, DJRoster, MinecraftLink, PatternControl, ShowControl
from mcav.runtime.control import Event, Require
from mcav.runtime.node import AsyncNode
from mcav.runtime.params import param

from . import store
from .cues import Cue, CueList, load_cues
from .restore import Restorer

__all__ = ["ShowNode"]

_NAME = re.compile(r"^[^\x00-\x1f]{1,64}$")


class ShowNode(AsyncNode):
    """Saves the show's settings (restored at start) and its scenes; recalls scenes with a crossfade."""

    kind = "show"
    provides = {"show": ShowControl}
    requires = {
        "pattern": Require(PatternControl, doc="what is on screen: read, saved and set"),
        "minecraft": Require(MinecraftLink, many=True, optional=True, doc="the zone (the first link's): kept and restored"),
        "djs": Require(DJRoster, many=True, optional=True,
                       doc="the DJs' preferred queue order (the first DJ server's): kept and restored"),
        "browser": Require(BrowserEndpoint, many=True, optional=True,
                           doc="DJ banner profiles (the first browser node's): kept and restored"),
    }

    @dataclass
    class Params:
        state_file: str = param("", doc="the show file, relative to the graph file (empty = "
                                "$XDG_DATA_HOME/mcav/GRAPH.show.yaml)")
        fresh: bool = param(False, doc="start from the graph's settings, ignoring the saved ones (still saves)")
        save_delay: float = param(0.5, doc="changes are saved at most this often", unit="s", min=0.0, max=60.0)
        cues: str = param("", doc="a cue list (YAML, relative to the graph file; empty = none): mcav show validate FILE")

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.path = ctx.base_dir / params.state_file if params.state_file else store.default_path(ctx.graph)
        self.show = store.ShowFile()
        self.saves = 0
        self.save_errors = 0
        self._dirty = False
        self.cue_list = CueList()
        self._beat_index = 0
        self.drops = 0  # drops the pattern reported

    def status(self) -> dict[str, Any]:
        return {"state_file": str(self.path), "scenes": len(self.show.scenes), "saves": self.saves,
                "save_errors": self.save_errors, "cue": self.cue_list.position + 1, "drops": self.drops}

    # -- run ------------------------------------------------------------------------------------------

    async def run(self) -> None:
        ports = {k: self.ctx.control(k) for k in ("pattern", "minecraft", "djs", "browser")}
        restorer = Restorer(ports, self.show.live, self.ctx.log, self._changed)
        saved, problem = (None, None) if self.params.fresh else store.load(self.path)
        if problem:
            self.ctx.log.warning("%s", problem)
        if saved is not None:
            self.show.scenes = saved.scenes
            await restorer.restore(saved.live, str(self.path), self._apply)
        elif self.params.fresh:
            self.ctx.log.info("fresh start: the graph's settings (the show file %s is not read)", self.path)
        await restorer.follow()
        if saved is not None and self.show.live != saved.live:  # a --set value, or one that did not apply
            self._changed()
        ports["pattern"].subscribe(self._beat, ("beat",))
        ports["pattern"].subscribe(self._drop, ("drop",))
        if self.params.cues:
            self.cue_list, errors = load_cues(self.ctx.base_dir / self.params.cues)
            if errors:
                self.ctx.fail("show: bad cue list:\n" + "\n".join(f"  {e}" for e in errors), exit_code=2)
                return
            self.ctx.log.info("cue list %s: %d cues (GO from the admin panel or OSC /mcav/go)", self.params.cues,
                              len(self.cue_list.cues))
            self.ctx.spawn(self._follow_cues(), name="cues")
        try:
            await self.ctx.wait_stopping()
        finally:
            if self._dirty:
                self._save()

    async def _apply(self, settings: dict[str, Any], source: str, quantize: str | None = None) -> None:
        """Put ``settings`` on screen through the pattern control; each one that fails is logged, not fatal."""
        pattern = self.ctx.control("pattern")
        steps = [
            ("entity_count", lambda v: pattern.set_entity_count(v)),
            ("preset", lambda v: pattern.set_preset(v)),
            ("band_sensitivity", lambda v: pattern.set_band_sensitivities(v)),
            ("transition", lambda v: pattern.set_transition(v["duration"], v["easing"])),
            ("base_scale", lambda v: pattern.set_scales(base_scale=v)),
            ("max_scale", lambda v: pattern.set_scales(max_scale=v)),
            ("beat_boost", lambda v: pattern.set_scales(beat_boost=v)),
            ("beat_rate", lambda v: pattern.set_beat_rate(v)),  # only a restart's: scenes do not keep it
            ("pattern", lambda v: pattern.set_pattern(v, quantize)),
        ]
        for key, setter in steps:
            if key not in settings:
                continue
            try:
                await setter(settings[key])
                self.ctx.log.info("%s = %r (%s)", key, settings[key], source)
            except (ValueError, TypeError, KeyError) as exc:
                self.ctx.log.warning("%s %r not applied (%s): %s", key, settings[key], source, exc)

    def _beat(self, event: Event) -> None:
        self._beat_index = int(event.data.get("index", self._beat_index + 1))

    def _drop(self, event: Event) -> None:
        self.ctx.log.info("drop after a breakdown of %.1f bars", event.data.get("breakdown_bars", 0.0))
        self.drops += 1
        self.cue_list.note_drop(float(event.data.get("breakdown_bars", 0.0)))

    async def _follow_cues(self) -> None:
        """Fire cues whose automatic trigger (seconds or bars since the previous cue) has come."""
        while True:
            await self.ctx.clock.sleep(0.05)
            if self.cue_list.due(self.ctx.clock.monotonic(), self._beat_index):
                await self.go()

    def _changed(self) -> None:
        """``live`` changed: save soon."""
        if not self._dirty:
            self._dirty = True
            self.ctx.spawn(self._save_soon(), name="save")

    async def _save_soon(self) -> None:
        await self.ctx.clock.sleep(self.params.save_delay)
        self._save()

    def _save(self) -> None:
        self._dirty = False
        try:
            store.save(self.path, self.show)
            self.saves += 1
        except OSError as exc:
            self.save_errors += 1
            self.ctx.log.error("cannot save the show file %s: %s", self.path, exc)

    def _publish_scenes(self) -> None:
        self._save()
        self.ctx.publish("show", "scenes", {"scenes": self.scenes()})

    # -- ShowControl ----------------------------------------------------------------------------------

    def scenes(self) -> list[dict[str, Any]]:
        return [{"name": n, **s} for n, s in sorted(self.show.scenes.items())]

    async def save_scene(self, name: str) -> dict[str, Any]:
        name = _check_name(name)
        self.show.scenes[name] = store.keep(await self.ctx.control("pattern").state(), store.SCENE_KEPT)
        self._publish_scenes()
        return {"name": name, **self.show.scenes[name]}

    async def recall_scene(self, name: str, quantize: str | None = None) -> dict[str, Any]:
        scene = self._scene(name)
        await self._apply(scene, f"scene '{name}'", quantize)
        self.ctx.publish("show", "recalled", {"name": name})
        return {"name": name, **scene}

    def rename_scene(self, name: str, new_name: str) -> None:
        scene, new_name = self._scene(name), _check_name(new_name)
        if new_name in self.show.scenes and new_name != name:
            raise ValueError(f"a scene called '{new_name}' exists already")
        del self.show.scenes[name]
        self.show.scenes[new_name] = scene
        self._publish_scenes()

    def delete_scene(self, name: str) -> None:
        self._scene(name)
        del self.show.scenes[name]
        self._publish_scenes()

    def export_scenes(self) -> str:
        return store.ShowFile({}, self.show.scenes).to_yaml()

    def import_scenes(self, text: str) -> int:
        if not isinstance(text, str) or len(text) > 1_000_000:
            raise ValueError("scenes must be YAML text of at most 1 MB")
        incoming = store.parse(text, "imported scenes").scenes
        for name in incoming:
            _check_name(name)
        self.show.scenes.update(incoming)
        self._publish_scenes()
        return len(incoming)

    def cues(self) -> dict[str, Any]:
        return self.cue_list.to_wire()

    async def go(self) -> dict[str, Any]:
        cue = self.cue_list.go(self.ctx.clock.monotonic(), self._beat_index)
        if cue is None:
            raise ValueError("the cue list is at its end" if self.cue_list.cues else "no cue list (set show.cues)")
        await self._run_cue(cue)
        return self.cues()

    async def back(self) -> dict[str, Any]:
        cue = self.cue_list.back()
        if cue is not None:
            await self._run_cue(cue)
        else:
            self.ctx.publish("show", "cues", self.cues())
        return self.cues()

    async def _run_cue(self, cue: Cue) -> None:
        self.ctx.log.info("cue %d: %s", self.cue_list.position + 1, cue.name)
        pattern = self.ctx.control("pattern")
        for a in cue.actions:
            q = a.get("quantize")
            try:
                if "scene" in a:
                    await self.recall_scene(a["scene"], q)
                elif "pattern" in a:
                    await pattern.set_pattern(a["pattern"], q)
                elif "effect" in a:
                    await pattern.trigger_effect(a["effect"], a.get("intensity", 1.0), a.get("duration", 0.5), q)
                else:
                    await pattern.set_blackout(bool(a["blackout"]))
            except (ValueError, TimeoutError) as exc:  # one bad action costs the cue nothing else
                self.ctx.log.warning("cue '%s': %s not done: %s", cue.name, a, exc)
        self.ctx.publish("show", "cues", self.cues())

    def _scene(self, name: str) -> dict[str, Any]:
        if not isinstance(name, str) or name not in self.show.scenes:
            known = ", ".join(sorted(self.show.scenes)) or "none saved"
            raise ValueError(f"no scene called {str(name)[:64]!r} (scenes: {known})")
        return self.show.scenes[name]


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise ValueError("a scene name is 1-64 printable characters")
    return name.strip()
