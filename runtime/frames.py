"""Frame types: what travels along the edges of a graph.

Every frame carries ``seq`` (a per-source counter) and ``t_capture`` (the
monotonic clock, in ns, of the moment its audio was captured, as given by
:func:`time.monotonic_ns`). Latency anywhere in a graph is ``now - t_capture``.

Frames are small slotted dataclasses holding numpy arrays, never a dict per
entity. Ports declare a frame type; an input port accepts a frame type and
all its subclasses, so ``Frame`` means "anything".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = [
    "AudioBlock",
    "Features",
    "Frame",
    "Passthrough",
    "Prepared",
    "Scene",
    "Spectrum",
    "Tick",
    "now_ns",
]

#: Number of MCAV frequency bands (40-250, 250-500, 500-2000, 2000-6000, 6000-20000 Hz).
NUM_BANDS = 5


#: The runtime's monotonic clock in ns (the clock of ``t_capture``): :func:`time.monotonic_ns` itself, so
#: the per-frame paths that read it (several times per frame and node) pay no wrapper's call.
now_ns: Callable[[], int] = time.monotonic_ns


def _zeros_bands() -> np.ndarray:
    return np.zeros(NUM_BANDS, dtype=np.float32)


@dataclass(slots=True, kw_only=True, eq=False)
class Frame:
    """Base of all frames.

    Attributes:
        seq: Sequence number, counted per source from 0.
        t_capture: Monotonic capture time in ns (``time.monotonic_ns()`` clock).
    """

    seq: int
    t_capture: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of this frame (used by the ``jsonl`` sink)."""
        return {"seq": self.seq, "t_capture": self.t_capture}


class Passthrough(Frame):
    """Port marker, never a real frame: an output that carries whatever type arrives at the node's ``in``.

    The compiler resolves it per graph (a ``delay`` after a ``pattern`` produces Scene frames).
    """


@dataclass(slots=True, kw_only=True, eq=False)
class Prepared(Frame):
    """A frame with what its consumer's :meth:`~mcav.runtime.node.AsyncNode.prepare` made of it, as queued for
    that consumer alone (the other consumers of the same output get the frame itself).

    Attributes:
        frame: The frame as its producer sent it (``seq`` and ``t_capture`` are its own).
        data: What ``prepare`` made of it (e.g. the text to write), for the consumer's eyes only.
    """

    frame: Frame
    data: Any = None


@dataclass(slots=True, kw_only=True, eq=False)
class Tick(Frame):
    """A bare counter frame with one number; used by the built-in test nodes.

    Attributes:
        value: The payload.
    """

    value: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "t_capture": self.t_capture, "value": self.value}


@dataclass(slots=True, kw_only=True, eq=False)
class AudioBlock(Frame):
    """A block of audio samples.

    Attributes:
        samples: float32 array of shape ``[n, channels]``, full scale ±1.
        sample_rate: Samples per second (Hz).
        t_audio: Audio time of the first sample, in s from the source's start.
        source: Name of the source node that produced the block ("" = unknown).
    """

    samples: np.ndarray
    sample_rate: int
    t_audio: float = 0.0
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "t": round(self.t_audio, 6),
            "seq": self.seq,
            "frames": int(self.samples.shape[0]),
            "channels": int(self.samples.shape[1]) if self.samples.ndim > 1 else 1,
            "sample_rate": self.sample_rate,
        }


@dataclass(slots=True, kw_only=True, eq=False)
class Spectrum(Frame):
    """FFT analysis up to one band hop: the 5 MCAV bands after AGC and smoothing, and the beat's onset rows.

    Attributes:
        t_audio: Audio time of the end of the analysed window, s from source start.
        bands: float32 ``[5]``, each 0-1 after AGC and attack/release smoothing.
        raw_bands: float32 ``[5]``, mean band magnitudes before AGC (unnormalised).
        peak: Amplitude 0-1 (max of the smoothed bands).
        magnitudes: Magnitude spectrum of the bands' (short) window (``rfft`` bins), float32.
        sample_rate: Sample rate of the analysed audio (Hz).
        hop_s: Time between consecutive ``flux``/``odf`` rows (the long hop), in s; 0 when the
            frame carries none (the bands come at a shorter hop than the beat's onset rows).
        instant_bass: Fast bass-lane envelope, 0-1 (no FFT window delay).
        instant_kick: True on a fast bass-lane kick onset.
        flux: float32 ``[k, 5]``, positive log-magnitude spectral flux per band for
            each of the ``k`` analysis hops that ended inside this frame (oldest
            first; the last one ends at ``t_audio``, the others ``hop_s`` apart).
        odf: float32 ``[k]``, the onset detection function for the same ``k`` hops: the
            log-filtered spectral flux with vibrato suppression (:mod:`mcav.nodes.audio.odf`), a
            sum over 12-per-octave bands of natural-log level rises (0 for a steady sound).
        window_s: Length of the long FFT window behind ``flux`` and ``odf``, in s (an onset
            shows up there about half a window after it happened).
        amplitude: Largest absolute sample of the input block, 0-1 (before the gate).
        preset: Name of the analysis preset in force (see :mod:`mcav.nodes.presets`).
        source: Name of the audio source node ("" = unknown).
    """

    t_audio: float = 0.0
    bands: np.ndarray = field(default_factory=_zeros_bands)
    raw_bands: np.ndarray = field(default_factory=_zeros_bands)
    peak: float = 0.0
    magnitudes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sample_rate: int = 48000
    hop_s: float = 0.0
    instant_bass: float = 0.0
    instant_kick: bool = False
    flux: np.ndarray = field(default_factory=lambda: np.zeros((0, NUM_BANDS), np.float32))
    odf: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    window_s: float = 0.0
    amplitude: float = 0.0
    preset: str = "auto"
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "t": round(self.t_audio, 6),
            "seq": self.seq,
            "bands": [round(float(b), 4) for b in self.bands],
            "peak": round(self.peak, 4),
            "instant_bass": round(self.instant_bass, 4),
            "instant_kick": self.instant_kick,
        }


