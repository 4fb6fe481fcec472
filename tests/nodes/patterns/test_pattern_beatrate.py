"""The pattern node's beat rate (÷2 / ×2 of the tracker's beats): the pure rewrite, then a real graph."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build

from mcav.nodes.patterns.beatrate import BeatRate
from mcav.runtime.engine import Runtime
from mcav.runtime.errors import GraphInvalid
from mcav.runtime.frames import Features, Scene

HOP = 0.01  # s between frames
PERIOD = 0.5  # s: 120 BPM


def stream(seconds: float, phase: bool = True) -> list[Features]:
    """Frames every 10 ms of a tracker locked at 120 BPM, beats at 0.5, 1.0, … s (``phase``: False = no beat_phase, as MCAV's DJs)."""
    out = []
    for i in range(int(seconds / HOP)):
        t = round(i * HOP, 6)
        beat = i > 0 and i % round(PERIOD / HOP) == 0
        p = (t % PERIOD) / PERIOD if phase else 0.0
        out.append(Features(seq=i, t_capture=i, t_audio=t, bands=np.zeros(5, np.float32), beat=beat,
                            beat_time=t if beat else 0.0, beat_intensity=0.8 if beat else 0.0, bpm=120.0,
                            tempo_confidence=0.9, beat_phase=p, locked=True))
    return out


def flagged(frames: list[Features]) -> list[float]:
    return [round(f.beat_time, 3) for f in frames if f.beat]


def test_rate_1_passes_the_same_frames() -> None:
    r, frames = BeatRate(), stream(1.2)
    assert all(r.apply(f) is f for f in frames)


@pytest.mark.parametrize("phase", [True, False])
def test_rate_2_adds_the_half_way_beats(phase: bool) -> None:
    r = BeatRate(2)
    out = [r.apply(f) for f in stream(3.05, phase)]
    assert flagged(out) == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0]
    mid = next(f for f in out if f.beat and f.beat_time == 0.75)
    assert abs(mid.t_audio - 0.75) <= HOP / 2 + 1e-9 and mid.beat_intensity == 0.8  # the nearest frame, the last beat's intensity
    assert all(f.bpm == 240.0 for f in out)
    if phase:
        at = {round(f.t_audio, 2): f for f in out}
        assert at[0.6].beat_phase == pytest.approx(0.4) and at[0.6].next_beat_s == pytest.approx(0.75)
        assert at[0.9].beat_phase == pytest.approx(0.6)


def test_rate_2_places_no_half_way_beat_after_the_tracker_stops() -> None:
    r = BeatRate(2)
    frames = stream(1.2)
    out = [r.apply(f) for f in frames]
    silent = [r.apply(Features(seq=0, t_capture=0, t_audio=1.2 + k * HOP, bpm=120.0, beat_phase=0.4)) for k in range(1, 100)]
    assert flagged(out) == [0.5, 0.75, 1.0]
    assert not any(f.beat for f in silent[30:])  # the 1.25 s half-way beat, yes; nothing once a beat is missed
    assert flagged(silent) == [1.25]


def test_rate_half_flags_every_other_beat_from_the_next_one() -> None:
    r = BeatRate()
    frames = stream(4.05)
    first = [r.apply(f) for f in frames[:70]]  # beats at 0.5 (rate 1)
    r.set(0.5)  # at 0.7 s: the next tracked beat (1.0) is flagged, then 2.0, 3.0, 4.0
    rest = [r.apply(f) for f in frames[70:]]
    assert flagged(first) == [0.5]
    assert flagged(rest) == [1.0, 2.0, 3.0, 4.0]
    at = {round(f.t_audio, 2): f for f in rest}
    assert at[1.25].bpm == 60.0 and at[1.25].beat_phase == pytest.approx(0.25) and at[1.25].next_beat_s == 0.0
    assert at[1.75].beat_phase == pytest.approx(0.75)
    assert not at[1.5].beat and at[1.5].beat_intensity == 0.0
    r.set(0.5)  # again, just before 2.5 s: re-synced, now 2.5, 3.5 count
    again = [r.apply(f) for f in frames[240:]]
    assert flagged(again) == [2.5, 3.5]


def test_bad_rates_name_what_is_valid() -> None:
    for bad in (1.5, 0, "2", True, None):
        with pytest.raises(ValueError, match=r"beat rate must be one of 0.5, 1 or 2"):
            BeatRate().set(bad)  # type: ignore[arg-type]
    with pytest.raises(GraphInvalid, match="beat rate"):
        build("nodes:\n  src: {kind: synth}\n  fft: {kind: fft, in: src}\n  beat: {kind: beat, in: fft}\n"
              "  viz: {kind: pattern, in: beat, beat_rate: 1.5}\n")


def test_a_real_graph_follows_the_rate_and_the_control_api() -> None:
    rt = Runtime(build(
        "nodes:\n"
        "  src: {kind: synth, bpm: 120, duration: 16, speed: max}\n"
        "  fft: {kind: fft, in: src}\n"
        "  beat: {kind: beat, in: fft}\n"
        "  as_is: {kind: pattern, in: beat}\n"
        "  double: {kind: pattern, in: beat, beat_rate: 2}\n"
        "  half: {kind: pattern, in: beat}\n"
        "  a: {kind: collect, in: as_is}\n"
        "  b: {kind: collect, in: double}\n"
        "  c: {kind: collect, in: half}\n"
    ))
    half = rt.node("half")
    half.set_beat_rate(0.5)  # type: ignore[attr-defined]
    assert half.state()["beat_rate"] == 0.5  # type: ignore[attr-defined]
    assert rt.run() == 0

    def beats(name: str) -> list[float]:
        scenes: list[Scene] = rt.node(name).frames  # type: ignore[attr-defined]
        return [s.features.beat_time or s.features.t_audio for s in scenes if s.features.beat]

    tracked, doubled, halved = beats("a"), beats("b"), beats("c")
    assert len(tracked) >= 20
    assert halved == tracked[::2]
    assert len(doubled) == 2 * len(tracked) - 1 or len(doubled) == 2 * len(tracked)
    mids = [d for d in doubled if d not in tracked]
    gaps = [min(abs(m - (a + b) / 2) for a, b in zip(tracked, tracked[1:])) for m in mids]
    assert max(gaps) < 0.011  # within a frame (10.7 ms) of half way
    assert rt.node("double").state()["beat_rate"] == 2.0  # type: ignore[attr-defined]
