"""Running graphs: fused chains, rings, async nodes, fan-out/in, drops, xruns, shutdown."""

from __future__ import annotations

from conftest import build, wait_until
from mcav.runtime.engine import Runtime


def run(text: str) -> Runtime:
    rt = Runtime(build(text))
    assert rt.run() == 0
    return rt


def values(rt: Runtime, name: str) -> list[float]:
    return [f.value for f in rt.node(name).frames]  # type: ignore[attr-defined]


def test_fused_chain_delivers_every_frame_in_order() -> None:
    rt = run(
        """
        nodes:
          src: {kind: counter, count: 500}
          a: {kind: scale, in: src, factor: 2}
          b: {kind: scale, in: a, offset: 1}
          out: {kind: collect, in: b}
        """
    )
    assert values(rt, "out") == [2 * i + 1 for i in range(500)]
    snap = rt.snapshot()
    assert snap.edges == []  # nothing queued: one worker, direct calls
    assert snap.nodes["a"].frames_in == 500 and snap.nodes["out"].frames_in == 500
    assert snap.nodes["out"].latency_p50_ms is not None


def test_fan_out_reaches_every_consumer() -> None:
    rt = run(
        """
        nodes:
          src: {kind: counter, count: 200}
          x2: {kind: scale, in: src, factor: 2}
          x3: {kind: scale, in: src, factor: 3}
          o2: {kind: collect, in: x2}
          o3: {kind: collect, in: {from: x3, queue: {slots: 16, leaky: no}}}
        """
    )
    assert values(rt, "o2") == [2 * i for i in range(200)]
    assert values(rt, "o3") == [3 * i for i in range(200)]


def test_fan_in_merges_two_sources_through_rings() -> None:
    g = build(
        """
        nodes:
          a: {kind: counter, count: 100, start: 0}
          b: {kind: counter, count: 100, start: 1000}
          out: {kind: collect, in: [{from: a, queue: {slots: 8, leaky: no}}, {from: b, queue: {slots: 8, leaky: no}}]}
        """
    )
    rt = Runtime(g)
    assert rt.run() == 0
    got = values(rt, "out")
    assert sorted(got) == sorted(list(range(100)) + list(range(1000, 1100)))
    assert [v for v in got if v < 1000] == list(range(100))  # each input keeps its order


def test_blocking_queue_loses_nothing_behind_a_slow_consumer() -> None:
    rt = run(
        """
        nodes:
          src: {kind: counter, count: 60}
          slow: {kind: scale, in: {from: src, queue: {slots: 2, leaky: no}}, work_ms: 1}
          out: {kind: collect, in: slow}
        """
    )
    assert values(rt, "out") == list(range(60))
    assert rt.snapshot().total_drops == 0


def test_leaky_queue_accounts_for_every_frame() -> None:
    rt = run(
        """
        nodes:
          src: {kind: counter, count: 300}
          slow: {kind: scale, in: {from: src, queue: {slots: 2, leaky: downstream}}, work_ms: 0.5}
          out: {kind: collect, in: slow}
        """
    )
    snap = rt.snapshot()
    (edge,) = snap.edges
    delivered = len(rt.node("out").frames)  # type: ignore[attr-defined]
    assert edge.pushes == 300
    assert delivered + edge.drops == 300  # nothing vanishes uncounted
    assert edge.drops > 0 and edge.high_water == 2
    got = values(rt, "out")
    assert got == sorted(got) and got[-1] == 299  # downstream keeps the newest


def test_upstream_leaky_keeps_the_oldest() -> None:
    rt = run(
        """
        nodes:
          src: {kind: counter, count: 300}
          slow: {kind: scale, in: {from: src, queue: {slots: 2, leaky: upstream}}, work_ms: 0.5}
          out: {kind: collect, in: slow}
        """
    )
    (edge,) = rt.snapshot().edges
    got = values(rt, "out")
    assert got[0] == 0 and len(got) + edge.drops == 300


def test_busy_consumer_counts_xruns() -> None:
    rt = run(
        """
        nodes:
          src: {kind: counter, count: 40, rate: 1000}
          slow: {kind: scale, in: {from: src, queue: latest}, work_ms: 4}
          out: {kind: discard, in: slow}
        """
    )
    assert rt.snapshot().nodes["slow"].xruns > 0


def test_async_source_and_async_sink_on_the_io_loop() -> None:
    rt = run(
        """
        nodes:
          tick: {kind: ticker, count: 50, interval: 0}
          x: {kind: scale, in: {from: tick, queue: {slots: 64}}, factor: 10}
          out: {kind: async_collect, in: {from: x, queue: {slots: 64}}}
        """
    )
    assert [f.value for f in rt.node("out").frames] == [10.0 * i for i in range(50)]  # type: ignore[attr-defined]
    snap = rt.snapshot()
    assert {e.name for e in snap.edges} == {"tick.out->x.in", "x.out->out.in"}
    assert snap.nodes["out"].latency_p99_ms is not None


def test_edges_at_async_nodes_get_implicit_rings() -> None:
    g = build("nodes:\n  t: {kind: ticker}\n  o: {kind: collect, in: t}\n")
    (edge,) = g.edges
    assert edge.queue is not None and edge.queue.implicit and edge.queue.leaky == "downstream"


def test_stop_ends_an_endless_graph_promptly() -> None:
    rt = Runtime(build("nodes:\n  src: {kind: counter, count: null, rate: 500}\n  out: {kind: collect, in: src}\n  t: {kind: ticker, count: null, interval: 0.01}\n  o2: {kind: async_collect, in: t}\n"))
    rt.start()
    wait_until(lambda: len(rt.node("out").frames) > 5 and len(rt.node("o2").frames) > 5, what="frames flowing")
    rt.stop()
    assert rt.wait(2.0)
    rt.shutdown()
    assert rt.exit_code == 0


def test_a_node_that_cannot_start_fails_the_graph_with_exit_1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = Runtime(build(f"nodes:\n  src: {{kind: counter, count: 5}}\n  out: {{kind: jsonl, in: src, path: '{tmp_path}'}}\n"))
    assert rt.run() == 1
