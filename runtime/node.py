"""The node contract: what a node kind declares and what the runtime gives it.

A node kind is a class with a ``kind`` name, a ``Params`` dataclass (see
:mod:`mcav.runtime.params`), typed ``inputs``/``outputs`` ports, optional
``policies``, and one of three ways of running:

* :class:`SyncNode` - ``process(frame, port) -> frame | None``; pure and cheap.
  Chains of sync nodes run fused on one worker thread (a direct call per hop).
* :class:`SourceNode` - ``frames()`` yields frames on its own worker thread;
  it is the *driver* of the sync chain behind it (PipeWire's model).
* :class:`AsyncNode` - ``async run()`` on the runtime's asyncio loop thread
  (or one of its own with ``own_loop``), for network I/O. It reads with :meth:`NodeContext.input` and
  writes with :meth:`NodeContext.emit`; its edges are always ring buffers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, ClassVar, Coroutine, Iterator, Mapping

from .clock import Clock
from .control import ControlPort, Event, Interface, Require
from .errors import NodeFailure
from .frames import Frame, now_ns
from .metrics import NodeMetrics
from .policies import NodePolicies
from .scope import TaskScope

if TYPE_CHECKING:
    from .engine import Runtime
    from .ring import Ring

__all__ = [
    "AsyncInput",
    "AsyncNode",
    "EndOfStream",
    "NoParams",
    "Node",
    "NodeContext",
    "SourceNode",
    "SyncNode",
    "flavor",
    "iter_kind_ports",
]


@dataclass
class NoParams:
    """For node kinds without parameters."""


class EndOfStream(Exception):
    """Every producer feeding an input has finished and the input is drained."""


class Node:
    """Base of every node kind; subclass :class:`SyncNode`, :class:`SourceNode` or :class:`AsyncNode`.

    Class attributes:
        kind: The name used in graph files (``kind: fft``).
        Params: Dataclass of parameters built with :func:`~mcav.runtime.params.param`.
        inputs: Input port name → accepted frame type.
        outputs: Output port name → produced frame type.
        optional_inputs: Input ports that may stay unconnected.
        policies: Policy name (``reconnect``/``heartbeat``) → the :class:`~mcav.runtime.policies.Link`
            whose defaults apply (its name and CONNECTIVITY.md-style presets).
        provides: Control port → :class:`~mcav.runtime.control.Interface` this kind implements.
        requires: Control port → :class:`~mcav.runtime.control.Require` (an interface it calls).
        health_schema: Health stats this kind reports at the top level of ``status()``
            (:class:`~mcav.runtime.health.HealthStat`), summed over the graph.
    """

    kind: ClassVar[str] = ""
    Params: ClassVar[type] = NoParams
    inputs: ClassVar[Mapping[str, type[Frame]]] = {}
    outputs: ClassVar[Mapping[str, type[Frame]]] = {}
    optional_inputs: ClassVar[frozenset[str]] = frozenset()
    policies: ClassVar[Mapping[str, Any]] = {}
    provides: ClassVar[Mapping[str, type[Interface]]] = {}
    requires: ClassVar[Mapping[str, Require]] = {}
    health_schema: ClassVar[tuple[Any, ...]] = ()

    def __init__(self, params: Any, ctx: NodeContext) -> None:
        self.params = params
        self.ctx = ctx

    @classmethod
    def summary(cls) -> str:
        """First line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    def reconfigure(self, params: Any) -> bool:
        """Take new parameters while running (``mcav run --watch``); False (the default) if this kind cannot,
        and the node alone is rebuilt instead. Called from another thread: take the node's own locks."""
        return False

    def status(self) -> dict[str, Any]:
        """Node-specific live fields for the metrics snapshot (connections, counters).

        Called from another thread at a few Hz: read, never mutate.
        """
        return {}


class SyncNode(Node):
    """A node that turns one frame into at most one frame, fused into its driver's thread."""

    def start(self) -> None:
        """Called once on the worker thread before the first frame."""

    def process(self, frame: Frame, port: str) -> Frame | None:
        """Handle one frame arriving on ``port``; return the output frame or None."""
        raise NotImplementedError

    def process_burst(self, frames: list[Frame], port: str) -> list[Frame | None]:
        """Handle a burst of frames arriving on ``port`` (oldest first); return one result per frame.

        Bursts come only from a source read flat out (:attr:`SourceNode.burst`). A node overrides this
        when seeing the frames together makes its work cheaper (one transform over all their samples);
        it must return what :meth:`process` would have returned frame by frame. Only an override is
        called: otherwise the runtime calls :meth:`process` per frame, so that a failing frame costs that
        frame alone; an override that raises costs the whole burst (every frame counted in ``errors``).
        """
        return [self.process(frame, port) for frame in frames]

    def finish(self) -> None:
        """Called once on the worker thread after the last frame (end of stream or stop)."""


