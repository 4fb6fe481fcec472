"""Running a compiled graph: worker threads, ring buffers and one asyncio loop.

The plan is fixed at start (and replaced in place by a reload, see :mod:`~mcav.runtime.reshape`);
nothing is scheduled per frame:

* each *segment* (a source, or a sync node fed by rings, plus every sync node
  reached from it by direct edges) runs on one worker thread, and a frame
  travels through it by plain method calls;
* every async node runs as a task on the I/O loop thread, except a kind that
  declares ``own_loop``: it gets a loop thread of its own, so that no other
  network node's work (e.g. a fan-out to 1000 browsers) delays it (in a realtime
  process, ``mcav run --realtime``, that thread runs one priority step above the rest);
* segments and async nodes meet only at :class:`~mcav.runtime.ring.Ring` buffers.

Shutdown (:meth:`Runtime.stop`, SIGINT, SIGTERM, or all sources exhausted):
sources stop first, rings drain, each consumer finishes when all its
producers have closed, network nodes close their sockets, then the loop ends.
Whatever is still running after ``shutdown_timeout`` is aborted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from typing import Any, Iterator

from .clock import Clock, SystemClock
from .compile import CompiledGraph
from .control import ControlPort, Event
from .errors import NodeFailure
from .frames import Frame
from .metrics import Metrics, Snapshot
from .node import AsyncInput, AsyncNode, Node, SourceNode, SyncNode
from .priority import step_up
from .reshape import Reload, assemble, reload
from .ring import Ring, RingClosed
from .wiring import Outlet, Segment, SyncRunner, drain_rings, drive_source

__all__ = ["Runtime"]

log = logging.getLogger("mcav.runtime")


class Runtime:
    """Runs one compiled graph.

    Args:
        graph: The compiled graph.
        clock: Clock handed to every node's policies. Default :class:`SystemClock`.
        shutdown_timeout: Seconds a graceful stop may take before the rest is aborted.
    """

    def __init__(self, graph: CompiledGraph, clock: Clock | None = None, shutdown_timeout: float = 1.5) -> None:
        self.graph = graph
        self.clock = clock or SystemClock()
        self.shutdown_timeout = shutdown_timeout
        self.stop_event = threading.Event()
        self.metrics = Metrics(graph.name)
        self.exit_code = 0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._pending: set[str] = set()  # units whose end means the graph is complete
        self._alive: set[str] = set()  # every unit still running, services included
        self._nodes: dict[str, Node] = {}
        self._outlets: dict[tuple[str, str], Outlet] = {}
        self._inputs: dict[tuple[str, str], AsyncInput] = {}
        self._rings: list[Ring[Frame]] = []
        self._edge_rings: dict[tuple[str, Any], Ring[Frame]] = {}  # (edge name, queue) → its ring
        self._runners: dict[str, SyncRunner] = {}
        self._segments: list[Segment] = []
        self._threads: list[threading.Thread] = []
        self._frames: dict[str, Iterator[Frame]] = {}  # each source's frames(), kept open across a reload
        self._started_sync: set[str] = set()  # sync nodes whose start() ran
        self._loop = asyncio.new_event_loop()
        #: Async nodes whose kind asks for a loop of its own → that loop (the rest share ``_loop``).
        self._own_loops: dict[str, asyncio.AbstractEventLoop] = {}
        self._loop_threads: dict[str, threading.Thread] = {}  # "" for the shared loop, else the node
        self._async_stops: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}
        self._tasks: dict[str, concurrent.futures.Future[None]] = {}  # async node → its run() (a thread-safe future)
        self._ended: dict[str, threading.Event] = {}  # async node → set when its run() has ended
        self._retiring: set[str] = set()  # async nodes stopped by a reload (their rings stay open)
        self._started = False
        self._locks: dict[str, threading.RLock] = {}  # sync providers: held around process() and calls
        self._controls: dict[tuple[str, str], ControlPort] = {}
        assemble(self, graph)

    # -- lookups for nodes ----------------------------------------------------------------------

    def node(self, name: str) -> Node:
        """The node instance called ``name``."""
        return self._nodes[name]

    def loop_of(self, node: str) -> asyncio.AbstractEventLoop:
        """The loop async node ``node`` runs on (the shared I/O loop unless its kind has ``own_loop``)."""
        return self._own_loops.get(node, self._loop)

    def control_port(self, node: str, port: str) -> ControlPort:
        """``node``'s end of control port ``port``."""
        try:
            return self._controls[(node, port)]
        except KeyError:
            raise KeyError(f"node '{node}' has no control port '{port}' (declare it in the kind's requires)") from None

    def sinks(self) -> list[str]:
        """Nodes with inputs and no outputs, in graph order."""
        return [n for n, cn in self.graph.nodes.items() if cn.cls.inputs and not cn.cls.outputs]

    def publish(self, event: Event, port: str) -> None:
        """Deliver ``event`` from ``event.provider``'s provided port ``port`` to every bound consumer."""
        cn = self.graph.nodes.get(event.provider)
        if cn is None:
            return  # a node a reload removed, publishing as it stops
        iface = cn.cls.provides.get(port)
        if iface is None:
            raise KeyError(f"node '{event.provider}' provides no control port '{port}'")
        if event.name not in iface.events:
            raise ValueError(f"{iface.name} has no event '{event.name}'; events: {', '.join(iface.events) or 'none'}")
        event = Event(event.provider, iface.name, event.name, event.data)
        for c in self.graph.controls:
            consumer = self._controls.get((c.consumer, c.port))  # None for a moment while a reload builds it
            if c.provider == event.provider and c.provider_port == port and consumer is not None:
                consumer.deliver(event)

    def outlet(self, node: str, port: str) -> Outlet:
        """The outlet of ``node.port`` (raises KeyError naming it if there is none)."""
        try:
            return self._outlets[(node, port)]
        except KeyError:
            raise KeyError(f"node '{node}' has no output port '{port}'") from None

    def async_input(self, node: str, port: str) -> AsyncInput:
        """The reader of ``node.port``."""
        try:
            return self._inputs[(node, port)]
        except KeyError:
            raise KeyError(f"node '{node}' has no input port '{port}'") from None

    def snapshot(self) -> Snapshot:
        """The current metrics of every node and queued edge."""
        return self.metrics.snapshot()

    async def async_stopping(self) -> None:
        """Wait (on any of the runtime's loops) until stop is requested."""
        await self._async_stops[asyncio.get_running_loop()].wait()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the loop thread, the async nodes, then every worker (sources last)."""
        if self._started:
            raise RuntimeError("a Runtime starts once")
        self._started = True
        if not self._pending:
            log.info("graph '%s' has no sources; running until stopped", self.graph.name)
        if not self._alive:
            self._done.set()
        self._start_loop("", self._loop)
        self.launch(list(self.graph.nodes))

    def launch(self, names: list[str]) -> None:
        """Start the async nodes among ``names`` (and their own loops), then every segment's worker (sources last)."""
        names = [n for n in names if self.graph.nodes[n].flavor == "async"]
        for name in names:  # every loop first, then the nodes' tasks back to back, in graph order
            if name in self._own_loops:
                self._start_loop(name, self._own_loops[name])
        for name in names:
            self._ended[name] = ended = threading.Event()
            self._tasks[name] = asyncio.run_coroutine_threadsafe(self._run_async(name, ended), self.loop_of(name))
        self._threads = []
        for seg in sorted(self._segments, key=lambda s: self.graph.nodes[s.head].flavor == "source"):
            t = threading.Thread(target=self._run_segment, args=(seg,), name=f"mcav-{seg.head}", daemon=True)
            self._threads.append(t)
            t.start()

    def _start_loop(self, name: str, loop: asyncio.AbstractEventLoop) -> None:
        ready = threading.Event()
        t = threading.Thread(target=self._loop_main, args=(loop, ready, bool(name)),
                             name=f"mcav-io{'-' if name else ''}{name}", daemon=True)
        self._loop_threads[name] = t
        t.start()
        ready.wait()

    # -- reload (see reshape.py) -----------------------------------------------------------------

    def reload(self, graph: CompiledGraph) -> Reload:
        """Run ``graph`` from now on, keeping the nodes that did not change (:func:`~mcav.runtime.reshape.reload`)."""
        if not self._started:
            raise RuntimeError("only a started Runtime reloads (build one for the new graph instead)")
        return reload(self, graph)

    # -- stopping -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the graph to stop (thread-safe, idempotent, returns at once)."""
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        for loop in (self._loop, *list(self._own_loops.values())):
            try:
                loop.call_soon_threadsafe(self._set_async_stop, loop)
            except RuntimeError:  # that loop is closed already
                pass

    def fail(self, node: str, exc: NodeFailure) -> None:
        """Stop the graph because ``node`` failed; keeps the first failure's exit code."""
        with self._lock:
            if self.exit_code == 0:
                self.exit_code = exc.exit_code
        log.error("%s: %s", node, exc)
        self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every source and its downstream finished; False on timeout."""
        return self._done.wait(timeout)

    def run(self) -> int:
        """Start, run until done or stopped, shut down; return the exit code."""
        self.start()
        try:
            while not self.stop_event.wait(0.1):
                pass
        finally:
            self.shutdown()
        return self.exit_code

    def shutdown(self) -> None:
        """Stop and wait for a clean end (at most ``shutdown_timeout`` s, then abort)."""
        self.stop()
        deadline = time.monotonic() + self.shutdown_timeout
        if not self._done.wait(max(0.0, deadline - time.monotonic())):
            stuck = ", ".join(sorted(self._alive))
            log.warning("shutdown: still running after %.1f s, aborting: %s", self.shutdown_timeout, stuck)
            for ring in self._rings:
                ring.close()
            for fut in list(self._tasks.values()):
                fut.cancel()
            self._done.wait(0.3)
        for t in self._threads:
            t.join(timeout=0.2)
        loops = {"": self._loop, **self._own_loops}
        for name, thread in list(self._loop_threads.items()):
            loop = loops.get(name)
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=0.5)

    # -- threads ------------------------------------------------------------------------------

    def _loop_main(self, loop: asyncio.AbstractEventLoop, ready: threading.Event, own: bool) -> None:
        if own:  # a latency-critical node's loop: ahead of the process's other threads in a realtime process
            step_up()
        asyncio.set_event_loop(loop)
        self._async_stops[loop] = asyncio.Event()
        if self.stop_event.is_set():
            self._async_stops[loop].set()
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _set_async_stop(self, loop: asyncio.AbstractEventLoop) -> None:
        stop = self._async_stops.get(loop)
        if stop is not None:
            stop.set()

    async def _run_async(self, name: str, ended: threading.Event) -> None:
        node = self._nodes[name]
        assert isinstance(node, AsyncNode)
        loop = asyncio.get_running_loop()
        for (n, _), inp in self._inputs.items():
            if n == name:
                inp.bind(loop)
        try:
            try:
                await node.run()
            finally:
                await node.ctx.tasks.aclose()
        except asyncio.CancelledError:
            pass
        except NodeFailure as exc:
            self.fail(name, exc)
        except Exception:
            node.ctx.log.exception("node '%s' crashed", name)
            self.fail(name, NodeFailure(f"node '{name}' crashed", 1))
        finally:
            if name not in self._retiring:  # a node stopped by a reload: its rings are rewired, not ended
                for ring in self._rings_from(name):
                    ring.close()
            self._finished(f"async:{name}")
            ended.set()

    def _rings_from(self, node: str) -> list[Ring[Frame]]:
        names = {e.name for e in self.graph.edges_from(node) if e.queue is not None}
        return [r for r in self._rings if r.name in names]

    def _run_segment(self, seg: Segment) -> None:
        head = self._nodes[seg.head]
        members = [self._nodes[n] for n in seg.members]
        try:
            for node in members:
                if isinstance(node, SyncNode) and node.ctx.name not in self._started_sync:  # once, even across reloads
                    self._started_sync.add(node.ctx.name)
                    try:
                        node.start()
                    except Exception as exc:
                        raise NodeFailure(f"node '{node.ctx.name}' failed to start: {exc}") from exc
            if isinstance(head, SourceNode):
                frames = self._frames.get(seg.head)
                if frames is None:
                    frames = self._frames[seg.head] = head.frames()
                drive_source(frames, self._outlets.get((seg.head, next(iter(type(head).outputs), "out"))),
                             self.stop_event, seg, head.burst)
            else:
                drain_rings(seg, self._runners)
        except RingClosed:
            pass  # aborted during shutdown
        except NodeFailure as exc:
            self.fail(seg.head, exc)
        except Exception:
            head.ctx.log.exception("worker of '%s' crashed", seg.head)
            self.fail(seg.head, NodeFailure(f"node '{seg.head}' crashed", 1))
        finally:
            if not seg.halt.is_set() or self.stop_event.is_set():  # halted by a reload: nothing ends
                self._end_segment(seg, members)

    def _end_segment(self, seg: Segment, members: list[Node]) -> None:
        for node in members:
            if isinstance(node, SyncNode):
                try:
                    node.finish()
                except Exception:
                    node.ctx.log.exception("finish() failed")
        for ring in seg.produces:
            ring.close()
        self._finished(f"segment:{seg.head}")

    def _finished(self, unit: str) -> None:
        with self._lock:
            was_pending = unit in self._pending
            self._pending.discard(unit)
            self._alive.discard(unit)
            complete = was_pending and not self._pending
            all_done = not self._alive
        if complete:
            self.stop()  # the sources are exhausted: stop the services (nodes with no ports) too
        if all_done:
            self._done.set()
