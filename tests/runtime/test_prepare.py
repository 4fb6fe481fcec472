"""``AsyncNode.prepare``: per-frame work done on the producer's thread as a frame is queued for a consumer."""

from __future__ import annotations

import threading
from typing import Any

from conftest import build

from mcav.nodes.builtin import AsyncCollect
from mcav.runtime.engine import Runtime
from mcav.runtime.frames import Frame, Prepared, Tick
from mcav.runtime.registry import register_kind


class PreparingCollect(AsyncCollect):
    """``async_collect`` that prepares each frame: its value times ten, and the thread that did it."""

    kind = "preparing_collect"

    def prepare(self, frame: Frame, port: str) -> Frame:
        assert isinstance(frame, Tick)
        if frame.value == 3:
            raise ValueError("three is bad")
        return Prepared(seq=frame.seq, t_capture=frame.t_capture, frame=frame,
                        data=(frame.value * 10, threading.current_thread().name))


register_kind(PreparingCollect.kind, f"{__name__}:PreparingCollect")

GRAPH = """
nodes:
  src: {kind: counter, count: 6}
  x: {kind: scale, in: src}
  prep: {kind: preparing_collect, in: {from: x, queue: {slots: 64}}}
  plain: {kind: async_collect, in: {from: x, queue: {slots: 64}}}
"""


def test_prepare_runs_on_the_producers_thread_and_only_for_its_own_node(caplog: Any) -> None:
    rt = Runtime(build(GRAPH))
    assert rt.run() == 0
    got = list(rt.node("prep").frames)  # type: ignore[attr-defined]
    assert [type(f) for f in got] == [Prepared] * 3 + [Tick] + [Prepared] * 2  # frame 3 came as it was
    assert [f.frame.value for f in got if isinstance(f, Prepared)] == [0.0, 1.0, 2.0, 4.0, 5.0]
    assert [f.data[0] for f in got if isinstance(f, Prepared)] == [0.0, 10.0, 20.0, 40.0, 50.0]
    assert {f.data[1] for f in got if isinstance(f, Prepared)} == {"mcav-src"}  # the source's worker, not a loop
    assert all(f.seq == f.frame.seq and f.t_capture == f.frame.t_capture for f in got if isinstance(f, Prepared))
    assert [type(f) for f in rt.node("plain").frames] == [Tick] * 6  # type: ignore[attr-defined]
    snap = rt.snapshot()
    assert snap.nodes["prep"].errors == 1 and snap.nodes["plain"].errors == 0
    assert "prepare() failed (1 errors so far); frame 3 queued as it came" in caplog.text


def test_a_kind_that_keeps_the_default_prepare_costs_no_call() -> None:
    from mcav.runtime.wiring import preparer

    rt = Runtime(build(GRAPH))
    assert preparer(rt.node("plain"), "in") is None  # type: ignore[arg-type]
    assert preparer(rt.node("prep"), "in") is not None  # type: ignore[arg-type]
