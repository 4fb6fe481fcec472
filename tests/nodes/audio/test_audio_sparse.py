"""A beat with nothing between the beats — a kick alone (a DJ's intro), a click track — locks like music.

Such onsets fill 2-15 % of the onset function's samples, which put the contrast's 95th percentile at 0:
before :func:`mcav.nodes.audio.periodicity.contrast` read sparse windows at one sample per beat, none of
these clips locked but the two fastest kicks (tempo right, confidence 0).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_audio_beatless import WINDOW, analyse, beats

from mcav.nodes.audio.testsignals import sparse_clips

CLIPS = {c.name: c for c in sparse_clips()}


@pytest.mark.parametrize("block", [512, 2048], ids=["live", "file"])
@pytest.mark.parametrize("name", list(CLIPS))
def test_a_beat_alone_locks_and_every_beat_is_flagged(name: str, block: int) -> None:
    clip = CLIPS[name]
    rows = analyse(clip.audio, block)
    flagged = beats(rows)
    assert flagged.size and flagged[0] <= 6.0, f"{name}: first beat at {flagged[0] if flagged.size else 'never'} s"
    # From 6 s on, every true beat is flagged within ±70 ms, and no flag is away from the beats.
    # (A flag at the clip's very end is the next beat, which the clip's list stops short of.)
    ref, got = clip.beats[clip.beats > 6.0], flagged[(flagged > 6.0) & (flagged < clip.beats[-1] + WINDOW)]
    hits = sum(bool(np.any(np.abs(got - b) <= WINDOW)) for b in ref)
    stray = sum(not np.any(np.abs(clip.beats - g) <= WINDOW) for g in got)
    assert hits >= len(ref) - 1 and stray == 0, f"{name}: {hits} of {len(ref)} beats, {stray} flags off the beats"
    bpm = 60.0 / float(np.median(np.diff(clip.beats)))
    assert abs(rows[-1]["bpm"] / bpm - 1) <= 0.04
