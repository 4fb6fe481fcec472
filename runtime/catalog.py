"""The built-in graphs that ship inside the package, and resolving ``mcav run NAME``.

They live in :mod:`mcav.pipelines` (the repository's ``pipelines/`` folder),
so an installed wheel has them wherever it runs. A graph argument is a file
when one exists at that path, else the name of a built-in graph (``vj``,
``vj.yaml`` or ``pipelines/vj.yaml`` as in the clone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["BuiltinGraph", "builtin_graphs", "resolve_graph"]

_PACKAGE = "mcav.pipelines"


@dataclass(frozen=True, slots=True)
class BuiltinGraph:
    """One graph shipped with mcav: its name, file and the first sentence of its header comment."""

    name: str
    path: Path
    summary: str


#: The end of a header's first sentence or clause: `.` or `;` before a space or the end (not the dot of `vj.yaml`).
_SENTENCE_END = re.compile(r"[.;](?=\s|$)")


def _summary(path: Path) -> str:
    # The first sentence of the header's first paragraph. A sentence may wrap onto the next comment
    # line ("…to Redis for" / "edge processes…"): one line alone would end mid-sentence.
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip("# ")
        if not line.startswith("#") or not text or line.startswith("#  "):
            break  # the YAML itself, a blank comment line or an indented example: the paragraph ended
        words.append(text)
        joined = " ".join(words)
        end = _SENTENCE_END.search(joined)
        if end is not None:
            return joined[: end.start()]
    return " ".join(words).rstrip(".:;,")


def builtin_graphs() -> list[BuiltinGraph]:
    """The built-in graphs, by name."""
    folder = Path(str(resources.files(_PACKAGE)))
    return [BuiltinGraph(p.stem, p, _summary(p)) for p in sorted(folder.glob("*.yaml"), key=lambda p: p.stem)]


def resolve_graph(arg: str) -> Path:
    """The graph file ``arg`` names: an existing path, else a built-in graph.

    Raises:
        FileNotFoundError: neither; the message lists the built-in names.
    """
    path = Path(arg)
    if path.exists():
        return path
    builtins = builtin_graphs()
    name = path.name[:-5] if path.name.endswith(".yaml") else path.name
    if path.parent in (Path("."), Path("pipelines")):  # `pipelines/vj.yaml` as the clone spells it
        for graph in builtins:
            if graph.name == name:
                return graph.path
    names = ", ".join(g.name for g in builtins)
    raise FileNotFoundError(f"{arg}: no such file, and no built-in graph of that name (built-in: {names})")
