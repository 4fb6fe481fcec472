"""One zone's rendering state: the pattern, its crossfade, effects, blackout and freeze.

:class:`Stage` is not thread-safe: the ``pattern`` node calls it under its
lock, and validates every argument before calling (the stage trusts them).
Time advances only by the ``dt`` given to :meth:`Stage.render` (the frame clock).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

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
#: Per row of :attr:`~.base.Entities.floats` (x, y, z, scale, brightness): the ceiling of its range, and
#: what a non-finite value becomes.
_CEILING = np.array([[1.0], [1.0], [1.0], [4.0], [15.0]])
_NONFINITE_FILL = np.array([[0.5], [0.5], [0.5], [0.0], [15.0]])


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
        if dt > 0.0:  # a zero step (the first frame, a repeated time) leaves the bands as they are
            # Five bands in plain Python (numpy's per-call cost on 5 values is most of the step), with the
            # arithmetic of the vectorised form in the same order, so the bits are the same: NaN → 0, ±inf →
            # the bounds, clipped to 0-1 (max(-0.0, 0.0) keeps -0.0 as numpy's clip does), times the band's
            # sensitivity, clipped again, then smoothed (attack while rising, release while falling).
            k_up, k_down = math.exp(-dt / BAND_ATTACK_S), math.exp(-dt / BAND_RELEASE_S)
            bands = []
            for v, s, b in zip(np.asarray(f.bands)[:5].tolist(), self.sensitivity.tolist(), a.bands.tolist()):
                v = 0.0 if v != v else min(max(float(v), 0.0), 1.0)
                t = min(max(v * s, 0.0), 1.0)
                bands.append(t + (b - t) * (k_up if t > b else k_down))
            a.bands = np.array(bands)
        a.level = float(np.add.reduce(a.bands)) / len(a.bands)  # the mean, without np.mean's Python layer
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
        m = e.floats  # x, y, z, scale, brightness: one matrix, so each step below is one numpy call
        if not math.isfinite(float(m.sum())):
            # A pattern bug must not reach the plugin as NaN; count it so it is not lost silently.
            self.nonfinite_frames += 1
            bad = ~np.isfinite(m)
            m[bad] = np.broadcast_to(_NONFINITE_FILL, m.shape)[bad]
        # One clip with scalar bounds, which keeps a -0.0 as the per-field clips did (the wire bytes stay the
        # same: np.clip with array bounds, or np.maximum, make it 0.0), then each row's own ceiling.
        c = np.clip(m, 0.0, 15.0)
        np.minimum(c, _CEILING, out=c)
        xyzs = c[:4].astype(np.float32)
        scale = xyzs[3]
        return Scene(
            seq=f.seq,
            t_capture=f.t_capture,
            features=f,
            x=xyzs[0],
            y=xyzs[1],
            z=xyzs[2],
            scale=scale,
            brightness=np.rint(c[4]).astype(np.int8),  # clipped before rounding: the same integers
            glow=e.glow.copy(),
            visible=scale > 0.0,
            band=np.minimum(np.maximum(e.band, 0), 4).astype(np.int8, copy=False),
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
    fields: dict[str, Any] = {}  # by name: replace() checks each keyword against its own field's type
    for name, fill in (("x", 0.5), ("y", 0.5), ("z", 0.5), ("scale", 0.0), ("brightness", 15), ("glow", False),
                       ("visible", False), ("band", 0)):  # fmt: skip
        old = getattr(scene, name)
        arr = np.full(n, fill, dtype=old.dtype)
        arr[:k] = old[:k]
        fields[name] = arr
    return dataclasses.replace(scene, **fields)
