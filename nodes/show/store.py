"""The show file: what a VJ set, and the scenes, kept on disk so a restart loses nothing.

One YAML document ``{version: 1, live: {…}, scenes: {name: {…}}}``: ``live`` holds the pattern's
settings (:data:`KEPT`) and what other nodes told the show (:data:`LINKED`). Writes are
atomic (a temporary file in the same folder, flushed and fsynced, then
renamed over the old one), so a crash or SIGKILL mid-write leaves the old file
or the new one, never half of one. A file that cannot be read — corrupt, not
a show file, or written by a newer mcav — is moved aside (``NAME.bad-TIMESTAMP``)
and the show starts from the graph's defaults, with a warning saying so.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mcav.runtime.atomicfile import write_text_atomic

__all__ = ["VERSION", "ShowFile", "default_path", "load", "save"]

VERSION = 1
#: The settings a show file keeps (of the pattern control's state); scenes are snapshots of :data:`SCENE_KEPT`.
KEPT = ("pattern", "entity_count", "preset", "band_sensitivity", "transition", "base_scale", "max_scale", "beat_boost",
        "beat_rate")
#: What a scene keeps: the look, without ``beat_rate``. That one corrects the beat tracker for the music playing
#: (a slow song tracked at double time), not the look: recalling a scene saved during another song must not halve
#: or double the visuals' beat (nor re-sync a ½ rate); a restart, on the same song, restores it with ``live``.
SCENE_KEPT = tuple(k for k in KEPT if k != "beat_rate")
#: What else its ``live`` keeps, learnt from other nodes: the Minecraft zone, the DJs' preferred order, banners.
LINKED = ("zone", "dj_order", "banners")


@dataclass
class ShowFile:
    """The contents of a show file."""

    live: dict[str, Any] = field(default_factory=dict)
    scenes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_yaml(self) -> str:
        return yaml.safe_dump({"version": VERSION, "live": self.live, "scenes": self.scenes}, sort_keys=True)


def default_path(graph: str) -> Path:
    """``$XDG_DATA_HOME/mcav/GRAPH.show.yaml`` (``~/.local/share/mcav/…`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mcav" / f"{graph}.show.yaml"


def keep(state: dict[str, Any], keys: tuple[str, ...] = KEPT) -> dict[str, Any]:
    """The kept settings of a pattern state (``keys``: :data:`KEPT`, or :data:`SCENE_KEPT` for a scene)."""
    return {k: state[k] for k in keys if k in state}


def parse(text: str, where: str) -> ShowFile:
    """A show file's text.

    Raises:
        ValueError: naming ``where`` and what is wrong (not YAML, not a show file, a newer version).
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{where}: not YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: not a show file (expected a mapping with version, live, scenes)")
    version = doc.get("version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{where}: no valid 'version'")
    if version > VERSION:
        raise ValueError(f"{where}: written by a newer mcav (version {version}; this one reads {VERSION})")
    live, scenes = doc.get("live") or {}, doc.get("scenes") or {}
    if not isinstance(live, dict) or not isinstance(scenes, dict):
        raise ValueError(f"{where}: 'live' and 'scenes' must be mappings")
    bad = [str(n) for n, v in scenes.items() if not isinstance(v, dict)]
    if bad:
        raise ValueError(f"{where}: scenes {', '.join(bad)} are not mappings of settings")
    linked = {k: live[k] for k in LINKED if k in live}
    return ShowFile({**keep(live), **linked}, {str(n): keep(v, SCENE_KEPT) for n, v in scenes.items()})


def load(path: Path) -> tuple[ShowFile | None, str | None]:
    """The show file at ``path``: ``(file, None)``, ``(None, None)`` if there is none, or ``(None, warning)``
    after moving an unreadable one aside."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read the show file {path}: {exc}; starting from the graph's settings"
    try:
        return parse(text, str(path)), None
    except ValueError as exc:
        aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, aside)
            kept = f"kept as {aside}"
        except OSError as move:
            kept = f"could not move it aside: {move}"
        return None, f"{exc}; starting from the graph's settings ({kept})"


def save(path: Path, show: ShowFile) -> None:
    """Write ``show`` to ``path`` atomically (the folder is created if needed)."""
    write_text_atomic(path, show.to_yaml())
