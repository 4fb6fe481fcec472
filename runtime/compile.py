"""Checking a graph and compiling it once into a fixed plan.

:func:`compile_graph` resolves every node kind, builds its typed parameters
and policies, checks every edge (upstream node and port exist, frame types
fit), rejects cycles, and decides where the thread boundaries are:

* an edge with a ``queue:`` is a ring buffer;
* an edge into or out of an async (network) node is a ring buffer, even if
  none was written (a default ``ring 4 leaky=downstream``, shown as implicit);
* a sync node fed by more than one edge gets a ring on each;
* every other edge is a direct call: the nodes run fused on one worker.

Nothing here starts a thread; :class:`~mcav.runtime.engine.Runtime` runs the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import networkx as nx

from .controlplan import CompiledControl, resolve_controls
from .errors import GraphError, GraphInvalid
from .frames import Frame, Passthrough
from .model import EdgeSpec, GraphSpec, QueueSpec, parse_graph_text
from .node import Node, flavor
from .params import ParamProblem, build_params, closest
from .policies import resolve_policy
from .registry import UnknownKind, all_kinds, get_kind

__all__ = ["CompiledEdge", "CompiledGraph", "CompiledNode", "compile_graph", "compile_text"]


@dataclass(slots=True)
class CompiledNode:
    """A checked node: its class, built parameters and policies."""

    name: str
    kind: str
    cls: type[Node]
    params: Any
    policies: dict[str, Any]
    line: int | None

    @property
    def flavor(self) -> str:
        """``"sync"``, ``"source"`` or ``"async"``."""
        return flavor(self.cls)


@dataclass(frozen=True, slots=True)
class CompiledEdge:
    """A checked edge; ``queue`` is None for a direct (fused) call."""

    src: str
    src_port: str
    dst: str
    dst_port: str
    queue: QueueSpec | None
    frame_type: str

    @property
    def name(self) -> str:
        """E.g. ``"fft.out->beat.in"``."""
        return f"{self.src}.{self.src_port}->{self.dst}.{self.dst_port}"


@dataclass(slots=True)
class CompiledGraph:
    """The fixed plan of a graph: nodes, edges and the networkx DiGraph behind them."""

    name: str
    file: str
    spec: GraphSpec
    nodes: dict[str, CompiledNode]
    edges: list[CompiledEdge]
    dag: nx.DiGraph = field(repr=False)
    notes: list[str] = field(default_factory=list)
    #: Control links (calls and events between providers and consumers).
    controls: list[CompiledControl] = field(default_factory=list)

    def edges_into(self, node: str) -> list[CompiledEdge]:
        """Edges ending at ``node``."""
        return [e for e in self.edges if e.dst == node]

    def edges_from(self, node: str, port: str | None = None) -> list[CompiledEdge]:
        """Edges leaving ``node`` (from ``port`` if given)."""
        return [e for e in self.edges if e.src == node and (port is None or e.src_port == port)]

    def summary(self) -> str:
        """One line: name, counts of nodes, edges and rings."""
        rings = sum(1 for e in self.edges if e.queue is not None)
        implicit = sum(1 for c in self.controls if c.implicit)
        return (
            f"{self.file}: graph '{self.name}' is valid: {len(self.nodes)} nodes, "
            f"{len(self.edges)} edges ({rings} queued, {len(self.edges) - rings} fused), "
            f"{len(self.controls)} control links ({implicit} implicit)"
        )

    def controls_of(self, consumer: str, port: str) -> list[CompiledControl]:
        """The control links serving ``consumer.port``, in binding order."""
        return [c for c in self.controls if c.consumer == consumer and c.port == port]


def compile_graph(spec: GraphSpec) -> CompiledGraph:
    """Check ``spec`` and compile it. Raises :class:`GraphInvalid` listing every problem."""
    errors: list[GraphError] = list(spec.problems)
    # Keys the parser already faulted (an unset ${VAR} is left as written): checking their value
    # again would only add a second, misleading error ("expected an integer, got '${VAR}'").
    faulted = {(e.node, e.key) for e in spec.problems if e.node and e.key}
    notes: list[str] = []
    file = spec.file
    nodes: dict[str, CompiledNode] = {}
    for ns in spec.nodes.values():
        if ns.kind is None:
            continue  # reported by the parser
        try:
            cls = get_kind(ns.kind)
        except UnknownKind:
            hint = closest(ns.kind, all_kinds())
            extra = f"; did you mean '{hint}'?" if hint else "; run 'mcav nodes' for the list"
            errors.append(GraphError(f"unknown node kind '{ns.kind}'{extra}", file, ns.params.line_of("kind") or ns.line, ns.name, "kind"))
            continue
        except ImportError as exc:
            errors.append(GraphError(f"node kind '{ns.kind}' cannot be loaded: {exc}", file, ns.line, ns.name, "kind"))
            continue
        raw_params = dict(ns.params)
        if ns.kind_overridden:
            known = set(cls.Params.__dataclass_fields__)  # type: ignore[attr-defined]
            dropped = sorted(k for k in raw_params if k not in known)
            for k in dropped:
                del raw_params[k]
            if dropped:
                notes.append(f"node '{ns.name}': kind set to '{ns.kind}'; dropped parameters it does not have: {', '.join(dropped)}")
        params, problems = build_params(cls.Params, raw_params)
        for p in problems:
            if p.message.startswith("unknown parameter") and "." not in p.key:
                p = _unknown_key(p, cls)
            top = p.key.split(".")[0].split("[")[0]
            if (ns.name, top) in faulted:
                continue
            if top in ns.overridden:
                errors.append(GraphError(p.message, "--set", None, ns.name, p.key))
            else:
                errors.append(GraphError(p.message, file, ns.params.line_of(top), ns.name, p.key))
        policies: dict[str, Any] = {}
        for policy, raw in ns.policies.items():
            if policy not in cls.policies:
                errors.append(
                    GraphError(f"node kind '{ns.kind}' has no {policy} policy", file, ns.line, ns.name, policy)
                )
                continue
        for policy, link in cls.policies.items():
            obj, problems = resolve_policy(policy, link, ns.policies.get(policy))
            for p in problems:
                if (ns.name, policy) in faulted:
                    continue
                if policy in ns.overridden:
                    errors.append(GraphError(p.message, "--set", None, ns.name, p.key))
                else:
                    errors.append(GraphError(p.message, file, ns.params.line_of(policy) or ns.line, ns.name, p.key))
            policies[policy] = obj
        nodes[ns.name] = CompiledNode(ns.name, ns.kind, cls, params, policies, ns.line)

    edges: list[CompiledEdge] = []
    for ns in spec.nodes.values():
        dst = nodes.get(ns.name)
        failed = False
        for es in ns.inputs:
            edge = _check_edge(es, nodes, spec, dst, errors)
            if edge is not None:
                edges.append(edge)
            failed |= edge is None
        if dst is not None and not failed:
            connected = {e.dst_port for e in edges if e.dst == ns.name}
            for port in dst.cls.inputs:
                if port not in connected and port not in dst.cls.optional_inputs:
                    errors.append(
                        GraphError(f"input port '{port}' is not connected (add 'in: NODE')", file, ns.line, ns.name, "in")
                    )

    controls = resolve_controls(spec, nodes, errors)
    dag = nx.DiGraph()
    for name, cn in nodes.items():
        dag.add_node(name, kind=cn.kind, flavor=cn.flavor)
    for e in edges:
        dag.add_edge(e.src, e.dst)
    try:
        cycle = nx.find_cycle(dag)
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        first = cycle[0][1]
        errors.append(GraphError(f"the graph has a cycle: {path}", file, spec.nodes[first].line, first, "in"))
    except nx.NetworkXNoCycle:
        pass

    if errors:
        raise GraphInvalid(errors)
    edges = _place_queues(edges, nodes, errors, file, spec)
    if errors:
        raise GraphInvalid(errors)
    return CompiledGraph(spec.name, file, spec, nodes, edges, dag, notes, controls)


def describe_keys(params_cls: type) -> list[str]:
    """Parameter names of a Params dataclass, in declaration order."""
    return list(params_cls.__dataclass_fields__)  # type: ignore[attr-defined]


def _unknown_key(problem: ParamProblem, cls: type[Node]) -> ParamProblem:
    """Re-word an unknown parameter so the suggestion also covers ``in`` and the node's policies."""
    keys = [*describe_keys(cls.Params), "in", "control", *cls.policies]
    hint = closest(problem.key, keys)
    extra = f"did you mean '{hint}'?" if hint else f"valid keys: {', '.join(keys)}"
    return ParamProblem(problem.key, f"unknown parameter '{problem.key}'; {extra}")


