"""The moving parts of a compiled plan: outlets, sync runners and segments.

A *segment* is what one worker thread runs: a head (a source, or a sync node
fed by rings) plus every sync node reached from it by direct edges, called
in topological order. An :class:`Outlet` hands each frame of an output port to
its targets: a direct call into a :class:`SyncRunner`, or a push into a ring.

A source that is not paced (:attr:`~mcav.runtime.node.SourceNode.burst` > 1: a file at
``speed: max``) hands its segment *bursts* of frames: each node of the fused chain then runs
over the whole burst before the next one does. Every node sees the same frames in the same
order as one frame at a time (the compiler queues every edge into a node with several inputs,
so a fused chain is a tree: each node's frames come from one outlet), while its code and data
stay in the CPU's caches across the burst instead of being evicted by the other nodes' at
every frame, which costs more than the rest of the runtime's per-frame work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
import threading
from typing import Any, Callable, Iterable, Iterator

import networkx as nx

from .compile import CompiledGraph
from .frames import Frame, now_ns
from .metrics import NodeMetrics
from .node import AsyncNode, SyncNode
from .ring import Ring, RingClosed

__all__ = [
    "Outlet", "Segment", "SyncRunner", "direct_target", "drain_rings", "drive_source", "plan_segments", "preparer",
    "ring_target",
]

#: An outlet target for a burst of frames (oldest first).
BurstTarget = Callable[[list[Frame]], None]


class Outlet:
    """One output port: counts frames and hands each to every target (``bursts``: the same targets, a burst at once)."""

    __slots__ = ("_metrics", "bursts", "targets")

    def __init__(self, metrics: NodeMetrics) -> None:
        self._metrics = metrics
        self.targets: list[Callable[[Frame], None]] = []
        self.bursts: list[BurstTarget] = []

    def send(self, frame: Frame, now: int = 0) -> None:
        """Hand ``frame`` on; ``now``: the monotonic clock in ns if the caller just read it (0: read it here)."""
        m = self._metrics
        m.frames_out += 1
        m.rate.tick(now or now_ns())
        for target in self.targets:
            target(frame)

    def send_burst(self, frames: list[Frame], now: int = 0) -> None:
        """Hand on ``frames`` (oldest first, not empty), each target taking all of them before the next target."""
        m = self._metrics
        m.frames_out += len(frames)
        m.rate.tick_many(now or now_ns(), len(frames))
        for target in self.bursts:
            target(frames)


class SyncRunner:
    """Calls a sync node's ``process`` and forwards what it returns."""

    __slots__ = ("batches", "lock", "metrics", "node", "outlet")

    def __init__(
        self, node: SyncNode, metrics: NodeMetrics, outlet: Outlet | None, lock: threading.RLock | None = None
    ) -> None:
        self.node = node
        self.metrics = metrics
        self.outlet = outlet  # None for a sink
        self.lock = lock  # a control provider's lock: calls never run during process()
        # Only a node that overrides process_burst gets the burst whole (see SyncNode.process_burst).
        self.batches = type(node).process_burst is not SyncNode.process_burst

    def push(self, frame: Frame, port: str) -> None:
        m = self.metrics
        m.frames_in += 1
        t0 = now_ns()
        try:
            if self.lock is None:
                out = self.node.process(frame, port)
            else:
                with self.lock:
                    out = self.node.process(frame, port)
        except Exception:  # a node bug costs one frame, counted and logged, not the show
            self._failed(frame)
            return
        t1 = now_ns()
        m.proc.record(t1 - t0)
        m.latency.record(t1 - frame.t_capture)
        if out is not None and self.outlet is not None:
            self.outlet.send(out, t1)

    def push_burst(self, frames: list[Frame], port: str) -> None:
        """:meth:`push` for each of ``frames`` (oldest first), then their results on as one burst."""
        if self.batches:
            self._push_batch(frames, port)
            return
        m, node, lock = self.metrics, self.node, self.lock
        m.frames_in += len(frames)
        outs = []
        t0 = now_ns()
        for frame in frames:
            try:
                if lock is None:
                    out = node.process(frame, port)
                else:
                    with lock:  # per frame: a control call waits for one frame, not a burst
                        out = node.process(frame, port)
            except Exception:
                self._failed(frame)
                t0 = now_ns()
                continue
            t1 = now_ns()  # one clock reading per frame: this frame's end is the next one's start
            m.proc.record(t1 - t0)
            m.latency.record(t1 - frame.t_capture)
            t0 = t1
            if out is not None:
                outs.append(out)
        if outs and self.outlet is not None:
            self.outlet.send_burst(outs, t0)

    def _push_batch(self, frames: list[Frame], port: str) -> None:
        """The node's own ``process_burst`` over all of ``frames``; each is charged an equal share of its time."""
        m, node = self.metrics, self.node
        m.frames_in += len(frames)
        t0 = now_ns()
        try:
            if self.lock is None:
                results = node.process_burst(frames, port)
            else:
                with self.lock:  # a control call waits for one burst: only a source read flat out bursts
                    results = node.process_burst(frames, port)
            if len(results) != len(frames):
                raise ValueError(f"process_burst returned {len(results)} results for {len(frames)} frames")
        except Exception:  # a node bug costs this burst, every frame counted and logged, not the show
            self._failed(frames[-1], len(frames))
            return
        t1 = now_ns()
        share = (t1 - t0) // len(frames)
        for frame in frames:
            m.proc.record(share)
            m.latency.record(t1 - frame.t_capture)
        outs = [out for out in results if out is not None]
        if outs and self.outlet is not None:
            self.outlet.send_burst(outs, t1)

    def _failed(self, frame: Frame, count: int = 1) -> None:
        """A node bug costs ``count`` frames (``frame`` and those before it in its burst), not the show.

        They are counted in ``errors`` and logged: the first ones, then every thousandth.
        """
        m = self.metrics
        before, m.errors = m.errors, m.errors + count
        # Log when the count reaches 1, 10, 100 or a multiple of 1000 (a burst may step over one).
        if any(before < mark <= m.errors for mark in (1, 10, 100)) or m.errors // 1000 > before // 1000:
            self.node.ctx.log.exception("process() failed (%d errors so far); frame %d dropped%s", m.errors, frame.seq,
                                        f" with the {count - 1} before it in its burst" if count > 1 else "")


