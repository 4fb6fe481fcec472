"""The pattern registry: key → pattern class, in MCAV's order.

MCAV's admin panel lists patterns in registry order and binds its number keys
1-8 to the first eight, so :data:`PATTERNS` follows :data:`MCAV_ORDER`; keys
not in it (new patterns) come after, in module order.

Adding a pattern: write a :class:`~.base.Pattern` subclass in a module of this
package and list the module in :data:`PATTERN_MODULES`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Pattern
from .effects import EFFECTS

__all__ = ["EFFECTS", "MCAV_ORDER", "PATTERNS", "PATTERN_MODULES", "describe", "get_pattern"]

#: The 27 MCAV keys in the old registry's order (WIRE.md 7.1).
MCAV_ORDER: tuple[str, ...] = (
    "spectrum", "ring", "wave", "explode", "columns", "orbit", "matrix", "heartbeat",
    "mushroom", "skull", "sacred", "vortex", "pyramid", "galaxy", "laser", "mandala",
    "tesseract", "crystal", "blackhole", "nebula", "wormhole", "aurora", "ocean", "fireflies",
    "bars", "tubes", "circle",
)  # fmt: skip

#: Modules (in this package) whose Pattern subclasses are registered.
PATTERN_MODULES: tuple[str, ...] = ("towers", "solids", "spirals", "cosmic", "nature", "floating", "symbols")


def _collect() -> dict[str, type[Pattern]]:
    found: dict[str, type[Pattern]] = {}
    for mod_name in PATTERN_MODULES:
        module = importlib.import_module(f"{__package__}.{mod_name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Pattern) and obj.key and obj.__module__ == module.__name__:
                if obj.key in found:
                    twice = f"{found[obj.key].__name__} and {obj.__name__}"
                    raise RuntimeError(f"pattern key '{obj.key}' is defined twice ({twice})")
                found[obj.key] = obj
    rank = {k: i for i, k in enumerate(MCAV_ORDER)}
    return dict(sorted(found.items(), key=lambda kv: rank.get(kv[0], len(rank))))


#: Pattern key → class (with ``key``, ``name``, ``description``), MCAV order first.
PATTERNS: dict[str, type[Pattern]] = _collect()


def describe() -> list[dict[str, Any]]:
    """``[{"id", "name", "description"}]`` for every pattern, in registry order (MCAV's ``list_patterns``)."""
    return [{"id": k, "name": c.name, "description": c.description} for k, c in PATTERNS.items()]


def get_pattern(key: str) -> type[Pattern]:
    """The pattern class for ``key``.

    Raises:
        ValueError: naming the unknown key and the valid ones.
    """
    try:
        return PATTERNS[key]
    except (KeyError, TypeError):
        raise ValueError(f"unknown pattern {key!r}; patterns: {', '.join(PATTERNS)}") from None
