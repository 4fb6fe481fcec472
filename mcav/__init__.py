"""mcav: real-time audio-to-visuals dataflow graphs for live music events in Minecraft.

The package is assembled from the repository's top-level folders (``runtime/``,
``nodes/``, ``pipelines/``, ``bench/``), linked in here so that the build
backend discovers every subpackage by itself and the wheel has the same shape
as the clone. ``python -m mcav`` is the ``mcav`` command.
"""

__version__ = "0.2.0"
