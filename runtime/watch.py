"""Live reload (``mcav run --watch``): a graph file watched while it runs.

On every save the file is compiled again. An invalid file changes nothing — its
errors are logged and the graph keeps running. A valid one is applied to the
running graph in place (:func:`~mcav.runtime.reshape.reload`): the nodes that
did not change keep running with their clients; only the changed, added and
removed ones are started or stopped. Should that fail, the whole graph is rebuilt.
"""

from __future__ import annotations

import os

__all__ = ["FileWatch"]


class FileWatch:
    """Says when a file was saved again (size or modification time changed)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen = self._stamp()

    def _stamp(self) -> tuple[float, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime, st.st_size

    def changed(self) -> bool:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return False
        self._seen = stamp
        return True
