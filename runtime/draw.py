"""Drawing a compiled graph as text, Graphviz dot or Mermaid.

Each drawing shows every node (name, kind, how it runs), every data edge, and
for queued edges the ring's size and drop policy (``implicit`` when the
compiler inserted it at a thread boundary); then every control link, from its
provider to its consumer, with its interface (``implicit`` when bound by
default). Data edges are solid (bold when queued), control links dashed.
"""

from __future__ import annotations

from .compile import CompiledEdge, CompiledGraph
from .controlplan import CompiledControl

__all__ = ["FORMATS", "draw"]

FORMATS = ("text", "dot", "mermaid")


def _edge_label(e: CompiledEdge) -> str:
    ports = f"{e.src_port}→{e.dst_port}"
    if e.queue is None:
        return f"{ports} {e.frame_type} (fused)"
    return f"{ports} {e.frame_type} [{e.queue.describe()}]"


def _control_label(c: CompiledControl) -> str:
    return f"{c.provider_port}⇢{c.port} {c.interface}" + (" (implicit)" if c.implicit else "")


def draw(graph: CompiledGraph, fmt: str = "text") -> str:
    """The graph in ``fmt`` (``text``, ``dot`` or ``mermaid``)."""
    if fmt == "text":
        return _text(graph)
    if fmt == "dot":
        return _dot(graph)
    if fmt == "mermaid":
        return _mermaid(graph)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _text(g: CompiledGraph) -> str:
    lines = [f"graph {g.name} ({g.file})"]
    for name in g.dag.nodes:
        cn = g.nodes[name]
        lines.append(f"  {name} [{cn.kind}, {cn.flavor}]")
        for e in g.edges_from(name):
            lines.append(f"    └─ {_edge_label(e)} ─▶ {e.dst}")
        for c in g.controls:
            if c.provider == name:
                lines.append(f"    ┆  control {_control_label(c)} ⇢ {c.consumer}")
    return "\n".join(lines) + "\n"


def _dot(g: CompiledGraph) -> str:
    shapes = {"source": "invhouse", "sync": "box", "async": "component"}
    out = [f'digraph "{g.name}" {{', "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for name, cn in g.nodes.items():
        out.append(f'  "{name}" [label="{name}\\n{cn.kind}", shape={shapes[cn.flavor]}];')
    for e in g.edges:
        style = "solid" if e.queue is None else "bold"
        out.append(f'  "{e.src}" -> "{e.dst}" [label="{_edge_label(e)}", style={style}];')
    for c in g.controls:
        out.append(f'  "{c.provider}" -> "{c.consumer}" [label="{_control_label(c)}", style=dashed, '
                   'color=gray40, fontcolor=gray40, arrowhead=open];')
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid(g: CompiledGraph) -> str:
    out = ["flowchart LR"]
    for name, cn in g.nodes.items():
        out.append(f'  {name}["{name}<br/>{cn.kind} ({cn.flavor})"]')
    for e in g.edges:
        arrow = "-->" if e.queue is None else "==>"
        label = _edge_label(e).replace('"', "'")
        out.append(f'  {e.src} {arrow}|"{label}"| {e.dst}')
    for c in g.controls:
        out.append(f'  {c.provider} -.->|"{_control_label(c)}"| {c.consumer}')
    return "\n".join(out) + "\n"
