"""An Ableton Link session (aalink), hosted on an asyncio loop thread of its own.

aalink binds Link to a running asyncio loop when a ``Link`` is created, while
the ``link`` node reads it from the analysis worker's thread once per frame.
So :class:`LinkSession` owns a small daemon thread running a loop that hosts
the ``Link`` object, from :meth:`open` until :meth:`close`; :meth:`sample`
reads the session state (Link's app-side capture is thread-safe) without a hop.
Link discovers peers by UDP multicast (224.76.78.75:20808) on this machine's
network interfaces.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from .timeline import LinkSample

__all__ = ["LinkSession", "LinkUnavailable"]


class LinkUnavailable(RuntimeError):
    """aalink is not installed (``pip install 'mcav[link]'``)."""


class LinkSession:
    """Joins (or starts) the Link session on this network.

    Args:
        tempo: The tempo in BPM the session starts with if there are no peers yet (120).
        quantum: Beats per bar shared with the peers (4).
    """

    def __init__(self, tempo: float = 120.0, quantum: float = 4.0) -> None:
        self.tempo = tempo
        self.quantum = quantum
        self._link: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def open(self, timeout: float = 5.0) -> None:
        """Start the loop thread and enable Link on it.

        Raises:
            LinkUnavailable: aalink is missing.
        """
        try:
            from aalink import Link
        except ImportError:
            raise LinkUnavailable("the link node needs aalink: pip install 'mcav[link]'") from None
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="mcav-link", daemon=True)
        self._thread.start()

        async def make() -> Any:
            link = Link(self.tempo)
            link.quantum = self.quantum
            link.enabled = True
            return link

        self._link = asyncio.run_coroutine_threadsafe(make(), loop).result(timeout)

    def sample(self) -> LinkSample | None:
        """The session now (None before :meth:`open` or after :meth:`close`)."""
        link = self._link
        if link is None:
            return None
        return LinkSample(beat=float(link.beat), tempo=float(link.tempo), peers=int(link.num_peers))

    def set_tempo(self, tempo: float, timeout: float = 5.0) -> None:
        """Change the session's tempo in BPM, for every peer (as a DJ's software does)."""
        link, loop = self._link, self._loop
        if link is None or loop is None:
            raise RuntimeError("the Link session is not open")

        async def change() -> None:
            link.tempo = tempo

        asyncio.run_coroutine_threadsafe(change(), loop).result(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Leave the session (peers are told at once) and end the loop thread; idempotent."""
        link, loop, self._link = self._link, self._loop, None
        if loop is None:
            return

        async def leave() -> None:
            if link is not None:
                link.enabled = False

        try:
            asyncio.run_coroutine_threadsafe(leave(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
            loop.close()
            self._loop = self._thread = None
