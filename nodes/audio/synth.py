"""The ``synth`` source: a deterministic, music-like drum-and-bass loop with exactly known beats.

Every beat has a kick; beats 2 and 4 of each bar add a snare; closed hats
play eighth notes; a bass note sits on each off-beat. Tempo can step at given
times and white noise can be added. The same parameters always give the same
samples, whatever the block size, so tests and demos can score beats against
:func:`beat_times`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from mcav.runtime.frames import AudioBlock, Frame
from mcav.runtime.params import param

from .pacing import PacedSource, Pacer, Speed

__all__ = ["BeatGrid", "Synth", "SynthSignal", "beat_times"]

_NOISE_LEN = 1 << 18  # 5.5 s at 48 kHz: long enough not to add a periodicity in the tempo range
_BASS_NOTES_HZ = (55.0, 55.0, 65.41, 49.0)  # A1 A1 C2 G1, one per beat of the bar


class BeatGrid:
    """Beat times of a tempo that steps at given times, extended lazily.

    Args:
        bpm: Tempo at the start, in beats per minute.
        tempo_changes: ``(time_s, bpm)`` pairs; each applies from the first beat at or after ``time_s``.
        first_beat: Time of the first beat, in s.
    """

    def __init__(self, bpm: float, tempo_changes: Sequence[Sequence[float]] = (), first_beat: float = 0.0) -> None:
        self._changes = sorted((float(t), float(b)) for t, b in tempo_changes)
        self._bpm0 = float(bpm)
        self.times: list[float] = [float(first_beat)]

    def bpm_at(self, t: float) -> float:
        """Tempo in force at time ``t`` (s)."""
        bpm = self._bpm0
        for when, value in self._changes:
            if when <= t + 1e-9:
                bpm = value
        return bpm

    def extend_to(self, t: float) -> None:
        """Make sure every beat up to ``t`` s (and the one after) is known."""
        times = self.times
        while times[-1] <= t:
            times.append(times[-1] + 60.0 / self.bpm_at(times[-1]))


def beat_times(
    bpm: float, duration: float, tempo_changes: Sequence[Sequence[float]] = (), first_beat: float = 0.0
) -> np.ndarray:
    """The exact beat times (s) of a synth clip of ``duration`` s."""
    grid = BeatGrid(bpm, tempo_changes, first_beat)
    grid.extend_to(duration)
    t = np.asarray(grid.times)
    return t[t < duration - 1e-9]  # float sums may land a hair under the end


def _templates(sr: int) -> dict[str, np.ndarray]:
    """One waveform per instrument at ``sr`` Hz."""
    rng = np.random.default_rng(1234)  # fixed: the instruments never change

    def time(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sr)) / sr

    t = time(0.35)
    freq = 45.0 + 80.0 * np.exp(-t / 0.03)  # pitch drop of a kick drum
    kick = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.12)
    kick[: int(0.002 * sr)] += rng.uniform(-0.5, 0.5, int(0.002 * sr))  # beater click
    t = time(0.25)
    noise = np.diff(rng.standard_normal(t.size + 1))  # first difference ≈ high-pass
    snare = 0.45 * np.sin(2 * np.pi * 185.0 * t) * np.exp(-t / 0.05) + 0.35 * noise * np.exp(-t / 0.07)
    t = time(0.06)
    hat = 0.12 * np.diff(rng.standard_normal(t.size + 2), 2) * np.exp(-t / 0.015)
    out = {"kick": kick, "snare": snare, "hat": hat}
    t = time(0.22)
    env = np.minimum(1.0, t / 0.005) * np.exp(-t / 0.12)
    for i, f0 in enumerate(_BASS_NOTES_HZ):
        wave = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
        out[f"bass{i}"] = 0.4 * wave * env
    # Scaled so that the full mix (kick + snare + hat + bass overlapping) peaks near `level`.
    return {k: (0.34 * v).astype(np.float32) for k, v in out.items()}


class SynthSignal:
    """Renders any sample range of the synth clip; the result does not depend on how it is split.

    Args:
        sample_rate: Output rate in Hz.
        bpm: Starting tempo in BPM.
        tempo_changes: ``(time_s, bpm)`` steps.
        first_beat: Time of the first beat in s.
        level: Output gain; the mix peaks near this value.
        noise: Standard deviation of added white noise (full scale = 1).
        seed: Seed of the noise.
    """

    def __init__(
        self,
        sample_rate: int = 48000,
        bpm: float = 128.0,
        tempo_changes: Sequence[Sequence[float]] = (),
        first_beat: float = 0.0,
        level: float = 0.5,
        noise: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.sr = sample_rate
        self.grid = BeatGrid(bpm, tempo_changes, first_beat)
        self.level = level
        tpl = _templates(sample_rate)
        self._tpl = [v * np.float32(level) for v in tpl.values()]
        self._index = {name: i for i, name in enumerate(tpl)}
        self._longest = max(len(v) for v in self._tpl)
        self._noise = (
            (np.random.default_rng(seed).standard_normal(_NOISE_LEN) * noise).astype(np.float32) if noise > 0 else None
        )
        self._starts: list[int] = []  # event start samples, non-decreasing
        self._ids: list[int] = []
        self._beats_done = 0

    def _add_events(self, until_sample: int) -> None:
        grid, sr, idx = self.grid, self.sr, self._index
        grid.extend_to(until_sample / sr + 1.0)
        while self._beats_done < len(grid.times) - 1:
            i = self._beats_done
            t, period = grid.times[i], grid.times[i + 1] - grid.times[i]
            half = t + period / 2
            events = [(t, "kick"), (t, "hat")]
            if i % 4 in (1, 3):
                events.append((t, "snare"))
            events += [(half, "hat"), (half, f"bass{i % 4}")]
            for when, name in events:
                self._starts.append(round(when * sr))
                self._ids.append(idx[name])
            self._beats_done += 1

    def render(self, start: int, n: int) -> np.ndarray:
        """Samples ``start`` … ``start + n - 1`` as float32 ``[n]``."""
        end = start + n
        if not self._starts or self._starts[-1] < end:
            self._add_events(end)
        out = np.zeros(n, np.float32)
        lo_i = bisect.bisect_left(self._starts, start - self._longest)
        hi_i = bisect.bisect_left(self._starts, end)
        for s, k in zip(self._starts[lo_i:hi_i], self._ids[lo_i:hi_i]):
            tpl = self._tpl[k]
            a, b = max(start, s), min(end, s + len(tpl))
            if a < b:
                out[a - start : b - start] += tpl[a - s : b - s]
        if lo_i > 4096:  # forget events long past, so an endless synth stays small
            del self._starts[:lo_i], self._ids[:lo_i]
        if self._noise is not None:
            pos = np.arange(start, end) % _NOISE_LEN
            out += self._noise[pos]
        return out


class Synth(PacedSource):
    """A deterministic drum-and-bass test signal whose beat times are known exactly."""

    kind = "synth"

    @dataclass
    class Params:
        bpm: float = param(128.0, doc="tempo at the start", unit="BPM", min=30, max=300)
        tempo_changes: list[list[float]] = param(
            [], doc="tempo steps [[time_s, bpm], …]; each applies from the first beat at or after time_s"
        )
        duration: float | None = param(None, doc="length of the clip (null = endless)", unit="s", min=0)
        first_beat: float = param(0.0, doc="time of the first beat", unit="s", min=0)
        level: float = param(0.5, doc="output gain; the mix peaks near this value", min=0, max=1)
        noise: float = param(0.0, doc="standard deviation of added white noise (full scale 1)", min=0, max=1)
        seed: int = param(0, doc="seed of the noise")
        sample_rate: int = param(48000, doc="output sample rate", unit="Hz", min=8000, max=192000)
        block: int = param(512, doc="samples per frame", min=16, max=1 << 16)
        channels: int = param(1, doc="output channels (the same signal in each)", min=1, max=8)
        speed: Speed = param("realtime", doc="'realtime' paces blocks like a live input; 'max' runs flat out")

        def __post_init__(self) -> None:
            for i, step in enumerate(self.tempo_changes):
                if len(step) != 2 or not 30 <= step[1] <= 300:
                    raise ValueError(f"tempo_changes[{i}] must be [time_s, bpm] with 30 ≤ bpm ≤ 300, got {step}")

    outputs = {"out": AudioBlock}

    def signal(self) -> SynthSignal:
        """A fresh renderer with this node's parameters."""
        p = self.params
        return SynthSignal(p.sample_rate, p.bpm, p.tempo_changes, p.first_beat, p.level, p.noise, p.seed)

    def beat_times(self, duration: float | None = None) -> np.ndarray:
        """Exact beat times in s up to ``duration`` (default: the clip's duration)."""
        p = self.params
        end = duration if duration is not None else p.duration
        if end is None:
            raise ValueError("an endless synth needs an explicit duration")
        return beat_times(p.bpm, end, p.tempo_changes, p.first_beat)

    def frames(self) -> Iterator[Frame]:
        p = self.params
        sig = self.signal()
        total = None if p.duration is None else round(p.duration * p.sample_rate)
        pacer = Pacer(self.ctx, p.speed)
        pos, seq = 0, 0
        while total is None or pos < total:
            n = p.block if total is None else min(p.block, total - pos)
            mono = sig.render(pos, n)  # before waiting, so the block leaves on time
            samples = np.repeat(mono[:, None], p.channels, axis=1) if p.channels > 1 else mono[:, None]
            t_capture = pacer.wait((pos + n) / p.sample_rate, n / p.sample_rate)
            if t_capture is None:
                return
            yield AudioBlock(
                seq=seq,
                t_capture=t_capture,
                samples=samples,
                sample_rate=p.sample_rate,
                t_audio=pos / p.sample_rate,
                source=self.ctx.name,
            )
            pos += n
            seq += 1
