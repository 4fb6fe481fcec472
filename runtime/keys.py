"""Single key presses from the terminal, for the dashboard (``v`` switches views).

:class:`KeyReader` puts the terminal in cbreak mode (keys arrive at once and
are not echoed; Ctrl-C still sends SIGINT) and reads them on its own thread.
It restores the terminal's settings when closed, and at exit if it never was.
Nothing happens when standard input is not a terminal, and nothing is read or
changed while the process is not in the terminal's foreground (``mcav run … &``):
the kernel would stop it for touching the terminal.
"""

from __future__ import annotations

import atexit
import os
import select
import sys
import threading
from typing import Any, Callable

__all__ = ["KeyReader"]


class KeyReader:
    """Calls ``on_key(char)`` for each key pressed on the terminal, from a daemon thread.

    Args:
        on_key: Called with one character per key (escape sequences arrive as several).
        fd: The terminal to read. Default: standard input.
    """

    def __init__(self, on_key: Callable[[str], None], fd: int | None = None) -> None:
        self._on_key = on_key
        self._fd = sys.stdin.fileno() if fd is None else fd
        self._saved: list[Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> KeyReader:
        """Start reading (returns self); does nothing when the fd is not a terminal."""
        try:
            import termios
        except ImportError:  # not a POSIX terminal
            return self
        if not os.isatty(self._fd) or not self._foreground():
            return self
        self._saved = termios.tcgetattr(self._fd)
        atexit.register(self.close)
        mode = termios.tcgetattr(self._fd)
        mode[3] &= ~(termios.ECHO | termios.ICANON)  # lflag: keys at once, not echoed; ISIG stays (Ctrl-C)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 0, 0  # a read never blocks (select says when)
        # TCSANOW, not tty.setcbreak's TCSAFLUSH: waiting for the output to drain takes the terminal's
        # write lock, which can deadlock against the dashboard thread writing a frame
        termios.tcsetattr(self._fd, termios.TCSANOW, mode)
        self._thread = threading.Thread(target=self._loop, name="mcav-keys", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._fd], [], [], 0.2)
                if not ready or not self._foreground():  # a background read would stop the process
                    continue
                data = os.read(self._fd, 32)
            except (OSError, ValueError):
                return
            if not data:  # readable but empty: the terminal hung up (SIGHUP follows); do not spin
                self._stop.wait(0.2)
            for char in data.decode("utf-8", "replace"):
                self._on_key(char)

    def _foreground(self) -> bool:
        try:
            return os.tcgetpgrp(self._fd) == os.getpgrp()
        except OSError:
            return False

    def close(self) -> None:
        """Stop reading and restore the terminal (idempotent; in the background the shell restores it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        if self._saved is not None and self._foreground():
            import termios

            try:
                termios.tcsetattr(self._fd, termios.TCSANOW, self._saved)
            except (OSError, termios.error):
                pass
            self._saved = None
