"""The terminal dashboard of ``mcav run``: a rich ``Live`` view of one metrics snapshot.

At each refresh (≤ 4 Hz) the dashboard takes one :meth:`Runtime.snapshot`,
lays it out for the terminal's size and renders it *once* into segments. It
never draws more lines than the terminal has. First, whatever the size (80×24
is enough), the essentials in priority order: tempo and lock, the live DJ, the
Minecraft link, clients, the worst latency, the latest warnings. Below them
the detail views, as many as fit, the one chosen with ``v`` first (or ``n``
nodes, ``c`` connections, ``l`` log):

* nodes: fps, processing p50/p99, input queue fill, drops, skipped (decimated
  by design), xruns, errors; and end-to-end latency at the sinks;
* connections: DJs, browsers and links, the CONNECTIVITY.md health stats and
  the audio band meters;
* log: the latest log lines, filling what is left.

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
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from . import panels
from .keys import KeyReader
from .metrics import Snapshot
from .views import AudioView, WarningBuffer, audio_view, link_views, progress_views, show_view, sink_names

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["VIEWS", "Dashboard"]

#: The detail views, in the order ``v`` cycles through them.
VIEWS = ("nodes", "connections", "log")
_VIEW_KEYS = {"n": "nodes", "c": "connections", "l": "log"}
#: From this size on, every detail view is shown (the chosen one first) with the log filling the rest.
_LARGE = (120, 40)

class Dashboard:
    """A rich Live dashboard of a running graph; also a :class:`~mcav.runtime.monitor.Monitor`.

    Args:
        runtime: The graph to show.
        console: Where to draw. Default: a new :class:`rich.console.Console` on stdout.
        refresh_per_second: Refreshes (= snapshots) per second, at most 4. Default 4.
        route_logging: Send log records through the Live console while running
            (so they print above the display). Default True.
        keys: Read view keys from the terminal. Default: when drawing on stdout and stdin is a terminal.
    """

    def __init__(
        self,
        runtime: Runtime,
        console: Console | None = None,
        refresh_per_second: float = 4.0,
        route_logging: bool = True,
        keys: bool | None = None,
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
        #: The detail view shown first; ``v`` cycles, ``n``/``c``/``l`` choose.
        self.view = VIEWS[0]
        self._log: collections.deque[str] = collections.deque(maxlen=200)
        if keys is None:
            keys = self.console.file in (sys.stdout, sys.__stdout__) and _isatty(sys.stdin)
        self._keys = KeyReader(self.press) if keys else None

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
        if self._keys is not None:
            self._keys.start()
        return self

    def press(self, key: str) -> None:
        """Act on a key: ``v`` or Tab the next view, ``n``/``c``/``l`` a given one (others are ignored)."""
        if key in ("v", "\t"):
            self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        elif key.lower() in _VIEW_KEYS:
            self.view = _VIEW_KEYS[key.lower()]

    def close(self) -> None:
        """Draw a last frame and stop; restores logging (idempotent)."""
        self._stop.set()
        if self._keys is not None:
            self._keys.close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._live is not None:
            self._flush_logs()
            self._live.stop()
            self._live = None
        root = logging.getLogger()
        root.removeHandler(self.warnings)
        for handler in self._swapped:
            root.addHandler(handler)
        self._swapped.clear()
        if self._console_handler is not None:
            root.removeHandler(self._console_handler)
            self._flush_logs()  # what was logged while the last frame was drawn
            self._console_handler = None

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
        self._log.extend(lines)
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
            for filt in self._swapped[0].filters:
                console_handler.addFilter(filt)
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
        """The whole dashboard for one snapshot, laid out for the console's size."""
        width, height = self.console.size
        budget = max(height - 1, 8)  # the last row stays free: the cursor sits there
        audio = audio_view(snap)
        # a beat flashes if one came since the last refresh (a count), or the latest frame is one
        beats = audio.beats if audio is not None else None
        flash = audio is not None and (audio.beat or (beats is not None and self._last_beats is not None
                                                       and beats > self._last_beats))
        self._last_beats = beats
        show = show_view(snap, self._sinks)
        large = width >= _LARGE[0] and height >= _LARGE[1]
        top: list[RenderableType] = [self._title(snap, show.pattern, show.drops, show.decimated)]
        top += panels.essentials(audio, flash, show, link_views(snap), progress_views(snap))
        top += panels.warnings_lines(self.warnings, limit=4 if large else 2)
        top.append(Text.assemble(
            ("views: ", "dim"), *((f"[{v}]" if v == self.view else f" {v} ", "bold" if v == self.view else "dim")
                                  for v in VIEWS), ("  v: next  n/c/l: choose", "dim")))
        lines = self._lines(Group(*top), width)[:budget]
        order = [self.view] + [v for v in VIEWS if v != self.view] if large else [self.view]
        for name in order:
            room = budget - len(lines)
            if room < 3:
                break
            if name == "log":
                log_height = room if (large and order[-1] == "log") or not large else min(room, 12)
                lines += self._lines(panels.log_panel(list(self._log), log_height), width)
                continue
            part = self._lines(self._detail(name, snap, audio, flash, wide=width >= 100), width)
            if len(part) > room:
                part = part[: room - 1] + self._lines(Text("… more below: enlarge the terminal", style="dim"), width)
            lines += part
        return Segments([seg for line in lines for seg in (*line, Segment.line())])

    def _title(self, snap: Snapshot, pattern: str | None, drops: int, decimated: int) -> Text:
        recent = sorted(list(self.render_ms)[-8:])
        cost = recent[len(recent) // 2] if recent else 0.0
        return Text.assemble(
            ("mcav ", "bold cyan"),
            (f"graph '{snap.graph}'", "bold"),
            f"  up {int(snap.uptime_s) // 60:d}:{int(snap.uptime_s) % 60:02d}",
            *((("  pattern ", "dim"), (pattern, "bold magenta")) if pattern else ()),
            ("  drops ", "dim"), (str(drops), "yellow" if drops else ""),
            ("  skipped ", "dim"), str(decimated),
            (f"  {cost:.1f} ms/refresh", "dim"),
            no_wrap=True, overflow="ellipsis",
        )

    def _detail(self, name: str, snap: Snapshot, audio: AudioView | None, flash: bool, wide: bool) -> RenderableType:
        """The ``nodes`` or ``connections`` view."""
        if name == "nodes":
            parts: list[RenderableType] = [panels.nodes_table(snap, self._input_rates(snap), compact=not wide)]
            if self._sinks:
                parts.append(panels.sinks_table(snap, self._sinks))
            other = panels.other_status(snap)
            if other is not None:
                parts.append(other)
            return Group(*parts)
        health = panels.health_panel(snap)
        cells = [panels.connections_panel(snap), health, panels.audio_panel(audio, flash)]
        if not wide:
            return Group(*cells)
        row = Table.grid(padding=(0, 1), expand=True)
        for _ in cells:
            row.add_column(ratio=1)
        row.add_row(*cells)
        return row

    def _lines(self, renderable: RenderableType, width: int) -> list[list[Segment]]:
        return self.console.render_lines(renderable, self.console.options.update(width=width, height=None), pad=False)

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


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
