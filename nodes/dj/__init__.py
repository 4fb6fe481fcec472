"""The DJ link on :9000: ``dj_relay`` (DJ side) and ``dj_server`` (VJ side), speaking MCAV's DJ protocol.

Modules: :mod:`.protocol` (every message of the wire), :mod:`.sanitize`,
:mod:`.auth` (keys file), :mod:`.codes` (connect codes),
:mod:`.roster`, :mod:`.hub` + :mod:`.handler` + :mod:`.server` (VJ side),
:mod:`.relay` (:class:`DJRelayConfig`, the client) and :mod:`.relay_node`.
Imports stay lazy so that ``mcav dj-key`` starts fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DJRelay", "DJRelayConfig"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import relay

        return getattr(relay, name)
    raise AttributeError(name)
