"""The pages' own link policy (CONNECTIVITY.md "Admin Panel"), served to them in ``/config.json``."""

from __future__ import annotations

from mcav.runtime.policies import Link

__all__ = ["ADMIN_PANEL"]

#: Reconnect 2 s ×1.5 up to 30 s, 10 attempts; ping every 5 s, reconnect after 20 s without pong.
ADMIN_PANEL = Link(
    "admin_panel",
    reconnect={"default": dict(initial=2.0, multiplier=1.5, max=30.0, max_attempts=10, max_reconnect_attempts=10)},
    heartbeat={"default": dict(interval=5.0, timeout=20.0)},
)
