"""The ``dj_relay`` sink: streams a graph's features to a VJ server over MCAV's DJ protocol.

It reads its input with ``latest()`` paced to ``fps`` (never a backlog), sends
one ``dj_audio_frame`` per period while connected, and drops (and counts)
frames while disconnected. ``preset_sync`` from the VJ switches the preset of
every analysis node on its ``presets`` control port (by default every ``fft``
of the graph); in direct mode its heartbeats report the ``minecraft`` control
port's link state (kept from the link's events).

Timing precedence: the ``reconnect:`` and ``heartbeat:`` policies (defaults:
CONNECTIVITY.md's DJ relay table; ``lan``/``wan`` its Network Tuning) give the
schedule; ``reconnect_interval``, ``heartbeat_interval`` and
``max_connect_attempts``, when set to anything but their defaults (5, 2, 3),
override the policy's ``initial``, ``interval`` and ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any

from mcav.nodes.interfaces import AnalysisPreset, MinecraftLink
from mcav.nodes.presets import apply_preset
from mcav.runtime.control import Event, Require
from mcav.runtime.frames import Features
from mcav.runtime.node import AsyncNode, EndOfStream
from mcav.runtime.params import param
from mcav.runtime.policies import HeartbeatPolicy, ReconnectPolicy

from . import protocol as P
from .links import DJ_RELAY
from .relay import AuthFailed, DJRelay, DJRelayConfig, GaveUp

__all__ = ["DJRelayNode", "effective_policies"]

_DEFAULTS = DJRelayConfig()


def effective_policies(params: Any, reconnect: ReconnectPolicy, heartbeat: HeartbeatPolicy
                       ) -> tuple[ReconnectPolicy, HeartbeatPolicy]:
    """Apply the DJRelayConfig-style fields over the node's policies (see the module docstring)."""
    r_over: dict[str, Any] = {}
    if params.reconnect_interval != _DEFAULTS.reconnect_interval:
        r_over["initial"] = params.reconnect_interval
    if params.max_connect_attempts != _DEFAULTS.max_connect_attempts:
        r_over["max_attempts"] = params.max_connect_attempts
    h_over = {}
    if params.heartbeat_interval != _DEFAULTS.heartbeat_interval:
        h_over["interval"] = params.heartbeat_interval
    return dataclasses.replace(reconnect, **r_over), dataclasses.replace(heartbeat, **h_over)


