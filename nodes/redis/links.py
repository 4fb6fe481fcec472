"""The Redis link's policy defaults (VJ → Redis and edge → Redis)."""

from __future__ import annotations

from mcav.runtime.policies import Link

__all__ = ["REDIS"]

#: Reconnect 0.5 s ×1.5 up to 5 s, ±20 % jitter (so a Redis restart is not met by every edge at the
#: same instant), forever, 2 s connect timeout. Heartbeat: the VJ says it is alive every 1 s; an edge
#: that hears nothing from it for 3 s shows "source lost". ``wan``: 1 s up to 15 s, 5 s timeouts.
REDIS = Link(
    "redis",
    reconnect={
        "default": dict(initial=0.5, multiplier=1.5, max=5.0, jitter=0.2, connect_timeout=2.0),
        "lan": dict(initial=0.25, max=2.0, connect_timeout=1.0),
        "wan": dict(initial=1.0, max=15.0, connect_timeout=5.0),
    },
    heartbeat={
        "default": dict(interval=1.0, timeout=3.0),
        "lan": dict(interval=0.5, timeout=1.5),
        "wan": dict(interval=2.0, timeout=8.0),
    },
)