@dataclass
class Segment:
    """The sync nodes one worker thread runs, and the rings it reads and feeds.

    ``halt`` ends the worker without ending the graph (a reload re-plans the segments): its source's
    frames are left open to be resumed, its rings open, its nodes started. ``wake`` wakes a ring-fed worker.
    """

    head: str
    members: list[str] = field(default_factory=list)  # topological order
    inputs: list[tuple[Ring[Frame], str, str]] = field(default_factory=list)  # ring, node, port
    produces: list[Ring[Frame]] = field(default_factory=list)
    halt: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)

    def stop_for_reload(self) -> None:
        """Ask the worker to return after the frame in hand (see ``halt``)."""
        self.halt.set()
        self.wake.set()


def plan_segments(g: CompiledGraph, rings: dict[int, Ring[Frame]]) -> list[Segment]:
    """Group the graph into segments: one per source and per ring-fed sync node.

    ``rings`` maps the index of each queued edge in ``g.edges`` to its ring.
    """
    direct: dict[str, list[str]] = {n: [] for n in g.nodes}
    for i, e in enumerate(g.edges):
        if i not in rings:
            direct[e.src].append(e.dst)
    heads = [n for n, cn in g.nodes.items() if cn.flavor == "source"]
    heads += [
        n
        for n, cn in g.nodes.items()
        if cn.flavor == "sync" and any(i in rings for i, e in enumerate(g.edges) if e.dst == n)
    ]
    order = {n: k for k, n in enumerate(nx.topological_sort(g.dag))}
    segments = []
    for head in heads:
        seg = Segment(head)
        stack = [head]
        while stack:
            n = stack.pop()
            seg.members.append(n)
            stack.extend(direct[n])
        seg.members.sort(key=order.__getitem__)
        members = set(seg.members)
        for i, e in enumerate(g.edges):
            if i in rings and e.dst == head:
                seg.inputs.append((rings[i], e.dst, e.dst_port))
            if i in rings and e.src in members:
                seg.produces.append(rings[i])
        segments.append(seg)
    return segments


