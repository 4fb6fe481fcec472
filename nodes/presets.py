"""The MCAV audio presets (WIRE.md 6.4): one table shared by the ``fft`` and ``pattern`` nodes.

A preset tunes analysis (attack, release, beat threshold, AGC gain, bass
weight) and visuals (per-band sensitivity). ``auto`` is the default.
:func:`apply_preset` switches a graph's analysis (its ``fft`` nodes) to a
preset; the browser's ``set_preset`` and the DJ relay's ``preset_sync`` both use it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

__all__ = ["PRESETS", "PRESET_NAMES", "Preset", "apply_preset", "band_sensitivities", "get_preset", "preset_name"]


@dataclass(frozen=True, slots=True)
class Preset:
    """One preset.

    Attributes:
        name: Key (``auto``, ``edm``…).
        attack: Smoothing factor 0-1 when a band rises (per analysis hop).
        release: Smoothing factor 0-1 when a band falls.
        beat_threshold: Onset threshold multiplier over the recent mean.
        agc_max_gain: Largest AGC gain.
        beat_sensitivity: Multiplier on beat intensity.
        bass_weight: Weight of the bass band in onset strength, 0-1.
        band_sensitivity: Per-band multipliers 0-2 applied by patterns.
        auto_calibrate: Whether the analysis adapts its thresholds itself.
    """

    name: str
    attack: float
    release: float
    beat_threshold: float
    agc_max_gain: float
    beat_sensitivity: float
    bass_weight: float
    band_sensitivity: tuple[float, float, float, float, float]
    auto_calibrate: bool

    def to_wire(self) -> dict[str, Any]:
        """The AudioConfig dict MCAV sends in ``preset_sync`` / ``preset_changed``."""
        d = asdict(self)
        d.pop("name")
        d["band_sensitivity"] = list(self.band_sensitivity)
        return d


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("auto", 0.35, 0.08, 1.3, 8.0, 1.0, 0.7, (1.0, 1.0, 1.0, 1.0, 1.0), True),
        Preset("edm", 0.7, 0.15, 1.1, 10.0, 1.5, 0.85, (1.5, 0.8, 0.9, 1.2, 1.0), False),
        Preset("chill", 0.25, 0.05, 1.6, 6.0, 0.7, 0.5, (0.9, 1.0, 1.1, 1.2, 1.3), False),
        Preset("rock", 0.5, 0.12, 1.3, 8.0, 1.2, 0.65, (1.2, 1.0, 1.0, 0.9, 0.8), False),
        Preset("hiphop", 0.6, 0.1, 1.2, 9.0, 1.3, 0.8, (1.4, 0.9, 1.0, 1.1, 0.9), False),
        Preset("classical", 0.2, 0.04, 1.8, 5.0, 0.5, 0.4, (0.8, 1.0, 1.2, 1.3, 1.4), False),
    )
}

PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (case-insensitive).

    Raises:
        ValueError: naming the valid presets.
    """
    key = name.strip().lower()
    try:
        return PRESETS[key]
    except KeyError:
        raise ValueError(f"unknown preset '{name}'; presets: {', '.join(PRESET_NAMES)}") from None


async def apply_preset(port: Any, name: str) -> Preset:
    """Set preset ``name`` on every analysis node bound to control port ``port`` (``analysis_preset``,
    a ``many`` port); return it. A graph without one (a VJ fed by remote DJs) just gets the Preset back.

    Raises:
        ValueError: naming the valid presets when ``name`` is unknown (no node is changed).
    """
    preset = get_preset(name)
    await port.call_all("set_preset", preset.name)
    return preset


def band_sensitivities(values: Any) -> list[float]:
    """``values`` checked as the 5 band multipliers 0-2 (bass, low, mid, high, air); ValueError names the bad one.

    One rule for every place that takes them (the pattern node, a browser's custom preset), so a custom
    preset can be checked before any part of it applies.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != 5:
        raise ValueError(f"band sensitivities need 5 numbers 0-2 (bass, low, mid, high, air), got {values!r}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"band_sensitivity[{i}] must be a number from 0 to 2, got {v!r}")
        if not math.isfinite(v) or not 0.0 <= v <= 2.0:
            raise ValueError(f"band_sensitivity[{i}] {v!r} is out of range 0-2")
        out.append(float(v))
    return out


def preset_name(preset: Any) -> str | None:
    """The MCAV preset a preset (a ``preset_sync`` body or a browser's custom preset) denotes, or None for a custom one.

    A string names a preset directly (case-insensitive). A dict matches the
    preset whose AudioConfig values equal every known field it carries.
    """
    if isinstance(preset, str):
        key = preset.strip().lower()
        return key if key in PRESETS else None
    if not isinstance(preset, Mapping):
        return None
    if isinstance(preset.get("name"), str) and preset["name"].lower() in PRESETS:
        return str(preset["name"]).lower()
    for name, p in PRESETS.items():
        wire = p.to_wire()
        common = [k for k in wire if k in preset]
        if common and all(_same(preset[k], wire[k]) for k in common):
            return name
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, list):
        return isinstance(a, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(b, bool) or isinstance(a, bool):
        return a is b
    try:
        return abs(float(a) - float(b)) < 1e-6
    except (TypeError, ValueError):
        return False
