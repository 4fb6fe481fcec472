"""Frames' JSON form: what an analysis line says about a beat."""

from __future__ import annotations

import pytest

from mcav.runtime.frames import Features


@pytest.mark.parametrize(
    ("beat", "beat_time", "expected"),
    [(True, 1.984, 1.984), (True, 0.0, 2.0), (False, 0.0, 0.0)],
    ids=["the tracker's time", "a producer that does not know it: the frame's t", "no beat"],
)
def test_beat_time_and_locked_in_the_json_line(beat: bool, beat_time: float, expected: float) -> None:
    d = Features(seq=7, t_capture=0, t_audio=2.0, beat=beat, beat_time=beat_time, locked=beat).to_json()
    assert d["beat"] is beat and d["beat_time"] == expected and d["locked"] is beat
    assert d["t"] == 2.0 and d["next_beat"] == 0.0
