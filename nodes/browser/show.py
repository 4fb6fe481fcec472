"""The browser node's side of the control plane: the show as its control ports see it.

:class:`ShowLinks` is mixed into :class:`~.server.BrowserServer`: it holds the
node's control ports (``pattern``, ``djs``, ``minecraft``, ``presets``, ``show``, ``midi``), keeps
what their events say (the Minecraft link's state, the live DJ), relays their
events to browsers, and offers the command handlers the calls they make
(pattern state, syncs to DJs, banners to the plugin) and the ``vj_state`` hello.
"""

from __future__ import annotations

import collections

from typing import TYPE_CHECKING, Any, Callable, Mapping

from mcav.nodes.interfaces import LinkDown
from mcav.runtime.control import ControlPort, Event
from mcav.runtime.health import health_stats

from . import protocol as P
from .banners import BANNER_FIELDS, MAX_BANNER_PROFILES, check_profile

if TYPE_CHECKING:
    from .clients import Client

__all__ = ["ShowLinks"]

#: The pattern's events that are browser messages of their own (WIRE.md 3.4), and how each is worded.
_ANNOUNCED: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "preset": lambda d: P.preset_changed(d["preset"], d["settings"]),
    "effect": lambda d: P.effect_triggered(d["effect"], d.get("enabled")),
}


