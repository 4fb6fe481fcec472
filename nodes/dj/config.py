"""DJ relay configuration (CONNECTIVITY.md's ``DJRelayConfig``) and the relay's terminal errors."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mcav.runtime.policies import HeartbeatPolicy, ReconnectPolicy

from .links import DJ_RELAY
from .protocol import CloseCode

__all__ = ["FINAL_CLOSE_CODES", "AuthFailed", "DJRelayConfig", "GaveUp"]

#: Close codes after which the relay never reconnects: bad key/code, denied, kicked.
FINAL_CLOSE_CODES = {CloseCode.AUTH_FAILED, CloseCode.DENIED, CloseCode.KICKED}


@dataclass
class DJRelayConfig:
    """CONNECTIVITY.md's DJ relay configuration (same fields, same defaults).

    Attributes:
        vj_server_url: ``ws://host:9000`` of the VJ server.
        dj_id: Id sent in ``dj_auth`` (the keys file's entry on the VJ side).
        dj_name: Display name.
        dj_key: The DJ's key (plaintext on the wire, as in MCAV; use ``wss://`` across the internet).
        reconnect_interval: First backoff delay in s (5).
        heartbeat_interval: Seconds between ``dj_heartbeat`` messages (2).
        max_connect_attempts: Tries for the first connection (3).
    """

    vj_server_url: str = "ws://localhost:9000"
    dj_id: str = "dj_1"
    dj_name: str = "DJ 1"
    dj_key: str = ""
    reconnect_interval: float = 5.0
    heartbeat_interval: float = 2.0
    max_connect_attempts: int = 3

    @classmethod
    def tuned(cls, network: str, **fields: Any) -> DJRelayConfig:
        """CONNECTIVITY.md "Network Tuning": ``lan`` (2 s, 1 s, 5 tries) or ``wan`` (10 s, 5 s, 3 tries)."""
        presets = {"lan": (2.0, 1.0, 5), "wan": (10.0, 5.0, 3)}
        if network not in presets:
            raise ValueError(f"unknown network tuning '{network}'; choose lan or wan")
        r, h, n = presets[network]
        return cls(**{"reconnect_interval": r, "heartbeat_interval": h, "max_connect_attempts": n, **fields})

    def reconnect_policy(self) -> ReconnectPolicy:
        """The dj_relay reconnect defaults with this config's interval and attempts."""
        base = DJ_RELAY.policy("reconnect")
        return replace(base, initial=self.reconnect_interval, max_attempts=self.max_connect_attempts)

    def heartbeat_policy(self) -> HeartbeatPolicy:
        """The dj_relay heartbeat defaults (3 failures) with this config's interval."""
        return replace(DJ_RELAY.policy("heartbeat"), interval=self.heartbeat_interval)


class AuthFailed(Exception):
    """The VJ refused us (bad key or code, denied, kicked); never retried."""


class GaveUp(Exception):
    """The first connection failed ``max_connect_attempts`` times."""


