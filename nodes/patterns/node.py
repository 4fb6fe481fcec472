"""The ``pattern`` node kind: Features in, a fixed-size Scene out, with a run-time control API.

It provides :class:`~mcav.nodes.interfaces.PatternControl` on its ``control``
port. Frames are processed on a worker thread; control calls arrive from the
I/O thread through the runtime (which holds this node's lock around each
``process()``) and take the node's own lock too, so a command lands between
two frames, never in the middle of one. Every control method checks all its
arguments first and raises :class:`ValueError` naming the bad value and what is
valid, before anything changes; each change publishes ``changed`` with the new
:meth:`state`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Sequence

from mcav.nodes.interfaces import PatternControl
from mcav.nodes.presets import PRESET_NAMES, band_sensitivities, get_preset, preset_name
from mcav.runtime.frames import Features, Frame, Scene
from mcav.runtime.node import NodeContext, SyncNode
from mcav.runtime.params import param

from . import checks
from .beatrate import BeatRate, check_rate
from .drop import DropDetector
from .easing import EASINGS
from .effects import DURATION_MAX, INTENSITY_MAX, TIMED_EFFECTS
from .quantize import QUANTIZE, Quantizer
from .registry import PATTERNS, describe
from .stage import Stage

__all__ = ["PatternNode"]

MAX_ENTITIES = 1024
#: Largest frame-clock step a pattern sees (s), so a pause does not make it jump.
MAX_DT = 0.25
TRANSITION_MAX = 30.0
SCALE_MAX = 4.0
BOOST_MAX = 4.0


@dataclass
class Transition:
    """How a pattern change crossfades."""

    duration: float = param(
        1.0, doc="crossfade time when the pattern changes (0 = instant)", unit="s", min=0, max=TRANSITION_MAX
    )
    easing: str = param("smoothstep", doc="crossfade easing", choices=tuple(EASINGS))


class PatternNode(SyncNode):
    """Turns features into a scene of N entities with one of the 27 MCAV patterns, effects and crossfades."""

    kind = "pattern"

    @dataclass
    class Params:
        pattern: str = param("spectrum", doc="pattern key (`mcav patterns` lists them)", choices=tuple(PATTERNS))
        entities: int = param(64, doc="number of entities block_0…block_{N-1}", min=1, max=MAX_ENTITIES)
        beat_boost: float = param(1.5, doc="scale multiplier at the peak of a beat", min=1, max=BOOST_MAX)
        base_scale: float = param(0.2, doc="entity scale at silence", unit="blocks", min=0, max=SCALE_MAX)
        max_scale: float = param(1.0, doc="entity scale at a full band", unit="blocks", min=0, max=SCALE_MAX)
        band_sensitivity: list[float] | None = param(
            None, doc="5 per-band multipliers 0-2 (null = the preset's)", min=0, max=2
        )
        preset: str = param("auto", doc="MCAV preset whose band sensitivity applies", choices=PRESET_NAMES)
        transition: Transition = param(Transition(), doc="crossfade on pattern changes: {duration, easing}")
        quantize: str = param("off", doc="when pattern switches and effects land unless they say: off (at once), "
                              "beat, bar (4 beats) or phrase (16)", choices=QUANTIZE)
        beat_rate: float = param(1.0, doc="beats the visuals follow per tracked beat: 0.5 (every other: a tracker "
                                 "at double time), 1 or 2 (also half way: a tracker at half time)", min=0.5, max=2)

        def __post_init__(self) -> None:
            if self.band_sensitivity is not None and len(self.band_sensitivity) != 5:
                got = len(self.band_sensitivity)
                raise ValueError(f"band_sensitivity needs 5 values (bass, low, mid, high, air), got {got}")
            if self.base_scale > self.max_scale:
                raise ValueError(f"base_scale {self.base_scale} is above max_scale {self.max_scale}")
            check_rate(self.beat_rate)

    inputs = {"in": Features}
    outputs = {"out": Scene}
    provides = {"control": PatternControl}

    def __init__(self, params: Params, ctx: NodeContext) -> None:
        super().__init__(params, ctx)
        p = params
        self._lock = threading.Lock()
        self._preset = p.preset
        sens = p.band_sensitivity if p.band_sensitivity is not None else list(get_preset(p.preset).band_sensitivity)
        self._stage = Stage(
            p.pattern, p.entities, sens, p.base_scale, p.max_scale, p.beat_boost, p.transition.duration, p.transition.easing
        )
        self._t_prev: int | None = None
        self._last: Features | None = None  # for status(): what the visuals react to now
        self._beats = 0
        self._quantizer = Quantizer()
        self._drops = DropDetector()
        self._rate = BeatRate(p.beat_rate)

    # --- frames ----------------------------------------------------------------

    def process(self, frame: Frame, port: str) -> Scene:
        assert isinstance(frame, Features)
        t = frame.t_capture
        dt = 0.0 if self._t_prev is None else min(MAX_DT, max(0.0, (t - self._t_prev) / 1e9))
        self._t_prev = t
        with self._lock:
            frame = self._rate.apply(frame)  # everything below, the grid included, follows the chosen beat rate
            due = self._quantizer.frame(frame)
            for change in due:  # quantised changes land in the frame of their beat
                change.apply()
            scene = self._stage.render(frame, dt)
            beat = {"index": self._quantizer.beat_index, "pending": self._quantizer.describe()} if frame.beat else None
        self._last = frame
        self._beats += bool(frame.beat)
        if due:
            self._changed()
        if beat is not None and self._quantizer.grid:
            self.ctx.publish("control", "beat", beat)
        drop = self._drops.update(t / 1e9, float(frame.bands[0]) if len(frame.bands) else 0.0, frame.bpm)
        if drop is not None:
            self.ctx.publish("control", "drop", {"breakdown_bars": round(drop.breakdown_bars, 2),
                                                 "breakdown_s": round(drop.breakdown_s, 3)})
        return scene

    def reconfigure(self, params: Params) -> bool:
        """Apply edited graph parameters live (``mcav run --watch``): pattern, entities, scales, sensitivity,
        preset, transition, beat rate and default quantize; each goes through the control API, so it is checked."""
        old, self.params = self.params, params
        if params.entities != old.entities:
            self.set_entity_count(params.entities)
        if (params.base_scale, params.max_scale, params.beat_boost) != (old.base_scale, old.max_scale, old.beat_boost):
            self.set_scales(params.base_scale, params.max_scale, params.beat_boost)
        if params.preset != old.preset:
            self.set_preset(params.preset)
        if params.band_sensitivity is not None and params.band_sensitivity != old.band_sensitivity:
            self.set_band_sensitivities(params.band_sensitivity)
        if params.transition != old.transition:
            self.set_transition(params.transition.duration, params.transition.easing)
        if params.beat_rate != old.beat_rate:
            self.set_beat_rate(params.beat_rate)
        if params.pattern != old.pattern:
            self.set_pattern(params.pattern)
        return True

    def status(self) -> dict[str, Any]:
        """Pattern, entity count and the audio it reacts to (bands, peak, bpm, confidence, beats so far)."""
        s, f = self._stage, self._last
        out: dict[str, Any] = {"pattern": s.key, "pattern_name": PATTERNS[s.key].name, "entities": s.n, "fading": s.fade is not None,
                               "nonfinite_frames": s.nonfinite_frames, "beats": self._beats}
        if f is not None:
            out.update(bands=[round(float(b), 3) for b in f.bands], peak=round(float(f.peak), 3),
                       bpm=round(float(f.bpm), 1), tempo_confidence=round(float(f.tempo_confidence), 2))
        return out

    # --- control API (any thread) ---------------------------------------------

    @staticmethod
    def patterns() -> list[dict[str, Any]]:
        """``[{"id", "name", "description"}]`` in MCAV registry order (admin number keys 1-8 = the first eight)."""
        return describe()

    def state(self) -> dict[str, Any]:
        """The current settings (what the browser node reports to admin pages)."""
        with self._lock:
            s = self._stage
            a = s.audio
            return {
                "pattern": s.key,
                "entity_count": s.n,
                "band_sensitivity": [float(v) for v in s.sensitivity],
                "preset": self._preset,
                "blackout": s.blackout,
                "freeze": s.frozen,
                "transition": {"duration": s.transition, "easing": s.easing},
                "effects": list(s.effects),
                "base_scale": a.base_scale,
                "max_scale": a.max_scale,
                "beat_boost": a.beat_boost,
                "beat_rate": self._rate.rate,
                "pending": self._quantizer.describe(),
            }

    #: The state() keys each parameter sets (a preset sets the band sensitivities too).
    _PARAM_KEYS = {"pattern": ("pattern",), "entities": ("entity_count",), "beat_boost": ("beat_boost",),
                   "base_scale": ("base_scale",), "max_scale": ("max_scale",),
                   "band_sensitivity": ("band_sensitivity",), "preset": ("preset", "band_sensitivity"),
                   "transition": ("transition",), "beat_rate": ("beat_rate",)}

    def pinned(self) -> list[str]:
        """The state() keys whose parameter the command line set (``--set``), sorted: a show restores none."""
        return sorted({k for p in self.ctx.overridden for k in self._PARAM_KEYS.get(p, ())})

    def set_pattern(self, key: str, quantize: str | None = None) -> None:
        """Show pattern ``key``, crossfading over the transition from what is on screen; ``quantize``
        (default: the node's) holds the switch until the next beat, bar or phrase."""
        checks.choice("pattern", key, PATTERNS)
        self._when(quantize, f"pattern {key}", lambda: self._stage.set_pattern(key))

    def _when(self, quantize: str | None, label: str, change: Any) -> None:
        """Run ``change`` now, or on the beat ``quantize`` asks for (at once when there is no beat grid)."""
        unit = self.params.quantize if quantize is None else quantize
        checks.choice("quantize", unit, QUANTIZE)
        with self._lock:
            if not self._quantizer.schedule(label, unit, change):
                change()
        self._changed()

    def set_entity_count(self, n: int) -> None:
        """Use ``n`` entities (1-1024)."""
        n = checks.integer("entity count", n, 1, MAX_ENTITIES)
        with self._lock:
            self._stage.set_entity_count(n)
        self._changed()

    def set_band_sensitivity(self, band: int, value: float, origin: str | None = None) -> None:
        """Set the multiplier (0-2) of band 0-4 (bass, low, mid, high, air); ``origin`` tags the ``bands`` event."""
        band = checks.integer("band", band, 0, 4)
        value = checks.number(f"sensitivity of band {band}", value, 0.0, 2.0)
        with self._lock:
            self._stage.sensitivity[band] = value
        self._changed()
        self._bands_set(origin)

    def set_band_sensitivities(self, values: Sequence[float], preset: dict[str, Any] | None = None,
                               origin: str | None = None) -> None:
        """Set all 5 band multipliers (0-2) at once: every value is checked, then all apply in one step.

        ``preset``: the custom preset (AudioConfig fields) the values come from; announced as a ``preset``
        event (named after the preset it matches, else ``custom``) after the ``bands`` one. ``origin`` tags the
        ``bands`` event (see :class:`~mcav.nodes.interfaces.PatternControl`).
        """
        checked = band_sensitivities(values)
        if preset is not None and not isinstance(preset, dict):
            raise ValueError(f"preset must be a mapping of AudioConfig fields, got {type(preset).__name__}")
        with self._lock:
            self._stage.sensitivity[:] = checked
        self._changed()
        self._bands_set(origin)
        if preset is not None:
            self.ctx.publish("control", "preset", {"preset": preset_name(preset) or "custom", "settings": dict(preset)})

    def set_preset(self, name: str) -> None:
        """Apply MCAV preset ``name`` (its band sensitivity)."""
        if not isinstance(name, str):
            raise ValueError(f"preset must be a name, got {name!r}; presets: {', '.join(PRESET_NAMES)}")
        preset = get_preset(name)
        with self._lock:
            self._preset = preset.name
            self._stage.sensitivity[:] = preset.band_sensitivity
        self._changed()
        self.ctx.publish("control", "preset", {"preset": preset.name, "settings": preset.to_wire()})

    def trigger_effect(self, effect: str, intensity: float = 1.0, duration: float = 0.5,
                       quantize: str | None = None) -> None:
        """Start ``effect`` with ``intensity`` 0-2 for ``duration`` s (0-60), now or on the beat ``quantize`` says.

        ``blackout`` and ``freeze`` are toggles, as in MCAV: intensity > 0
        toggles them, intensity ≤ 0 (down to -2) turns them off; their duration is ignored.
        """
        checks.choice("effect", effect, ("blackout", "freeze", *TIMED_EFFECTS))
        lowest = -INTENSITY_MAX if effect in ("blackout", "freeze") else 0.0
        intensity = checks.number(f"intensity of effect '{effect}'", intensity, lowest, INTENSITY_MAX)
        duration = checks.number(f"duration of effect '{effect}'", duration, 0.0, DURATION_MAX, unit="s")
        if duration <= 0.0 and effect in TIMED_EFFECTS:
            raise ValueError(f"duration of effect '{effect}' must be above 0 s, got {duration}")
        def start() -> None:
            s = self._stage
            if effect == "blackout":
                s.blackout = (not s.blackout) if intensity > 0 else False
            elif effect == "freeze":
                s.frozen = (not s.frozen) if intensity > 0 else False
            else:
                s.trigger(effect, intensity, duration)

        self._when(quantize, f"effect {effect}", start)
        self.ctx.publish("control", "effect", {"effect": effect})

    def set_blackout(self, enabled: bool | None = None) -> bool:
        """Black out (every scale 0, ids kept), or back; None toggles. Returns the new state."""
        checks.optional_bool("blackout", enabled)
        with self._lock:
            s = self._stage
            s.blackout = on = (not s.blackout) if enabled is None else enabled
        self._changed()
        self.ctx.publish("control", "effect", {"effect": "blackout", "enabled": on})
        return on

    def set_freeze(self, enabled: bool | None = None) -> bool:
        """Freeze (re-send the last entities; features still update), or thaw; None toggles."""
        checks.optional_bool("freeze", enabled)
        with self._lock:
            s = self._stage
            s.frozen = on = (not s.frozen) if enabled is None else enabled
        self._changed()
        self.ctx.publish("control", "effect", {"effect": "freeze", "enabled": on})
        return on

    def set_transition(self, duration: float, easing: str) -> None:
        """Crossfade ``duration`` s (0-30; 0 = instant) and ``easing`` for later pattern changes."""
        duration = checks.number("transition duration", duration, 0.0, TRANSITION_MAX, unit="s")
        checks.choice("easing", easing, EASINGS)
        with self._lock:
            self._stage.transition = duration
            self._stage.easing = easing
        self._changed()

    def set_scales(
        self, base_scale: float | None = None, max_scale: float | None = None, beat_boost: float | None = None
    ) -> None:
        """Change entity scales (0-4 blocks, base ≤ max) and the beat boost (1-4); None keeps a value."""
        new = {}
        for name, value, lo, hi in (
            ("base_scale", base_scale, 0.0, SCALE_MAX),
            ("max_scale", max_scale, 0.0, SCALE_MAX),
            ("beat_boost", beat_boost, 1.0, BOOST_MAX),
        ):
            if value is not None:
                new[name] = checks.number(name, value, lo, hi)
        with self._lock:
            a = self._stage.audio
            base = new.get("base_scale", a.base_scale)
            top = new.get("max_scale", a.max_scale)
            if base > top:
                raise ValueError(f"base_scale {base} would be above max_scale {top}")
            for name, value in new.items():
                setattr(a, name, value)
        self._changed()

    def set_beat_rate(self, rate: float) -> None:
        """Follow 0.5, 1 or 2 beats per tracked beat (:mod:`.beatrate`); 0.5 flags the next tracked beat, then every other."""
        rate = check_rate(rate)
        with self._lock:
            self._rate.set(rate)
        self._changed()

    def _changed(self) -> None:
        self.ctx.publish("control", "changed", self.state())

    def _bands_set(self, origin: str | None = None) -> None:
        with self._lock:
            bands = [float(v) for v in self._stage.sensitivity]
        self.ctx.publish("control", "bands", {"band_sensitivity": bands, "origin": origin})
