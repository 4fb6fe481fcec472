"""The Minecraft links' policy defaults (CONNECTIVITY.md "VJ Server to Minecraft" and "VizClient")."""

from __future__ import annotations

from mcav.runtime.policies import Link

__all__ = ["VIZ_CLIENT", "VJ_MINECRAFT"]

#: The VJ server's schedule for its plugin link: check every 5 s, retry 5 s ×1.5 up to 60 s, forever.
VJ_MINECRAFT = Link(
    "vj_minecraft",
    reconnect={
        "default": dict(initial=5.0, multiplier=1.5, max=60.0, check_interval=5.0),
        "lan": dict(connect_timeout=5.0),
        "wan": dict(connect_timeout=30.0),
    },
)

#: The VizClient: retry 1 s ×1.5 up to 30 s, 10 attempts, connect timeout 10 s; ping every 10 s,
#: dead after 30 s without pong. ``lan``: 5 s connect timeout; ``wan``: 30 s and 15 attempts.
VIZ_CLIENT = Link(
    "viz_client",
    reconnect={
        "default": dict(initial=1.0, multiplier=1.5, max=30.0, max_attempts=10, max_reconnect_attempts=10),
        "lan": dict(connect_timeout=5.0),
        "wan": dict(connect_timeout=30.0, max_attempts=15, max_reconnect_attempts=15),
    },
    heartbeat={"default": dict(interval=10.0, timeout=30.0)},
)
