"""Loading YAML while remembering where every key came from.

:func:`load_yaml` returns plain dicts and lists, except that every mapping is
a :class:`SourceMap`, which also knows the line of each of its keys. Errors
can then name the exact line of a bad parameter.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import GraphError

__all__ = ["SourceMap", "interpolate_env", "load_yaml"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SourceMap(dict[str, Any]):
    """A dict that records the 1-based source line of itself and of each key (numbers too: ``36:``)."""

    line: int | None = None
    key_lines: dict[Any, int]
    #: Keys written more than once: key -> (first line, repeated line).
    duplicates: dict[str, tuple[int, int]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}
        self.duplicates = {}

    def line_of(self, key: Any) -> int | None:
        """The line of ``key``, else the line of the mapping itself."""
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> SourceMap:
    out = SourceMap()
    out.line = node.start_mark.line + 1
    seen: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            out.duplicates[str(key)] = (seen[key], line)
            continue
        seen[key] = line
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file into :class:`SourceMap` mappings.

    Raises:
        YamlProblem: the file cannot be read or is not valid YAML (names the line).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise YamlProblem(GraphError(f"cannot read file: {exc.strerror or exc}", file=str(path))) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A graph saved in another encoding (or a binary file given by mistake) is a problem with the
        # file, reported like any other with its line, not a traceback.
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlProblem(
            GraphError(f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the graph as UTF-8", file=str(path), line=line)
        ) from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, filename: str = "<string>") -> Any:
    """Parse YAML text; a syntax error becomes a :class:`YamlProblem` naming the line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "malformed YAML"
        lines = text.splitlines()
        if line is not None and 0 < line <= len(lines) and "${" in lines[line - 1]:
            # `{` and `}` delimit YAML's inline mappings, so an unquoted ${VAR} inside `{…}` or `[…]`
            # breaks the line with a message about commas that does not say what to do.
            what += '; inside {…} or […] quote a ${VAR} value: "${VAR}"'
        raise YamlProblem(GraphError(f"malformed YAML: {what}", file=filename, line=line)) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(GraphError(f"malformed YAML: {exc}", file=filename)) from None


class YamlProblem(Exception):
    """Raised by :func:`load_yaml`; ``error`` says where."""

    def __init__(self, error: GraphError) -> None:
        super().__init__(str(error))
        self.error = error


def interpolate_env(value: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in ``value``.

    Raises:
        KeyError: naming the first variable that is unset and has no default.
    """
    env = os.environ if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise KeyError(name)

    return _ENV.sub(sub, value)
