"""Per-node and per-edge metrics, and the one snapshot everything reads.

Writers (a node's own thread) record into preallocated arrays with no locks;
readers (dashboard, logs, ``/metrics``) call :meth:`Metrics.snapshot` at a few
Hz, which computes percentiles over the last :data:`WINDOW` samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from .ring import Ring

__all__ = ["EdgeStats", "Histogram", "Metrics", "NodeMetrics", "NodeStats", "Snapshot", "WINDOW"]

#: Samples kept per histogram (the percentiles cover the most recent ones).
WINDOW = 2048


class Histogram:
    """The last :data:`WINDOW` durations, in ns; percentiles reported in ms."""

    __slots__ = ("_buf", "_n")

    def __init__(self) -> None:
        self._buf = np.zeros(WINDOW, dtype=np.int64)
        self._n = 0

    def record(self, ns: int) -> None:
        """Add one duration in ns."""
        self._buf[self._n % WINDOW] = ns
        self._n += 1

    @property
    def count(self) -> int:
        """Samples recorded in all (not only those kept)."""
        return self._n

    def percentiles_ms(self, *qs: float) -> tuple[float | None, ...]:
        """The ``qs`` percentiles (0-100) of the kept samples in ms; None when empty."""
        n = min(self._n, WINDOW)
        if n == 0:
            return tuple(None for _ in qs)
        vals = np.percentile(self._buf[:n], qs) / 1e6
        return tuple(round(float(v), 4) for v in vals)


#: Frames per second are counted over the last one to two windows of this length (ns).
RATE_WINDOW_NS = 1_000_000_000


class _Rate:
    """Frames per second: the frames counted since the previous window began (the last 1-2 s of them).

    Not 1 / an average of the times between frames: blocks that come in bursts (a sound card's two or
    four per callback) left that average at the burst's short gaps through the long gap after it, and
    the rate read 5-20 % high (398 fps for 375 blocks a second through PulseAudio).
    """

    __slots__ = ("_last", "_n", "_since", "_start")

    def __init__(self) -> None:
        self._last = 0
        self._n = 0  # frames after the first one (its time starts the clock)
        self._start = (0, 0)  # (time, count) where the window being filled began
        self._since = (0, 0)  # (time, count) the rate counts from: where the previous window began

    def tick(self, now: int) -> None:
        self.tick_many(now, 1)

    def tick_many(self, now: int, n: int) -> None:
        """``n`` frames by ``now`` (a burst counts all its frames)."""
        if not self._last or now - self._last > RATE_WINDOW_NS:  # the first frames, or after a stall
            self._last = now
            self._start = self._since = (now, self._n)
            return
        self._n += n
        self._last = now
        if now - self._start[0] >= RATE_WINDOW_NS:
            self._since, self._start = self._start, (now, self._n)

    def fps(self, now: int) -> float:
        (t0, n0), last, n = self._since, self._last, self._n
        if not last or now - last > RATE_WINDOW_NS or last <= t0:
            return 0.0
        return (n - n0) * 1e9 / (last - t0)


class NodeMetrics:
    """Counters of one node, written only from the thread that runs it."""

    __slots__ = ("errors", "frames_in", "frames_out", "latency", "proc", "rate", "xruns")

    def __init__(self) -> None:
        self.frames_in = 0
        self.frames_out = 0
        self.errors = 0
        self.xruns = 0
        self.proc = Histogram()
        self.latency = Histogram()
        self.rate = _Rate()


@dataclass(frozen=True, slots=True)
class NodeStats:
    """A node's figures at snapshot time. Times are in ms."""

    name: str
    kind: str
    frames_in: int
    frames_out: int
    fps: float
    errors: int
    xruns: int
    proc_p50_ms: float | None
    proc_p99_ms: float | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EdgeStats:
    """A queued edge's figures at snapshot time."""

    name: str
    src: str
    dst: str
    leaky: str
    slots: int
    fill: int
    high_water: int
    pushes: int
    drops: int
    xruns: int
    #: Frames skipped by design (a ``latest`` ring, a reader of the newest only); not losses.
    decimated: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything measurable about a running graph at one instant."""

    graph: str
    uptime_s: float
    nodes: dict[str, NodeStats]
    edges: list[EdgeStats]
    #: Health stats the graph's node kinds declare (:class:`~mcav.runtime.health.HealthStat`).
    health: tuple[Any, ...] = ()

    @property
    def total_drops(self) -> int:
        """Frames dropped on every queued edge."""
        return sum(e.drops for e in self.edges)

    @property
    def total_decimated(self) -> int:
        """Frames skipped by design on every queued edge (apart from drops)."""
        return sum(e.decimated for e in self.edges)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for logs and HTTP endpoints)."""
        return {
            "graph": self.graph,
            "uptime_s": round(self.uptime_s, 3),
            "nodes": {n: _asdict(s) for n, s in self.nodes.items()},
            "edges": [_asdict(e) for e in self.edges],
        }


