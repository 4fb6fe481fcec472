"""Generated test signals for the beat tracker: synth songs with tempo changes, beatless sounds, stop/restart.

Everything is rendered in code from fixed seeds (no audio is stored), at
``SR`` Hz mono float32. The beatless sounds are what a show plays between
songs or under a speech: none has a periodic onset structure in the tempo
range, so every beat flagged on them is a false beat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcav.nodes.audio.synth import SynthSignal, beat_times

__all__ = ["SR", "Clip", "beatless_clips", "ramp_changes", "sparse_clips", "stop_restart_clip", "synth_clips"]

SR = 48000
BEATLESS_S = 20.0
SPARSE_S = 20.0


@dataclass
class Clip:
    """One generated clip: samples, true beats (s) and the times of its events (s, by name)."""

    name: str
    audio: np.ndarray
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    events: dict[str, float] = field(default_factory=dict)


def ramp_changes(start_bpm: float, end_bpm: float, t0: float, seconds: float, steps: int = 40) -> list[list[float]]:
    """A tempo ramp from ``start_bpm`` at ``t0`` to ``end_bpm`` at ``t0 + seconds``, as small tempo steps."""
    return [[t0 + seconds * (i + 1) / steps, start_bpm + (end_bpm - start_bpm) * (i + 1) / steps] for i in range(steps)]


def _synth(name: str, bpm: float, changes: list[list[float]], seconds: float, noise: float, events: dict[str, float]) -> Clip:
    audio = SynthSignal(SR, bpm=bpm, tempo_changes=changes, noise=noise).render(0, int(SR * seconds))
    return Clip(name, audio, beat_times(bpm, seconds, changes), events)


def synth_clips() -> list[Clip]:
    """Steady tempi, a 120 → 128 BPM cut and 10 s ramps (what a DJ's mix does to the tempo)."""
    return [
        _synth("synth-128", 128.0, [], 30, 0.0, {}),
        _synth("synth-96-noise", 96.0, [], 30, 0.05, {}),
        _synth("synth-174-noise", 174.0, [], 30, 0.02, {}),
        _synth("synth-cut-120-128", 120.0, [[15.0, 128.0]], 30, 0.01, {"change": 15.0}),
        _synth("synth-cut-128-100", 128.0, [[15.0, 100.0]], 30, 0.01, {"change": 15.0}),
        _synth("synth-ramp-120-128", 120.0, ramp_changes(120, 128, 10, 10), 30, 0.01, {"change": 20.0}),
        _synth("synth-ramp-128-110", 128.0, ramp_changes(128, 110, 10, 10), 30, 0.01, {"change": 20.0}),
    ]


def _on_beats(name: str, hit: np.ndarray, bpm: float, seconds: float) -> Clip:
    """``hit`` on every beat from 0.5 s, silence between: the sparsest beat there is."""
    out = np.zeros(int(seconds * SR) + hit.size, np.float32)
    beats = np.arange(0.5, seconds, 60.0 / bpm)
    for b in beats:
        i = int(round(b * SR))
        out[i : i + hit.size] += hit
    return Clip(name, out[: int(seconds * SR)], beats)


def sparse_clips() -> list[Clip]:
    """A kick alone on every beat (a DJ's intro) at 80, 120, 128 and 174 BPM, and a click track at 120:
    onsets on the beats and silence between, ``SPARSE_S`` s each."""
    t = np.arange(int(0.25 * SR)) / SR
    kick = (0.8 * np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-t / 0.03)) / SR) * np.exp(-t / 0.12)).astype(np.float32)
    rng = np.random.default_rng(7)
    click = (0.5 * rng.standard_normal(int(0.005 * SR)) * np.exp(-np.arange(int(0.005 * SR)) / (0.001 * SR))).astype(np.float32)
    kicks = [_on_beats(f"kick-only-{bpm:g}", kick, bpm, SPARSE_S) for bpm in (80.0, 120.0, 128.0, 174.0)]
    return kicks + [_on_beats("clicks-120", click, 120.0, SPARSE_S)]


def stop_restart_clip(gap: str = "silence") -> Clip:
    """10 s of synth music, 8 s of ``gap`` ("silence" or "pad"), then 12 s of music again."""
    music = SynthSignal(SR, bpm=124.0).render(0, SR * 30)
    audio = music.copy()
    a, b = int(10 * SR), int(18 * SR)
    audio[a:b] = 0.0 if gap == "silence" else 0.3 * _pad(b - a, np.random.default_rng(5))
    beats = beat_times(124.0, 30)
    beats = beats[(beats < 10.0) | (beats >= 18.0)]
    return Clip(f"stop-restart-{gap}", audio, beats, {"stop": 10.0, "restart": 18.0})


