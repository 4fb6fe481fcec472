"""Graph health statistics: the counters node kinds declare, summed over a snapshot.

A node kind lists the health stats it knows in ``health_schema`` (a tuple of
:class:`HealthStat`) and reports its own values at the top level of its
``status()``. :func:`health_stats` gives every declared key of the graph —
in declaration order, zero or false where no node reports a value — by
summing counts and or-ing flags across nodes. The dashboard, the log's health
line and the nodes that publish health (``/health``, ``vj_state``) all read it
from here. This module names no node kind and no stat: mcav's VJ server kinds
declare CONNECTIVITY.md's stats themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal

from .metrics import Snapshot

__all__ = ["HealthStat", "format_health", "health_groups", "health_keys", "health_line", "health_reported", "health_stats"]


@dataclass(frozen=True, slots=True)
class HealthStat:
    """One health statistic.

    Attributes:
        key: Its name in ``status()``, ``/health`` and ``/metrics``.
        combine: ``sum`` (counts, over every node) or ``any`` (a flag true if any node reports true).
        doc: What it counts.
        group: The group it is shown in on the health line and the dashboard (e.g. ``DJs``).
        label: Its short name within the group; empty for the group's headline value.
    """

    key: str
    combine: Literal["sum", "any"] = "sum"
    doc: str = ""
    group: str = ""
    label: str = ""


def health_keys(snap: Snapshot) -> tuple[HealthStat, ...]:
    """The health stats declared by the snapshot's nodes, first declaration of each key wins."""
    seen: dict[str, HealthStat] = {}
    for stat in snap.health:
        seen.setdefault(stat.key, stat)
    return tuple(seen.values())


def health_stats(snap: Snapshot) -> dict[str, Any]:
    """Every declared stat of the graph: counts summed, flags or-ed, zeros for parts nobody reports."""
    stats = health_keys(snap)
    out: dict[str, Any] = {s.key: (False if s.combine == "any" else 0) for s in stats}
    for node in snap.nodes.values():
        for s in stats:
            value = node.extra.get(s.key)
            if s.combine == "any":
                out[s.key] = out[s.key] or value is True
            elif isinstance(value, int) and not isinstance(value, bool):
                out[s.key] += value
    return out


def health_reported(snap: Snapshot) -> bool:
    """True if the graph declares any health stat (a server graph)."""
    return bool(snap.health)


def health_groups(stats: tuple[HealthStat, ...], values: dict[str, Any]) -> list[tuple[str, Any, list[str]]]:
    """``(group, headline value, ["label=value", …])`` per group, in declaration order.

    A flag headline reads ``connected``/``disconnected``; a group without a headline gets None.
    """
    groups: dict[str, tuple[list[Any], list[str]]] = {}
    for s in stats:
        head, details = groups.setdefault(s.group or s.key, ([], []))
        value = values.get(s.key, False if s.combine == "any" else 0)
        if s.label:
            details.append(f"{s.label}={value}")
        else:
            head.append(("connected" if value else "disconnected") if s.combine == "any" else value)
    return [(g, head[0] if head else None, details) for g, (head, details) in groups.items()]


def format_health(stats: tuple[HealthStat, ...], values: dict[str, Any]) -> str:
    """The health log line, e.g. ``[HEALTH] DJs: 2 (conn=5, disc=3) / MC: connected (reconn=1)``."""
    parts = []
    for group, head, details in health_groups(stats, values):
        more = f" ({', '.join(details)})" if details else ""
        parts.append(f"{group}: {head}{more}" if head is not None else f"{group}:{more}")
    return "[HEALTH] " + " / ".join(parts)


def health_line(snap: Snapshot) -> str:
    """:func:`format_health` of a snapshot (the line ``mcav run`` logs every 60 s)."""
    return format_health(health_keys(snap), health_stats(snap))


def declared(kinds: Iterable[Any]) -> tuple[HealthStat, ...]:
    """The ``health_schema`` declarations of node classes ``kinds``, in order (for the runtime)."""
    return tuple(stat for cls in kinds for stat in getattr(cls, "health_schema", ()))
