"""The ``delay`` node: frames leave no earlier than ``t_capture + ms``, in order, with their own type."""

from __future__ import annotations

import pytest

from conftest import build
from mcav.runtime.engine import Runtime
from mcav.runtime.errors import GraphInvalid


def test_frames_leave_no_earlier_than_their_delay_and_in_order() -> None:
    rt = Runtime(
        build(
            """
            nodes:
              src: {kind: counter, count: 40, rate: 200}
              late: {kind: delay, in: {from: src, queue: {slots: 64, leaky: "no"}}, ms: 30}
              out: {kind: async_collect, in: {from: late, queue: 64}}
            """
        )
    )
    assert rt.run() == 0
    frames = list(rt.node("out").frames)  # type: ignore[attr-defined]
    assert [f.value for f in frames] == [float(i) for i in range(40)]  # all released at the end of the stream
    snap = rt.snapshot()
    assert snap.nodes["out"].latency_p50_ms is not None and snap.nodes["out"].latency_p50_ms >= 30.0
    assert rt.node("late").status() == {"delay_ms": 30.0, "held": 0, "dropped": 0}


def test_the_delay_line_is_bounded_and_counts_what_it_drops() -> None:
    rt = Runtime(
        build(
            """
            nodes:
              src: {kind: counter, count: 50}
              late: {kind: delay, in: {from: src, queue: {slots: 64, leaky: "no"}}, ms: 1000, max_frames: 10}
              out: {kind: async_collect, in: {from: late, queue: 64}}
            """
        )
    )
    assert rt.run() == 0
    got = [f.value for f in rt.node("out").frames]  # type: ignore[attr-defined]
    assert rt.node("late").dropped == 40 and got == [float(i) for i in range(40, 50)]


def test_delay_keeps_the_frame_type_for_typed_inputs() -> None:
    g = build(
        """
        nodes:
          src: {kind: synth, duration: 1, speed: max}
          fft: {kind: fft, in: src}
          beat: {kind: beat, in: fft}
          viz: {kind: pattern, in: beat}
          late: {kind: delay, in: viz, ms: 120}
          out: {kind: browser, in: late, port: 0}
        """
    )
    assert [e.frame_type for e in g.edges if e.src == "late"] == ["Scene"]
    with pytest.raises(GraphInvalid, match="produces Spectrum frames but 'viz.in' accepts Features"):
        build(
            """
            nodes:
              src: {kind: synth}
              fft: {kind: fft, in: src}
              late: {kind: delay, in: fft, ms: 10}
              viz: {kind: pattern, in: late}
            """
        )
