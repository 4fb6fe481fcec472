"""Building a runtime's plan, and rebuilding it in place when the graph file changes (``mcav run --watch``).

:func:`assemble` wires a :class:`~mcav.runtime.engine.Runtime` for a compiled
graph: control ports, node instances, outlets, rings, sync runners, async
inputs and segments. :func:`reload` calls it again for a new version of the
graph around the node instances that did not change, so that a network node
keeps its task, its sockets and its clients through a structural edit:

* a node whose definition (kind, parameters, policies) is unchanged is *kept*:
  the same instance, its outlets, its async inputs (rebound to the new rings),
  its control ports (their providers replaced in place) and, for a sync node,
  its started state (``start()`` is not called again; a source's ``frames()``
  resumes where it was);
* a node whose parameters changed is kept if its kind takes them live
  (:meth:`~mcav.runtime.node.Node.reconfigure`), else *rebuilt* alone: stopped
  (an async node's task is cancelled, its clients reconnect), then a new
  instance is built and started — as are *added* nodes; *removed* ones stop;
* the sync workers (the fused audio chain) are halted after the frame in hand
  (once the stopping async nodes have ended) and started again on the new plan;
  an edge whose two ends are kept keeps its ring and the frames in it.

Which nodes survive is decided from the compiled definitions only (no kind is named here).
This module is the runtime's other half (it works on the Runtime's private state), apart for size.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Collection

from .compile import CompiledGraph
from .control import ControlPort, ProviderRef
from .frames import Frame
from .health import declared
from .metrics import NodeMetrics
from .node import AsyncInput, AsyncNode, Node, NodeContext, SyncNode
from .ring import Ring
from .wiring import Outlet, SyncRunner, direct_target, plan_segments, preparer, ring_target

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["NodeDiff", "Reload", "assemble", "diff_nodes", "reload"]


@dataclass(frozen=True)
class NodeDiff:
    """How the nodes of two versions of a graph compare, each list in graph order."""

    #: Same kind, parameters and policies.
    kept: tuple[str, ...] = ()
    #: Same kind and policies, new parameters: kept if the node takes them live, else rebuilt.
    changed: tuple[str, ...] = ()
    #: A new kind or new policies.
    rebuilt: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def diff_nodes(old: CompiledGraph, new: CompiledGraph) -> NodeDiff:
    """Compare every node of ``new`` with its namesake in ``old`` (edges and control links are rewired anyway)."""
    kept, changed, rebuilt = [], [], []
    for name, cn in new.nodes.items():
        was = old.nodes.get(name)
        if was is None:
            continue
        if was.cls is not cn.cls or repr(was.policies) != repr(cn.policies):
            rebuilt.append(name)
        elif was.params != cn.params:
            changed.append(name)
        else:
            kept.append(name)
    return NodeDiff(tuple(kept), tuple(changed), tuple(rebuilt), tuple(n for n in new.nodes if n not in old.nodes),
                    tuple(n for n in old.nodes if n not in new.nodes))


def _wiring(g: CompiledGraph) -> tuple[Any, ...]:
    return sorted((e.name, repr(e.queue)) for e in g.edges), sorted(c.name for c in g.controls)


@dataclass(frozen=True)
class Reload:
    """What a reload did to each node, in graph order."""

    kept: tuple[str, ...] = ()
    live: tuple[str, ...] = ()  # kept, with new parameters applied while running
    rebuilt: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def describe(self) -> str:
        """E.g. ``"kept web, admin; rebuilt fft; added osc"`` (``"no change"`` if nothing changed)."""
        if not (self.live or self.rebuilt or self.added or self.removed):
            return "no change"
        parts = [("kept", tuple(n for n in self.kept if n not in self.live)), ("applied live to", self.live),
                 ("rebuilt", self.rebuilt), ("added", self.added), ("removed", self.removed)]
        return "; ".join(f"{what} {', '.join(names)}" for what, names in parts if names)


def reload(rt: Runtime, new: CompiledGraph, timeout: float = 3.0) -> Reload:
    """Turn running ``rt`` into a runtime of ``new``, keeping every node that did not change (see module docs).

    Raises:
        RuntimeError: something could not be stopped within ``timeout`` s, or the graph is stopping;
            ``rt`` is then in no defined state: shut it down (``mcav run`` rebuilds the whole graph).
    """
    diff = diff_nodes(rt.graph, new)
    live = tuple(n for n in diff.changed if rt.node(n).reconfigure(new.nodes[n].params))
    rebuilt = tuple(n for n in new.nodes if n in diff.rebuilt or (n in diff.changed and n not in live))
    kept = tuple(n for n in new.nodes if n in diff.kept or n in live)
    done = Reload(kept, live, rebuilt, diff.added, diff.removed)
    if not (rebuilt or diff.added or diff.removed) and _wiring(rt.graph) == _wiring(new):
        rt.graph = new  # parameters only, all taken live: nothing to rewire
        return done
    if rt.stop_event.is_set():
        raise RuntimeError("the graph is stopping")
    with rt._lock:
        rt._alive.add("reload")  # the graph is not done while its workers and nodes are swapped
    try:
        going = [*diff.removed, *rebuilt]
        _retire(rt, going, timeout)  # network nodes first, while the audio path still runs
        _halt_segments(rt, going, timeout)  # then a pause of one frame, until launch()
        rt.graph = new
        for ring in assemble(rt, new, kept):
            ring.close()  # nobody reads it any more; wakes a producer blocked on it
        rt.launch([*rebuilt, *diff.added])
    finally:
        rt._finished("reload")
    return done


def _retire(rt: Runtime, names: list[str], timeout: float) -> None:
    """Stop the async nodes among ``names`` alone: cancel each one's run and wait for it (its sockets closed)."""
    going = [n for n in names if n in rt._tasks]
    with rt._lock:
        rt._retiring.update(going)
        for name in going:
            rt._pending.discard(f"async:{name}")
    for name in going:
        rt._tasks.pop(name).cancel()
    for name in going:
        if not rt._ended.pop(name).wait(timeout):
            raise RuntimeError(f"node '{name}' did not stop within {timeout:g} s")
        rt._retiring.discard(name)  # a rebuilt node of that name ends as usual
        for e in rt.graph.edges_into(name):  # nobody reads them now: a producer blocked on one goes on
            rt._edge_rings[(e.name, e.queue)].close()
        loop = rt._own_loops.pop(name, None)
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            rt._loop_threads.pop(name).join(timeout)


