"""The control interfaces mcav's node kinds provide and require.

Shared vocabulary of the node families (like :mod:`mcav.nodes.presets`): a
family implements or calls these, never another family's classes. Every call
takes and returns plain data (numbers, strings, lists, dicts) and every event
carries plain data, so an interface can travel over a process boundary
(Redis, OSC, MIDI) unchanged. ``mcav nodes KIND`` lists what a kind provides
and requires; ``mcav graph`` draws the links (dashed).

=====================  ==============  ==============================================
interface              provided by     required by
=====================  ==============  ==============================================
``pattern_control``    ``pattern``     ``browser``, ``minecraft``, ``dj_server``,
                                       ``admin_http``, ``show``, ``osc``
``analysis_preset``    ``fft``         ``browser``, ``dj_relay`` (every provider)
``dj_roster``          ``dj_server``   ``browser``, ``minecraft``, ``show``
``minecraft_link``     ``minecraft``   ``browser``, ``dj_server`` (every provider),
                                       ``dj_relay``, ``show``
``browser_endpoint``   ``browser``     ``admin_http``, ``show``
``show_control``       ``show``        ``browser``, ``osc``, ``midi``
``midi_control``       ``midi``        ``osc`` (``/mcav/midi/learn``), ``browser``
                                       (the admin panel's learn card)
=====================  ==============  ==============================================
"""

from __future__ import annotations

from typing import Any

from mcav.runtime.control import Interface

__all__ = [
    "AnalysisPreset",
    "BrowserEndpoint",
    "DJRoster",
    "LinkDown",
    "MidiControl",
    "MinecraftLink",
    "PatternControl",
    "ShowControl",
]


class LinkDown(ConnectionError):
    """The provider's own network link (e.g. to the Minecraft plugin) is down."""


class PatternControl(Interface):
    """What is on screen: pattern, entity count, effects, band sensitivity, blackout, freeze, transition."""

    name = "pattern_control"
    events = {
        "changed": "the pattern or a setting changed; data = state()",
        "beat": "a beat of the tracker's grid; data = {index, pending} (beats since the grid appeared; the "
                "quantised changes still waiting, as in state())",
        "drop": "bass came back strongly after a breakdown (mcav.nodes.patterns.drop); data = {breakdown_bars, "
                "breakdown_s}",
        # The three below are what browsers are told of an operator's change (WIRE.md 3.4), published by the
        # node that owns the state so they travel like `changed` (over Redis to every edge, once each).
        "preset": "a preset was applied (set_preset, or set_band_sensitivities with `preset`); data = {preset, "
                  "settings} (the AudioConfig fields, as preset_changed)",
        "bands": "the band sensitivities were set (set_band_sensitivity/-ies); data = {band_sensitivity, origin} "
                 "(the caller's `origin` tag or None: a page is not echoed its own change, also across Redis)",
        "effect": "an effect was triggered or blackout/freeze set; data = {effect} (+ enabled for blackout/freeze "
                  "set by set_blackout/set_freeze)",
    }

    def patterns(self) -> list[dict[str, Any]]:
        """Every pattern: ``{id, name, description}`` in MCAV order."""
        ...

    def state(self) -> dict[str, Any]:
        """``pattern``, ``entity_count``, ``preset``, ``band_sensitivity``, ``blackout``, ``freeze``,
        ``transition`` ``{duration, easing}``, ``base_scale``, ``max_scale``, ``beat_boost``, ``beat_rate``, ``pending``
        (quantised changes waiting: ``{change, quantize, beats_left}``)."""
        ...

    def pinned(self) -> list[str]:
        """The :meth:`state` keys the command line set (``--set``): a value saved by an earlier run must not
        replace them."""
        ...

    def set_pattern(self, key: str, quantize: str | None = None) -> None:
        """Crossfade to pattern ``key`` — now, or on the next ``beat``/``bar``/``phrase`` (``quantize``;
        None: the node's default). ValueError names the valid keys."""
        ...

    def set_entity_count(self, n: int) -> None:
        """Draw ``n`` entities (1-1024)."""
        ...

    def set_band_sensitivity(self, band: int, value: float, origin: str | None = None) -> None:
        """Sensitivity 0-2 of band 0-4; ``origin``: an opaque tag of who asked, carried in the ``bands`` event."""
        ...

    def set_band_sensitivities(self, values: list[float], preset: dict[str, Any] | None = None,
                               origin: str | None = None) -> None:
        """All five sensitivities at once; ``preset``: the custom preset (AudioConfig fields) they come from,
        announced in a ``preset`` event; ``origin`` as for :meth:`set_band_sensitivity`."""
        ...

    def set_preset(self, name: str) -> None:
        """Apply a named preset's band sensitivities."""
        ...

    def trigger_effect(self, effect: str, intensity: float = 1.0, duration: float = 0.5,
                       quantize: str | None = None) -> None:
        """Start a one-shot effect; ``duration`` in s; ``quantize`` as for :meth:`set_pattern`."""
        ...

    def set_blackout(self, enabled: bool | None = None) -> bool:
        """Blackout on/off (None toggles); returns the new state."""
        ...

    def set_freeze(self, enabled: bool | None = None) -> bool:
        """Freeze on/off (None toggles); returns the new state."""
        ...

    def set_transition(self, duration: float, easing: str) -> None:
        """Crossfade length in s and its easing."""
        ...

    def set_scales(
        self, base_scale: float | None = None, max_scale: float | None = None, beat_boost: float | None = None
    ) -> None:
        """Entity scales (0-4 blocks, base ≤ max) and beat boost (1-4); None keeps a value."""
        ...

    def set_beat_rate(self, rate: float) -> None:
        """The beats the visuals follow, as a multiple of the tracker's: 0.5 (every other beat, for a tracker
        locked at double time), 1 (as tracked) or 2 (also half way between beats, for one locked at half
        time). ValueError names the valid rates. Setting 0.5, even again, counts from the next tracked beat:
        it is flagged and the one after it is not (set it just before a downbeat to choose which)."""
        ...


