"""The DJ link's policy defaults (CONNECTIVITY.md "DJ Relay → VJ Server" and "Network Tuning")."""

from __future__ import annotations

from mcav.runtime.policies import Link

__all__ = ["DJ_RELAY"]

#: DJ relay → VJ server: reconnect 5 s ×1.5 up to 30 s ±10 %, 3 first attempts; heartbeat every 2 s,
#: dead after 3 failures. ``lan``: 2 s, 5 attempts, heartbeat 1 s; ``wan``: 10 s, heartbeat 5 s.
DJ_RELAY = Link(
    "dj_relay",
    reconnect={
        "default": dict(initial=5.0, multiplier=1.5, max=30.0, jitter=0.10, max_attempts=3),
        "lan": dict(initial=2.0, max_attempts=5),
        "wan": dict(initial=10.0, max_attempts=3),
    },
    heartbeat={
        "default": dict(interval=2.0, failure_threshold=3),
        "lan": dict(interval=1.0),
        "wan": dict(interval=5.0),
    },
)
