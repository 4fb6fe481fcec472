"""``mcav run --watch`` as a real subprocess: save the graph file as a VJ would, wait for what the log says."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

MCAV = [sys.executable, "-m", "mcav"]


class Watched:
    """``mcav run GRAPH --watch --no-dashboard`` on ``graph`` (written with ``text`` first); a context manager.

    Every line the process logs is kept in :attr:`seen`.
    """

    def __init__(self, graph: Path, text: str) -> None:
        self.graph = graph
        graph.write_text(text)
        self.proc = subprocess.Popen([*MCAV, "run", str(graph), "--watch", "--no-dashboard"], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL)
        assert self.proc.stderr is not None
        self._fd = self.proc.stderr.fileno()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._fd, selectors.EVENT_READ)
        self.seen: list[str] = []
        self._partial = b""  # read from the pipe, not yet a whole line
        self._saves = 0

    def __enter__(self) -> Watched:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """The first logged line containing ``text`` (waiting for it; the log so far in the failure)."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.seen if text in line), None)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            assert left > 0 and self._sel.select(left), f"never logged {text!r}:\n" + "".join(self.seen)
            # Raw reads: a buffered readline() could keep the rest of a multi-line record where select() never looks.
            chunk = os.read(self._fd, 65536)
            assert chunk, "the process ended:\n" + "".join(self.seen)
            *lines, self._partial = (self._partial + chunk).split(b"\n")
            self.seen += [line.decode(errors="replace") + "\n" for line in lines]

    def save(self, text: str) -> None:
        """Write the graph file with a new modification time (even within one second of the last save)."""
        self._saves += 1
        self.graph.write_text(text)
        stamp = time.time() + self._saves
        os.utime(self.graph, (stamp, stamp))

    def interrupt(self) -> int:
        """Ctrl-C; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(15)
