"""The browser socket's server-side heartbeat (CONNECTIVITY.md "VJ Server → Browsers")."""

from __future__ import annotations

from mcav.runtime.policies import Link

__all__ = ["VJ_BROWSER"]

#: A ping every 15 s; a browser missing 2 pongs is closed with 4100.
VJ_BROWSER = Link("vj_browser", heartbeat={"default": dict(interval=15.0, failure_threshold=2)})
