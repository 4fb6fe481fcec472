"""Browser commands for scenes (the newer MCAV admin panel's, and mcav's own), and its other lists.

Scenes live in the graph's ``show`` node (control port ``show``); without one,
``list_scenes`` answers an empty list and the others say there is no show node.
The newer panel also asks for stages and the bitmap LED wall's patterns,
transitions and palettes, which mcav does not have: they get well-formed empty
lists, so the panel shows nothing there instead of an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import protocol as P
from .registry import command, field

if TYPE_CHECKING:
    from .clients import Client
    from .server import BrowserServer


def _show(srv: BrowserServer) -> Any:
    if not srv.show:
        raise ValueError("this graph has no show node (add `show: {kind: show}` to keep scenes)")
    return srv.show


@command("list_scenes", mutating=False)
async def _list(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.scenes_list(await srv.show.scenes() if srv.show else []))


@command("save_scene")
async def _save(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    scene = await _show(srv).save_scene(field(msg, "name", str))
    c.send(P.scene_saved(scene["name"]))  # every browser gets the new list from the show's event


@command("load_scene", "recall_scene")
async def _load(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await _show(srv).recall_scene(field(msg, "name", str), field(msg, "quantize", str, None))  # to every browser


@command("rename_scene")
async def _rename(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await _show(srv).rename_scene(field(msg, "name", str), field(msg, "new_name", str))


@command("delete_scene")
async def _delete(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    name = field(msg, "name", str)
    await _show(srv).delete_scene(name)
    c.send(P.scene_deleted(name))


@command("export_scenes")
async def _export(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.scenes_exported(await _show(srv).export_scenes()))


@command("import_scenes")
async def _import(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.scenes_imported(await _show(srv).import_scenes(field(msg, "yaml", str))))


@command("get_cues", mutating=False)
async def _cues(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    c.send(P.cues(await srv.show.cues() if srv.show else {"cues": [], "position": -1, "current": None, "next": None}))


@command("cue_go")
async def _go(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await _show(srv).go()  # every browser gets the new position from the show's event


@command("cue_back")
async def _back(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    await _show(srv).back()


_EMPTY = {"get_stages": ("stages", "stages"), "get_bitmap_patterns": ("bitmap_patterns", "patterns"),
          "get_bitmap_transitions": ("bitmap_transitions", "transitions"),
          "get_bitmap_palettes": ("bitmap_palettes", "palettes")}


@command(*_EMPTY, mutating=False)
async def _empty(srv: BrowserServer, c: Client, msg: dict[str, Any]) -> None:
    mtype, key = _EMPTY[msg["type"]]
    c.send(P.empty_list(mtype, key))
