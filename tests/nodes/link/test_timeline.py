"""Link's timeline → Features beat fields, without I/O or a network."""

from __future__ import annotations

import numpy as np

from mcav.nodes.link.timeline import BeatMapper, LinkSample
from mcav.runtime.frames import Features


def frame(t: float, **kw: object) -> Features:
    base = dict(seq=0, t_capture=0, t_audio=t, bands=np.full(5, 0.5, np.float32), bpm=97.0, tempo_confidence=0.4, beat_phase=0.3,
                locked=False, beat=False, next_beat_s=t + 0.2, beat_intensity=0.0)
    return Features(**{**base, **kw})  # type: ignore[arg-type]


def test_alone_the_audio_beat_passes_through_unchanged() -> None:
    m = BeatMapper()
    f = frame(1.0, beat=True, locked=True, beat_intensity=0.6)
    assert m.apply(f, None) is f and m.source == "audio"
    assert m.apply(f, LinkSample(beat=10.2, tempo=128.0, peers=0)) is f


def test_with_a_peer_the_beat_fields_come_from_link() -> None:
    m = BeatMapper(intensity=0.8)
    # 120 BPM: 0.5 s a beat; frames every 0.2 s from beat 7.5 on
    outs = [m.apply(frame(0.2 * i), LinkSample(beat=7.5 + 0.4 * i, tempo=120.0, peers=2)) for i in range(6)]
    assert m.source == "link"
    assert [o.beat for o in outs] == [False, False, True, False, True, False]  # crossed 8 (i=2: 8.3), 9 (i=4: 9.1)
    assert all(o.locked and o.bpm == 120.0 and o.tempo_confidence == 1.0 for o in outs)
    assert np.isclose(outs[2].beat_phase, 0.3) and np.isclose(outs[2].next_beat_s, 0.4 + 0.7 * 0.5)
    assert np.isclose(outs[2].beat_time, 0.4 - 0.3 * 0.5) and outs[3].beat_time == 0.0  # beat 8 crossed at 0.25 s
    assert outs[2].beat_intensity == 0.8 and outs[3].beat_intensity == 0.0
    assert np.allclose(outs[2].bands, 0.5) and outs[2].t_audio == 0.4  # the rest is the audio's
    assert m.beats == 2


def test_a_beat_the_tracker_also_flagged_keeps_its_intensity_and_a_stall_flags_once() -> None:
    m = BeatMapper()
    m.apply(frame(0.0), LinkSample(beat=3.9, tempo=100.0, peers=1))
    assert m.apply(frame(0.1, beat=True, beat_intensity=0.55), LinkSample(4.05, 100.0, 1)).beat_intensity == 0.55
    stalled = m.apply(frame(3.0), LinkSample(beat=9.2, tempo=100.0, peers=1))  # five beats skipped: one flag
    assert stalled.beat and m.beats == 2


def test_a_timeline_moved_back_flags_nothing_and_leaving_the_session_resets() -> None:
    m = BeatMapper()
    m.apply(frame(0.0), LinkSample(beat=12.9, tempo=128.0, peers=1))
    assert not m.apply(frame(0.1), LinkSample(beat=11.95, tempo=128.0, peers=1)).beat  # a peer re-aligned it
    assert m.apply(frame(0.2), LinkSample(beat=12.01, tempo=128.0, peers=1)).beat
    f = frame(0.3)
    assert m.apply(f, LinkSample(beat=12.3, tempo=128.0, peers=0)) is f and m.source == "audio"
    # back in a session: the first Link frame has nothing to compare with, so no beat yet
    assert not m.apply(frame(0.4), LinkSample(beat=20.99, tempo=128.0, peers=1)).beat
    assert m.apply(frame(0.5), LinkSample(beat=21.1, tempo=128.0, peers=1)).beat
