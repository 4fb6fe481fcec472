"""One connection to the MCAV Minecraft plugin, as a sans-I/O state machine.

:class:`PluginSession` reads the plugin's ``connected`` welcome, then (for the
``minecraft`` sink) runs :class:`ZoneSetup` — ``get_zones``, pick the zone,
``init_pool`` — and only then says the link is up; a malformed or refused
reply fails the attempt (the supervisor closes with 1011 and backs off, as
after a refused connection). Once up it answers the plugin's pings, sends our
own on each heartbeat tick and declares the plugin dead after ``timeout`` s
without a pong; every other message goes to the client, which matches replies
to requests (:mod:`.replies`). No sockets, no clock: tests feed it strings.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from mcav.runtime.policies import HeartbeatPolicy
from mcav.runtime.session import Action, Dead, Deliver, Established, Fail, Instant, Send

from . import protocol

__all__ = ["PluginSession", "ZoneSetup"]


class ZoneSetup:
    """The sink's handshake: choose the zone, build the entity pool.

    Args:
        zone: The zone wanted (the plugin's first one if it has no such zone).
        count: Entities in the pool.
        material: Block material of the pool.
        log: ``log(level, message)``.
    """

    def __init__(self, zone: str, count: int, material: str, log: Callable[[int, str], None]) -> None:
        self.zone = zone
        self.count = count
        self.material = material
        self._log = log
        #: The pool size the plugin confirmed (None until it did).
        self.pool: int | None = None
        self._asked_pool = False

    def start(self) -> list[Action]:
        return [Send(protocol.get_zones())]

    def receive(self, msg: dict[str, Any]) -> list[Action]:
        """The next handshake reply; ``Established`` once the pool is set up."""
        try:
            if not self._asked_pool and msg["type"] in ("zones", "error"):
                zones = protocol.zone_names(msg)
                if not zones:
                    return [Fail("the plugin has no zones (create one: /audioviz zone create main)")]
                if self.zone not in zones:
                    self._log(logging.WARNING, f"Minecraft has no zone '{self.zone}'; using '{zones[0]}' (zones: {zones})")
                    self.zone = zones[0]
                self._asked_pool = True
                return [Send(protocol.init_pool(self.zone, self.count, self.material))]
            if self._asked_pool and msg["type"] in ("pool_initialized", "error"):
                self.pool = protocol.pool_size(msg, self.count)
                if self.pool < self.count:
                    self._log(logging.WARNING, f"Minecraft capped the pool at {self.pool} of {self.count} entities "
                                               "(max_entities_per_zone)")
                return [Established(f"zone {self.zone}, {self.pool} entities")]
        except ValueError as exc:  # a refused or malformed reply (ProtocolError is a ValueError)
            return [Fail(str(exc))]
        return [Deliver(msg)]  # not ours (e.g. voice_status): pass it on


class PluginSession:
    """The plugin link's protocol for one connection attempt.

    Args:
        heartbeat: ``timeout`` s without a pong means the plugin is dead (CONNECTIVITY.md: 30 s).
        stats: The client's counters (received, bad_messages, plugin_pings, pings_sent, pongs_received).
        setup: The handshake after the welcome, or None (up at the welcome).
        log: ``log(level, message)``.
    """

    def __init__(self, heartbeat: HeartbeatPolicy, stats: dict[str, int], setup: ZoneSetup | None,
                 log: Callable[[int, str], None]) -> None:
        self._timeout = heartbeat.timeout
        self.stats = stats
        self.setup = setup
        self._log = log
        self.phase = "welcome"
        #: The plugin's ``connected`` welcome.
        self.welcome: dict[str, Any] | None = None
        self._last_pong = 0.0

    def start(self, now: Instant) -> list[Action]:
        self._last_pong = now.mono
        return []

    def receive(self, text: str, now: Instant) -> list[Action]:
        if self.phase != "welcome":  # counted: what the plugin sent after its welcome
            self.stats["received"] += 1
        try:
            msg = protocol.decode(text)
        except protocol.ProtocolError as exc:
            self.stats["bad_messages"] += 1
            self._log(logging.WARNING, f"ignoring bad message from plugin: {exc}")
            return []
        kind = msg["type"]
        if kind == "ping":
            self.stats["plugin_pings"] += 1
            return [Send(protocol.pong(int(now.wall * 1000)))]
        if kind == "pong":
            self.stats["pongs_received"] += 1
            self._last_pong = now.mono
            return []
        if self.phase == "welcome":
            self.welcome = msg
            if kind != "connected":
                self._log(logging.WARNING, f"the plugin greeted with {kind!r} instead of 'connected'")
            if self.setup is None:
                self.phase = "open"
                return [Established("welcome")]
            self.phase = "setup"
            return self.setup.start()
        if self.phase == "setup":
            actions = self.setup.receive(msg) if self.setup is not None else []
            if any(isinstance(a, Established) for a in actions):
                self.phase = "open"
            return actions
        return [Deliver(msg)]

    def tick(self, now: Instant) -> list[Action]:
        silence = now.mono - self._last_pong
        if self._timeout is not None and silence > self._timeout:
            return [Dead(f"pong timeout ({silence:.0f} s without pong)")]
        self.stats["pings_sent"] += 1
        return [Send(protocol.ping())]

    def closed(self, code: int | None, reason: str) -> list[Action]:
        return []