def compile_text(text: str, filename: str = "<string>", overrides: Iterable[str] = ()) -> CompiledGraph:
    """Parse and compile a graph from YAML text (embedding, tests, benchmarks).

    Raises :class:`GraphInvalid` listing every problem.
    """
    return compile_graph(parse_graph_text(text, filename, overrides))


def _check_edge(
    es: EdgeSpec, nodes: dict[str, CompiledNode], spec: GraphSpec, dst: CompiledNode | None, errors: list[GraphError]
) -> CompiledEdge | None:
    file = spec.file
    if es.src not in spec.nodes:
        hint = closest(es.src, spec.nodes)
        extra = f"; did you mean '{hint}'?" if hint else f"; nodes: {', '.join(spec.nodes)}"
        errors.append(GraphError(f"unknown upstream node '{es.src}'{extra}", file, es.line, es.dst, "in"))
        return None
    src = nodes.get(es.src)
    if src is None or dst is None:
        return None  # their own errors are already reported
    outs = src.cls.outputs
    if not outs:
        errors.append(GraphError(f"'{es.src}' ({src.kind}) has no outputs to read from", file, es.line, es.dst, "in"))
        return None
    src_port = es.src_port or ("out" if "out" in outs else next(iter(outs)))
    if src_port not in outs:
        hint = closest(src_port, outs)
        extra = f"; did you mean '{hint}'?" if hint else f"; its outputs: {', '.join(outs)}"
        errors.append(GraphError(f"'{es.src}' ({src.kind}) has no output port '{src_port}'{extra}", file, es.line, es.dst, "in"))
        return None
    ins = dst.cls.inputs
    if not ins:
        errors.append(GraphError(f"node kind '{dst.kind}' takes no inputs", file, es.line, es.dst, "in"))
        return None
    dst_port = es.dst_port or ("in" if "in" in ins else next(iter(ins)))
    if dst_port not in ins:
        hint = closest(dst_port, ins)
        extra = f"; did you mean '{hint}'?" if hint else f"; its inputs: {', '.join(ins)}"
        errors.append(GraphError(f"node kind '{dst.kind}' has no input port '{dst_port}'{extra}", file, es.line, es.dst, "in.to"))
        return None
    out_t, in_t = _produced_type(es.src, src_port, nodes, spec), ins[dst_port]
    if not issubclass(out_t, in_t):
        errors.append(
            GraphError(
                f"incompatible port types: '{es.src}.{src_port}' produces {out_t.__name__} frames "
                f"but '{es.dst}.{dst_port}' accepts {in_t.__name__}",
                file,
                es.line,
                es.dst,
                "in",
            )
        )
        return None
    return CompiledEdge(es.src, src_port, es.dst, dst_port, es.queue, out_t.__name__)


