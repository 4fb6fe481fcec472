"""The mcav framework: graphs, the scheduler, metrics and the ``mcav`` command (see README "Architecture")."""
