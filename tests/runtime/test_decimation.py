"""Frames skipped by design (a reader of the newest frame only) are counted as decimated, apart from drops."""

from __future__ import annotations

from conftest import build

from mcav.runtime.engine import Runtime


def test_a_reader_of_the_newest_frame_decimates_without_dropping() -> None:
    # a 1024-slot ring never overflows here: every frame is either read or skipped on purpose
    graph = build("""
        nodes:
          src: {kind: counter, count: 4000, rate: 2000}
          out: {kind: async_collect, in: {from: src, queue: {slots: 1024, leaky: downstream}}, latest: true}
        """)
    rt = Runtime(graph)
    assert rt.run() == 0
    snap = rt.snapshot()
    (edge,) = snap.edges
    assert edge.drops == 0 and snap.total_drops == 0
    assert edge.decimated > 0 and snap.total_decimated == edge.decimated
    assert snap.nodes["out"].frames_in + edge.decimated == edge.pushes == 4000  # nothing unaccounted for
