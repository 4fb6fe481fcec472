"""The ``pattern`` node and its 27 MCAV patterns, effects and crossfades.

This package is imported by every ``mcav`` invocation (the CLI asks
:mod:`mcav.nodes.patterns.cli` for its options), so it stays light: the
registry is loaded on first access of :data:`PATTERNS` or :data:`EFFECTS`.

* :mod:`.base` - what a pattern reads (:class:`~.base.Audio`) and writes
  (:class:`~.base.Entities`), and shared shape helpers.
* :mod:`.registry` - :data:`PATTERNS` (key → class, MCAV order) and :data:`EFFECTS`.
* :mod:`.easing`, :mod:`.effects` - crossfade easings and blending; the effects.
* :mod:`.stage` - one zone's rendering state; :mod:`.node` - the ``pattern`` kind.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EFFECTS", "PATTERNS"]


def __getattr__(name: str) -> Any:
    if name in ("PATTERNS", "EFFECTS"):
        from . import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
