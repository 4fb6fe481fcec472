"""The Redis hop: one show served by many processes (``redis_pub`` on the VJ, ``redis_sub`` on each edge)."""
