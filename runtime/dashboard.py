"""The terminal dashboard of ``mcav run``: a rich ``Live`` view of one metrics snapshot.

At each refresh (≤ 4 Hz) the dashboard takes one :meth:`Runtime.snapshot`,
builds the sections below and renders them *once* into segments:

* nodes: fps, processing p50/p99, input queue fill, drops, xruns, errors;
* sinks: end-to-end latency p50/p99 (capture → leaving the process);
* audio: 5 band meters, BPM, tempo confidence and a beat flash;
* connections (DJs, browsers, Minecraft) and the CONNECTIVITY.md health stats;
* the latest warnings, then any other node status as ``key=value``.

A rich table render costs several ms of GIL (RUNTIME-LESSONS 2), so the
rendered segments are cached: a log line printed above the display between
refreshes re-emits them instead of laying the tables out again. While the
dashboard runs, log records go through the Live console so they scroll above
it without tearing the screen.
"""

from __future__ import annotations

import collections
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.segment import Segments
from rich.table import Table
from rich.text import Text

from .metrics import Snapshot
from .monitor import (
    HEALTH_KEYS,
    AudioView,
    WarningBuffer,
    audio_view,
    dj_views,
    health_view,
    logfmt_value,
    sink_names,
)

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["BAND_NAMES", "Dashboard"]

#: The MCAV bands, low to high (40-250, 250-500, 500-2000, 2000-6000, 6000-20000 Hz).
BAND_NAMES = ("bass", "low-mid", "mid", "high-mid", "high")

#: status() keys the sections below render; the rest appear under "status".
_SHOWN = frozenset(
    {"bands", "bpm", "tempo_confidence", "confidence", "beats", "beat", "peak", "dj_roster", "djs", "active_dj"}
    | {"clients", "browsers", "connected", "reconnects", "next_retry_s", "last_error", "health_stats", "health"}
    | set(HEALTH_KEYS)
)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _latency_style(ms: float | None) -> str:
    # visuals feel in sync below ~20 ms; above ~50 ms a crowd notices
    if ms is None:
        return "dim"
    return "green" if ms < 20 else "yellow" if ms < 50 else "bold red"


def _count(value: int, bad: str = "red") -> Text:
    return Text(str(value), style=bad if value else "dim")


