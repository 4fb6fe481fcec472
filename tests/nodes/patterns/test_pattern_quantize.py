"""Beat-quantised changes: pure grid logic, then a real synth → fft → beat → pattern graph."""

from __future__ import annotations

import numpy as np

from mcav.nodes.patterns.quantize import Quantizer
from mcav.runtime.frames import Features


def feat(beat: bool = False, locked: bool = True, conf: float = 0.8, seq: int = 0) -> Features:
    return Features(seq=seq, t_capture=seq, bands=np.zeros(5, np.float32), peak=0.0, beat=beat, beat_intensity=0.0,
                    bpm=120.0, tempo_confidence=conf, beat_phase=0.0, locked=locked)


def test_changes_wait_for_their_beat_bar_or_phrase_and_never_without_a_grid() -> None:
    q = Quantizer()
    done: list[str] = []
    assert not q.schedule("now", "beat", lambda: done.append("now"))  # no grid yet: the caller runs it
    q.frame(feat())  # locked, between beats
    for _ in range(2):
        q.frame(feat(beat=True))  # beats 1 and 2 of the grid
    assert q.schedule("next beat", "beat", lambda: done.append("beat"))
    assert q.schedule("next bar", "bar", lambda: done.append("bar"))  # beat 5 starts the next bar
    assert q.describe()[1] == {"change": "next bar", "quantize": "bar", "beats_left": 3}
    fired = []
    for _ in range(3):
        q.frame(feat())
        fired.append([p.label for p in q.frame(feat(beat=True))])
    assert fired == [["next beat"], [], ["next bar"]]
    assert q.schedule("phrase", "phrase", lambda: None) and q.pending[0].beats_left == 12  # beat 17 starts phrase two
    assert [p.label for p in q.frame(feat(locked=False, conf=0.1))] == ["phrase"]  # lost the grid: at once
    assert not q.schedule("after", "bar", lambda: None)


def test_a_remote_djs_confident_tempo_is_a_grid_too() -> None:
    q = Quantizer()
    q.frame(feat(beat=True, locked=False, conf=0.7))  # DJ frames carry no lock flag
    assert q.schedule("x", "beat", lambda: None)
    assert [p.label for p in q.frame(feat(beat=True, locked=False, conf=0.7))] == ["x"]


def test_a_quantised_switch_lands_in_a_beat_frame_of_a_real_graph() -> None:
    from conftest import build

    from mcav.runtime.engine import Runtime

    rt = Runtime(build(
        "nodes:\n"
        "  src: {kind: synth, bpm: 120, duration: 14, speed: max}\n"
        "  fft: {kind: fft, in: src}\n"
        "  beat: {kind: beat, in: fft}\n"
        "  viz: {kind: pattern, in: beat, quantize: bar}\n"
        "  out: {kind: collect, in: viz}\n"
    ))
    viz = rt.node("viz")
    asked: list[int] = []
    original = viz.process

    def process(frame, port):  # type: ignore[no-untyped-def]
        if frame.seq == 900 and frame.locked:  # ~9.6 s in, well after the lock: ask for a switch
            viz.set_pattern("bars")
            asked.append(frame.seq)
        return original(frame, port)

    viz.process = process  # type: ignore[method-assign]
    assert rt.run() == 0
    scenes = rt.node("out").frames  # type: ignore[attr-defined]
    assert asked == [900]
    switched = next(s for s in scenes if s.pattern == "bars")
    assert switched.features.beat and switched.seq > 900  # on a beat, after the request
    beats_between = sum(1 for s in scenes if 900 < s.seq < switched.seq and s.features.beat)
    assert beats_between <= 3  # the next bar boundary is at most 4 beats away
