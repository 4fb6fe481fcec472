"""Subcommands that packages plug into ``mcav`` through the ``mcav.commands`` entry-point group.

A package declares, in its ``pyproject.toml`` (mcav's own ``devices``,
``patterns``, ``dj-key`` and ``bench`` are declared the same way)::

    [project.entry-points."mcav.commands"]
    my-tool = "my_package.cli:command"

``command(args: argparse.Namespace) -> int`` runs the subcommand and returns
its exit code; the first line of its docstring is the subcommand's help. An
optional ``add_arguments(parser)`` in the same module declares its options.
Those modules are imported at every ``mcav`` start, so they import nothing heavy
at top level. The runtime thus names no node package.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable

__all__ = ["GROUP", "PluggedCommand", "plugged_commands"]

#: The entry-point group of plugged subcommands.
GROUP = "mcav.commands"

log = logging.getLogger("mcav")


@dataclass(frozen=True, slots=True)
class PluggedCommand:
    """One plugged subcommand: its name, help line, and where its code is (``module:function``)."""

    name: str
    target: str
    help: str
    module: object | None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Let the module declare its options (if it has ``add_arguments``)."""
        add = getattr(self.module, "add_arguments", None)
        if add is not None:
            add(parser)

    def command(self) -> Callable[[argparse.Namespace], int]:
        """The function that runs the subcommand."""
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func or "command")  # type: ignore[no-any-return]


def _help(module: object | None, func: str) -> str:
    fn = getattr(module, func, None)
    doc = (getattr(fn, "__doc__", None) or "").strip()
    line = doc.splitlines()[0].rstrip(".") if doc else ""
    return line[:1].lower() + line[1:]


def plugged_commands() -> list[PluggedCommand]:
    """The installed plugged subcommands, by name; one that fails to import is listed with the reason."""
    found: dict[str, PluggedCommand] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in found:
            continue  # the same name from two distributions: the first (alphabetically) wins
        module_name, _, func = ep.value.partition(":")
        try:
            module: object | None = importlib.import_module(module_name)
            help_ = _help(module, func or "command")
        except Exception as exc:  # a broken plug-in must not break every other subcommand
            module, help_ = None, f"(not available: {exc})"
        found[ep.name] = PluggedCommand(ep.name, ep.value, help_, module)
    return list(found.values())
