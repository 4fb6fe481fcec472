"""What to do after a node failed at run time: the hints ``mcav run`` prints as the graph stops."""

from __future__ import annotations

import errno
import os

from .compile import CompiledGraph

__all__ = ["port_hint"]


def port_hint(graph: CompiledGraph, graph_arg: str, node: str | None, message: str) -> str | None:
    """How to move ``node`` whose port is taken (``--set NODE.port=…``), or None if that is not what failed.

    Args:
        graph_arg: The graph as the user named it (for a command line to copy).
        node: The node that failed; ``message`` is its failure.
    """
    if node is None or os.strerror(errno.EADDRINUSE) not in message:
        return None
    compiled = graph.nodes.get(node)
    port = getattr(compiled.params, "port", None) if compiled is not None else None
    suggestion = f"{port + 1}" if isinstance(port, int) and port else "PORT"
    # The usual taker is this graph's own node set to the same port (`--set web.port=8080` beside the
    # admin page): "another program" sent users looking for a process that does not exist.
    same = [n for n, cn in graph.nodes.items() if n != node and port and getattr(cn.params, "port", None) == port]
    move = f"mcav run {graph_arg} --set {node}.port={suggestion} (0 = any free port)"
    if same:
        return f"hint: node '{node}' cannot have its port: node '{same[0]}' of this graph has port {port} too; " \
            f"move one: {move}"
    return f"hint: node '{node}' cannot have its port: another program (another mcav?) holds it. " \
        f"Stop that, or move this node: {move}"