class AnalysisPreset(Interface):
    """The audio analysis preset of an ``fft`` node (attack, release, AGC, band weights)."""

    name = "analysis_preset"

    def set_preset(self, name: str) -> None:
        """Switch to preset ``name``. ValueError names the presets."""
        ...


class DJRoster(Interface):
    """Remote DJs: the roster, the live DJ, approvals, connect codes, and messages to every DJ."""

    name = "dj_roster"
    events = {
        "message": "a browser-facing roster message (WIRE.md 3.4: dj_roster, dj_connected, …); data = the message",
        "live": "the live DJ or its direct mode changed; data = live()",
        "order": "the queue or the preferred order changed; data = order()",
    }

    def roster(self) -> list[dict[str, Any]]:
        """WIRE.md 3.1 ``dj_roster`` entries in queue order (fps, latency, …)."""
        ...

    def pending(self) -> list[dict[str, Any]]:
        """DJs waiting for approval: ``{dj_id, dj_name, waiting_since, direct_mode}``."""
        ...

    def live(self) -> dict[str, Any]:
        """``{dj_id, dj_name, direct}``: the live DJ (``dj_id`` None if nobody) and whether it draws in
        Minecraft itself (direct mode reporting ``mc_connected``; then no one else may)."""
        ...

    async def set_active(self, dj_id: str) -> None:
        """Make ``dj_id`` the live DJ."""
        ...

    async def kick(self, dj_id: str) -> None:
        """Disconnect ``dj_id``."""
        ...

    async def approve(self, dj_id: str) -> None:
        """Let a connect-code DJ in."""
        ...

    async def deny(self, dj_id: str) -> None:
        """Refuse a connect-code DJ."""
        ...

    def reorder(self, dj_id: str, new_position: int) -> None:
        """Move ``dj_id`` in the failover queue."""
        ...

    def order(self) -> dict[str, Any]:
        """``{queue, preferred}``: connected DJ ids in queue order; every DJ seen, in the operator's order
        (the disconnected ones where they were), which is where a DJ rejoins the queue."""
        ...

    def set_order(self, dj_ids: list[str]) -> None:
        """Restore a preferred order (e.g. a saved show's): DJs join the queue by it."""
        ...

    def generate_code(self, ttl_minutes: float | None = None) -> dict[str, Any]:
        """A new single-use connect code ``{code, expires_at, ttl_minutes}``."""
        ...

    def codes(self) -> list[dict[str, Any]]:
        """The codes still valid."""
        ...

    def revoke_code(self, code: str) -> None:
        """Invalidate ``code``."""
        ...

    async def sync_pattern(self, pattern: str, config: dict[str, Any]) -> None:
        """Tell every DJ the pattern changed (``pattern_sync``)."""
        ...

    async def sync_preset(self, preset: str | dict[str, Any]) -> None:
        """Tell every DJ the analysis preset (``preset_sync``)."""
        ...

    async def sync_effect(self, effect: str) -> None:
        """Tell every DJ an effect fired (``effect_triggered``)."""
        ...

    async def sync_config(self, entity_count: int, zone: str) -> None:
        """Tell every DJ the entity count or zone changed (``config_sync``)."""
        ...


