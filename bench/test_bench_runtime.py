"""Runtime costs: one ring hop against queue.Queue, and per-frame overhead of a chain.

Run: ``python -m pytest bench/test_bench_runtime.py --benchmark-only``. Each group
holds a baseline measured in the same run, so compare within a group.
"""

from __future__ import annotations

import queue
import threading

import numpy as np
import pytest

from mcav.runtime.compile import compile_text
from mcav.runtime.engine import Runtime
from mcav.runtime.frames import Tick
from mcav.runtime.ring import Ring

FRAME = Tick(seq=0, t_capture=0, value=1.0)
BLOCK = np.zeros(1024, np.float32)


@pytest.mark.benchmark(group="hop-same-thread")
def test_ring_push_pop(benchmark) -> None:  # type: ignore[no-untyped-def]
    ring: Ring[Tick] = Ring(8)

    def hop() -> None:
        ring.push(FRAME)
        ring.pop_all()

    benchmark(hop)


@pytest.mark.benchmark(group="hop-same-thread")
def test_queue_put_get_baseline(benchmark) -> None:  # type: ignore[no-untyped-def]
    q: queue.Queue[Tick] = queue.Queue(8)

    def hop() -> None:
        q.put_nowait(FRAME)
        q.get_nowait()

    benchmark(hop)


class _Echo:
    """A thread that sends back whatever arrives: a round trip is two hops."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "ring":
            self.there: Ring[Tick] = Ring(8)
            self.back: Ring[Tick] = Ring(8)
            self.wake_there, self.wake_back = threading.Event(), threading.Event()
            self.there.notify, self.back.notify = self.wake_there.set, self.wake_back.set
        else:
            self.q_there: queue.Queue[Tick | None] = queue.Queue(8)
            self.q_back: queue.Queue[Tick] = queue.Queue(8)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        if self.kind == "ring":
            while not self.stop.is_set():
                self.wake_there.clear()
                items = self.there.pop_all()
                for item in items:
                    self.back.push(item)
                if not items:
                    self.wake_there.wait(0.1)
        else:
            while True:
                tick = self.q_there.get()
                if tick is None:
                    return
                self.q_back.put(tick)

    def round_trip(self) -> None:
        if self.kind == "ring":
            self.wake_back.clear()
            self.there.push(FRAME)
            while not self.back.pop_all():
                self.wake_back.wait(0.1)
                self.wake_back.clear()
        else:
            self.q_there.put(FRAME)
            self.q_back.get()

    def close(self) -> None:
        self.stop.set()
        if self.kind == "ring":
            self.wake_there.set()
        else:
            self.q_there.put(None)
        self.thread.join(1)


@pytest.mark.benchmark(group="hop-cross-thread-round-trip")
@pytest.mark.parametrize("kind", ["ring", "queue"])
def test_cross_thread_round_trip(benchmark, kind: str) -> None:  # type: ignore[no-untyped-def]
    echo = _Echo(kind)
    try:
        benchmark(echo.round_trip)
    finally:
        echo.close()


N_FRAMES = 20_000


def _chain(queued: bool) -> str:
    edge = "{{from: {}, queue: {{slots: 64, leaky: no}}}}" if queued else "{}"
    return f"""
nodes:
  src: {{kind: counter, count: {N_FRAMES}}}
  a: {{kind: scale, in: {edge.format('src')}}}
  b: {{kind: scale, in: {edge.format('a')}}}
  c: {{kind: scale, in: {edge.format('b')}}}
  out: {{kind: discard, in: {edge.format('c')}}}
"""


def _run_chain(queued: bool) -> Runtime:
    # blocking rings on every edge so that no frame is dropped and the counts match
    rt = Runtime(compile_text(_chain(queued)))
    assert rt.run() == 0
    assert rt.snapshot().nodes["out"].frames_in == N_FRAMES
    return rt


def _direct_calls() -> None:
    from mcav.runtime.frames import now_ns

    f = FRAME
    for i in range(N_FRAMES):
        f = Tick(seq=i, t_capture=now_ns(), value=float(i))
        for _ in range(3):
            f = Tick(seq=f.seq, t_capture=f.t_capture, value=f.value * 1.0)


@pytest.mark.benchmark(group="chain-5-nodes-20k-frames")
def test_chain_plain_function_calls_baseline(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark.pedantic(_direct_calls, rounds=5, iterations=1)


@pytest.mark.benchmark(group="chain-5-nodes-20k-frames")
def test_chain_fused(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark.pedantic(_run_chain, args=(False,), rounds=5, iterations=1)


@pytest.mark.benchmark(group="chain-5-nodes-20k-frames")
def test_chain_queue_on_every_edge(benchmark) -> None:  # type: ignore[no-untyped-def]
    benchmark.pedantic(_run_chain, args=(True,), rounds=5, iterations=1)
