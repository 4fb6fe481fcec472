"""The typed graph model: what a graph file says, before any checking of kinds.

A graph file is small::

    graph: vj
    nodes:
      djs:  {kind: dj_server, port: 9000}
      viz:  {kind: pattern, in: djs, pattern: spectrum}
      web:  {kind: browser, in: {from: viz, queue: {slots: 2, leaky: downstream}}}

:func:`parse_graph` turns the YAML (with ``--set`` overrides and ``${ENV}``
interpolation applied) into a :class:`GraphSpec`, reporting every syntax-level
problem with its file and line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from .errors import GraphError, GraphInvalid
from .params import closest
from .ring import LEAKY_POLICIES
from .yamlsource import SourceMap, YamlProblem, interpolate_env, load_yaml, parse_yaml

__all__ = [
    "ControlSpec",
    "EdgeSpec",
    "GraphSpec",
    "NodeSpec",
    "QueueSpec",
    "load_graph",
    "parse_graph",
    "parse_override",
]

#: Keys of a node mapping that are not parameters.
RESERVED_KEYS = ("kind", "in", "control", "reconnect", "heartbeat")
TOP_LEVEL_KEYS = ("graph", "description", "nodes")
DEFAULT_SLOTS = 4


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A ring buffer on an edge: capacity and full policy."""

    slots: int = DEFAULT_SLOTS
    leaky: str = "downstream"
    implicit: bool = False  # inserted by the compiler, not written in the file

    def describe(self) -> str:
        """E.g. ``"ring 4 leaky=downstream"``."""
        tag = " (implicit)" if self.implicit else ""
        return f"ring {self.slots} leaky={self.leaky}{tag}"


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    """One ``in:`` entry: ``src.src_port`` feeds ``dst.dst_port``."""

    src: str
    src_port: str | None
    dst: str
    dst_port: str | None
    queue: QueueSpec | None
    line: int | None


@dataclass(frozen=True, slots=True)
class ControlSpec:
    """One ``control:`` entry: the consumer's control ``port`` is served by ``providers`` (``NODE[.PORT]``)."""

    consumer: str
    port: str
    providers: tuple[tuple[str, str | None], ...]
    line: int | None


@dataclass(slots=True)
class NodeSpec:
    """One node as written: kind, parameters, policies, inputs, and where it is."""

    name: str
    kind: str | None
    params: SourceMap
    policies: dict[str, Any]
    inputs: list[EdgeSpec]
    line: int | None
    controls: list[ControlSpec] = field(default_factory=list)
    kind_overridden: bool = False
    #: Top-level keys set by ``--set`` (their problems are reported against the command line).
    overridden: frozenset[str] = frozenset()


@dataclass(slots=True)
class GraphSpec:
    """A whole graph file."""

    name: str
    file: str
    description: str
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    #: Problems found while parsing that still left a usable model; the compiler reports them with its own.
    problems: list[GraphError] = field(default_factory=list)

    @property
    def base_dir(self) -> Path:
        """Directory the file's relative paths are relative to."""
        return Path(self.file).resolve().parent if os.path.exists(self.file) else Path.cwd()


