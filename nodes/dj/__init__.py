"""The DJ link on :9000: ``dj_relay`` (DJ side) and ``dj_server`` (VJ side), speaking MCAV's DJ protocol.

Modules: :mod:`.protocol` (every message of the wire), :mod:`.sanitize`,
:mod:`.auth` (keys file), :mod:`.codes` (connect codes),
:mod:`.roster`, :mod:`.hub` + :mod:`.handler` + :mod:`.server` (VJ side),
:mod:`.relay` (:class:`DJRelayConfig`, the client) and :mod:`.relay_node`.
The package imports nothing itself, so ``mcav dj-key`` starts fast; import
the modules (e.g. ``from mcav.nodes.dj.relay import DJRelay``).
"""