class SourceNode(Node):
    """A driver: yields frames from its own worker thread until exhausted or stopped.

    ``frames()`` must not block for long without checking
    :attr:`NodeContext.stopping` (use ``ctx.stop_event.wait(timeout)`` to pace).
    """

    #: Frames the runtime may take from :meth:`frames` before sending any on (see
    #: :mod:`~mcav.runtime.wiring`): more than 1 only for a source whose frames are ready at once (not
    #: paced, e.g. a file read flat out), since a frame waits for the rest of its burst. Default 1.
    burst: int = 1

    def frames(self) -> Iterator[Frame]:
        """Yield frames; returning means the source is exhausted."""
        raise NotImplementedError


class AsyncNode(Node):
    """A node running ``async run()`` on the runtime's asyncio loop thread."""

    #: True if the node calls :meth:`NodeContext.delivered` itself when a frame
    #: leaves the process (sinks); otherwise latency is recorded on arrival.
    reports_delivery: ClassVar[bool] = False
    #: True to run on an asyncio loop thread of its own instead of the shared I/O loop: for a
    #: latency-critical link that other network nodes' work (encoding, fan-out, many clients) must
    #: not delay. Its control calls, events, inputs, tasks and ``wait_stopping`` work as usual: calls
    #: from other loops are run on its loop, its events reach each consumer on the consumer's loop.
    own_loop: ClassVar[bool] = False

    async def run(self) -> None:
        """Run until the inputs end (sinks) or :meth:`NodeContext.wait_stopping` (sources)."""
        raise NotImplementedError

    def prepare(self, frame: Frame, port: str) -> Frame:
        """Per-frame work done on the producer's thread as ``frame`` is queued for input ``port``; returns what
        is queued instead (usually a :class:`~mcav.runtime.frames.Prepared` carrying ``frame``).

        Override it for work that needs no event loop (encoding a message): done where the frame is made,
        on warm caches and before this node's loop is woken, the loop is left only the I/O, and contends
        less for the GIL with the other consumers woken by the same frame. Not overridden (the default),
        nothing is called. It runs concurrently with :meth:`run`: read only attributes another thread may
        read (or keep its own objects), never block, never touch the loop. An exception is logged and
        counted in ``errors``, and the frame is queued as it came: the node must accept it unprepared too.
        """
        return frame


