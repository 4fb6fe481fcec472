"""The ``show`` node: the VJ's show state on disk (restored at start) and its scenes."""
