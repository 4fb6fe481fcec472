"""The drop rule on generated music run through the real analysis classes (the ``fft`` and ``beat`` nodes' cores).

The synth plays 128 BPM drums and bass; a "breakdown" is the same music high-passed at 400 Hz (hats and
snare go on, kick and bass are gone). No clock: the audio's own time drives everything.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from mcav.nodes.audio.beat import BeatAnalyzer
from mcav.nodes.audio.spectrum import SpectrumAnalyzer
from mcav.nodes.audio.synth import SynthSignal
from mcav.nodes.patterns.drop import Drop, DropDetector, DropRule
from mcav.nodes.presets import get_preset
from mcav.runtime.frames import Spectrum

SR = 48000
BAR = 4 * 60 / 128  # s


def song(breakdowns: list[tuple[float, float]], bars: float) -> np.ndarray:
    """``bars`` bars of the synth with the bass taken out over each ``(from_bar, to_bar)``."""
    full = SynthSignal(SR, bpm=128.0).render(0, int(SR * BAR * bars))
    thin = sosfilt(butter(4, 400, "highpass", fs=SR, output="sos"), full).astype(np.float32)
    out = full.copy()
    for a, b in breakdowns:
        i, j = int(a * BAR * SR), int(b * BAR * SR)
        out[i:j] = thin[i:j]
    return out


def drops_in(audio: np.ndarray, rule: DropRule | None = None) -> list[Drop]:
    """Every drop the detector finds, fed as the pattern node feeds it (bass band, tempo, audio time)."""
    spec, beat, preset, detector = SpectrumAnalyzer(SR), BeatAnalyzer(), get_preset("auto"), DropDetector(rule)
    found = []
    for i in range(0, audio.shape[0], 2048):
        f = spec.analyze(audio[i : i + 2048], preset)
        if f is None:
            continue
        row = beat.feed(Spectrum(seq=0, t_capture=0.0, sample_rate=SR, preset=preset.name, **f))
        drop = detector.update(f["t_audio"], float(f["bands"][0]), row["bpm"])
        if drop is not None:
            found.append(drop)
    return found


def test_the_drop_after_an_8_bar_breakdown_is_found_on_its_first_kick_and_a_1_bar_gap_is_short() -> None:
    drops = drops_in(song([(6, 7), (10, 18)], bars=24))
    assert len(drops) == 2
    gap, drop = drops
    # The bass comes back on bar 7 and bar 18: found within a frame or two of the first kick.
    assert abs(gap.t - 7 * BAR) < 0.06 and abs(drop.t - 18 * BAR) < 0.06
    # Breakdowns are measured from the last kick before them: 1 and 8 bars (+ the last beat's quarter bar).
    assert 1.0 <= gap.breakdown_bars < 1.5 and 8.0 <= drop.breakdown_bars < 8.5
    # A {drop: 8} cue waits for the second; a {drop: 1} cue would take the first.
    assert [d.breakdown_bars >= 8 for d in drops] == [False, True]


def test_no_drop_in_music_that_keeps_its_bass_or_never_had_any() -> None:
    assert drops_in(song([], bars=16)) == []
    thin = song([(0, 16)], bars=16)
    assert drops_in(thin) == []  # hats and snare only: no reference bass to lose


def test_bad_rule_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="low < high"):
        DropRule(low=0.8, high=0.5)
    with pytest.raises(ValueError, match="release"):
        DropRule(release=0)


def test_a_drop_cue_waits_for_a_long_enough_breakdown_after_the_previous_cue() -> None:
    from mcav.nodes.show.cues import parse_cues

    cues, errors = parse_cues("cues:\n  - name: Intro\n    actions: [{pattern: ring}]\n"
                              "  - name: Drop\n    trigger: {drop: 8}\n    actions: [{pattern: galaxy}]\n"
                              "  - name: Next\n    trigger: drop\n    actions: [{pattern: bars}]\n")
    assert errors == [] and [c.trigger for c in cues.cues] == [("manual", 0.0), ("drop", 8.0), ("drop", 8.0)]
    assert cues.cues[1].to_wire()["trigger"] == {"drop": 8.0}
    cues.note_drop(12.0)  # before the first GO: no automatic trigger
    assert not cues.due(0.0, 0)
    cues.go(0.0, 0)
    cues.note_drop(1.2)
    assert not cues.due(1.0, 0)
    cues.note_drop(8.1)
    assert cues.due(2.0, 0)
    cues.go(2.0, 0)  # a drop counts for one cue only
    assert not cues.due(3.0, 0)
    _, errors = parse_cues("cues:\n  - trigger: {drop: 0}\n    actions: [{pattern: ring}]\n", "c.yaml")
    assert "c.yaml:2: cue 1: trigger must be manual" in str(errors[0]) and "{drop: BREAKDOWN_BARS}" in str(errors[0])