class ShowLinks:
    """Control ports and what they tell; needs ``ctx``, ``clients``, ``broadcast``, ``banners``, ``audio_settings``."""

    ctx: Any
    clients: set[Client]
    banners: dict[str, dict[str, Any]]
    audio_settings: dict[str, float]

    @property
    def operator_auth(self) -> bool:
        raise NotImplementedError

    def broadcast(self, text: str, exclude: Client | None = None, operators_only: bool = False) -> None:
        raise NotImplementedError

    def _relay_event(self, msg: dict[str, Any]) -> None:
        raise NotImplementedError

    def init_show(self, ctx: Any) -> None:
        self.pattern: ControlPort = ctx.control("pattern")
        self.djs: ControlPort = ctx.control("djs")
        self.mc: ControlPort = ctx.control("minecraft")
        self.presets: ControlPort = ctx.control("presets")
        self.show: ControlPort = ctx.control("show")
        self.midi: ControlPort = ctx.control("midi")
        #: The Minecraft link's ``info()``, kept by its ``link`` events.
        self.mc_info: dict[str, Any] = {"connected": False, "zone": "main"}
        #: The roster's ``live()``, kept by its ``live`` events.
        self.live_dj: dict[str, Any] = {"dj_id": None, "dj_name": None, "direct": False}
        #: The pattern's quantised changes waiting for their beat, as last sent to browsers.
        self.quantize_pending: list[dict[str, Any]] = []
        #: The pattern on screen as browsers were last told (``pattern_changed``), and the pattern list.
        self._shown_pattern: str | None = None
        #: The entity count as browsers were last told (``config_update``).
        self._shown_entities: int | None = None
        #: The pattern's beat rate as browsers were last told (``beat_rate_changed``; None: the pattern has none).
        self._shown_beat_rate: float | None = None
        self._pattern_list: list[dict[str, Any]] = []
        self._dj_cache: dict[str, Any] = {}
        self._dj_cache_frame = -1_000_000
        #: State events seen per control port (``live``, ``link``/``zone``, ``changed``): see follow_show().
        self._updates: collections.Counter[str] = collections.Counter()

    async def follow_show(self) -> None:
        """Read the roster's and the link's state once, then keep them by their events (on the I/O loop)."""
        # Subscribe first, then read, and keep the read only if no event came meanwhile: subscribing after the
        # read would lose a change made between the two; an event during the read is newer than the read.
        if self.djs:
            self.djs.subscribe(self._dj_event, ("message", "live"))
            seen = self._updates["djs"]
            live = await self.djs.live()
            if self._updates["djs"] == seen:
                self.live_dj = live
        if self.mc:
            self.mc.subscribe(self._mc_event, ("link", "message", "zone"))
            seen = self._updates["mc"]
            info = await self.mc.info()
            if self._updates["mc"] == seen:
                self.mc_info = info
        if self.show:
            self.show.subscribe(self._show_event)
        if self.midi:
            self.midi.subscribe(self._midi_event, ("learned",))
        if self.pattern:
            self.pattern.subscribe(self._pattern_event, ("changed", "beat", "preset", "bands", "effect"))
            self._pattern_list = await self.patterns()
            seen = self._updates["pattern"]
            st = await self.pattern_state()
            if self._updates["pattern"] == seen:
                self._shown_pattern, self._shown_entities = st.get("pattern"), st.get("entity_count")
                self._shown_beat_rate = st.get("beat_rate")

    def _pattern_event(self, event: Event) -> None:
        """Tell browsers when the pattern switches — whoever asked (a browser, a scene, a cue, OSC), and for a
        quantised switch when it lands — when the entity count, the beat rate or the quantised changes waiting (or
        their beats left) change, and of presets, band sensitivities and effects set. These come from the pattern's
        events, so an edge's browsers get them too (redis_sub re-publishes the VJ's), each once."""
        if event.name == "bands":
            self._bands_changed(event.data["band_sensitivity"], event.data.get("origin"))
            return
        if event.name in _ANNOUNCED:
            self.broadcast(_ANNOUNCED[event.name](event.data))
            return
        if event.name == "changed":
            self._updates["pattern"] += 1
        count = event.data.get("entity_count")
        if event.name == "changed" and isinstance(count, int) and count != self._shown_entities:
            self._shown_entities = count
            self.broadcast(P.config_update(count, self.mc_info.get("zone", "main") if self.mc else "main",
                                           event.data.get("pattern")))
        shown = event.data.get("pattern")
        if event.name == "changed" and isinstance(shown, str) and shown != self._shown_pattern:
            self._shown_pattern = shown
            self.broadcast(P.pattern_changed(shown, self._pattern_list))
        rate = event.data.get("beat_rate")
        # Only on a change: `changed` comes for every setting, and the pages need this one only when it moves.
        if event.name == "changed" and isinstance(rate, (int, float)) and rate != self._shown_beat_rate:
            self._shown_beat_rate = rate
            self.broadcast(P.beat_rate_changed(rate))
        pending = event.data.get("pending")
        if isinstance(pending, list) and pending != self.quantize_pending:
            self.quantize_pending = pending
            self.broadcast(P.quantize_pending(pending))

    def _bands_changed(self, bands: list[float], origin: str | None) -> None:
        """``band_sensitivity_changed`` to every page but the one that set these bands (``origin``)."""
        text = P.band_sensitivity_changed(bands)
        for c in list(self.clients):
            if c.origin != origin:
                c.send(text)

    @property
    def shown_pattern(self) -> str | None:
        """The pattern on screen as browsers were last told (``pattern_changed``)."""
        return self._shown_pattern

    def announce_pattern(self, key: str) -> None:
        """Send ``pattern_changed`` for ``key`` to every browser (a re-selection: no ``changed`` event comes, but
        the original server answers every ``set_pattern`` with it, WIRE.md 3.3)."""
        self.broadcast(P.pattern_changed(key, self._pattern_list))

    def _dj_event(self, event: Event) -> None:
        if event.name == "live":
            self._updates["djs"] += 1
            self.live_dj = dict(event.data)
            self._dj_cache = {**self._dj_cache, "active_dj": self.live_dj["dj_id"]}
            self._dj_cache_frame = -1_000_000  # its figures at the next frame
        else:
            self._relay_event(dict(event.data))

    def _show_event(self, event: Event) -> None:
        if event.name == "scenes":
            self.broadcast(P.scenes_list(event.data["scenes"]))
        elif event.name == "cues":
            self.broadcast(P.cues(event.data))
        else:
            self.broadcast(P.scene_loaded(event.data["name"]))

    def _midi_event(self, event: Event) -> None:
        """Learn mode bound a note or CC: operators get ``midi_learned``, then the map as it is now."""
        self.broadcast(P.midi_learned(event.data), operators_only=True)
        self.ctx.spawn(self.announce_midi(), name="midi map")

    async def midi_state(self) -> str:
        """``midi_map`` for an operator: the map and learn mode (``available`` false without a midi node)."""
        if not self.midi:
            return P.midi_map(False)
        mapping = dict(await self.midi.mapping())
        return P.midi_map(True, {k: v for k, v in mapping.items() if k != "learning"}, mapping.get("learning"))

    async def announce_midi(self) -> None:
        """Send ``midi_map`` to every operator (learn mode started, ended or bound something)."""
        self.broadcast(await self.midi_state(), operators_only=True)

    def _mc_event(self, event: Event) -> None:
        if event.name in ("link", "zone"):
            self._updates["mc"] += 1
        if event.name == "link":
            self.mc_info = dict(event.data)
            self.broadcast(P.minecraft_status(bool(event.data.get("connected"))))
        elif event.name == "zone":  # set_zone (a browser's, or a restored show's)
            self.mc_info = dict(event.data)
            self.broadcast(P.config_update(self._shown_entities, self.mc_info.get("zone", "main"), self._shown_pattern))
        else:
            self._relay_event(dict(event.data))

    def _dj_fields(self, seq: int) -> dict[str, Any]:
        """The live DJ's id and link figures for ``state``; the figures are re-read every 15 frames (¼ s)."""
        if not self.djs:
            return {}
        if seq - self._dj_cache_frame >= 15 or seq < self._dj_cache_frame:
            self._dj_cache_frame = seq
            self.ctx.spawn(self._refresh_dj_fields(), name="dj figures")
        return self._dj_cache

    async def _refresh_dj_fields(self) -> None:
        active = self.live_dj["dj_id"]
        entry: dict[str, Any] = next((e for e in await self.djs.roster() if e.get("dj_id") == active), {})
        self._dj_cache = {"active_dj": active, **{k: entry.get(k) for k in
                                                  ("latency_ms", "ping_ms", "pipeline_latency_ms", "fps")}}

    def need_pattern(self) -> ControlPort:
        if not self.pattern:
            raise ValueError("this graph has no pattern node")
        return self.pattern

    def need_dj(self) -> ControlPort:
        if not self.djs:
            raise ValueError("this graph has no dj_server node")
        return self.djs

    async def pattern_state(self) -> dict[str, Any]:
        return await self.pattern.state() if self.pattern else {}

    async def patterns(self) -> list[dict[str, Any]]:
        return await self.pattern.patterns() if self.pattern else []

    async def tell_djs(self, call: str, *args: Any) -> None:
        """A ``sync_*`` call of the DJ roster (tell every DJ), if the graph has DJs."""
        if self.djs:
            await self.djs.call(call, *args)

    async def config_changed(self) -> None:
        """Entity count or zone changed: tell DJs (``config_sync``); browsers get ``config_update`` from the
        pattern's ``changed`` event (entity count) or the link's ``zone`` event."""
        st = await self.pattern_state()
        zone = self.mc_info.get("zone", "main") if self.mc else "main"
        await self.tell_djs("sync_config", st.get("entity_count", 16), zone)

    def banners_changed(self) -> None:
        """A banner profile was saved or got a logo: tell the ``endpoint`` port's subscribers (a show keeps them)."""
        self.ctx.publish("endpoint", "banners", {"profiles": self.banners})

    def banner_profiles(self) -> dict[str, dict[str, Any]]:
        """Every kept banner profile, logo pixels included (BrowserEndpoint)."""
        return {dj: dict(prof) for dj, prof in self.banners.items()}

    def set_banners(self, profiles: dict[str, Any]) -> int:
        """Add (or replace) banner profiles, e.g. a restored show's; returns how many. Each is checked first:
        ValueError names the first bad one and nothing changes."""
        if not isinstance(profiles, dict):
            raise ValueError(f"banner profiles are a mapping of DJ id to profile, got {type(profiles).__name__}")
        checked = {}
        for dj, prof in profiles.items():
            if not isinstance(dj, str) or not 1 <= len(dj) <= 64 or not dj.isprintable():
                raise ValueError(f"banner profile {str(dj)[:64]!r}: a DJ id is 1-64 printable characters")
            try:
                checked[dj] = check_profile(prof)
            except ValueError as exc:
                raise ValueError(f"banner profile of {dj!r}: {exc}") from None
        if len({*self.banners, *checked}) > MAX_BANNER_PROFILES:
            raise ValueError(f"at most {MAX_BANNER_PROFILES} banner profiles are kept")
        self.banners.update(checked)
        return len(checked)

    def banner_summaries(self) -> dict[str, dict[str, Any]]:
        return {dj: {**{k: v for k, v in prof.items() if k != "image_pixels"}, "has_image": "image_pixels" in prof}
                for dj, prof in self.banners.items()}

    async def push_banner(self, dj_id: str) -> None:
        """Send the active DJ's banner to the plugin (``banner_config``), if connected."""
        if not self.djs or self.live_dj["dj_id"] != dj_id or not self.mc or not self.mc_info.get("connected"):
            return
        prof = self.banners.get(dj_id, {})
        msg = {"type": "banner_config", **{k: prof[k] for k in BANNER_FIELDS if k in prof}}
        if "image_pixels" in prof:
            msg["image_pixels"] = prof["image_pixels"]
        try:
            await self.mc.forward(msg)
        except (LinkDown, TimeoutError) as exc:
            self.ctx.log.info("banner_config not sent: %s", exc)

    async def vj_state(self, client: Client | None = None) -> str:
        st = await self.pattern_state()
        djs = self.djs
        return P.vj_state(
            patterns=await self.patterns(), current_pattern=st.get("pattern"), entity_count=st.get("entity_count"),
            zone=self.mc_info.get("zone", "main") if self.mc else "main",
            dj_roster=await djs.roster() if djs else [], active_dj=self.live_dj["dj_id"],
            health_stats=health_stats(self.ctx.metrics_snapshot()),
            minecraft_connected=bool(self.mc and self.mc_info.get("connected")),
            pending_djs=await djs.pending() if djs else [], banner_profiles=self.banner_summaries(),
            preset=st.get("preset"), band_sensitivity=st.get("band_sensitivity"), blackout=st.get("blackout"),
            freeze=st.get("freeze"), transition=st.get("transition"), audio_settings=self.audio_settings,
            operator_auth=self.operator_auth, operator=bool(client is not None and client.operator),
            dj_server=bool(djs), show=bool(self.show), quantize_pending=st.get("pending", []),
            beat_rate=st.get("beat_rate"),
        )
