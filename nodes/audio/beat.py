"""The ``beat`` node: onsets, tempo, phase and beats flagged when they are due (causal).

Before the tempo is known (or while its confidence is below
``lock_confidence``) the node flags detected onsets, which arrive about half
an FFT window late. Once locked it flags each beat from the tracker's
prediction in the frame where the beat is due (see :mod:`.tracker`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mcav.nodes.presets import Preset, get_preset
from mcav.runtime.frames import Features, Frame, Spectrum
from mcav.runtime.node import NodeContext, SyncNode
from mcav.runtime.params import param

from .spectrum import band_bins
from .onset import History, OnsetDetector
from .tempo import TempoEstimator
from .tracker import BeatTracker

__all__ = ["Beat", "BeatAnalyzer", "BeatSettings"]


@dataclass
class BeatSettings:
    """Tuning of :class:`BeatAnalyzer` (the ``beat`` node's parameters)."""

    min_bpm: float = param(60.0, doc="slowest tempo reported", unit="BPM", min=30, max=300)
    max_bpm: float = param(200.0, doc="fastest tempo reported", unit="BPM", min=30, max=300)
    prior_bpm: float = param(110.0, doc="tempo preferred when the metrical level is ambiguous", unit="BPM", min=30)
    lock_confidence: float = param(0.25, doc="tempo confidence from which beats come from the prediction", min=0, max=1)
    lookahead: float = param(0.0, doc="flag beats this early (to offset downstream latency)", unit="s", min=0, max=0.2)
    tempo_window: float = param(8.0, doc="seconds of onsets the tempo is estimated from", unit="s", min=3, max=30)
    tempo_every: float = param(1.0, doc="time between tempo estimates", unit="s", min=0.05, max=5)

    def __post_init__(self) -> None:
        if self.min_bpm >= self.max_bpm:
            raise ValueError(f"min_bpm ({self.min_bpm}) must be below max_bpm ({self.max_bpm})")


def _weights(preset: Preset, bins: np.ndarray) -> np.ndarray:
    """Band weights of the onset function, given the FFT bins per band.

    Each band's mean flux counts with the square root of its bin count: the
    plain sum over bins lets the wide treble band drown the rest, the plain
    mean over-weights the five narrow low bins. The bass band is scaled by the
    preset's ``bass_weight``. (Chosen on the beat benchmark, see bench/.)
    """
    w = np.sqrt(bins.astype(np.float64))
    w[0] *= preset.bass_weight
    return w / w.sum()


class BeatAnalyzer:
    """The beat state of one stream of spectra (usable without a graph).

    Args:
        settings: Tuning values.
    """

    def __init__(self, settings: BeatSettings | None = None) -> None:
        self.s = settings or BeatSettings()
        self._rate = 0.0
        self._preset_name = ""
        self._w = np.zeros(5)
        self.bpm = 0.0
        self.confidence = 0.0
        self.locked = False
        self.period = 0.0
        self.last_beat: float | None = None
        self.next_beat: float | None = None

    def _reset(self, rate: float, spec: Spectrum) -> None:
        s = self.s
        self._rate = rate
        window_s = spec.window_s
        bands = band_bins(round(window_s * spec.sample_rate), spec.sample_rate)
        self._bins = np.bincount(bands[bands >= 0], minlength=5)
        self._preset_name = ""  # recompute the weights
        self._delay = window_s / 2  # an onset peaks the flux when it reaches the window's centre
        self.tempo = TempoEstimator(rate, s.min_bpm, s.max_bpm, s.prior_bpm)
        self.tracker = BeatTracker(rate, history_s=max(6.0, 2.5 * 60.0 / s.min_bpm))
        self.detector = OnsetDetector(rate)
        self.odf = History(int(s.tempo_window * rate))
        self.n = 0  # onset samples seen; the newest has index n - 1
        self._t_newest = 0.0  # its audio time in s
        self._next_tempo = int(3.0 * rate)  # first estimate after 3 s of onsets
        self.period = 0.0  # beat period in onset samples (0 = unknown)
        self.last_beat: float | None = None  # onset-sample index of the last flagged beat
        self.next_beat: float | None = None  # predicted index of the next beat
        self._predict_at = 0.0
        self._peak = 1e-9  # decaying maximum of the onset function, for intensity
        self.bpm = 0.0
        self.confidence = 0.0
        self.locked = False

    def time_of(self, index: float) -> float:
        """Audio time in s of onset-sample ``index``."""
        return self._t_newest - (self.n - 1 - index) / self._rate

    def feed(self, spec: Spectrum) -> dict[str, Any]:
        """Consume one spectrum; return the beat fields of the matching Features frame."""
        if spec.hop_s <= 0:
            return self._fields(spec.t_audio, False, 0.0)
        rate = 1.0 / spec.hop_s
        if abs(rate - self._rate) > 1e-6 * rate:
            self._reset(rate, spec)
        if spec.preset != self._preset_name:
            self._preset = get_preset(spec.preset)
            self._preset_name = spec.preset
            self._w = _weights(self._preset, self._bins)
        k = spec.flux.shape[0]
        onset_seen = False
        strength = 0.0
        if k:
            onset_seen = self._push(np.dot(spec.flux, self._w))
            strength = self.detector.strength
            self._t_newest = spec.t_audio - self._delay
        beat = False
        intensity = 0.0
        if self.locked:
            nb = self.next_beat
            # Due in this frame if it falls nearer to this frame's end than to the next one's.
            half_frame = 0.5 * max(k, 1) * spec.hop_s
            if nb is not None and self.time_of(nb) <= spec.t_audio + half_frame + self.s.lookahead:
                beat = True
                self.last_beat, self.next_beat = nb, None
                self._predict_at = nb + self.period / 2
                recent = self.odf.last(max(1, int(self.period)))
                intensity = min(1.0, float(recent.max()) / self._peak) * (0.5 + 0.5 * self.confidence)
        elif onset_seen:
            beat = True
            self.last_beat = self.n - 1
            intensity = min(1.0, strength / 3.0)
        if beat:
            intensity = min(1.0, intensity * self._preset.beat_sensitivity)
        return self._fields(spec.t_audio, beat, intensity)

    def _push(self, values: np.ndarray) -> bool:
        """The onset-strength samples of one frame: score, tempo, lock and prediction; True on an onset."""
        # The onset detector and the intensity peak are recurrences: scalar loops over the
        # few values of a frame; the histories take the whole frame in one slice copy.
        listed = values.tolist()
        onset = self.detector.push_all(listed, self._preset.beat_threshold)
        peak = self._peak
        for v in listed:
            peak *= 0.9995
            if v > peak:
                peak = v
        self._peak = peak
        self.odf.extend(values)
        self.tracker.push(values, self.period)
        self.n += len(values)
        n = self.n
        if n >= self._next_tempo:
            self._next_tempo = n + max(1, int(self.s.tempo_every * self._rate))
            bpm, conf = self.tempo.update(self.odf.last(self.odf.size))
            if bpm > 0:
                self.bpm, self.confidence = bpm, conf
                self.period = 60.0 * self._rate / bpm
            self._update_lock()
        if self.locked and self.next_beat is None and n - 1 >= self._predict_at:
            assert self.last_beat is not None
            # Re-anchor on the best score near the beat we flagged: the flag came from
            # the lattice, the score has since seen the actual onset (phase correction).
            anchor = self._anchor(self.last_beat)
            expected = anchor + self.period - (n - 1)
            while expected < 1:
                expected += self.period  # missed a beat (tempo change): aim at the one after
            self.next_beat = (n - 1) + self.tracker.predict(self.period, expected)
        return onset

    def _anchor(self, beat: float) -> float:
        """Index of the highest beat score within a quarter period of ``beat``."""
        quarter = max(1, int(self.period / 4))
        lo = max(int(round(beat)) - quarter, self.n - self.tracker.score.size)
        hi = min(int(round(beat)) + quarter, self.n - 1)
        if hi <= lo:
            return beat
        scores = self.tracker.score.last(self.n - lo)[: hi - lo + 1]
        return float(lo + int(np.argmax(scores)))

    def _update_lock(self) -> None:
        s = self.s
        if not self.locked and self.period > 0 and self.confidence >= s.lock_confidence:
            self.locked = True
            # Anchor the phase on the best-scoring sample of the last period.
            p = max(1, int(round(self.period)))
            recent = self.tracker.score.last(p)
            self.last_beat = float(self.n - p + int(np.argmax(recent)))
            self.next_beat = None
            self._predict_at = self.last_beat + self.period / 2
        elif self.locked and self.confidence < 0.5 * s.lock_confidence:
            self.locked = False  # hysteresis: lose the lock well below the lock threshold
            self.next_beat = None

    def _fields(self, t: float, beat: bool, intensity: float) -> dict[str, Any]:
        period_s = self.period / self._rate if self.period > 0 else 0.0
        phase = 0.0
        next_s = 0.0
        if self.last_beat is not None and period_s > 0:
            t_last = self.time_of(self.last_beat)
            phase = ((t - t_last) / period_s) % 1.0
            next_s = self.time_of(self.next_beat) if self.next_beat is not None else t_last + period_s
        return {
            "beat": beat,
            "beat_intensity": intensity,
            "bpm": self.bpm,
            "tempo_confidence": self.confidence,
            "beat_phase": phase,
            "next_beat_s": next_s,
        }


class Beat(SyncNode):
    """Causal beat tracking: onsets, tempo 60-200 BPM, phase, confidence; beats flagged when due."""

    kind = "beat"
    Params = BeatSettings
    inputs = {"in": Spectrum}
    outputs = {"out": Features}

    def __init__(self, params: BeatSettings, ctx: NodeContext) -> None:
        super().__init__(params, ctx)
        self.analyzer = BeatAnalyzer(params)
        self.beats = 0
        self._last: Spectrum | None = None  # for status()

    def process(self, frame: Frame, port: str) -> Features:
        assert isinstance(frame, Spectrum)
        f = self.analyzer.feed(frame)
        self.beats += f["beat"]
        self._last = frame
        return Features(
            seq=frame.seq,
            t_capture=frame.t_capture,
            t_audio=frame.t_audio,
            bands=frame.bands,
            peak=frame.peak,
            instant_bass=frame.instant_bass,
            instant_kick=frame.instant_kick,
            source=frame.source or self.ctx.name,
            **f,
        )

    def status(self) -> dict[str, Any]:
        """Tempo, confidence, lock and beats so far, plus the latest bands and peak (for the dashboard)."""
        a, last = self.analyzer, self._last
        out: dict[str, Any] = {"bpm": round(a.bpm, 1), "confidence": round(a.confidence, 2), "locked": a.locked,
                               "beats": self.beats}
        if last is not None:
            out.update(bands=[round(float(b), 3) for b in last.bands], peak=round(float(last.peak), 3))
        return out