def _noise(n: int, rng: np.random.Generator, slope: float) -> np.ndarray:
    """Noise with a power spectrum ∝ f^-slope (0 white, 1 pink, 2 brown), peak-normalised to 0.5."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / f ** (slope / 2), n)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def _tone(freqs: np.ndarray, t: np.ndarray, harmonics: int = 4) -> np.ndarray:
    """A soft harmonic tone of instantaneous frequency ``freqs`` (Hz, per sample)."""
    phase = 2 * np.pi * np.cumsum(freqs) / SR
    return np.sum([np.sin(k * phase) / k**1.5 for k in range(1, harmonics + 1)], axis=0)


def _pad(n: int, rng: np.random.Generator) -> np.ndarray:
    """Sustained three-note chords with slow swells, changing at irregular times with 1.5 s crossfades."""
    t = np.arange(n) / SR
    chords = ([220.0, 277.2, 329.6], [196.0, 246.9, 293.7], [174.6, 220.0, 261.6], [164.8, 207.7, 246.9])
    out = np.zeros(n)
    edges = np.concatenate(([0.0], np.cumsum(rng.uniform(3.5, 6.5, 16))))
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        if lo * SR >= n:
            break
        env = np.clip((t - lo + 0.75) / 1.5, 0, 1) * np.clip((hi + 0.75 - t) / 1.5, 0, 1)
        chord = sum(_tone(np.full(n, f * (1 + 0.002 * rng.standard_normal())), t) for f in chords[i % 4])
        out += env * chord
    swell = 0.55 + 0.45 * np.sin(2 * np.pi * t / 7.3) * np.sin(2 * np.pi * t / 11.1 + 1)
    out *= swell
    return (out / np.abs(out).max()).astype(np.float32)


def _speech(n: int, rng: np.random.Generator) -> np.ndarray:
    """Speech-like sound: a jittered glottal pulse through moving formants, in syllables of random length.

    Syllables last 0.08-0.3 s with gaps of 0.03-0.25 s and pauses of 0.4-1 s every few words, so the
    syllable rate (3-6 Hz) is irregular as in speech.
    """
    t = np.arange(n) / SR
    f0 = 120 * (1 + 0.15 * np.sin(2 * np.pi * 0.3 * t)) * (1 + 0.01 * rng.standard_normal(n))
    phase = np.cumsum(f0) / SR
    pulses = np.diff(np.floor(phase), prepend=0.0)
    env = np.zeros(n)
    pos = 0.2
    while pos < n / SR:
        length = rng.uniform(0.08, 0.3)
        a, b = int(pos * SR), min(n, int((pos + length) * SR))
        env[a:b] = np.hanning(max(2, b - a))[: b - a] * rng.uniform(0.4, 1.0)
        pos += length + (rng.uniform(0.4, 1.0) if rng.random() < 0.15 else rng.uniform(0.03, 0.25))
    out = np.zeros(n)
    # Formants: two resonators whose centre moves from syllable to syllable (one-pole pairs, block-wise).
    from scipy.signal import lfilter

    blk = int(0.05 * SR)
    for i in range(0, n, blk):
        seg = pulses[i : i + blk]
        for fc, bw in ((rng.uniform(300, 800), 80.0), (rng.uniform(900, 2400), 120.0)):
            r = np.exp(-np.pi * bw / SR)
            out[i : i + blk] += lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * fc / SR), r * r], seg)
    out = out * env + 0.02 * env * rng.standard_normal(n)  # breath
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def beatless_clips() -> list[Clip]:
    """Sounds with no beat, ``BEATLESS_S`` s each: every flagged beat on them is a false beat."""
    n = int(BEATLESS_S * SR)
    t = np.arange(n) / SR
    rng = np.random.default_rng(2024)
    vibrato = 1000 + 25 * np.sin(2 * np.pi * 5.5 * t)
    return [
        Clip("sine-440", (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)),
        Clip("vibrato-1k", (0.4 * _tone(vibrato, t, 1)).astype(np.float32)),
        Clip("vibrato-chord", (0.15 * np.sum([_tone(f * (1 + 0.012 * np.sin(2 * np.pi * 6.1 * t + f)), t) for f in (220, 277.2, 329.6)], axis=0)).astype(np.float32)),
        Clip("white-noise", _noise(n, rng, 0.0)),
        Clip("pink-noise", _noise(n, rng, 1.0)),
        Clip("brown-noise", _noise(n, rng, 2.0)),
        Clip("pad-swells", 0.6 * _pad(n, rng)),
        Clip("speech", _speech(n, rng)),
        Clip("silence", np.zeros(n, np.float32)),
    ]
