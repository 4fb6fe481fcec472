"""The VJ server's health statistics (CONNECTIVITY.md "Health Monitoring"), as node kinds declare them.

``dj_server`` reports the ``dj_*`` counters and ``current_djs``, ``browser``
the ``browser_*`` counters and ``current_browsers``, ``minecraft``
``mc_reconnect_count`` and ``mc_connected``, each at the top level of its
``status()``. Every VJ-server kind declares the whole set, so ``/health``,
``vj_state`` and the dashboard always show every key (zero for parts the graph
lacks) in CONNECTIVITY.md's order.
"""

from __future__ import annotations

from mcav.runtime.health import HealthStat

__all__ = ["VJ_HEALTH"]

#: In CONNECTIVITY.md's JSON order; grouped so the log line reads as the old server's
#: ``[HEALTH] DJs: 1 (conn=1, disc=0) / Browsers: 3 (conn=4, disc=1) / MC: connected (reconn=0)``.
VJ_HEALTH = (
    HealthStat("dj_connects", doc="DJ connections accepted", group="DJs", label="conn"),
    HealthStat("dj_disconnects", doc="DJ connections ended", group="DJs", label="disc"),
    HealthStat("browser_connects", doc="browser connections accepted", group="Browsers", label="conn"),
    HealthStat("browser_disconnects", doc="browser connections ended", group="Browsers", label="disc"),
    HealthStat("mc_reconnect_count", doc="Minecraft plugin reconnections", group="MC", label="reconn"),
    HealthStat("current_djs", doc="DJs connected now", group="DJs"),
    HealthStat("current_browsers", doc="browsers connected now", group="Browsers"),
    HealthStat("mc_connected", "any", doc="the Minecraft plugin link is up", group="MC"),
)
