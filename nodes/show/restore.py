"""Putting a saved show back at start, and keeping what the show's other nodes tell it.

Precedence, highest first: a value set on the command line (``--set``; the
providers say which through ``pinned()``), then the saved show, then the graph
file. :func:`choose` decides for each kept setting (pure); :class:`Restorer`
applies the choices through the control ports and logs every value with the
source it came from, e.g. ``pattern = 'bars' (restored from …/vj.show.yaml)``,
``zone = 'arena' (--set on the command line; the saved 'main' is not restored)``,
``preset = 'auto' (the graph file)``.

Besides the pattern's settings (:data:`.store.KEPT`) a show keeps, when the
graph has the nodes that know them: the Minecraft ``zone`` (the first
``minecraft`` link's), the DJs' preferred queue order ``dj_order`` (the first
``dj_server``'s, every DJ seen, the disconnected ones where they were) and the
DJ ``banners`` (the first ``browser`` node's profiles, logos included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Mapping

from mcav.runtime.control import ControlPort, Event

from . import store

__all__ = ["Choice", "Restorer", "choose"]

SET, SAVED, GRAPH = "--set", "saved", "graph"


@dataclass(frozen=True)
class Choice:
    """Where one setting comes from at start: ``source`` is ``"--set"``, ``"saved"`` or ``"graph"``."""

    key: str
    value: Any
    source: str
    saved: Any = None  # the saved value a --set value wins over (None: none saved)

    def describe(self, path: str) -> str:
        """The log line's source, e.g. ``restored from PATH``."""
        if self.source == SAVED:
            return f"restored from {path}"
        if self.source == SET:
            lost = f"; the saved {self.saved!r} is not restored" if self.saved not in (None, self.value) else ""
            return f"--set on the command line{lost}"
        return "the graph file"


def choose(keys: Iterable[str], now: Mapping[str, Any], saved: Mapping[str, Any], pinned: Iterable[str]) -> list[Choice]:
    """For each of ``keys`` present now or saved: the command line's value if pinned, else the saved one, else
    the graph file's (``now``: the values the nodes started with, the graph file's and ``--set``'s)."""
    fixed = set(pinned)
    out = []
    for key in keys:
        if key in fixed and key in now:
            out.append(Choice(key, now[key], SET, saved.get(key)))
        elif key in saved:
            out.append(Choice(key, saved[key], SAVED))
        elif key in now:
            out.append(Choice(key, now[key], GRAPH))
    return out


class Restorer:
    """Applies a saved show through the control ports at start, then keeps ``live`` up to date from the ports'
    events; ``changed()`` is called after each such update (the show node saves soon after).

    Args:
        ports: ``pattern``, ``minecraft``, ``djs``, ``browser`` (the optional ones may be unbound).
        live: The show file's ``live`` mapping, updated in place.
        log: The node's logger.
        changed: Called after an event changed ``live``.
    """

    def __init__(self, ports: Mapping[str, ControlPort], live: dict[str, Any], log: Any,
                 changed: Callable[[], None]) -> None:
        self.ports, self.live, self.log, self.changed = ports, live, log, changed

    async def restore(self, saved: Mapping[str, Any], path: str,
                      apply_pattern: Callable[[dict[str, Any], str], Awaitable[None]]) -> None:
        """Apply ``saved`` (a show file's ``live``) by the precedence rules, logging each value and its source;
        ``apply_pattern(settings, source)`` puts pattern settings on screen (and logs each)."""
        pattern = self.ports["pattern"]
        choices = choose(store.KEPT, await pattern.state(), saved, await pattern.pinned())
        for c in choices:
            if c.source != SAVED:
                self.log.info("%s = %r (%s)", c.key, c.value, c.describe(path))
        await apply_pattern({c.key: c.value for c in choices if c.source == SAVED}, f"restored from {path}")
        mc, djs, browser = self.ports["minecraft"], self.ports["djs"], self.ports["browser"]
        if mc:
            (zone,) = choose(("zone",), await mc.info(), saved, await mc.pinned())
            await self._restore(zone, path, lambda v: mc.set_zone(v))
        if djs and "dj_order" in saved:
            await self._restore(Choice("dj_order", saved["dj_order"], SAVED), path, lambda v: djs.set_order(v))
        if browser and "banners" in saved:
            banners = Choice("banners", saved["banners"], SAVED)
            await self._restore(banners, path, lambda v: browser.set_banners(v), f"{len(banners.value or {})} DJ profiles")

    async def _restore(self, c: Choice, path: str, setter: Callable[[Any], Awaitable[Any]], shown: str | None = None) -> None:
        value = shown or repr(c.value)
        if c.source != SAVED:
            self.log.info("%s = %s (%s)", c.key, value, c.describe(path))
            return
        try:
            await setter(c.value)
            self.log.info("%s = %s (%s)", c.key, value, c.describe(path))
        except (ValueError, TypeError, TimeoutError) as exc:
            self.log.warning("%s %s not applied (restored from %s): %s", c.key, value, path, exc)

    async def follow(self) -> None:
        """Read what the nodes hold now into ``live``, then keep it by their events."""
        pattern, mc, djs, browser = (self.ports[k] for k in ("pattern", "minecraft", "djs", "browser"))
        self.live.update(store.keep(await pattern.state()))
        pattern.subscribe(self._pattern, ("changed",))
        if mc:
            self.live["zone"] = (await mc.info())["zone"]
            mc.subscribe(self._zone, ("link", "zone"))
        if djs:
            self.live["dj_order"] = (await djs.order())["preferred"]
            djs.subscribe(self._order, ("order",))
        if browser:
            self.live["banners"] = dict(await browser.banner_profiles())
            browser.subscribe(self._banners, ("banners",))

    def _pattern(self, event: Event) -> None:
        self._update(store.keep(dict(event.data)))

    def _zone(self, event: Event) -> None:
        if event.provider == self.ports["minecraft"].provider.node:  # the first link's zone is the show's
            self._update({"zone": event.data["zone"]})

    def _order(self, event: Event) -> None:
        if event.provider == self.ports["djs"].provider.node:
            self._update({"dj_order": list(event.data["preferred"])})

    def _banners(self, event: Event) -> None:
        if event.provider == self.ports["browser"].provider.node:
            self._update({"banners": {dj: dict(p) for dj, p in event.data["profiles"].items()}})

    def _update(self, values: dict[str, Any]) -> None:
        if any(self.live.get(k) != v for k, v in values.items()):
            self.live.update(values)
            self.changed()