def _asdict(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__}


class Metrics:
    """The registry of a running graph's metrics; :meth:`snapshot` reads it all.

    Args:
        graph: The graph's name.
    """

    def __init__(self, graph: str) -> None:
        self.graph = graph
        self.started = time.monotonic()
        self._nodes: dict[str, tuple[str, NodeMetrics, Callable[[], dict[str, Any]]]] = {}
        self._edges: list[tuple[str, str, Ring[Any]]] = []
        #: Health stats declared by the graph's node kinds (set once by the runtime).
        self.health: tuple[Any, ...] = ()

    def node(self, name: str, kind: str, extra: Callable[[], dict[str, Any]]) -> NodeMetrics:
        """Register a node; ``extra`` returns its own status fields (connections, counters)."""
        m = NodeMetrics()
        self._nodes[name] = (kind, m, extra)
        return m

    def plan(self, nodes: list[str], edges: list[tuple[str, str, Ring[Any]]]) -> None:
        """Set the graph's shape: only ``nodes`` (registered, in this order) and the queued ``edges`` (src, dst, ring).

        Called once the plan is built, and again after each reload (removed nodes leave the snapshot).
        """
        self._nodes = {n: self._nodes[n] for n in nodes if n in self._nodes}
        self._edges = list(edges)

    def snapshot(self) -> Snapshot:
        """Read every counter and compute percentiles; safe from any thread."""
        now = time.monotonic_ns()
        ring_xruns: dict[str, int] = {}
        for _, dst, r in self._edges:
            ring_xruns[dst] = ring_xruns.get(dst, 0) + r.xruns
        nodes = {}
        for name, (kind, m, extra) in self._nodes.items():
            p50, p99 = m.proc.percentiles_ms(50, 99)
            l50, l99 = m.latency.percentiles_ms(50, 99)
            try:
                more = extra()
            except Exception as exc:  # a status getter must never break the snapshot
                more = {"status_error": repr(exc)}
            nodes[name] = NodeStats(
                name=name,
                kind=kind,
                frames_in=m.frames_in,
                frames_out=m.frames_out,
                fps=round(m.rate.fps(now), 2),
                errors=m.errors,
                xruns=m.xruns + ring_xruns.get(name, 0),
                proc_p50_ms=p50,
                proc_p99_ms=p99,
                latency_p50_ms=l50,
                latency_p99_ms=l99,
                extra=more,
            )
        edges = [
            EdgeStats(
                name=r.name,
                src=src,
                dst=dst,
                leaky=r.leaky,
                slots=r.slots,
                fill=len(r),
                high_water=r.high_water,
                pushes=r.pushes,
                drops=r.drops,
                xruns=r.xruns,
                decimated=r.decimated,
            )
            for src, dst, r in self._edges
        ]
        return Snapshot(graph=self.graph, uptime_s=time.monotonic() - self.started, nodes=nodes, edges=edges,
                        health=self.health)
