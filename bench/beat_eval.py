"""Scoring of the beat tracker: the offline analysis path, mir_eval metrics, genre-stratified cross-validation.

:func:`spectra` and :func:`track` drive the very classes the ``fft`` and
``beat`` nodes wrap (:class:`SpectrumAnalyzer`, :class:`BeatAnalyzer`) block by
block, exactly as ``pipelines/analyze.yaml`` does (``beat_accuracy.py`` checks
that both give the same beats). Spectra are computed once per clip, so many
tracker settings can be scored on them cheaply (cross-validation).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from math import gcd
from typing import Callable, Sequence

import numpy as np
from scipy.signal import resample_poly

from mcav.nodes.audio.beat import BeatAnalyzer, BeatSettings
from mcav.nodes.audio.spectrum import SpectrumAnalyzer
from mcav.nodes.presets import get_preset
from mcav.runtime.frames import Spectrum

__all__ = ["Track", "beat_scores", "cross_validate", "first_beat", "folds_by_genre", "lags", "spectra", "track", "WINDOW", "TRIM"]

WINDOW = 0.070  # F-measure tolerance, s
TRIM = 5.0  # seconds ignored at the start (the tracker's warm-up), as in mir_eval's trim_beats
BLOCK = 2048  # analyze.yaml's frame


def spectra(audio: np.ndarray, sr: int, rate: int = 0, block: int = BLOCK) -> list[Spectrum]:
    """The ``fft`` node's frames for mono ``audio`` at ``sr`` Hz, resampled to ``rate`` first if set (and ≠ sr)."""
    x = np.asarray(audio, np.float32)
    if rate and rate != sr:
        g = gcd(sr, rate)
        x = resample_poly(x, rate // g, sr // g).astype(np.float32)
        sr = rate
    an = SpectrumAnalyzer(sr)
    preset = get_preset("auto")
    out: list[Spectrum] = []
    for i in range(0, x.shape[0], block):
        f = an.analyze(x[i : i + block], preset)
        if f is not None:
            out.append(Spectrum(seq=len(out), t_capture=0, sample_rate=sr, preset=preset.name, **f))
    return out


@dataclass
class Track:
    """The beat node's output over one clip, one entry per frame."""

    t: np.ndarray
    beat: np.ndarray
    bpm: np.ndarray
    confidence: np.ndarray
    locked: np.ndarray
    beat_time: np.ndarray  # where the tracker placed each flagged beat (the output's ``beat_time``), else 0

    @property
    def beats(self) -> np.ndarray:
        """Times (s) of the frames that flag a beat."""
        return self.t[self.beat]

    @property
    def beat_times(self) -> np.ndarray:
        """The flagged beats' own times (s), as a file analysis reports them (``beat_time``)."""
        return self.beat_time[self.beat]

    def tempo(self, last_s: float = 10.0) -> float:
        """Median tempo over the last ``last_s`` s where one was reported (0 = none)."""
        sel = (self.t > self.t[-1] - last_s) & (self.bpm > 0)
        return float(np.median(self.bpm[sel])) if sel.any() else 0.0


def track(specs: Sequence[Spectrum], settings: BeatSettings | None = None) -> Track:
    """Run a fresh :class:`BeatAnalyzer` over ``specs``."""
    an = BeatAnalyzer(settings)
    rows = [an.feed(s) for s in specs]
    return Track(
        t=np.array([s.t_audio for s in specs]),
        beat=np.array([r["beat"] for r in rows], bool),
        bpm=np.array([r["bpm"] for r in rows]),
        confidence=np.array([r["tempo_confidence"] for r in rows]),
        locked=np.array([r.get("locked", False) for r in rows], bool),
        beat_time=np.array([r["beat_time"] for r in rows]),
    )


def beat_scores(ref: np.ndarray, est: np.ndarray) -> dict[str, float]:
    """F-measure (whole and after TRIM s), CMLt and AMLt (after TRIM s), all ±70 ms / mir_eval defaults."""
    import mir_eval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f_all = mir_eval.beat.f_measure(ref, est, WINDOW) if len(ref) and len(est) else 0.0
        r, e = mir_eval.beat.trim_beats(ref, TRIM), mir_eval.beat.trim_beats(est, TRIM)
        f_trim = mir_eval.beat.f_measure(r, e, WINDOW) if len(r) and len(e) else 0.0
        _, cmlt, _, amlt = mir_eval.beat.continuity(r, e) if len(r) > 1 and len(e) > 1 else (0, 0, 0, 0)
    return {"f_all": float(f_all), "f_trim": float(f_trim), "cmlt": float(cmlt), "amlt": float(amlt)}


def first_beat(ref: np.ndarray, est: np.ndarray, after: float = 0.0) -> float:
    """Seconds from ``after`` (the music's start or return) to the first flag within ±70 ms of a true beat (inf: none)."""
    for e in est[est >= after]:
        if len(ref) and float(np.min(np.abs(ref - e))) <= WINDOW:
            return float(e - after)
    return float("inf")


def lags(ref: np.ndarray, est: np.ndarray, after: float = TRIM) -> np.ndarray:
    """For each true beat after ``after`` s: flag time − true time of the nearest flag within ±70 ms (s)."""
    out = []
    for r in ref[ref >= after]:
        if len(est):
            j = int(np.argmin(np.abs(est - r)))
            if abs(est[j] - r) <= WINDOW:
                out.append(float(est[j] - r))
    return np.array(out)


def folds_by_genre(names: Sequence[str], k: int = 3) -> list[int]:
    """Fold (0…k−1) of each clip, stratified by genre (the name's part before the first dot).

    Within a genre clips are dealt round-robin in name order; each genre starts
    on the fold after the previous genre's last, so folds stay balanced in size.
    """
    fold = [0] * len(names)
    nxt = 0
    by_genre: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        by_genre.setdefault(n.split(".")[0], []).append(i)
    for genre in sorted(by_genre):
        for i in sorted(by_genre[genre], key=lambda j: names[j]):
            fold[i] = nxt
            nxt = (nxt + 1) % k
    return fold


@dataclass
class CvResult:
    """Cross-validation of a list of candidate settings."""

    chosen: list[int]  # candidate index chosen for each fold (on the other folds)
    held_out: np.ndarray  # per clip: its score under the candidate chosen without it
    table: np.ndarray  # [candidate, clip] scores
    fold: list[int]


def cross_validate(names: Sequence[str], score: Callable[[int, int], float], candidates: int, k: int = 3) -> CvResult:
    """Choose among ``candidates`` on k−1 folds by mean ``score(candidate, clip)``; score the held-out fold."""
    table = np.array([[score(c, i) for i in range(len(names))] for c in range(candidates)])
    fold = folds_by_genre(names, k)
    held = np.zeros(len(names))
    chosen = []
    for f in range(k):
        train = [i for i in range(len(names)) if fold[i] != f]
        best = int(np.argmax(table[:, train].mean(axis=1)))
        chosen.append(best)
        for i in range(len(names)):
            if fold[i] == f:
                held[i] = table[best, i]
    return CvResult(chosen, held, table, fold)
