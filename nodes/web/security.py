"""The attack and fault counters of a graph, for ``/health`` and ``/metrics``.

Each listening node reports its own in ``status()["security"]`` (a flat
``{name: count}``): ``auth_failures``, ``auth_throttled``, ``auth_lockouts``,
``throttled_sources`` (locked out now), ``rate_limited_commands`` /
``rate_limited_frames``, ``invalid_messages``, ``refused_viewer_commands``,
``heartbeat_timeouts``, ``connections_open`` / ``connections_refused`` /
``connections_evicted``… This module only sums and lists them.
"""

from __future__ import annotations

from typing import Any

from mcav.runtime.metrics import Snapshot

__all__ = ["security_by_node", "security_totals"]


def security_by_node(snap: Snapshot) -> list[tuple[str, str, dict[str, int]]]:
    """``(node name, kind, counters)`` of every node that reports security counters."""
    out = []
    for node in snap.nodes.values():
        sec: Any = node.extra.get("security")
        if isinstance(sec, dict):
            out.append((node.name, node.kind, {k: int(v) for k, v in sec.items()
                                               if isinstance(v, int) and not isinstance(v, bool)}))
    return out


def security_totals(snap: Snapshot) -> dict[str, int]:
    """Every security counter summed over the graph's nodes (sorted by name)."""
    totals: dict[str, int] = {}
    for _, _, counters in security_by_node(snap):
        for k, v in counters.items():
            totals[k] = totals.get(k, 0) + v
    return dict(sorted(totals.items()))
