"""The ``beat`` node: onsets, tempo, phase and beats flagged when they are due (causal).

The onset detection function (the fft node's log-filtered SuperFlux,
:mod:`.odf`) feeds two estimators: the tempo (:mod:`.tempo`: autocorrelation,
comb over metrical multiples, prior; it picks the metrical level, which
:mod:`.halftime` halves when the fast level's bass alternates) and a
forward filter over beat-pointer states (:mod:`.pointer`), held near that
tempo, which follows the phase and forecasts the next beat. A beat is
flagged only while the tracker is *locked*: the tempo confidence (periodic
onset structure of the band flux, see :mod:`.periodicity`) reached
``lock_confidence`` and has not fallen below half of it since. Locked, the
node flags each beat in the frame where the forecast says it is due. When
onsets stop (silence, a pad, a drone) for ``release`` s the lock is dropped
at once and the tempo window starts afresh, at the first onset that comes
back, so beats stop within about two seconds, the next song's tempo is not
mixed with the last one's and the quiet between them does not dilute it.
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
from .onset import History
from .halftime import HalfTime
from .pointer import BeatPointer
from .periodicity import CONTRAST_FLOOR, CONTRAST_SPAN, onset_level
from .tempo import TempoEstimator

__all__ = ["Beat", "BeatAnalyzer", "BeatSettings"]

#: Lowest sample rate of the beat-pointer filter, in Hz (onset rates below it are held up to it).
_POINTER_RATE = 90.0


@dataclass
class BeatSettings:
    """Tuning of :class:`BeatAnalyzer` (the ``beat`` node's parameters)."""

    min_bpm: float = param(60.0, doc="slowest tempo reported", unit="BPM", min=30, max=300)
    max_bpm: float = param(200.0, doc="fastest tempo reported", unit="BPM", min=30, max=300)
    prior_bpm: float = param(110.0, doc="tempo preferred when the metrical level is ambiguous", unit="BPM", min=30)
    lock_confidence: float = param(0.2, doc="tempo confidence from which beats are flagged (lost below half of it)", min=0, max=1)
    lock_alignment: float = param(0.6, doc="share of the beats the tracker predicted that met an onset from which it may lock before the periodicity test passes (1 = never)", min=0.3, max=1)
    lock_steady: float = param(1.3, doc="periodicity ratio (to chance) that three tempo estimates running at one tempo must all reach for the tracker to lock on it, however soft the onsets (0 = never)", min=0, max=10)
    lookahead: float = param(0.0, doc="flag beats this early (to offset downstream latency)", unit="s", min=0, max=0.2)
    tempo_window: float = param(8.0, doc="seconds of onsets the tempo is estimated from", unit="s", min=3, max=30)
    tempo_drift: float = param(0.014, doc="how far the tempo may move between two estimates (fraction, s.d.)", min=0.001, max=0.2)
    tempo_jump: float = param(0.42, doc="share of the tempo belief spread over all tempi at each estimate (how soon a new tempo can win)", min=0, max=0.95)
    tempo_recent: float = param(3.0, doc="newest seconds of the tempo window that count twice (a tempo change wins sooner; 0 = none)", unit="s", min=0, max=8)
    tempo_tatum: float = param(2.0, doc="weight of the onsets' periodicity at each period's octave-equivalents around tatum_bpm, a factor on the tempo comb (the same for a tempo, its half and its double: it tells the beat from a 3:4 or 2:3 neighbour, not the metrical level; 0 = none)", min=0, max=10)
    tatum_bpm: float = param(300.0, doc="centre of the tatum's weights (sixteenth notes at 75 BPM, eighths at 150)", unit="BPM", min=60, max=2000)
    tempo_every: float = param(1.0, doc="time between tempo estimates (the drift, the jump and the running means are per estimate, set at 1 s: other values change them too)", unit="s", min=0.05, max=5)
    tap_delay: float = param(0.0, doc="where a beat is heard after its onset peak (human annotations: 0.01-0.03)", unit="s", min=0, max=0.05)
    release: float = param(1.5, doc="onsets missing this long drop the lock (beats stop)", unit="s", min=0.5, max=10)
    onset_gain: float = param(0.5, doc="log-likelihood ratio of a beat per unit of onset strength (over its 4 s mean)", min=0.01, max=10)
    onset_floor: float = param(3.0, doc="onset strength (× its 4 s mean) below which a beat is less likely than none", min=0, max=20)
    tempo_spread: float = param(0.04, doc="how far the phase tracker's tempo may stray from the tempo estimate (log ratio, s.d.)", min=0.005, max=1)
    tempo_keep: float = param(1e-9, doc="share of the phase tracker's mass each tempo keeps at least before a tempo estimate weighs it (how soon it follows a tempo move)", min=0, max=0.1)
    half_time_above: float = param(125.0, doc="tempo from which half time is considered when the bass alternates (0 = never)", unit="BPM", min=0, max=300)
    half_time_alternation: float = param(0.5, doc="bass alternation between the fast level's beats from which the tempo is halved", min=0.05, max=2)

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
        self._w = np.zeros((5, 2))  # the band flux → (weighted onset strength, bass band)
        self.bpm = 0.0
        self.confidence = 0.0
        self.locked = False
        self.period = 0.0
        self.last_beat: float | None = None  # onset-sample index of the last flagged beat
        self.next_beat: float | None = None  # predicted index of the next beat

    def _reset(self, rate: float, spec: Spectrum) -> None:
        s = self.s
        self._rate = rate
        window_s = spec.window_s
        bands = band_bins(round(window_s * spec.sample_rate), spec.sample_rate)
        self._bins = np.bincount(bands[bands >= 0], minlength=5)
        self._preset_name = ""  # recompute the weights
        # An onset peaks the flux when it reaches the window's centre; listeners place the beat
        # `tap_delay` after that peak (the attack's perceptual centre).
        self._delay = window_s / 2 - s.tap_delay
        self.tempo = TempoEstimator(rate, s.min_bpm, s.max_bpm, s.prior_bpm, drift=s.tempo_drift, jump=s.tempo_jump,
                                    recent=s.tempo_recent, alignment=s.lock_alignment, steady=s.lock_steady, tatum=s.tempo_tatum,
                                    tatum_bpm=s.tatum_bpm)
        # The pointer's beat intervals are whole samples: below ~90 Hz (e.g. hop 512 at 16 kHz,
        # 31 Hz) they are too coarse for a steady tempo, so each onset sample is held `_up` times.
        self._up = max(1, round(_POINTER_RATE / rate))
        self.pointer = BeatPointer(rate * self._up, s.min_bpm, s.max_bpm, gain=s.onset_gain, floor=s.onset_floor)
        self.odf = History(int(s.tempo_window * rate))
        # The band flux, weighted (onset contrast, periodicity) and the bass band's alone (half time).
        self.flux = History(int(s.tempo_window * rate), 2)
        self.halftime = HalfTime(rate, s.half_time_above, s.half_time_alternation)
        self.n = 0  # onset samples seen; the newest has index n - 1
        self._filtered = 0  # onset samples the beat pointer has seen
        self._fresh = 0  # the tempo window starts here (after the last stretch without onsets)
        self._waiting = False  # the window restarted on a stretch without onsets; none has come back yet
        self._release = max(1, int(s.release * rate))
        self._next_check = self._release
        self._box = np.ones(max(3, int(0.1 * rate)) | 1) / (max(3, int(0.1 * rate)) | 1)
        self._t_newest = 0.0  # its audio time in s
        self._min_window = int(1.5 * rate)  # first estimate after 1.5 s of onsets
        self._next_tempo = 0
        self.period = 0.0  # beat period in onset samples (0 = unknown)
        self.last_beat = None
        self.next_beat = None
        self._predict_at = 0.0
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
            self._w = np.column_stack((_weights(self._preset, self._bins), np.eye(5)[0]))
        k = spec.flux.shape[0]
        if k:
            self._push(spec.odf, np.dot(spec.flux, self._w))
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
                # The strongest onset of the last beat against the strong onsets of the tempo window
                # (the mean of its top 5 %): a typical beat of the music reads ≈1 whatever its level.
                recent = self.odf.last(max(1, int(self.period)))
                typical = onset_level(self.odf.last(min(self.n, self.odf.size)))
                intensity = min(1.0, float(recent.max()) / max(typical, 1e-9)) * (0.5 + 0.5 * self.confidence)
        if beat:
            intensity = min(1.0, intensity * self._preset.beat_sensitivity)
        return self._fields(spec.t_audio, beat, intensity)

    def _push(self, values: np.ndarray, flux: np.ndarray) -> None:
        """The onset-strength samples of one frame: phase filter, tempo, lock and forecast.

        ``values`` is the onset detection function (tempo, phase, intensity); ``flux`` has, for the
        same hops, the weighted band flux (onset contrast: the beatless test and the release) and
        the bass band's flux (the metrical level, :mod:`.halftime`).
        """
        self.odf.extend(values)
        self.flux.extend(flux)
        self.n += len(values)
        n = self.n
        if (n - self._filtered) * self._up >= self.pointer.block:
            self._filter()
        if n >= self._next_check:
            self._next_check = n + max(1, self._release // 3)
            self._check_onsets()
        if n >= self._next_tempo and n - self._fresh >= self._min_window:
            self._next_tempo = n + max(1, int(self.s.tempo_every * self._rate))
            flux = self.flux.last(self.flux.size)
            window, sharp_window = self.odf.last(self.odf.size), flux[:, 0]
            if n - self._fresh < window.size:  # onsets from before the restart do not count
                window, sharp_window = window.copy(), sharp_window.copy()
                window[: window.size - (n - self._fresh)] = 0.0
                sharp_window[: window.size - (n - self._fresh)] = 0.0
            bpm, conf = self.tempo.update(window, min(window.size, n - self._fresh), sharp_window, n)
            if bpm > 0:  # half time? (once a beat was flagged: its phase places the fast level's beats)
                beat = None if self.last_beat is None or not self.locked else self.last_beat - (n - self.flux.size)
                bpm = self.halftime.level(bpm, flux[:, 1], beat)
            self.confidence = conf
            if bpm > 0:
                self.bpm = bpm
                self.period = 60.0 * self._rate / bpm
                # Hold the phase tracker near the tempo estimate (which chose the metrical level).
                self._filter()
                spread = np.log(self.pointer.bpms / bpm) / self.s.tempo_spread
                self.pointer.weigh_tempo(np.exp(-0.5 * spread * spread) + 1e-6, self.s.tempo_keep)
                evidence = self.tempo.evidence
                if self.locked and evidence.trend > 1.0:
                    evidence.predictions.reset()  # the periodicity test passed: no need (and no cost)
                elif self.s.lock_alignment < 1.0:
                    # The beats the pointer now expects until the next estimate: checked at it (the lock
                    # a few seconds of music can earn, :mod:`.alignment`).
                    first = (n - 1) + (self.pointer.ahead()[0] + (self._up - 1) / 2) / self._up
                    first += self.period * max(0, int(np.ceil((n - first) / self.period)))  # arrived ones are not predictions
                    evidence.predictions.predict(first, self.period, self._next_tempo)
            self._update_lock()
        if self.locked and n - 1 >= self._predict_at:
            # Forecast half a beat after the last beat, then again with each frame once the beat is
            # near (the newest onsets move it most then; a forecast costs about an onset block).
            near = max(2.0 * len(values), self.period / 8)
            if self.next_beat is None or self.next_beat - (n - 1) <= near:
                self._filter()
                # A held sample's copies stand for it: their centre, not the newest copy, is its time.
                self.next_beat = (n - 1) + (self.pointer.ahead()[0] + (self._up - 1) / 2) / self._up

    def _filter(self) -> None:
        """Bring the beat pointer up to the newest onset sample.

        The pointer's cost is per push, not per sample, so samples wait in the onset history
        until a block's worth is there, a forecast is due or the tempo evidence changes.
        """
        fresh = self.n - self._filtered
        if fresh:
            values = self.odf.last(fresh)
            self.pointer.push(values if self._up == 1 else np.repeat(values, self._up))
            self._filtered = self.n

    def _check_onsets(self) -> None:
        """Drop the lock and restart the tempo window when the last ``release`` s had no onsets.

        "No onsets": the onset level (:func:`.periodicity.onset_level`) of the recent onset function
        is below the contrast where the tempo confidence is half way up and, while locked, also
        below a quarter of the tempo window's (the music stopped, or only a pad or drone remains).
        When onsets come back after such a restart, the window starts again at the first of them
        (the first sample of the recent onset function at half its onset level).
        """
        recent = self.flux.last(min(self._release, self.n))[:, 0]
        x = recent - np.convolve(recent, self._box, mode="same")
        c = onset_level(np.maximum(x, 0.0, out=x))
        quiet = CONTRAST_FLOOR + 0.5 * CONTRAST_SPAN
        if self.locked:
            quiet = max(quiet, self.tempo.evidence.level / 4.0)
        if c >= quiet and self._waiting:
            # The onsets came back: the window starts at the first of them, not in the quiet before it,
            # which would dilute the first estimates' periodicity and contrast.
            self._waiting = False
            first = int(np.argmax(x >= 0.5 * c))
            self._fresh = max(self._fresh, self.n - recent.size + first)
        if c < quiet and self.n - self._fresh > self._release:
            self._waiting = True
            self._fresh = self.n - self._release // 2
            self.confidence = self.tempo.confidence = 0.0
            self.tempo.evidence.reset()
            self.halftime.reset()
            if self.locked:
                self.locked = False
                self.next_beat = None

    def _update_lock(self) -> None:
        s = self.s
        # Locking also needs the periodicity's running mean above chance (1) — at chance, a window of sharp
        # onsets alone reads 0.25 (e.g. the first estimate over pink noise at 16 kHz) — or the predicted
        # beats aligned with their onsets (which a short window can show, the periodicity test not), or
        # the periodicity steady at one tempo (which the running mean shows late after a wrong start).
        evidence = self.tempo.evidence
        if not self.locked and self.period > 0 and self.confidence >= s.lock_confidence and (
                evidence.trend > 1.0 or evidence.aligned > 0 or evidence.steadied):
            self.locked = True
            self.next_beat, self._predict_at = None, self.n - 1
        elif self.locked and self.confidence < 0.5 * s.lock_confidence:
            self.locked = False  # hysteresis: lose the lock well below the lock threshold
            self.next_beat = None

    def _fields(self, t: float, beat: bool, intensity: float) -> dict[str, Any]:
        period_s = self.period / self._rate if self.period > 0 else 0.0
        phase = next_s = 0.0
        t_last = 0.0 if self.last_beat is None else self.time_of(self.last_beat)
        if self.last_beat is not None and period_s > 0:
            phase = ((t - t_last) / period_s) % 1.0
            next_s = self.time_of(self.next_beat) if self.next_beat is not None else t_last + period_s
        return {
            "beat": beat,
            # A flagged beat is the last beat, where the forecast placed it (before this frame when it is late).
            "beat_time": t_last if beat else 0.0,
            "locked": self.locked,
            "beat_intensity": intensity,
            "bpm": self.bpm,
            "tempo_confidence": self.confidence,
            "beat_phase": phase,
            "next_beat_s": next_s,
        }


class Beat(SyncNode):
    """Causal beat tracking: onsets, tempo 60-200 BPM, phase (forward filter), confidence, lock; beats flagged when due and locked."""

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
