"""The terminal dashboard of ``mcav run``: a rich ``Live`` view of one metrics snapshot.

At each refresh (≤ 4 Hz) the dashboard takes one :meth:`Runtime.snapshot`,
builds the sections below and renders them *once* into segments:

* nodes: fps, processing p50/p99, input queue fill, drops, xruns, errors;
* sinks: end-to-end latency p50/p99 (capture → leaving the process);
* audio: 5 band meters, BPM, tempo confidence and a beat flash;
* connections (DJs, browsers, Minecraft) and the CONNECTIVITY.md health stats;
* the latest warnings, then any other node status as ``key=value``.

The sections themselves are in :mod:`mcav.runtime.panels`. A rich table render
costs several ms of GIL (RUNTIME-LESSONS 2), so each refresh renders once into
cached segments. While the dashboard runs, log records are queued and printed
above the display by the dashboard's own thread at each refresh: the screen
never tears, and a node that logs never waits for a slow terminal.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import time
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.segment import Segments
from rich.table import Table
from rich.text import Text

from . import panels
from .metrics import Snapshot
from .views import WarningBuffer, audio_view, sink_names

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["Dashboard"]

class Dashboard:
    """A rich Live dashboard of a running graph; also a :class:`~mcav.runtime.monitor.Monitor`.

    Args:
        runtime: The graph to show.
        console: Where to draw. Default: a new :class:`rich.console.Console` on stdout.
        refresh_per_second: Refreshes (= snapshots) per second, at most 4. Default 4.
        route_logging: Send log records through the Live console while running
            (so they print above the display). Default True.
    """

    def __init__(
        self,
        runtime: Runtime,
        console: Console | None = None,
        refresh_per_second: float = 4.0,
        route_logging: bool = True,
    ) -> None:
        self.runtime = runtime
        self.console = console or Console()
        self.refresh_per_second = min(refresh_per_second, 4.0)
        self.warnings = WarningBuffer()
        #: Wall time of the recent refreshes in ms (snapshot + layout + render), oldest first.
        self.render_ms: collections.deque[float] = collections.deque(maxlen=1024)
        self._sinks = sink_names(runtime)
        self._last_beats: int | None = None
        self._prev_in: tuple[float, dict[str, int]] = (0.0, {})  # for the input rate of sinks
        self._rates: dict[str, float] = {}
        self._route_logging = route_logging
        self._swapped: list[logging.Handler] = []
        self._console_handler: _QueuedConsoleHandler | None = None
        self._live: Live | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Dashboard:
        """Start drawing (returns self)."""
        root = logging.getLogger()
        root.addHandler(self.warnings)
        if self._route_logging:
            self._route_logs(root)
        # our own refresh thread rather than Live's: it also prints the queued log lines, so that
        # only this thread ever writes to the terminal (a stalled terminal then blocks the
        # dashboard, never a node's thread that logs)
        self._live = Live(
            get_renderable=self._frame,
            console=self.console,
            auto_refresh=False,
            vertical_overflow="ellipsis",
        )
        self._live.start(refresh=True)
        self._thread = threading.Thread(target=self._refresh_loop, name="mcav-dashboard", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Draw a last frame and stop; restores logging (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._live is not None:
            self._flush_logs()
            self._live.stop()
            self._live = None
        root = logging.getLogger()
        root.removeHandler(self.warnings)
        if self._console_handler is not None:
            root.removeHandler(self._console_handler)
            self._console_handler = None
        for handler in self._swapped:
            root.addHandler(handler)
        self._swapped.clear()

    def _refresh_loop(self) -> None:
        assert self._live is not None
        while not self._stop.wait(1.0 / self.refresh_per_second):
            try:
                self._flush_logs()
                self._live.refresh()
            except Exception:  # a rendering bug must not kill the display silently
                if not self._failed:
                    self._failed = True
                    logging.getLogger("mcav.dashboard").exception("dashboard refresh failed")

    def _flush_logs(self) -> None:
        handler = self._console_handler
        if handler is None:
            return
        lines, dropped = handler.take()
        if dropped:
            lines.append(f"… {dropped} log lines dropped while the terminal was slow")
        for line in lines:
            self.console.print(Text(line), soft_wrap=True, highlight=False)

    def _route_logs(self, root: logging.Logger) -> None:
        # a StreamHandler on the terminal would write through the middle of the display
        for handler in list(root.handlers):
            if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) in (
                sys.stderr,
                sys.stdout,
                sys.__stderr__,
                sys.__stdout__,
            ):
                root.removeHandler(handler)
                self._swapped.append(handler)
        console_handler = _QueuedConsoleHandler()
        if self._swapped:
            console_handler.setFormatter(self._swapped[0].formatter)
            console_handler.setLevel(self._swapped[0].level)
        root.addHandler(console_handler)
        self._console_handler = console_handler

    # -- rendering ------------------------------------------------------------------------------

    def _frame(self) -> RenderableType:
        """One refresh: a snapshot, laid out and rendered once; Live redraws the cached segments."""
        t0 = time.perf_counter()
        view = self.render(self.runtime.snapshot())
        segments = Segments(list(self.console.render(view, self.console.options)))
        self.render_ms.append((time.perf_counter() - t0) * 1e3)
        return segments

    def render(self, snap: Snapshot) -> RenderableType:
        """The whole dashboard for one snapshot."""
        recent = sorted(list(self.render_ms)[-8:])
        cost = recent[len(recent) // 2] if recent else 0.0
        title = Text.assemble(
            ("mcav ", "bold cyan"),
            (f"graph '{snap.graph}'", "bold"),
            f"  up {int(snap.uptime_s) // 60:d}:{int(snap.uptime_s) % 60:02d}",
            f"  drops {snap.total_drops}",
            (f"  dashboard {self.refresh_per_second:g} Hz, {cost:.1f} ms/refresh (median)", "dim"),
        )
        audio = audio_view(snap)
        # a beat flashes if one came since the last refresh (a count), or the latest frame is one
        beats = audio.beats if audio is not None else None
        flash = audio is not None and (audio.beat or (beats is not None and self._last_beats is not None
                                                       and beats > self._last_beats))
        self._last_beats = beats
        parts: list[RenderableType] = [title, panels.nodes_table(snap, self._input_rates(snap))]
        middle = Table.grid(padding=(0, 2), expand=True)
        middle.add_column(ratio=1)
        middle.add_column(ratio=1)
        middle.add_row(panels.sinks_table(snap, self._sinks), panels.audio_panel(audio, flash))
        middle.add_row(panels.connections_panel(snap), panels.health_panel(snap))
        parts += [middle, panels.warnings_panel(self.warnings)]
        other = panels.other_status(snap)
        if other is not None:
            parts.append(other)
        return Group(*parts)

    def _input_rates(self, snap: Snapshot) -> dict[str, float]:
        # the snapshot's fps counts frames sent out, which is 0 for sinks: use frames_in deltas,
        # over at least 0.2 s so that the extra refresh at stop does not show noise
        t, prev = self._prev_in
        now = time.monotonic()
        if now - t < 0.2:
            return self._rates
        counts = {n: s.frames_in for n, s in snap.nodes.items()}
        if prev:
            self._rates = {n: max(0, c - prev.get(n, c)) / (now - t) for n, c in counts.items()}
        self._prev_in = (now, counts)
        return self._rates


class _QueuedConsoleHandler(logging.Handler):
    """Queues formatted log records for the dashboard thread to print above the display.

    Args:
        size: Lines kept until the next refresh; beyond that the oldest are dropped (counted).
    """

    def __init__(self, size: int = 500) -> None:
        super().__init__()
        self._lines: collections.deque[str] = collections.deque(maxlen=size)
        self._dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if len(self._lines) == self._lines.maxlen:
                self._dropped += 1
            self._lines.append(self.format(record))  # atomic under the GIL; never blocks the caller
        except Exception:
            self.handleError(record)

    def take(self) -> tuple[list[str], int]:
        """The queued lines (oldest first) and how many were dropped since the last call."""
        lines = []
        while self._lines:
            lines.append(self._lines.popleft())
        dropped, self._dropped = self._dropped, 0
        return lines, dropped