def _produced_type(node: str, port: str, nodes: dict[str, CompiledNode], spec: GraphSpec) -> type[Frame]:
    """The frame type ``node.port`` produces; a :class:`Passthrough` port produces what reaches its ``in``."""
    seen: set[str] = set()
    while True:
        cn = nodes[node]
        produced = cn.cls.outputs[port]
        if produced is not Passthrough:
            return produced
        upstream = [e for e in spec.nodes[node].inputs if (e.dst_port or "in") == "in" and e.src in nodes]
        if not upstream or node in seen or len(upstream) > 1:
            return Frame  # unconnected, a cycle (reported elsewhere) or mixed inputs: only Frame is sure
        seen.add(node)
        src = nodes[upstream[0].src]
        node, port = src.name, upstream[0].src_port or ("out" if "out" in src.cls.outputs else next(iter(src.cls.outputs), "out"))
        if port not in nodes[node].cls.outputs:
            return Frame


def _place_queues(
    edges: list[CompiledEdge], nodes: dict[str, CompiledNode], errors: list[GraphError], file: str, spec: GraphSpec
) -> list[CompiledEdge]:
    fan_in: dict[str, int] = {}
    for e in edges:
        fan_in[e.dst] = fan_in.get(e.dst, 0) + 1
    out = []
    for e in edges:
        src, dst = nodes[e.src], nodes[e.dst]
        needs_ring = src.flavor == "async" or dst.flavor == "async" or fan_in[e.dst] > 1
        queue = e.queue
        if queue is None and needs_ring:
            queue = QueueSpec(implicit=True)
        if queue is not None and queue.leaky == "no" and src.flavor == "async":
            line = next((x.line for x in spec.nodes[e.dst].inputs if x.src == e.src), None)
            errors.append(
                GraphError(
                    f"queue policy 'no' (block) is not allowed after network node '{e.src}': it would stall its event loop; "
                    "use downstream, upstream or latest",
                    file,
                    line,
                    e.dst,
                    "queue.leaky",
                )
            )
        out.append(replace(e, queue=queue))
    return out