def _halt_segments(rt: Runtime, going: list[str], timeout: float) -> None:
    """End every segment's worker after the frame in hand, then finish the sync nodes and sources in ``going``.

    The other nodes stay started and every ring stays open, for the next plan's workers.
    """
    for seg in rt._segments:
        seg.stop_for_reload()
    for t in rt._threads:
        t.join(timeout)
        if t.is_alive():
            raise RuntimeError(f"worker {t.name} did not stop within {timeout:g} s")
    with rt._lock:
        for seg in rt._segments:
            rt._pending.discard(f"segment:{seg.head}")
            rt._alive.discard(f"segment:{seg.head}")
    for name in going:
        node = rt._nodes[name]
        if name in rt._started_sync and isinstance(node, SyncNode):
            rt._started_sync.discard(name)
            try:
                node.finish()
            except Exception:
                node.ctx.log.exception("finish() failed")
        frames = rt._frames.pop(name, None)
        if frames is not None:
            frames.close()  # type: ignore[attr-defined]


def _status_of(holder: list[Node]) -> dict[str, Any]:
    """The status fields of the node in ``holder``: none until it is built (its metrics are made first)."""
    return holder[0].status() if holder else {}


def assemble(rt: Runtime, g: CompiledGraph, kept: Collection[str] = ()) -> list[Ring[Frame]]:
    """Build ``rt``'s plan for ``g`` around the ``kept`` node instances (none the first time).

    Every other node of ``g`` gets a new instance. Returns the rings of the previous plan that are
    no longer used (to close once nothing reads them).
    """
    fresh = [n for n in g.nodes if n not in kept]
    rt._controls = {k: p for k, p in rt._controls.items() if k[0] in kept}
    rt._locks = {n: lock for n, lock in rt._locks.items() if n in kept}
    for name in fresh:  # control ports exist before nodes (constructors may keep them)
        cn = g.nodes[name]
        for port, req in cn.cls.requires.items():
            rt._controls[(name, port)] = ControlPort(name, port, req, [])
        if cn.cls.provides and cn.flavor != "async":
            rt._locks[name] = threading.RLock()
        if cn.flavor == "async" and getattr(cn.cls, "own_loop", False):
            rt._own_loops[name] = asyncio.new_event_loop()
    metrics: dict[str, NodeMetrics] = {n: rt._nodes[n].ctx.metrics for n in kept}
    nodes: dict[str, Node] = {n: rt._nodes[n] for n in kept}
    outlets = {k: o for k, o in rt._outlets.items() if k[0] in kept}
    for name in fresh:
        cn = g.nodes[name]
        holder: list[Node] = []
        m = metrics[name] = rt.metrics.node(name, cn.kind, functools.partial(_status_of, holder))
        spec = g.spec.nodes.get(name)
        ctx = NodeContext(name, rt, rt.clock, m, cn.policies, g.spec.base_dir,
                          spec.overridden if spec is not None else frozenset())
        rt._nodes[name] = nodes[name] = cn.cls(cn.params, ctx)
        holder.append(nodes[name])
        for port in cn.cls.outputs:
            outlets[(name, port)] = Outlet(m)
    rt._nodes, rt._outlets = nodes, outlets
    providers: dict[tuple[str, str], list[ProviderRef]] = {k: [] for k in rt._controls}
    for c in g.controls:
        lock = rt._locks.get(c.provider)
        iface = rt._controls[(c.consumer, c.port)].require.interface
        providers[(c.consumer, c.port)].append(ProviderRef(c.provider, nodes[c.provider], iface, rt.loop_of(c.provider),
                                                           lock, rt.clock))
    for key, refs in providers.items():
        rt._controls[key].providers[:] = refs  # in place: a kept node may hold its port

    old_rings = dict(rt._edge_rings)
    rings: dict[int, Ring[Frame]] = {}
    for i, e in enumerate(g.edges):
        if e.queue is not None:
            ring = old_rings.pop((e.name, e.queue), None) if e.src in kept and e.dst in kept else None
            rings[i] = ring or Ring(e.queue.slots, e.queue.leaky, e.name)  # type: ignore[arg-type]
    rt._edge_rings = {(e.name, e.queue): rings[i] for i, e in enumerate(g.edges) if i in rings}
    rt._rings = list(rings.values())

    rt._runners = runners = {}
    for name, cn in g.nodes.items():
        if cn.flavor == "sync":
            outs = list(cn.cls.outputs)
            outlet = outlets[(name, outs[0])] if outs else None
            runners[name] = SyncRunner(nodes[name], metrics[name], outlet, rt._locks.get(name))  # type: ignore[arg-type]
    targets: dict[tuple[str, str], list[Any]] = {k: [] for k in outlets}  # (one frame, a burst) per target
    for i, e in enumerate(g.edges):
        if i in rings:
            dst = nodes[e.dst]
            prep = preparer(dst, e.dst_port) if isinstance(dst, AsyncNode) else None
            targets[(e.src, e.src_port)].append(ring_target(rings[i], prep))
        else:
            targets[(e.src, e.src_port)].append(direct_target(runners[e.dst], e.dst_port))
    for key, outlet in outlets.items():
        # Bursts come only from a source's worker, which a reload has halted; a kept async node may be
        # emitting right now, so its targets change in one assignment.
        outlet.bursts = [b for _, b in targets[key]]
        outlet.targets = [t for t, _ in targets[key]]

    inputs: dict[tuple[str, str], AsyncInput] = {}
    for name, cn in g.nodes.items():
        if cn.flavor == "async":
            record = not getattr(cn.cls, "reports_delivery", False)
            for port in cn.cls.inputs:
                port_rings = [rings[i] for i, e in enumerate(g.edges) if e.dst == name and e.dst_port == port]
                inp = rt._inputs.get((name, port)) if name in kept else None
                if inp is None:
                    inp = AsyncInput(port_rings, metrics[name], record)
                else:
                    inp.rebind(port_rings)  # the node may hold it across its run
                inputs[(name, port)] = inp
    rt._inputs = inputs
    rt.metrics.graph, rt.metrics.health = g.name, declared(cn.cls for cn in g.nodes.values())
    rt.metrics.plan(list(g.nodes), [(e.src, e.dst, rings[i]) for i, e in enumerate(g.edges) if i in rings])

    rt._segments = plan_segments(g, rings)
    with rt._lock:
        for seg in rt._segments:
            rt._pending.add(f"segment:{seg.head}")
            rt._alive.add(f"segment:{seg.head}")
        for name in fresh:
            cn = g.nodes[name]
            if cn.flavor == "async":
                rt._alive.add(f"async:{name}")
                if cn.cls.inputs or cn.cls.outputs:
                    rt._pending.add(f"async:{name}")
    return list(old_rings.values())