class AsyncInput:
    """The frames arriving at one input port of an :class:`AsyncNode`.

    ``async for frame in ctx.input():`` reads every frame in order;
    :meth:`latest` skips to the newest (the skipped ones are counted as decimated on their edge,
    apart from drops: skipping is what the reader asked for, not a loss).
    """

    def __init__(self, rings: list[Ring[Frame]], metrics: NodeMetrics, record_latency: bool) -> None:
        self._rings = rings
        self._metrics = metrics
        self._record = record_latency
        self._pending: list[Frame] = []
        self._origin: list[Ring[Frame]] = []  # the ring each pending frame came from
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the loop that reads; rings then wake it safely from any thread."""
        self._loop = loop
        self._loop_thread = threading.get_ident()
        for ring in self._rings:
            ring.notify = self._wake

    def rebind(self, rings: list[Ring[Frame]]) -> None:
        """Read ``rings`` from now on (a reload rewired the port); frames already taken stay queued."""
        self._rings = list(rings)
        if self._loop is not None:
            for ring in self._rings:
                ring.notify = self._wake
            self._wake()  # the reader may be waiting on the old rings

    def _wake(self) -> None:
        if threading.get_ident() == self._loop_thread:
            self._event.set()
        elif self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    def _drain(self) -> None:
        for ring in self._rings:
            items = ring.pop_all()
            self._pending.extend(items)
            self._origin.extend([ring] * len(items))

    def _finished(self) -> bool:
        return all(r.closed and len(r) == 0 for r in self._rings)

    async def _wait(self) -> None:
        while not self._pending:
            self._event.clear()
            self._drain()
            if self._pending:
                return
            if self._finished():
                raise EndOfStream
            await self._event.wait()

    def _take(self, frame: Frame) -> Frame:
        m = self._metrics
        m.frames_in += 1
        if self._record:
            m.latency.record(now_ns() - frame.t_capture)
        return frame

    async def get(self) -> Frame:
        """The next frame in order. Raises :class:`EndOfStream` when all producers are done."""
        await self._wait()
        self._origin.pop(0)
        return self._take(self._pending.pop(0))

    async def latest(self) -> Frame:
        """The newest frame available (waiting for one); older queued frames are skipped and counted."""
        await self._wait()
        self._drain()
        for ring in self._origin[:-1]:  # skipped frames count as decimated on the edge they came by
            ring.count_decimated(1)
        frame = self._pending[-1]
        self._pending.clear()
        self._origin.clear()
        return self._take(frame)

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Frame]:
        while True:
            try:
                yield await self.get()
            except EndOfStream:
                return


class NodeContext(NodePolicies):
    """What the runtime hands a node: its name, clock, policies, data ports and control ports.

    Attributes:
        name: The node's name in the graph.
        graph: The graph's name.
        clock: Time source for every policy timer.
        log: The node's logger (``mcav.<name>``).
        metrics: The node's counters (``xruns`` and ``errors`` may be bumped by the node).
        reconnect: The node's reconnect policy, if its kind declares one (else None; see :meth:`reconnect_policy`).
        heartbeat: The node's heartbeat policy, if its kind declares one (else None; see :meth:`heartbeat_policy`).
        base_dir: Directory of the graph file (relative paths in params resolve here).
        stop_event: Set when the graph is stopping.
        overridden: The node's top-level parameters set on the command line (``--set``): a value kept
            from an earlier run must not replace them.
        tasks: The node's :class:`~mcav.runtime.scope.TaskScope` (use :meth:`spawn`).
    """

    def __init__(
        self,
        name: str,
        runtime: Runtime,
        clock: Clock,
        metrics: NodeMetrics,
        policies: Mapping[str, Any],
        base_dir: Path,
        overridden: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.overridden = overridden
        self.clock = clock
        self.log = logging.getLogger(f"mcav.{name}")
        self.metrics = metrics
        self.reconnect = policies.get("reconnect")
        self.heartbeat = policies.get("heartbeat")
        self.base_dir = base_dir
        self.stop_event: threading.Event = runtime.stop_event
        #: The graph's name (``graph:`` of the file, else the file name).
        self.graph: str = runtime.graph.name
        self._runtime = runtime
        #: The node's background tasks (async nodes): cancelled and awaited by the runtime when ``run()`` ends.
        self.tasks = TaskScope(name, self.log, self._task_failed, self._critical_task_failed)

    def _task_failed(self) -> None:
        self.metrics.errors += 1

    def _critical_task_failed(self, exc: BaseException) -> None:
        self.fail(f"node '{self.name}': {type(exc).__name__}: {exc}")

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str = "", critical: bool = False) -> asyncio.Task[Any]:
        """Run ``coro`` as a background task owned by this node (see :class:`~mcav.runtime.scope.TaskScope`).

        Call on the I/O loop. A failing task is logged and counted in ``errors``; with ``critical`` it
        also fails the node. Every task is cancelled when ``run()`` ends.
        """
        return self.tasks.spawn(coro, name=name, critical=critical)

    def sinks(self) -> list[str]:
        """Names of the graph's sinks (nodes with inputs and no outputs), in graph order."""
        return self._runtime.sinks()

    @property
    def stopping(self) -> bool:
        """True once the graph was asked to stop."""
        return self.stop_event.is_set()

    async def wait_stopping(self) -> None:
        """Wait (on the loop) until the graph is asked to stop."""
        await self._runtime.async_stopping()

    def emit(self, frame: Frame, port: str = "out") -> None:
        """Send ``frame`` out of ``port`` (async nodes; sync nodes return frames instead)."""
        self._runtime.outlet(self.name, port).send(frame)

    def input(self, port: str = "in") -> AsyncInput:
        """The reader of input ``port`` (async nodes only)."""
        return self._runtime.async_input(self.name, port)

    def delivered(self, frame: Frame) -> None:
        """Record that ``frame`` left the process now (end-to-end latency at a sink)."""
        self.metrics.latency.record(now_ns() - frame.t_capture)

    def control(self, port: str) -> ControlPort:
        """This node's end of control port ``port`` (declared in the kind's ``requires``).

        Raises:
            KeyError: the kind declares no such control port.
        """
        return self._runtime.control_port(self.name, port)

    def publish(self, port: str, event: str, data: Mapping[str, Any] | None = None) -> None:
        """Publish ``event`` (plain data) to every consumer of provided control port ``port``.

        Raises:
            ValueError: the port's interface declares no such event.
        """
        self._runtime.publish(Event(self.name, "", event, dict(data or {})), port)

    def fail(self, message: str, exit_code: int = 1) -> None:
        """Stop the whole graph because of this node; ``mcav run`` exits with ``exit_code``."""
        self._runtime.fail(self.name, NodeFailure(message, exit_code))

    def metrics_snapshot(self) -> Any:
        """The graph's current :class:`~mcav.runtime.metrics.Snapshot` (for status pages)."""
        return self._runtime.snapshot()


def iter_kind_ports(cls: type[Node]) -> Iterator[tuple[str, str, type[Frame]]]:
    """Yield ``("in"|"out", port, frame type)`` for a node kind."""
    for port, tp in cls.inputs.items():
        yield "in", port, tp
    for port, tp in cls.outputs.items():
        yield "out", port, tp


def flavor(cls: type[Node]) -> str:
    """``"sync"``, ``"source"`` or ``"async"``."""
    if issubclass(cls, AsyncNode):
        return "async"
    if issubclass(cls, SourceNode):
        return "source"
    if issubclass(cls, SyncNode):
        return "sync"
    raise TypeError(f"{cls.__name__} must subclass SyncNode, SourceNode or AsyncNode")

