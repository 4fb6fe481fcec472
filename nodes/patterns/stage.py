"""One zone's rendering state: the pattern, its crossfade, effects, blackout and freeze.

:class:`Stage` is not thread-safe: the ``pattern`` node calls it under its
lock, and validates every argument before calling (the stage trusts them).
Time advances only by the ``dt`` given to :meth:`Stage.render` (the frame clock).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from mcav.runtime.frames import Features, Scene
from mcav.runtime.jsonwire import clamp_finite

from .base import Audio, Entities, Pattern
from .easing import blend, ease
from .effects import TIMED_EFFECTS
from .registry import PATTERNS

__all__ = ["ActiveEffect", "Crossfade", "Stage"]

#: Band smoothing time constants (s), on top of the analysis' own attack/release (the preset's): only
#: enough to even out frames that come unevenly (a DJ link). Longer ones hold a sound's first visible
#: change back by a frame or two: with 30 ms / 100 ms, a release lagging above the bands hid the next
#: rise, and a burst needed up to 21 ms of audio after its block to move an entity by a pixel (10.7 now).
BAND_ATTACK_S = 0.01
BAND_RELEASE_S = 0.05
#: Time constant of the beat pulse's decay (s).
PULSE_DECAY_S = 0.15
#: Smallest pulse a beat gives, so a beat reported with intensity 0 still shows.
PULSE_MIN = 0.3


@dataclasses.dataclass(slots=True)
class ActiveEffect:
    """A timed effect in progress: intensity, duration (s) and age (s, frame clock)."""

    name: str
    intensity: float
    duration: float
    elapsed: float = 0.0


@dataclasses.dataclass(slots=True)
class Crossfade:
    """A pattern change in progress.

    ``source`` is the old pattern, still animated, or (when the change came in
    the middle of another crossfade) a still copy of what was on screen then.
    """

    source: Pattern | Entities
    duration: float
    easing: str
    elapsed: float = 0.0

    @property
    def weight(self) -> float:
        """Blend weight of the new pattern, 0-1."""
        return ease(self.easing, self.elapsed / self.duration)


class Stage:
    """Renders Scene frames for ``n`` entities from Features frames.

    Args:
        key: The first pattern's key.
        n: Number of entities (1-1024).
        band_sensitivity: Per-band multipliers 0-2.
        base_scale, max_scale, beat_boost: See :class:`~.base.Audio`.
        transition: Crossfade duration in s (0 = instant switch).
        easing: Easing name from :data:`~.easing.EASINGS`.
    """

    def __init__(
        self,
        key: str,
        n: int,
        band_sensitivity: list[float],
        base_scale: float,
        max_scale: float,
        beat_boost: float,
        transition: float,
        easing: str,
    ) -> None:
        self.key = key
        self.n = n
        self.sensitivity = np.array(band_sensitivity, dtype=float)
        self.transition = transition
        self.easing = easing
        self.audio = Audio(base_scale=base_scale, max_scale=max_scale, beat_boost=beat_boost)
        self.pattern: Pattern = PATTERNS[key](n)
        self.fade: Crossfade | None = None
        self.effects: dict[str, ActiveEffect] = {}
        self.blackout = False
        self.frozen = False
        self.nonfinite_frames = 0
        self._alloc()
        self._last: Scene | None = None

    def _alloc(self) -> None:
        self._mix = Entities(self.n)  # the pattern (or crossfade) output, before effects
        self._old = Entities(self.n)  # the fading-out side of a crossfade
        self._fx = Entities(self.n)  # after effects

    # --- control (arguments already validated) -------------------------------

    def set_pattern(self, key: str) -> None:
        """Switch to ``key``, crossfading over the transition from what is on screen."""
        if key == self.key and self.fade is None:
            return
        if self.transition <= 0.0:
            self.fade = None
        elif self.fade is None:
            self.fade = Crossfade(self.pattern, self.transition, self.easing)
        else:
            self.fade = Crossfade(self._mix.copy(), self.transition, self.easing)
        self.key = key
        self.pattern = PATTERNS[key](self.n)

    def set_entity_count(self, n: int) -> None:
        """Rebuild everything for ``n`` entities (a running crossfade keeps going)."""
        if n == self.n:
            return
        self.n = n
        self.pattern = PATTERNS[self.key](n)
        if self.fade is not None:
            src = self.fade.source
            self.fade.source = src.resized(n) if isinstance(src, Entities) else type(src)(n)
        mix = self._mix.resized(n)
        self._alloc()
        self._mix = mix
        if self._last is not None:
            self._last = _resized_scene(self._last, n)

    def trigger(self, name: str, intensity: float, duration: float) -> None:
        """Start (or restart) timed effect ``name``."""
        self.effects[name] = ActiveEffect(name, intensity, duration)

    # --- per frame -----------------------------------------------------------

    def _update_audio(self, f: Features, dt: float) -> Audio:
        a = self.audio
        raw = np.nan_to_num(np.asarray(f.bands, dtype=float)[:5], nan=0.0, posinf=1.0, neginf=0.0)
        target = np.clip(np.clip(raw, 0.0, 1.0) * self.sensitivity, 0.0, 1.0)
        if dt > 0.0:
            rise = target > a.bands
            k_up, k_down = math.exp(-dt / BAND_ATTACK_S), math.exp(-dt / BAND_RELEASE_S)
            a.bands = target + (a.bands - target) * np.where(rise, k_up, k_down)
        a.level = float(a.bands.mean())
        a.t += dt
        a.dt = dt
        if dt > 0.0:
            decay = math.exp(-dt / PULSE_DECAY_S)
            a.pulse_area = a.pulse * PULSE_DECAY_S * (1.0 - decay)
            a.pulse *= decay
        else:
            a.pulse_area = 0.0
        a.since_beat += dt
        a.beat = bool(f.beat)
        if a.beat:
            intensity = clamp_finite(float(f.beat_intensity), 0.0, 1.0, 0.0)
            a.beat_intensity = intensity
            a.pulse = max(a.pulse, intensity, PULSE_MIN)
            a.beats += 1
            a.since_beat = 0.0
        a.peak = clamp_finite(float(f.peak), 0.0, 1.0, 0.0)
        a.bpm = clamp_finite(float(f.bpm), 0.0, 1000.0, 0.0)
        a.beat_phase = clamp_finite(float(f.beat_phase), 0.0, 1.0, 0.0)
        a.instant_bass = clamp_finite(float(f.instant_bass), 0.0, 1.0, 0.0)
        return a

    def render(self, f: Features, dt: float) -> Scene:
        """The Scene for this frame; ``dt`` is the frame clock's step in s."""
        a = self._update_audio(f, dt)
        if self.frozen and self._last is not None:
            return self._emit(f, self._last, frozen=True)
        mix = self._mix
        mix.reset()
        self.pattern.render(a, mix)
        fade = self.fade
        if fade is not None:
            fade.elapsed += dt
            if fade.elapsed >= fade.duration:
                self.fade = None
            else:
                old = self._old
                if isinstance(fade.source, Entities):
                    old.copy_from(fade.source)
                else:
                    old.reset()
                    fade.source.render(a, old)
                new = mix.copy()
                blend(old, new, fade.weight, mix)
        fx = self._fx
        fx.copy_from(mix)
        for name, fn in TIMED_EFFECTS.items():
            eff = self.effects.get(name)
            if eff is None:
                continue
            eff.elapsed += dt
            if eff.elapsed >= eff.duration:
                del self.effects[name]
                continue
            fn(fx, eff.intensity, eff.elapsed, eff.duration)
        scene = self._finish(f, fx)
        self._last = scene
        return self._emit(f, scene, frozen=self.frozen)

    def _finish(self, f: Features, e: Entities) -> Scene:
        x, y, z, s = e.x, e.y, e.z, e.scale
        if not math.isfinite(float(x.sum() + y.sum() + z.sum() + s.sum() + e.brightness.sum())):
            # A pattern bug must not reach the plugin as NaN; count it so it is not lost silently.
            self.nonfinite_frames += 1
            for arr, fill in ((x, 0.5), (y, 0.5), (z, 0.5), (s, 0.0), (e.brightness, 15.0)):
                arr[~np.isfinite(arr)] = fill
        scale = np.clip(s, 0.0, 4.0).astype(np.float32)
        return Scene(
            seq=f.seq,
            t_capture=f.t_capture,
            features=f,
            x=np.clip(x, 0.0, 1.0).astype(np.float32),
            y=np.clip(y, 0.0, 1.0).astype(np.float32),
            z=np.clip(z, 0.0, 1.0).astype(np.float32),
            scale=scale,
            brightness=np.clip(np.rint(e.brightness), 0, 15).astype(np.int8),
            glow=e.glow.copy(),
            visible=scale > 0.0,
            band=np.clip(e.band, 0, 4).astype(np.int8),
            pattern=self.key,
        )

    def _emit(self, f: Features, scene: Scene, frozen: bool) -> Scene:
        if not (frozen or self.blackout):
            return scene
        out = dataclasses.replace(scene, seq=f.seq, t_capture=f.t_capture, features=f, pattern=self.key, frozen=frozen)
        if self.blackout:
            out.scale = np.zeros(self.n, dtype=np.float32)
            out.visible = np.zeros(self.n, dtype=bool)
            out.blackout = True
        return out


def _resized_scene(scene: Scene, n: int) -> Scene:
    """``scene`` with ``n`` entities: truncated, or padded with unused (scale 0) ones."""
    k = min(n, scene.count)
    fields = {}
    for name, fill in (("x", 0.5), ("y", 0.5), ("z", 0.5), ("scale", 0.0), ("brightness", 15), ("glow", False),
                       ("visible", False), ("band", 0)):  # fmt: skip
        old = getattr(scene, name)
        arr = np.full(n, fill, dtype=old.dtype)
        arr[:k] = old[:k]
        fields[name] = arr
    return dataclasses.replace(scene, **fields)
