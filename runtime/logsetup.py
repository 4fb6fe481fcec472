"""Logging for the ``mcav`` command: a level per subsystem, like GStreamer's ``GST_DEBUG``.

A *spec* is a comma-separated list of ``LEVEL`` (the default for everything)
and ``CATEGORY=LEVEL`` items, e.g. ``warning,mcav.djs=debug``. A category is a
logger name: ``mcav`` (the command), ``mcav.runtime`` (the scheduler),
``mcav.status``/``mcav.health`` (the periodic lines) and ``mcav.NODE`` for
each node of the graph (its name in the YAML file); it covers its children
(``mcav.djs`` also sets ``mcav.djs.ws``). The ``mcav.`` prefix may be left out.
Levels are ``debug``, ``info``, ``warning``, ``error`` and ``critical``, in any case.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

__all__ = ["LEVELS", "SUBSYSTEMS", "LogSpec", "configure", "parse_spec", "warn_unmatched"]

#: Level names accepted in a spec, quietest last.
LEVELS = ("debug", "info", "warning", "error", "critical")

#: Categories of the command itself (``mcav.X``), besides the graph's nodes; dj_relay and viz_client log there
#: when used as a library, without a node.
SUBSYSTEMS = ("runtime", "status", "health", "dashboard", "dj_relay", "viz_client")

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


@dataclass(frozen=True, slots=True)
class LogSpec:
    """A parsed spec: the default level and one level per category (logging's numeric levels)."""

    default: int = logging.INFO
    categories: dict[str, int] = field(default_factory=dict)


def _level(text: str, item: str) -> int:
    name = text.strip().lower()
    if name not in LEVELS:
        raise ValueError(f"{item!r}: unknown level {text.strip()!r}; use one of {', '.join(LEVELS)}")
    return int(getattr(logging, name.upper()))


def _category(text: str, item: str) -> str:
    name = text.strip()
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"{item!r}: expected CATEGORY=LEVEL, e.g. mcav.djs=debug")
    return name if name == "mcav" or name.startswith("mcav.") else f"mcav.{name}"


def parse_spec(*specs: str, base: LogSpec | None = None) -> LogSpec:
    """Merge ``specs`` (later items win) over ``base``.

    Raises:
        ValueError: naming the item that is not ``LEVEL`` or ``CATEGORY=LEVEL``.
    """
    default = base.default if base else logging.INFO
    categories = dict(base.categories) if base else {}
    for spec in specs:
        for item in filter(None, (part.strip() for part in spec.split(","))):
            if "=" in item:
                cat, _, lvl = item.partition("=")
                categories[_category(cat, item)] = _level(lvl, item)
            else:
                default = _level(item, item)
    return LogSpec(default, categories)


def configure(spec: LogSpec, log_file: Path | None = None) -> None:
    """Log to stderr (and to ``log_file``, appended, if given) at the levels of ``spec``.

    Raises:
        OSError: ``log_file`` cannot be opened.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    formatter = logging.Formatter(_FORMAT, datefmt="%H:%M:%S")
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    # the handlers pass everything; loggers decide, so a category can be louder than the default
    root.setLevel(spec.default)
    for name, level in spec.categories.items():
        logging.getLogger(name).setLevel(level)


def warn_unmatched(spec: LogSpec, nodes: Iterable[str], log: logging.Logger) -> None:
    """Warn about each category of ``spec`` that is neither a node of the graph nor a subsystem.

    A misspelt category (``-v djz=debug``) is a logger nothing writes to: without this the option
    did nothing and said nothing.
    """
    known = {*nodes, *SUBSYSTEMS}
    for category in spec.categories:
        head = category.removeprefix("mcav.").split(".")[0]
        if category != "mcav" and head not in known:
            log.warning("log category %r names no node of this graph and no subsystem; nodes: %s; subsystems: %s",
                        category, ", ".join(sorted(nodes)), ", ".join(SUBSYSTEMS))
