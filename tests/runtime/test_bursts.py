"""Bursts: a source that is not paced hands its fused chain several frames at once (``SourceNode.burst``)."""

from __future__ import annotations

from typing import Any

from conftest import build

from mcav.nodes.builtin import Counter
from mcav.runtime.engine import Runtime
from mcav.runtime.frames import Frame, Tick
from mcav.runtime.node import SyncNode
from mcav.runtime.registry import register_kind

#: (node, value) of every frame a ``trace`` node processed, in the order they were processed.
TRACE: list[tuple[str, float]] = []


class BurstCounter(Counter):
    """``counter`` handing on 8 frames at a time."""

    kind = "burst_counter"
    burst = 8


class Trace(SyncNode):
    """Logs each frame in :data:`TRACE` and passes it on; fails on the value 3."""

    kind = "trace"
    inputs = {"in": Frame}
    outputs = {"out": Frame}

    def process(self, frame: Frame, port: str) -> Frame:
        assert isinstance(frame, Tick)
        if frame.value == 3:
            raise ValueError("three is bad")
        TRACE.append((self.ctx.name, frame.value))
        return frame


class Batch(SyncNode):
    """Takes each burst whole (:meth:`process_burst`): logs it as one entry, doubles each value, drops odd ones;
    fails on a burst holding the value 13 (when its ``fail`` param is set) or returns one result short on 21."""

    kind = "batch"
    inputs = {"in": Frame}
    outputs = {"out": Frame}

    def process(self, frame: Frame, port: str) -> Frame | None:
        return self.process_burst([frame], port)[0]

    def process_burst(self, frames: list[Frame], port: str) -> list[Frame | None]:
        ticks = [f for f in frames if isinstance(f, Tick)]
        values = [t.value for t in ticks]
        if 13 in values:
            raise ValueError("thirteen is bad")
        TRACE.append((self.ctx.name, len(frames)))
        out: list[Frame | None] = [Tick(seq=t.seq, t_capture=t.t_capture, value=2 * t.value) if t.value % 2 == 0
                                   else None for t in ticks]
        return out[:-1] if 21 in values else out


for _cls in (BurstCounter, Trace, Batch):
    register_kind(_cls.kind, f"{__name__}:{_cls.__name__}")


def run(text: str) -> Runtime:
    TRACE.clear()
    rt = Runtime(build(text))
    assert rt.run() == 0
    return rt


def of(node: str) -> list[float]:
    return [v for n, v in TRACE if n == node]


def test_a_chain_runs_node_by_node_over_each_burst_with_every_frame_in_order(caplog: Any) -> None:
    rt = run(
        """
        nodes:
          src: {kind: burst_counter, count: 20}
          a: {kind: trace, in: src}
          b: {kind: trace, in: a}
          out: {kind: collect, in: b}
        """
    )
    expected = [float(v) for v in range(20) if v != 3]  # 3 fails in `a`: that frame alone is lost
    assert of("a") == of("b") == expected
    assert [f.value for f in rt.node("out").frames] == expected  # type: ignore[attr-defined]
    # Node by node: `a` took the first burst (0-7, without 3) before `b` saw any of it.
    assert [n for n, _ in TRACE[:7]] == ["a"] * 7 and TRACE[7] == ("b", 0.0)
    nodes = rt.snapshot().nodes
    assert nodes["a"].frames_in == 20 and nodes["a"].errors == 1 and nodes["a"].frames_out == 19
    assert nodes["b"].frames_in == 19 and nodes["out"].frames_in == 19
    assert nodes["out"].latency_p50_ms is not None and nodes["b"].proc_p50_ms is not None
    assert "three is bad" in caplog.text


def test_fan_out_hands_each_branch_the_whole_burst_in_order() -> None:
    run(
        """
        nodes:
          src: {kind: burst_counter, count: 12}
          a: {kind: trace, in: src}
          b: {kind: trace, in: src}
          oa: {kind: collect, in: a}
          ob: {kind: collect, in: b}
        """
    )
    expected = [float(v) for v in range(12) if v != 3]
    assert of("a") == of("b") == expected
    assert [n for n, _ in TRACE[:7]] == ["a"] * 7 and [n for n, _ in TRACE[7:14]] == ["b"] * 7


def test_a_burst_into_a_ring_queues_every_frame() -> None:
    rt = run(
        """
        nodes:
          src: {kind: burst_counter, count: 50}
          out: {kind: async_collect, in: {from: src, queue: {slots: 4, leaky: no}}}
        """
    )
    assert [f.value for f in rt.node("out").frames] == [float(v) for v in range(50)]  # type: ignore[attr-defined]


def test_a_node_with_process_burst_takes_each_burst_whole_and_a_failure_costs_that_burst(caplog: Any) -> None:
    rt = run(
        """
        nodes:
          src: {kind: burst_counter, count: 30}
          a: {kind: batch, in: src}
          out: {kind: collect, in: a}
        """
    )
    # Bursts 0-7, 8-15 (raises on 13), 16-23 (one result short on 21: the contract is broken), 24-29.
    assert TRACE == [("a", 8), ("a", 8), ("a", 6)]
    assert [f.value for f in rt.node("out").frames] == [float(2 * v) for v in (0, 2, 4, 6, 24, 26, 28)]  # type: ignore[attr-defined]
    a = rt.snapshot().nodes["a"]
    assert a.frames_in == 30 and a.errors == 16 and a.frames_out == 7  # every frame of a lost burst is counted
    assert a.proc_p50_ms is not None and a.latency_p50_ms is not None
    assert "thirteen is bad" in caplog.text and "with the 7 before it in its burst" in caplog.text
    assert "process_burst returned 7 results for 8 frames" in caplog.text