def parse_override(text: str) -> tuple[str, list[str], Any]:
    """Split ``node.key[.sub]=value`` into node, key path and a YAML-parsed value.

    Raises:
        ValueError: naming what is wrong with ``text``.
    """
    target, sep, raw = text.partition("=")
    if not sep:
        raise ValueError(f"--set {text!r}: expected NODE.KEY=VALUE")
    parts = target.strip().split(".")
    if len(parts) < 2 or not all(parts):
        raise ValueError(f"--set {text!r}: expected NODE.KEY=VALUE (e.g. source.path=in.wav)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    head = raw.strip()[:1]
    if isinstance(value, (list, dict)) and head not in ("[", "{") or value is None and head == "#":
        # Block YAML and comments are not what a command line means: `path=-` (standard output) read as
        # the list [None], `dj_name=DJ: Alice` as a mapping, `#ff0000` as nothing. Lists and mappings
        # are written inline ([1, 2], {initial: 2}).
        value = raw
    return parts[0], parts[1:], value


def load_graph(
    path: str | Path, overrides: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> GraphSpec:
    """Read and parse a graph file. Raises :class:`GraphInvalid` listing every problem."""
    try:
        raw = load_yaml(path)
    except YamlProblem as exc:
        raise GraphInvalid([exc.error]) from None
    return parse_graph(raw, str(path), overrides, environ)


def parse_graph_text(text: str, filename: str = "<string>", overrides: Iterable[str] = ()) -> GraphSpec:
    """Parse a graph from YAML text (for tests and embedding)."""
    try:
        raw = parse_yaml(text, filename)
    except YamlProblem as exc:
        raise GraphInvalid([exc.error]) from None
    return parse_graph(raw, filename, overrides)


def parse_graph(
    raw: Any, file: str, overrides: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> GraphSpec:
    """Turn loaded YAML into a :class:`GraphSpec`.

    Raises :class:`GraphInvalid` only when the file is unusable as a graph;
    other problems are kept in :attr:`GraphSpec.problems` for the compiler to
    report together with its own.
    """
    errors: list[GraphError] = []
    if not isinstance(raw, dict):
        raise GraphInvalid([GraphError("a graph file must be a mapping with a 'nodes' key", file=file, line=1)])
    top = raw if isinstance(raw, SourceMap) else SourceMap(raw)
    for key in top:
        if key not in TOP_LEVEL_KEYS:
            hint = closest(str(key), TOP_LEVEL_KEYS)
            extra = f"; did you mean '{hint}'?" if hint else f"; valid keys: {', '.join(TOP_LEVEL_KEYS)}"
            errors.append(GraphError(f"unknown top-level key '{key}'{extra}", file, top.line_of(key), key=str(key)))
    nodes_raw = top.get("nodes")
    if not isinstance(nodes_raw, dict) or not nodes_raw:
        errors.append(GraphError("'nodes' must be a non-empty mapping of node name to node", file, top.line_of("nodes")))
        raise GraphInvalid(errors)
    nodes_map = nodes_raw if isinstance(nodes_raw, SourceMap) else SourceMap(nodes_raw)
    for dup, (first, again) in nodes_map.duplicates.items():
        errors.append(GraphError(f"duplicate node name '{dup}' (first defined on line {first})", file, again, node=dup))
    name = top.get("graph") or Path(file).stem
    spec = GraphSpec(name=str(name), file=file, description=str(top.get("description") or ""))

    _apply_overrides(nodes_map, overrides, errors)
    env = os.environ if environ is None else environ
    for node_name, body in nodes_map.items():
        node_line = nodes_map.line_of(node_name)
        if not isinstance(node_name, str) or not node_name.replace("_", "").replace("-", "").isalnum():
            errors.append(GraphError(f"node name {node_name!r} must be letters, digits, '_' or '-'", file, node_line))
            continue
        if not isinstance(body, dict):
            errors.append(GraphError("a node must be a mapping with at least 'kind'", file, node_line, node=node_name))
            continue
        body = body if isinstance(body, SourceMap) else SourceMap(body)
        for dup, (first, again) in body.duplicates.items():
            errors.append(GraphError(f"duplicate key '{dup}' (first on line {first})", file, again, node_name, dup))
        _interpolate(body, file, node_name, env, errors, body)
        kind = body.get("kind")
        if kind is None and "kind" in body:
            errors.append(GraphError("'kind' is empty (YAML null); write the kind name", file, body.line_of("kind"), node_name, "kind"))
        elif kind is None:
            errors.append(GraphError("missing 'kind'", file, body.line or node_line, node=node_name, key="kind"))
        elif not isinstance(kind, str):
            errors.append(GraphError(f"'kind' must be a string, got {kind!r}", file, body.line_of("kind"), node_name, "kind"))
            kind = None
        params = SourceMap({k: v for k, v in body.items() if k not in RESERVED_KEYS})
        params.line = body.line
        params.key_lines = dict(body.key_lines)  # lines of reserved keys too, for policy errors
        policies = {k: body[k] for k in ("reconnect", "heartbeat") if k in body}
        inputs = _parse_inputs(body.get("in"), node_name, file, body.line_of("in"), errors) if "in" in body else []
        controls = _parse_controls(body.get("control"), node_name, file, body.line_of("control"), errors)
        spec.nodes[node_name] = NodeSpec(
            name=node_name,
            kind=kind,
            params=params,
            policies=policies,
            inputs=inputs,
            line=body.line or node_line,
            controls=controls,
            kind_overridden=getattr(body, "kind_overridden", False),
            overridden=frozenset(getattr(body, "overridden", ())),
        )
    spec.problems = errors
    return spec


def _apply_overrides(nodes: SourceMap, overrides: Iterable[str], errors: list[GraphError]) -> None:
    for text in overrides:
        try:
            node, path, value = parse_override(text)
        except ValueError as exc:
            errors.append(GraphError(str(exc), file="--set"))
            continue
        body = nodes.get(node)
        if not isinstance(body, dict):
            hint = closest(node, [str(n) for n in nodes])
            extra = f"; did you mean '{hint}'?" if hint else f"; nodes: {', '.join(map(str, nodes))}"
            errors.append(GraphError(f"--set {text!r}: no node named '{node}'{extra}", file="--set", node=node))
            continue
        target = body
        for key in path[:-1]:
            nxt = target.get(key)
            if not isinstance(nxt, dict):
                nxt = SourceMap()
                target[key] = nxt
            target = nxt
        target[path[-1]] = value
        body.overridden = getattr(body, "overridden", set()) | {path[0]}  # type: ignore[attr-defined]
        if path == ["kind"]:
            body.kind_overridden = True  # type: ignore[attr-defined]


def _interpolate(
    obj: Any, file: str, node: str, env: Mapping[str, str], errors: list[GraphError], body: SourceMap, key: str = ""
) -> Any:
    if isinstance(obj, dict):
        for k in list(obj):
            obj[k] = _interpolate(obj[k], file, node, env, errors, body, key or str(k))
        return obj
    if isinstance(obj, list):
        return [_interpolate(v, file, node, env, errors, body, key) for v in obj]
    if isinstance(obj, str) and "${" in obj:
        try:
            return interpolate_env(obj, dict(env))
        except KeyError as exc:
            errors.append(
                GraphError(
                    f"environment variable {exc.args[0]} is not set (write ${{{exc.args[0]}:-default}} for a default)",
                    file,
                    body.line_of(key.split(".")[0]) if key else body.line,
                    node,
                    key or None,
                )
            )
            return obj
    return obj


def _parse_queue(raw: Any, file: str, node: str, line: int | None, errors: list[GraphError]) -> QueueSpec | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        if raw not in LEAKY_POLICIES:
            hint = closest(raw, LEAKY_POLICIES)
            extra = f" (did you mean '{hint}'?)" if hint else ""
            errors.append(GraphError(f"unknown queue policy '{raw}'; use {', '.join(LEAKY_POLICIES)}{extra}", file, line, node, "queue"))
            return None
        return QueueSpec(slots=1 if raw == "latest" else DEFAULT_SLOTS, leaky=raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"slots": raw}
    if not isinstance(raw, dict):
        errors.append(GraphError(f"queue must be a policy name or {{slots: N, leaky: POLICY}}, got {raw!r}", file, line, node, "queue"))
        return None
    unknown = [k for k in raw if k not in ("slots", "leaky")]
    for k in unknown:
        hint = closest(str(k), ("slots", "leaky"))
        extra = f"; did you mean '{hint}'?" if hint else ""
        errors.append(GraphError(f"unknown queue key '{k}'{extra}", file, line, node, f"queue.{k}"))
    slots = raw.get("slots", DEFAULT_SLOTS)
    leaky = raw.get("leaky", "downstream")
    if leaky is False:  # YAML 1.1 reads an unquoted `no` as false
        leaky = "no"
    if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= 65536:
        errors.append(GraphError(f"queue slots must be an integer 1-65536, got {slots!r}", file, line, node, "queue.slots"))
        return None
    if leaky not in LEAKY_POLICIES:
        hint = closest(str(leaky), LEAKY_POLICIES)
        extra = f" (did you mean '{hint}'?)" if hint else ""
        errors.append(GraphError(f"unknown leaky policy {leaky!r}; use {', '.join(LEAKY_POLICIES)}{extra}", file, line, node, "queue.leaky"))
        return None
    return QueueSpec(slots=1 if leaky == "latest" else slots, leaky=leaky)


def _parse_inputs(raw: Any, node: str, file: str, line: int | None, errors: list[GraphError]) -> list[EdgeSpec]:
    items = raw if isinstance(raw, list) else [raw]
    edges = []
    for item in items:
        item_line = item.line if isinstance(item, SourceMap) and item.line else line
        queue = None
        to_port = None
        source: object  # YAML data until checked to be a string
        if isinstance(item, str):
            source = item
        elif isinstance(item, dict):
            for k in item:
                if k not in ("from", "to", "queue"):
                    hint = closest(str(k), ("from", "to", "queue"))
                    extra = f"; did you mean '{hint}'?" if hint else "; an input takes from, to and queue"
                    errors.append(GraphError(f"unknown input key '{k}'{extra}", file, item_line, node, f"in.{k}"))
            source = item.get("from")
            if not isinstance(source, str):
                errors.append(GraphError("an input mapping needs 'from: NODE[.PORT]'", file, item_line, node, "in.from"))
                continue
            to_port = item.get("to")
            queue = _parse_queue(item.get("queue"), file, node, item_line, errors)
        else:
            errors.append(GraphError(f"'in' entries must be NODE[.PORT] or a mapping, got {item!r}", file, item_line, node, "in"))
            continue
        src, _, src_port = source.partition(".")
        edges.append(EdgeSpec(src=src, src_port=src_port or None, dst=node, dst_port=to_port, queue=queue, line=item_line))
    return edges


def _parse_controls(raw: Any, node: str, file: str, line: int | None, errors: list[GraphError]) -> list[ControlSpec]:
    """``control: {PORT: NODE[.PORT] | [NODE[.PORT], …] | null}``; null leaves an optional port unbound."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        errors.append(GraphError(f"'control' must map control ports to provider nodes, got {raw!r}", file, line, node, "control"))
        return []
    out = []
    for port, value in raw.items():
        port_line = raw.line_of(port) if isinstance(raw, SourceMap) else line
        items = value if isinstance(value, list) else [] if value is None else [value]
        providers = []
        for item in items:
            if not isinstance(item, str) or not item:
                errors.append(GraphError(f"control port '{port}': expected NODE[.PORT], got {item!r}", file, port_line or line, node, f"control.{port}"))
                continue
            src, _, src_port = item.partition(".")
            providers.append((src, src_port or None))
        out.append(ControlSpec(node, str(port), tuple(providers), port_line or line))
    return out
