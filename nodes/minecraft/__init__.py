"""The Minecraft wire (:8765): protocol, the VizClient, and the ``minecraft`` sink node."""