@dataclass(slots=True, kw_only=True, eq=False)
class Features(Frame):
    """Everything the visuals react to: bands plus beat, tempo and phase.

    Produced by the ``beat`` node from local audio and by ``dj_server`` from a
    remote DJ; a VJ graph works the same with either.

    Attributes:
        t_audio: Audio time in s from the source's start (DJ clock for remote DJs).
        bands: float32 ``[5]``, 0-1.
        peak: Amplitude 0-1 (0-5 tolerated from remote DJs).
        beat: True in the frame a beat is due (only while ``locked``).
        beat_time: Audio time in s of the beat this frame flags, as the tracker places it: mostly within
            half a frame of ``t_audio``, earlier when the beat is flagged late (the forecast moved back past
            it). The better timestamp when frames are long (file analysis). 0 when ``beat`` is False, or
            when the producer does not know it (``to_json`` then gives ``t_audio``).
        locked: True while the beat tracker holds a tempo and phase it is confident of (periodic
            onsets); False on silence, noise, tones, pads, speech and while (re)acquiring.
        beat_intensity: 0-1.
        bpm: Tempo in beats per minute (0 while unknown).
        tempo_confidence: 0-1.
        beat_phase: 0-1, position inside the current beat period (0 = on the beat).
        next_beat_s: Predicted time of the next beat, audio time in s (0 = unknown).
        instant_bass: Fast bass-lane level 0-1.
        instant_kick: Fast bass-lane kick onset.
        source: Who produced it (a DJ id, or the source node's name).
    """

    t_audio: float = 0.0
    bands: np.ndarray = field(default_factory=_zeros_bands)
    peak: float = 0.0
    beat: bool = False
    beat_time: float = 0.0
    locked: bool = False
    beat_intensity: float = 0.0
    bpm: float = 0.0
    tempo_confidence: float = 0.0
    beat_phase: float = 0.0
    next_beat_s: float = 0.0
    instant_bass: float = 0.0
    instant_kick: bool = False
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "t": round(self.t_audio, 6),
            "seq": self.seq,
            "bands": [round(float(b), 4) for b in self.bands],
            "peak": round(float(self.peak), 4),
            "beat": bool(self.beat),
            "beat_time": round(float(self.beat_time or self.t_audio), 6) if self.beat else 0.0,
            "locked": bool(self.locked),
            "beat_intensity": round(float(self.beat_intensity), 4),
            "bpm": round(float(self.bpm), 3),
            "tempo_confidence": round(float(self.tempo_confidence), 4),
            "beat_phase": round(float(self.beat_phase), 4),
            "next_beat": round(float(self.next_beat_s), 6),
            "instant_bass": round(float(self.instant_bass), 4),
            "instant_kick": bool(self.instant_kick),
        }


@dataclass(slots=True, kw_only=True, eq=False)
class Scene(Frame):
    """A fixed-size set of entities for one zone, plus the features behind it.

    All arrays have length ``N`` (the ``entities`` count); entity ``i`` is the
    plugin's ``block_i``. An unused entity has ``scale == 0``.

    Attributes:
        features: The features frame this scene was computed from.
        x, y, z: float32 positions 0-1 in the zone box (origin at a corner, y up).
        scale: float32 0-4 (1.0 = one block).
        brightness: int8 0-15.
        glow: bool.
        visible: bool.
        band: int8 0-4, the band each entity follows.
        pattern: Key of the pattern shown (during a crossfade: the target).
        blackout: True while blacked out (entities must not be shown).
        frozen: True while frozen (the same entities are re-sent).
        state_text: The browser wire's ``state`` message of this scene when it arrived already encoded
            (an edge's frames, as the VJ published them), else None: a node that sends that message may
            send this text as it is instead of encoding the scene again.
    """

    features: Features
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    scale: np.ndarray
    brightness: np.ndarray
    glow: np.ndarray
    visible: np.ndarray
    band: np.ndarray
    pattern: str = ""
    blackout: bool = False
    frozen: bool = False
    state_text: str | None = None

    @property
    def count(self) -> int:
        """Number of entities ``N``."""
        return int(self.x.shape[0])

    def to_json(self) -> dict[str, Any]:
        d = self.features.to_json()
        d.update(
            seq=self.seq,
            pattern=self.pattern,
            blackout=self.blackout,
            entities=self.count,
            visible=int(np.count_nonzero(self.visible & (self.scale > 0))),
        )
        return d
