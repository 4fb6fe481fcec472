"""Errors that name what was wrong and where.

A :class:`GraphError` points at a file, a line, a node and a key, so that a
user can fix a graph file without guessing. :class:`GraphInvalid` carries every
problem found in one pass, so ``mcav validate`` reports them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GraphError", "GraphInvalid", "NodeFailure"]


@dataclass(frozen=True, slots=True)
class GraphError:
    """One problem in a graph file.

    Attributes:
        message: What is wrong, in one sentence.
        file: The graph file (or ``"--set"`` for a command-line override).
        line: 1-based line number, or None when unknown.
        node: The node's name, or None for graph-level problems.
        key: The parameter or field at fault, or None.
    """

    message: str
    file: str = "<graph>"
    line: int | None = None
    node: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.node is not None:
            parts.append(f"node '{self.node}'")
        if self.key is not None:
            parts.append(f"key '{self.key}'")
        return f"{': '.join(parts)}: {self.message}"


class GraphInvalid(Exception):
    """A graph failed validation; ``errors`` lists every problem found."""

    def __init__(self, errors: list[GraphError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class NodeFailure(Exception):
    """A node failed in a way that must stop the graph (e.g. an auth failure).

    The runtime logs ``str(exc)``, stops the graph and ``mcav run`` exits with
    ``exit_code`` (default 1).
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