def direct_target(runner: SyncRunner, port: str) -> tuple[Callable[[Frame], None], BurstTarget]:
    """The outlet targets (one frame, a burst) that call ``runner``'s node on input ``port``."""
    push, push_burst = runner.push, runner.push_burst
    return (lambda frame: push(frame, port)), (lambda frames: push_burst(frames, port))


def ring_target(
    ring: Ring[Frame], prepare: Callable[[Frame], Frame] | None = None
) -> tuple[Callable[[Frame], None], BurstTarget]:
    """The outlet targets (one frame, a burst: each frame in turn) that push into ``ring`` (its policy decides
    about drops).

    ``prepare``: the consumer's per-frame work (:meth:`~mcav.runtime.node.AsyncNode.prepare`), run here,
    on the producer's thread, before the push; it handles its own failures.
    """

    def push(frame: Frame) -> None:
        try:
            ring.push(frame if prepare is None else prepare(frame))
        except RingClosed:
            pass  # only during an aborted shutdown: the consumer is gone

    def push_burst(frames: list[Frame]) -> None:
        for frame in frames:
            push(frame)

    return push, push_burst


def preparer(node: AsyncNode, port: str) -> Callable[[Frame], Frame] | None:
    """``node.prepare`` for input ``port`` as a ring target's ``prepare``, or None if its kind keeps the default.

    A failure costs the preparation, not the frame: counted in the node's ``errors``, logged (the first
    ones, then every thousandth), and the frame is queued as it came.
    """
    if type(node).prepare is AsyncNode.prepare:
        return None
    m = node.ctx.metrics

    def prepare(frame: Frame) -> Frame:
        try:
            return node.prepare(frame, port)
        except Exception:
            m.errors += 1
            if m.errors in (1, 10, 100) or m.errors % 1000 == 0:
                node.ctx.log.exception("prepare() failed (%d errors so far); frame %d queued as it came", m.errors,
                                       frame.seq)
            return frame

    return prepare


def drive_source(
    frames: Iterator[Frame], outlet: Outlet | None, stop: threading.Event, seg: Segment, burst: int = 1
) -> None:
    """The body of a source's worker: send each frame of ``frames`` (its ``frames()``) through the fused chain.

    ``burst``: frames taken from ``frames`` at a time and sent on together (the source's
    :attr:`~mcav.runtime.node.SourceNode.burst`).
    Closes ``frames`` at the end, unless the segment was halted: the next worker resumes them.
    """
    halted = False
    # Frames or lists of up to ``burst`` frames, and what sends one. Declared at their first assignment: declared
    # ahead, mypy narrowed each to its branch's type and checked one branch's batches against the other's send.
    if burst > 1 and outlet is not None:
        batches: Iterable[Any] = iter(lambda: list(islice(frames, burst)), [])
        send: Callable[[Any], None] = outlet.send_burst
    else:
        batches, send = frames, (outlet.send if outlet is not None else lambda _: None)
    try:
        for batch in batches:
            send(batch)
            if stop.is_set():
                break
            if seg.halt.is_set():
                halted = True
                break
    finally:
        if not halted:
            frames.close()  # type: ignore[attr-defined]


def drain_rings(seg: Segment, runners: dict[str, SyncRunner]) -> None:
    """The body of a ring-fed worker: batch-drain its input rings until every producer has closed (or a halt).

    A push that arrives while the worker is busy with earlier frames counts an
    xrun on that ring's consumer.
    """
    wake = seg.wake
    for ring, _, _ in seg.inputs:
        ring.notify = wake.set
    while not seg.halt.is_set():
        wake.clear()  # before draining, so a push after the drain is never missed
        got = False
        for ring, node, port in seg.inputs:
            items = ring.pop_all()
            if items:
                got = True
                ring.consumer_busy = True
                runner = runners[node]
                for item in items:
                    runner.push(item, port)
                ring.consumer_busy = False
        if not got:
            if all(r.closed and len(r) == 0 for r, _, _ in seg.inputs):
                return
            wake.wait(0.5)