class DJRelayNode(AsyncNode):
    """Streams features to a VJ server on :9000 (MCAV DJ protocol), with reconnect and heartbeat."""

    kind = "dj_relay"
    reports_delivery = True
    policies = {"reconnect": DJ_RELAY, "heartbeat": DJ_RELAY}
    inputs = {"in": Features}
    requires = {
        "presets": Require(AnalysisPreset, many=True, optional=True, doc="the VJ's preset_sync is applied here"),
        "minecraft": Require(MinecraftLink, optional=True, doc="direct mode: heartbeats report this link"),
    }

    @dataclass
    class Params:
        vj_server_url: str = param(_DEFAULTS.vj_server_url, doc="the VJ server's ws:// (or wss://) URL")
        dj_id: str = param(_DEFAULTS.dj_id, doc="DJ id sent in dj_auth (its entry in the VJ's keys file)")
        dj_name: str = param(_DEFAULTS.dj_name, doc="display name")
        dj_key: str = param(_DEFAULTS.dj_key, doc="the DJ key; write ${MCAV_DJ_KEY} to keep it out of the file")
        reconnect_interval: float = param(5.0, doc="first reconnect delay; overrides reconnect.initial unless 5", unit="s", min=0)
        heartbeat_interval: float = param(2.0, doc="time between heartbeats; overrides heartbeat.interval unless 2", unit="s", min=0.05)
        max_connect_attempts: int = param(3, doc="tries for the first connection; overrides reconnect.max_attempts unless 3", min=1)
        fps: float = param(60.0, doc="frames sent per second (MCAV VJ servers accept up to 120)", unit="Hz", min=1, max=120)
        connect_code: str | None = param(None, doc="a WORD-XXXX connect code: authenticate with code_auth instead of the key")
        direct_mode: bool = param(False, doc="announce direct mode (reports the minecraft node's connection in heartbeats)")

    def __init__(self, params: Params, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(params, ctx)
        p = params
        cfg = DJRelayConfig(p.vj_server_url, p.dj_id, p.dj_name, p.dj_key, p.reconnect_interval,
                            p.heartbeat_interval, p.max_connect_attempts)
        reconnect, heartbeat = effective_policies(p, ctx.reconnect, ctx.heartbeat)
        #: The client (its ``status()`` is part of this node's).
        self.relay = DJRelay(cfg, clock=ctx.clock, reconnect=reconnect, heartbeat=heartbeat,
                             connect_code=p.connect_code, direct_mode=p.direct_mode, on_message=self._on_vj_message,
                             mc_connected=self._mc_connected, log=ctx.log)
        self.presets_applied = 0
        self.failure: str | None = None
        self._minecraft_up = False  # kept from the minecraft port's ``link`` events

    async def run(self) -> None:
        mc = self.ctx.control("minecraft")
        if mc:
            self._minecraft_up = bool((await mc.info())["connected"])
            mc.subscribe(self._minecraft_changed, ("link",))
        self.ctx.spawn(self._link(), name="link")
        try:
            await self._pump()  # until the input ends (the graph stops, or its source is exhausted)
        finally:
            await self.relay.stop()

    async def _link(self) -> None:
        try:
            await self.relay.run()
        except (AuthFailed, GaveUp) as exc:
            self.failure = str(exc)
            self.ctx.log.error("DJ link to %s failed: %s", self.params.vj_server_url, exc)
            if self._only_sink():
                self.ctx.fail(f"dj_relay '{self.ctx.name}': {exc}", exit_code=1)
            else:
                self.ctx.log.error("other sinks keep running; frames for the VJ are dropped from now on")

    def _only_sink(self) -> bool:
        return self.ctx.sinks() == [self.ctx.name]

    async def _pump(self) -> None:
        """Send the newest frame once per 1/fps s of loop time until the input ends."""
        inp = self.ctx.input()
        loop = asyncio.get_running_loop()
        period = 1.0 / self.params.fps
        next_at = loop.time()
        while True:
            try:
                frame = await inp.latest()
            except EndOfStream:
                return
            if await self.relay.send_frame(frame):  # type: ignore[arg-type]
                self.ctx.delivered(frame)
            next_at = max(next_at + period, loop.time())
            await asyncio.sleep(next_at - loop.time())

    def _on_vj_message(self, msg: dict[str, Any]) -> None:
        if msg["type"] != "preset_sync":
            return
        name = P.preset_name(msg.get("preset"))
        if name is None:
            self.ctx.log.warning("preset_sync with a custom preset (%s) is not applied: fft takes preset names",
                                 ", ".join(sorted(msg.get("preset") or {})) if isinstance(msg.get("preset"), dict) else "?")
            return
        self.ctx.spawn(self._apply_preset(name), name="preset_sync")

    async def _apply_preset(self, name: str) -> None:
        port = self.ctx.control("presets")
        try:
            preset = await apply_preset(port, name)
        except (ValueError, TimeoutError) as exc:
            self.ctx.log.warning("VJ preset '%s' not applied: %s", name, exc)
            return
        self.presets_applied += 1
        self.ctx.log.info("VJ preset '%s' applied to %s", preset.name,
                          ", ".join(p.node for p in port) or "no analysis node")

    def _minecraft_changed(self, event: Event) -> None:
        self._minecraft_up = bool(event.data.get("connected"))

    def _mc_connected(self) -> bool:
        return self._minecraft_up

    def status(self) -> dict[str, Any]:
        """The link's state and counters (frames sent/dropped, reconnects, heartbeat failures, RTT)."""
        st = self.relay.status()
        st["presets_applied"] = self.presets_applied
        if self.failure:
            st["failure"] = self.failure
        return st
