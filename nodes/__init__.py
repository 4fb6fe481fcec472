"""mcav's built-in node kinds, one package per area, plus the vocabulary they share.

Kinds are registered by name with entry points in ``pyproject.toml``
(``[project.entry-points."mcav.nodes"]``), exactly as a third-party package
adds its own; modules are imported only when a graph uses the kind. Shared by
the families (none imports another family): :mod:`.interfaces` (control
interfaces), :mod:`.presets` (analysis presets), :mod:`.health` (the VJ
server's health stats).
"""
