"""The VJ server's health statistics (CONNECTIVITY.md "Health Monitoring"), from one snapshot.

Each node reports its own share at the top level of its ``status()``:
``dj_server`` the ``dj_*`` counters and ``current_djs``, ``browser`` the
``browser_*`` counters and ``current_browsers``, ``minecraft``
``mc_reconnect_count`` and ``connected``. :func:`health_stats` sums them into
exactly CONNECTIVITY.md's JSON. The dashboard, the log's ``[HEALTH]`` line,
``/health``, ``/metrics`` and ``vj_state`` all read it from here.
"""

from __future__ import annotations

from typing import Any

from .metrics import Snapshot

__all__ = ["HEALTH_KEYS", "health_reported", "health_stats"]

#: CONNECTIVITY.md "Health Monitoring", in its order.
HEALTH_KEYS = (
    "dj_connects",
    "dj_disconnects",
    "browser_connects",
    "browser_disconnects",
    "mc_reconnect_count",
    "current_djs",
    "current_browsers",
    "mc_connected",
)

_COUNTS = HEALTH_KEYS[:-1]


def health_stats(snap: Snapshot) -> dict[str, Any]:
    """The health stats of a graph: every key present, zeros for parts the graph lacks."""
    stats: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    stats["mc_connected"] = False
    for node in snap.nodes.values():
        extra = node.extra
        for key in _COUNTS:
            value = extra.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                stats[key] += value
        if node.kind == "minecraft" and extra.get("connected"):
            stats["mc_connected"] = True
    return stats


def health_reported(snap: Snapshot) -> bool:
    """True if any node of the graph keeps health counters (a VJ server graph)."""
    return any(key in node.extra for node in snap.nodes.values() for key in HEALTH_KEYS) or any(
        node.kind == "minecraft" for node in snap.nodes.values()
    )