class MinecraftLink(Interface):
    """The link to one MCAV Minecraft plugin: its state, and plugin commands passed through."""

    name = "minecraft_link"
    events = {
        "link": "the link went up or down; data = info()",
        "message": "an unsolicited plugin message (e.g. voice_status); data = the message",
        "zone": "set_zone changed the zone; data = info()",
    }

    def info(self) -> dict[str, Any]:
        """``{connected, host, port, zone}``."""
        ...

    def pinned(self) -> list[str]:
        """``["zone"]`` when the command line set the zone (``--set``), else ``[]``: a saved zone must not
        replace it."""
        ...

    async def forward(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """Send a plugin command; its reply (None for fast-path types). LinkDown when not connected."""
        ...

    async def set_zone(self, zone: str) -> None:
        """Draw in ``zone`` from now on (the pool is set up there)."""
        ...


class BrowserEndpoint(Interface):
    """Where the pages' WebSocket is and how the pages should talk to it; the DJ banner profiles it keeps."""

    name = "browser_endpoint"
    events = {"banners": "a DJ banner profile was saved or got a logo; data = {profiles: banner_profiles()}"}

    def endpoint(self) -> dict[str, Any]:
        """``{ws_port, operator_auth, commands_per_s}``."""
        ...

    def banner_profiles(self) -> dict[str, dict[str, Any]]:
        """DJ id → the banner profile kept for it (``banner_config`` fields, ``image_pixels`` if a logo)."""
        ...

    def set_banners(self, profiles: dict[str, Any]) -> int:
        """Add (or replace) banner profiles (e.g. a restored show's); returns how many. ValueError names the
        first bad one, and then nothing changes."""
        ...


class ShowControl(Interface):
    """The show's saved state and its scenes (named snapshots of what is on screen)."""

    name = "show_control"
    events = {
        "scenes": "the scene list changed; data = {scenes}",
        "recalled": "a scene was recalled; data = {name}",
        "cues": "the cue list moved; data = cues()",
    }

    def scenes(self) -> list[dict[str, Any]]:
        """``[{name, pattern, preset, entity_count, …}]`` sorted by name."""
        ...

    async def save_scene(self, name: str) -> dict[str, Any]:
        """Save what is on screen as scene ``name`` (replacing one of that name); returns it."""
        ...

    async def recall_scene(self, name: str, quantize: str | None = None) -> dict[str, Any]:
        """Put scene ``name`` on screen (the pattern crossfades, on the beat ``quantize`` says); ValueError
        naming the scenes if unknown."""
        ...

    def rename_scene(self, name: str, new_name: str) -> None:
        """Rename a scene."""
        ...

    def delete_scene(self, name: str) -> None:
        """Forget a scene."""
        ...

    def export_scenes(self) -> str:
        """Every scene as a YAML document a VJ can edit and version."""
        ...

    def import_scenes(self, text: str) -> int:
        """Add (or replace) the scenes of a YAML document; returns how many. ValueError naming the problem."""
        ...

    def cues(self) -> dict[str, Any]:
        """The cue list: ``{cues, position, current, next}`` (empty without a cue file)."""
        ...

    async def go(self) -> dict[str, Any]:
        """Fire the next cue; returns :meth:`cues`. ValueError at the end of the list."""
        ...

    async def back(self) -> dict[str, Any]:
        """Step back one cue and fire it again; returns :meth:`cues`."""
        ...


class MidiControl(Interface):
    """A MIDI input's map (which note or controller does what) and its learn mode."""

    name = "midi_control"
    events = {"learned": "learn mode bound a note or controller; data = {action, note or cc, channel, file}"}

    def mapping(self) -> dict[str, Any]:
        """``{file, notes: {number: action}, cc: {number: action}, channel, learning}`` (``learning``: the
        action waiting for a note or CC, or None)."""
        ...

    def learn(self, action: str) -> dict[str, Any]:
        """Bind the next note or CC received to ``action`` (e.g. ``"pattern bars"``, ``"band 0"``, ``"go"``;
        a fader action waits for a CC) and save the map; returns ``{learning: action}``. ValueError naming
        the actions if ``action`` is not one."""
        ...

    def cancel_learn(self) -> None:
        """Stop waiting for a note or CC to learn."""
        ...
