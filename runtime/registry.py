"""The catalogue of node kinds: built-in ones and those of third-party packages.

Kinds are found by name and imported only when used, so that a graph without
audio capture never imports PortAudio. Every package — mcav itself included —
declares its kinds with entry points in the ``mcav.nodes`` group, whose name is
the kind::

    [project.entry-points."mcav.nodes"]
    my_sink = "my_package.sinks:MySink"

:func:`register_kind` adds one from code (tests, embedding). The runtime names
no kind: it only knows this catalogue.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .node import Node

__all__ = ["UnknownKind", "all_kinds", "get_kind", "register_kind"]

ENTRY_POINT_GROUP = "mcav.nodes"


class UnknownKind(LookupError):
    """No node kind of that name is installed."""


_REGISTERED: dict[str, str] = {}


def register_kind(name: str, target: str) -> None:
    """Add kind ``name`` implemented by ``target`` (``"module:Class"``), as an entry point would."""
    _REGISTERED[name] = target


def _catalogue() -> dict[str, str]:
    kinds = dict(_REGISTERED)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        kinds.setdefault(ep.name, ep.value)
    return kinds


def all_kinds() -> list[str]:
    """Every known kind name, sorted."""
    return sorted(_catalogue())


def get_kind(name: str) -> type[Node]:
    """The class of kind ``name``, imported on first use.

    Raises:
        UnknownKind: no such kind.
        ImportError: the kind's module failed to import (the message says which).
    """
    target = _catalogue().get(name)
    if target is None:
        raise UnknownKind(name)
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise TypeError(f"{target} (kind '{name}') is not a Node subclass")
    if cls.kind != name:
        raise TypeError(f"{target} declares kind '{cls.kind}' but is registered as '{name}'")
    return cls