def _meter(level: float, width: int = 24) -> Text:
    level = min(max(level, 0.0), 1.0)
    full = round(level * width)
    style = "green" if level < 0.6 else "yellow" if level < 0.85 else "red"
    return Text("█" * full, style=style) + Text("·" * (width - full), style="dim")


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
        self._console_handler: logging.Handler | None = None
        self._live: Live | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Dashboard:
        """Start drawing (returns self)."""
        root = logging.getLogger()
        root.addHandler(self.warnings)
        if self._route_logging:
            self._route_logs(root)
        self._live = Live(
            get_renderable=self._frame,
            console=self.console,
            refresh_per_second=self.refresh_per_second,
            vertical_overflow="ellipsis",
        )
        self._live.start(refresh=True)
        return self

    def close(self) -> None:
        """Draw a last frame and stop; restores logging (idempotent)."""
        if self._live is not None:
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
        console_handler = _ConsoleHandler(self.console)
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
        parts: list[RenderableType] = [title, self._nodes(snap)]
        middle = Table.grid(padding=(0, 2), expand=True)
        middle.add_column(ratio=1)
        middle.add_column(ratio=1)
        middle.add_row(self._sinks_table(snap), self._audio(audio_view(snap)))
        middle.add_row(self._connections(snap), self._health(health_view(snap)))
        parts += [middle, self._warnings()]
        other = self._other_status(snap)
        if other is not None:
            parts.append(other)
        return Group(*parts)

    def _nodes(self, snap: Snapshot) -> Table:
        table = Table(title="Nodes", title_justify="left", expand=True, show_edge=False, pad_edge=False)
        for name, justify in [("node", "left"), ("kind", "left"), ("fps", "right"), ("proc p50 ms", "right")]:
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for name in ("proc p99 ms", "queue", "drops", "xruns", "errors"):
            table.add_column(name, justify="right")
        rates = self._input_rates(snap)
        for s in snap.nodes.values():
            into = [e for e in snap.edges if e.dst == s.name]
            queue = Text(" ".join(f"{e.fill}/{e.slots}" for e in into) or "fused", style="" if into else "dim")
            table.add_row(
                Text(s.name, style="bold"),
                s.kind,
                f"{s.fps or rates.get(s.name, 0.0):.1f}",
                _ms(s.proc_p50_ms),
                _ms(s.proc_p99_ms),
                queue,
                _count(sum(e.drops for e in into), bad="yellow"),
                _count(s.xruns),
                _count(s.errors),
            )
        return table

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

    def _sinks_table(self, snap: Snapshot) -> Table:
        table = Table(title="Latency at sinks (capture → out)", title_justify="left", expand=True, show_edge=False)
        table.add_column("sink")
        table.add_column("p50 ms", justify="right")
        table.add_column("p99 ms", justify="right")
        for name in self._sinks:
            s = snap.nodes[name]
            table.add_row(
                name,
                Text(_ms(s.latency_p50_ms), style=_latency_style(s.latency_p50_ms)),
                Text(_ms(s.latency_p99_ms), style=_latency_style(s.latency_p99_ms)),
            )
        return table

    def _audio(self, audio: AudioView | None) -> Panel:
        if audio is None:
            return Panel(Text("no node exposes audio features", style="dim"), title="Audio", title_align="left")
        flash = audio.beat or (audio.beats is not None and self._last_beats is not None and audio.beats > self._last_beats)
        self._last_beats = audio.beats
        grid = Table.grid(padding=(0, 1))
        for name, level in zip(BAND_NAMES, audio.bands):
            grid.add_row(Text(f"{name:>8}", style="dim"), _meter(level), f"{level:4.2f}")
        if not audio.bands:
            grid.add_row(Text("no node exposes band levels", style="dim"))
        bpm = "—" if not audio.bpm else f"{audio.bpm:.1f}"  # 0 = no tempo yet
        conf = "—" if audio.tempo_confidence is None else f"{audio.tempo_confidence:.2f}"
        beat = Text(" ● BEAT ", style="bold black on yellow") if flash else Text(" ○ beat ", style="dim")
        line = Text.assemble(("BPM ", "dim"), (bpm, "bold"), ("  confidence ", "dim"), conf, "  ", beat)
        return Panel(Group(grid, line), title=f"Audio ({audio.node})", title_align="left")

    def _connections(self, snap: Snapshot) -> Panel:
        table = Table.grid(padding=(0, 1))
        for s in snap.nodes.values():
            x = s.extra
            djs = dj_views(x)
            if djs is not None:
                table.add_row(Text(s.name, style="bold"), f"DJs {len(djs)}", f"active: {x.get('active_dj') or '—'}")
                for d in djs:
                    lat = "—" if d.latency_ms is None else f"{d.latency_ms:.1f}"
                    table.add_row("", f"{'▶' if d.active else ' '} {d.name}", f"{d.fps:.0f} fps  {lat} ms")
            for key in ("clients", "browsers"):
                if isinstance(x.get(key), int):
                    table.add_row(Text(s.name, style="bold"), f"{key} {x[key]}", "")
            if "connected" in x:
                up = bool(x["connected"])
                state = Text("connected" if up else "disconnected", style="green" if up else "bold red")
                info = [f"reconnects {x.get('reconnects', x.get('mc_reconnect_count', 0))}"]
                retry = x.get("next_retry_s")
                if not up and isinstance(retry, (int, float)):
                    info.append(f"retry in {retry:.1f} s")
                if not up and x.get("last_error"):
                    info.append(str(x["last_error"]))
                table.add_row(Text(s.name, style="bold"), state, ", ".join(info))
        body: RenderableType = table if table.row_count else Text("no network nodes", style="dim")
        return Panel(body, title="Connections", title_align="left")

    def _health(self, health: dict[str, Any] | None) -> Panel:
        if health is None:
            return Panel(Text("no health stats in this graph", style="dim"), title="Health", title_align="left")
        h = {k: health.get(k, 0) for k in HEALTH_KEYS}
        mc = Text("connected", style="green") if h["mc_connected"] else Text("disconnected", style="red")
        grid = Table.grid(padding=(0, 1))
        grid.add_row("DJs", str(h["current_djs"]), f"conn={h['dj_connects']} disc={h['dj_disconnects']}")
        grid.add_row("Browsers", str(h["current_browsers"]), f"conn={h['browser_connects']} disc={h['browser_disconnects']}")
        grid.add_row("Minecraft", mc, f"reconn={h['mc_reconnect_count']}")
        return Panel(grid, title="Health", title_align="left")

    def _warnings(self) -> Panel:
        records = list(self.warnings.records)
        if not records:
            return Panel(Text("none", style="dim"), title="Warnings", title_align="left")
        lines = [
            Text.assemble(
                (time.strftime("%H:%M:%S ", time.localtime(created)), "dim"),
                (f"{level:<8}", "bold red" if level in ("ERROR", "CRITICAL") else "yellow"),
                message.splitlines()[0] if message else "",
            )
            for created, level, message in records
        ]
        return Panel(Group(*lines), title=f"Warnings ({self.warnings.total})", title_align="left")

    def _other_status(self, snap: Snapshot) -> Table | None:
        table = Table.grid(padding=(0, 1))
        for s in snap.nodes.values():
            rest = [f"{k}={logfmt_value(v)}" for k, v in s.extra.items() if k not in _SHOWN and not isinstance(v, (dict, list))]
            if rest:
                table.add_row(Text(s.name, style="bold"), Text(" ".join(rest), overflow="fold"))
        return table if table.row_count else None


class _ConsoleHandler(logging.Handler):
    """Prints log records through the Live console, above the display."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(Text(self.format(record)), soft_wrap=True, highlight=False)
        except Exception:
            self.handleError(record)
