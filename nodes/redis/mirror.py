"""The edge's copy of the show, kept from the VJ's snapshot and events (pure: no I/O).

:class:`ShowMirror` serves what an edge answers locally (pattern state and
list, roster, waiting DJs, the live DJ, the Minecraft link's info) and says
what to do with each message from the VJ: apply it and publish it on the
edge's control ports, buffer it (no snapshot yet), ignore it (older than the
snapshot) or ask for a new snapshot (a gap in the event numbers, or a VJ that
restarted).
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

from mcav.nodes.interfaces import DJRoster, MinecraftLink, PatternControl

__all__ = ["LocalEvent", "ShowMirror"]

#: (control port of redis_sub, event name, data) to publish on the edge.
LocalEvent = tuple[str, str, dict[str, Any]]

#: The interface name of each port ``redis_sub`` provides.
PORTS = {PatternControl.name: "pattern", DJRoster.name: "djs", MinecraftLink.name: "minecraft"}
Verdict = Literal["applied", "buffered", "stale", "resync"]


class ShowMirror:
    """What the edge knows of the show."""

    def __init__(self) -> None:
        self.run: str | None = None
        self.seq = 0
        self.synced = False
        self.pattern_state: dict[str, Any] = {}
        self.patterns: list[dict[str, Any]] = []
        self.roster: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []
        self.live: dict[str, Any] = {"dj_id": None, "dj_name": None, "direct": False}
        self.mc_info: dict[str, Any] = {"connected": False, "zone": "main"}
        self._early: list[Mapping[str, Any]] = []

    def lose(self) -> list[LocalEvent]:
        """The source is gone: no longer synced; the Minecraft link reads as down from here."""
        self.synced = False
        self._early.clear()
        self.mc_info = {**self.mc_info, "connected": False}
        return [("minecraft", "link", dict(self.mc_info))]

    def apply_snapshot(self, snap: Mapping[str, Any]) -> list[LocalEvent]:
        """Take a ``show.snapshot`` answer, then the events that came meanwhile and are newer."""
        self.run, self.seq = str(snap["run"]), int(snap["seq"])
        out: list[LocalEvent] = []
        if snap.get("pattern"):
            self.pattern_state = dict(snap["pattern"]["state"])
            self.patterns = list(snap["pattern"]["patterns"])
            out.append(("pattern", "changed", dict(self.pattern_state)))
        if snap.get("djs"):
            d = snap["djs"]
            self.roster, self.pending, self.live = list(d["roster"]), list(d["pending"]), dict(d["live"])
            out.append(("djs", "live", dict(self.live)))
            out.append(("djs", "message", {"type": "dj_roster", "roster": self.roster, "active_dj": self.live.get("dj_id")}))
        if snap.get("minecraft"):
            self.mc_info = dict(snap["minecraft"])
        out.append(("minecraft", "link", dict(self.mc_info)))
        self.synced = True
        early, self._early = self._early, []
        for msg in early:
            if int(msg["seq"]) > self.seq:
                out += self.on_event(msg)[1]
        return out

    def on_event(self, msg: Mapping[str, Any]) -> tuple[Verdict, list[LocalEvent]]:
        """An ``event`` message from the VJ."""
        if not self.synced:
            if len(self._early) < 1024:
                self._early.append(msg)
            return "buffered", []
        seq = int(msg["seq"])
        if seq <= self.seq:
            return "stale", []
        if seq != self.seq + 1:
            return "resync", []
        self.seq = seq
        port = PORTS.get(str(msg["interface"]))
        if port is None:
            return "applied", []
        name, data = str(msg["name"]), dict(msg["data"])
        self._keep(port, name, data)
        return "applied", [(port, name, data)]

    def on_heartbeat(self, msg: Mapping[str, Any]) -> bool:
        """A heartbeat; True if the edge needs a new snapshot (VJ restarted, or events were missed)."""
        return self.synced and (msg["run"] != self.run or int(msg["seq"]) > self.seq)

    def on_frame(self, state: Mapping[str, Any]) -> None:
        """Keep the live DJ's link figures from a ``state`` frame (its roster row is what the edge shows)."""
        active = state.get("active_dj")
        for row in self.roster:
            if row.get("dj_id") == active:
                for k in ("latency_ms", "ping_ms", "pipeline_latency_ms", "fps"):
                    if state.get(k) is not None:
                        row[k] = state[k]

    def _keep(self, port: str, name: str, data: dict[str, Any]) -> None:
        if port == "pattern" and name == "changed":
            self.pattern_state = {**self.pattern_state, **data}
        elif port == "djs" and name == "live":
            self.live = dict(data)
        elif port == "djs" and name == "message":
            kind = data.get("type")
            if kind == "dj_roster" and isinstance(data.get("roster"), list):
                self.roster = list(data["roster"])
            elif kind == "dj_pending" and isinstance(data.get("dj"), dict):
                dj_id = data["dj"].get("dj_id")
                self.pending = [p for p in self.pending if p.get("dj_id") != dj_id] + [dict(data["dj"])]
            elif kind in ("dj_approved", "dj_denied"):
                self.pending = [p for p in self.pending if p.get("dj_id") != data.get("dj_id")]
        elif port == "minecraft" and name in ("link", "zone"):
            self.mc_info = dict(data)
