"""Per-band automatic gain control, noise gate and attack/release smoothing.

MCAV's attack/release values (WIRE.md 6.4) are per analysis tick of its Rust
client (about 10 ms). :class:`BandAgc` converts them to the actual hop, so a
band rises and falls at the same speed whatever the hop length.
"""

from __future__ import annotations

import numpy as np

from mcav.nodes.presets import Preset

__all__ = ["BandAgc", "per_hop"]

#: The analysis tick MCAV's smoothing factors were tuned for, in s.
MCAV_TICK_S = 0.010


def per_hop(factor: float, hop_s: float) -> float:
    """A smoothing factor given per 10 ms tick, converted to a hop of ``hop_s`` s."""
    return 1.0 - (1.0 - factor) ** (hop_s / MCAV_TICK_S)


class BandAgc:
    """Turns raw band amplitudes into 0-1 values that follow the music's own loudness.

    Each band tracks its recent peak (instant rise, exponential fall with
    ``half_life``) and is divided by it, so each band reaches 1.0 at its own
    loud moments. The gain is limited to the preset's ``agc_max_gain`` relative
    to the loudest band's peak: a band more than that much quieter than the
    loudest one stays proportionally dim, so hiss is not blown up to full scale.
    While the input's largest sample is below ``gate`` the bands decay by the
    release factor and the peaks hold.

    Args:
        bands: Number of bands.
        half_life: Time for a band's peak to fall by half, in s. Default 2.3 s
            (the Rust client's ×0.997 per 10 ms).
        gate: Noise gate threshold on the largest absolute sample (0-1). Default 0.02.
    """

    def __init__(self, bands: int = 5, half_life: float = 2.3, gate: float = 0.02) -> None:
        self.half_life = half_life
        self.gate = gate
        # Plain lists: with 5 bands, numpy's per-call cost outweighs the arithmetic.
        self.peaks = [0.0] * bands
        self.smoothed = [0.0] * bands
        self.norm = [0.0] * bands
        self._factors_for: tuple[Preset, float] | None = None
        self._factors = (0.0, 0.0, 1.0)  # attack, release, peak decay for one update

    def _step_factors(self, preset: Preset, dt: float) -> tuple[float, float, float]:
        """Attack, release and peak decay over ``dt`` s; cached, since a stream's ``dt`` rarely changes."""
        if self._factors_for != (preset, dt):
            self._factors_for = (preset, dt)
            self._factors = (per_hop(preset.attack, dt), per_hop(preset.release, dt), 0.5 ** (dt / self.half_life))
        return self._factors

    def update(self, raw: np.ndarray, amplitude: float, dt: float, preset: Preset) -> np.ndarray:
        """Advance by ``dt`` s with band amplitudes ``raw``; return the smoothed bands (float32)."""
        attack, release, decay = self._step_factors(preset, dt)
        if amplitude < self.gate:
            self.norm = [0.0] * len(self.norm)
            keep = 1.0 - release
            self.smoothed = [v * keep for v in self.smoothed]
            return np.array(self.smoothed, np.float32)
        values = raw.tolist()
        # One explicit loop updating the lists in place, with conditional expressions instead of
        # max()/min(): at 5 values, calls and temporary lists cost more than the arithmetic.
        peaks, norm, smoothed = self.peaks, self.norm, self.smoothed
        for i, v in enumerate(values):
            q = peaks[i] * decay
            peaks[i] = v if v > q else q
        floor = max(peaks) / preset.agc_max_gain
        if floor < 1e-9:
            floor = 1e-9
        for i, v in enumerate(values):
            p = peaks[i]
            x = v / (p if p > floor else floor)
            if x > 1.0:
                x = 1.0
            norm[i] = x
            s = smoothed[i]
            smoothed[i] = s + (x - s) * (attack if x > s else release)
        return np.array(smoothed, np.float32)
