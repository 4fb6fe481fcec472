"""The ``dj_relay`` sink: streams a graph's features to a VJ server over MCAV's DJ protocol.

It reads its input with ``latest()`` paced to ``fps`` (never a backlog), sends
one ``dj_audio_frame`` per period while connected, and drops (and counts)
frames while disconnected. ``preset_sync`` from the VJ switches the preset of
the graph's ``fft`` node(s).

Timing precedence: the ``reconnect:`` and ``heartbeat:`` policies (defaults:
CONNECTIVITY.md's DJ relay table; ``lan``/``wan`` its Network Tuning) give the
schedule; ``reconnect_interval``, ``heartbeat_interval`` and
``max_connect_attempts``, when set to anything but their defaults (5, 2, 3),
override the policy's ``initial``, ``interval`` and ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any

from mcav.nodes.presets import apply_preset
from mcav.runtime.frames import Features
from mcav.runtime.node import AsyncNode, EndOfStream
from mcav.runtime.params import param
from mcav.runtime.policies import HeartbeatPolicy, ReconnectPolicy

from . import protocol as P
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
    policies = {"reconnect": "dj_relay", "heartbeat": "dj_relay"}
    inputs = {"in": Features}

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

    async def run(self) -> None:
        link = asyncio.ensure_future(self.relay.run())
        pump = asyncio.ensure_future(self._pump())
        stop = asyncio.ensure_future(self.ctx.wait_stopping())
        try:
            await asyncio.wait({link, pump, stop}, return_when=asyncio.FIRST_COMPLETED)
            if link.done() and not link.cancelled() and link.exception() is not None:
                self._link_failed(link.exception())
                if not self.ctx.stopping:
                    await asyncio.wait({pump, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await self.relay.stop()
            for task in (link, pump, stop):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, AuthFailed, GaveUp):
                    await task

    def _link_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, (AuthFailed, GaveUp)):
            raise exc
        self.failure = str(exc)
        self.ctx.log.error("DJ link to %s failed: %s", self.params.vj_server_url, exc)
        if self._only_sink():
            self.ctx.fail(f"dj_relay '{self.ctx.name}': {exc}", exit_code=1)
        else:
            self.ctx.log.error("other sinks keep running; frames for the VJ are dropped from now on")

    def _only_sink(self) -> bool:
        names = self.ctx.metrics_snapshot().nodes
        sinks = [n for n in names if not type(self.ctx.peer(n)).outputs]
        return sinks == [self.ctx.name]

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
        preset = apply_preset(self.ctx, name)
        self.presets_applied += 1
        self.ctx.log.info("VJ preset '%s' applied to %s", preset.name,
                          ", ".join(f.ctx.name for f in self.ctx.peers("fft")) or "no fft node")

    def _mc_connected(self) -> bool:
        for node in self.ctx.peers("minecraft")[:1]:
            with contextlib.suppress(Exception):
                return bool(node.status().get("connected", False))
        return False

    def status(self) -> dict[str, Any]:
        """The link's state and counters (frames sent/dropped, reconnects, heartbeat failures, RTT)."""
        st = self.relay.status()
        st["presets_applied"] = self.presets_applied
        if self.failure:
            st["failure"] = self.failure
        return st
