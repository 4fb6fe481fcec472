"""The Prometheus text form of a graph's metrics and health stats (``GET /metrics``).

The health stats themselves come from :func:`mcav.runtime.health.health_stats`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from mcav.runtime.metrics import Snapshot

from .security import security_by_node

__all__ = ["FRAME_LOSSES", "prometheus"]

#: Status counters (a node's ``status()``) of frames it lost, whatever its kind: each is exported as
#: ``mcav_node_frames_lost_total{node,kind,reason}``, so every drop on a frame's way is visible.
FRAME_LOSSES = ("frames_dropped", "frames_missed", "frames_unsent", "frames_unsynced", "frames_coalesced",
                "bad_frames", "dropped_state")

def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus(snap: Snapshot, stats: dict[str, Any], info: dict[str, Any]) -> str:
    """Prometheus text exposition (format 0.0.4) of the health stats and every node's metrics.

    Args:
        snap: The graph's metrics snapshot.
        stats: :func:`mcav.runtime.health.health_stats` of ``snap``.
        info: ``active_pattern`` (str | None) and ``bpm`` (float | None), when known.
    """
    out: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: Sequence[tuple[dict[str, str], float]]) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lab = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            v = float(value)
            text = "NaN" if math.isnan(v) else repr(v) if not v.is_integer() else str(int(v))
            out.append(f"{name}{{{lab}}} {text}" if lab else f"{name} {text}")

    g = {"graph": snap.graph}
    metric("mcav_uptime_seconds", "gauge", "Seconds since the graph started.", [(g, round(snap.uptime_s, 3))])
    metric("mcav_connected_djs", "gauge", "DJs connected now.", [(g, stats["current_djs"])])
    metric("mcav_connected_browsers", "gauge", "Browsers connected now.", [(g, stats["current_browsers"])])
    metric("mcav_minecraft_connected", "gauge", "1 while the Minecraft plugin is connected.", [(g, int(stats["mc_connected"]))])
    metric("mcav_dj_connections_total", "counter", "DJ connections accepted.", [(g, stats["dj_connects"])])
    metric("mcav_dj_disconnections_total", "counter", "DJ connections ended.", [(g, stats["dj_disconnects"])])
    metric("mcav_browser_connections_total", "counter", "Browser connections accepted.", [(g, stats["browser_connects"])])
    metric("mcav_browser_disconnections_total", "counter", "Browser connections ended.", [(g, stats["browser_disconnects"])])
    metric("mcav_minecraft_reconnects_total", "counter", "Successful Minecraft reconnections.", [(g, stats["mc_reconnect_count"])])
    if info.get("bpm") is not None:
        metric("mcav_current_bpm", "gauge", "Tempo of the active source.", [(g, info["bpm"])])
    if info.get("active_pattern"):
        metric("mcav_active_pattern", "gauge", "The pattern shown (value 1).", [({**g, "pattern": info["active_pattern"]}, 1)])
    nodes = list(snap.nodes.values())

    def per_node(name: str, kind: str, help_: str, attr: str) -> None:
        samples = [({"node": n.name, "kind": n.kind}, getattr(n, attr)) for n in nodes if getattr(n, attr) is not None]
        if samples:
            metric(name, kind, help_, samples)

    per_node("mcav_node_frames_in_total", "counter", "Frames a node received.", "frames_in")
    per_node("mcav_node_frames_out_total", "counter", "Frames a node emitted.", "frames_out")
    per_node("mcav_node_errors_total", "counter", "Frames a node failed on.", "errors")
    per_node("mcav_node_xruns_total", "counter", "Frames that arrived while a node was still busy.", "xruns")
    per_node("mcav_node_fps", "gauge", "Output frame rate of a node.", "fps")
    per_node("mcav_node_latency_p50_ms", "gauge", "Median capture-to-node latency (ms).", "latency_p50_ms")
    per_node("mcav_node_latency_p99_ms", "gauge", "99th percentile capture-to-node latency (ms).", "latency_p99_ms")
    lost = [({"node": n.name, "kind": n.kind, "reason": key}, n.extra[key]) for n in nodes for key in FRAME_LOSSES
            if isinstance(n.extra.get(key), int)]
    if lost:
        metric("mcav_node_frames_lost_total", "counter", "Frames a node lost, by reason (its own counters: a slow "
               "client's queue, a gap in a feed, a link down, a frame replaced by a newer one…).", lost)
    security = [({"node": name, "kind": kind, "event": event}, value)
                for name, kind, counters in security_by_node(snap) for event, value in counters.items()]
    if security:
        metric("mcav_security_events", "gauge", "Attack and fault counters per listening node (auth failures, "
               "throttling, rate limits, invalid messages, refused viewer commands, heartbeat timeouts, "
               "connection budget; README \"Securing a show\").", security)
    if snap.edges:
        metric("mcav_edge_drops_total", "counter", "Frames dropped by a queued edge.",
               [({"edge": e.name}, e.drops) for e in snap.edges])
        metric("mcav_edge_decimated_total", "counter", "Frames a consumer skipped by design (reads only the newest).",
               [({"edge": e.name}, e.decimated) for e in snap.edges])
        metric("mcav_edge_fill", "gauge", "Frames waiting in a queued edge.", [({"edge": e.name}, e.fill) for e in snap.edges])
    return "\n".join(out) + "\n"
