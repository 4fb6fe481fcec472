"""The browser wire (:8766): protocol, per-client queues, commands, and the ``browser`` node."""
