"""Live reload (``mcav run --watch``): a graph file watched while it runs.

On every save the file is compiled again. An invalid file changes nothing — its
errors are logged and the graph keeps running. A valid one is compared with
the running graph: when only parameters changed, and every node concerned can
take its new parameters while running (:meth:`~mcav.runtime.node.Node.reconfigure`),
they are applied in place — no frame lost, no client dropped; any other change
(nodes, kinds, edges, control links, policies) rebuilds the graph, and network
clients reconnect as their policies say.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from .compile import CompiledGraph

__all__ = ["FileWatch", "live_changes"]


class FileWatch:
    """Says when a file was saved again (size or modification time changed)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen = self._stamp()

    def _stamp(self) -> tuple[float, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime, st.st_size

    def changed(self) -> bool:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return False
        self._seen = stamp
        return True


def _shape(g: CompiledGraph) -> tuple[Any, ...]:
    nodes = tuple(sorted((n, cn.kind, repr(cn.policies)) for n, cn in g.nodes.items()))
    edges = tuple(sorted((e.name, repr(e.queue)) for e in g.edges))
    controls = tuple(sorted(c.name for c in g.controls))
    return nodes, edges, controls


def live_changes(running: CompiledGraph, new: CompiledGraph) -> dict[str, Any] | None:
    """The nodes whose parameters changed, with their new parameters; None if anything else changed."""
    if _shape(running) != _shape(new):
        return None
    return {n: new.nodes[n].params for n, cn in running.nodes.items() if cn.params != new.nodes[n].params}


def apply_live(changes: dict[str, Any], node: Callable[[str], Any]) -> list[str] | None:
    """Hand each node its new parameters; the names applied, or None if one cannot take them live."""
    if not all(callable(getattr(node(n), "reconfigure", None)) for n in changes):
        return None
    applied = []
    for name, params in changes.items():
        if not node(name).reconfigure(params):
            return None
        applied.append(name)
    return applied
