"""The sections of the terminal dashboard, each a pure function of one snapshot's views."""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .health import health_groups, health_keys, health_stats
from .metrics import Snapshot
from .monitor import logfmt_value
from .views import AudioView, WarningBuffer, dj_views

__all__ = [
    "BAND_NAMES",
    "audio_panel",
    "connections_panel",
    "health_panel",
    "nodes_table",
    "other_status",
    "sinks_table",
    "warnings_panel",
]

#: The MCAV bands, low to high (40-250, 250-500, 500-2000, 2000-6000, 6000-20000 Hz).
BAND_NAMES = ("bass", "low-mid", "mid", "high-mid", "high")

#: status() keys the sections below render; the rest appear under "status".
_SHOWN = frozenset(
    {"bands", "bpm", "tempo_confidence", "confidence", "beats", "beat", "peak", "dj_roster", "djs", "active_dj"}
    | {"clients", "browsers", "connected", "reconnects", "next_retry_s", "last_error", "health_stats", "health"}
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


def nodes_table(snap: Snapshot, rates: dict[str, float]) -> Table:
    """Every node: fps (input rate for sinks), processing p50/p99, input queue fill, drops, xruns, errors."""
    table = Table(title="Nodes", title_justify="left", expand=True, show_edge=False, pad_edge=False)
    for name, justify in [("node", "left"), ("kind", "left"), ("fps", "right"), ("proc p50 ms", "right")]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name in ("proc p99 ms", "queue", "drops", "xruns", "errors"):
        table.add_column(name, justify="right")
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


def sinks_table(snap: Snapshot, sinks: list[str]) -> Table:
    """End-to-end latency p50/p99 at each sink (capture → out), coloured by how noticeable it is."""
    table = Table(title="Latency at sinks (capture → out)", title_justify="left", expand=True, show_edge=False)
    table.add_column("sink")
    table.add_column("p50 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    for name in sinks:
        s = snap.nodes[name]
        table.add_row(
            name,
            Text(_ms(s.latency_p50_ms), style=_latency_style(s.latency_p50_ms)),
            Text(_ms(s.latency_p99_ms), style=_latency_style(s.latency_p99_ms)),
        )
    return table


def audio_panel(audio: AudioView | None, flash: bool) -> Panel:
    """5 band meters, BPM, tempo confidence and the beat flash (``flash``: a beat since the last refresh)."""
    if audio is None:
        return Panel(Text("no node exposes audio features", style="dim"), title="Audio", title_align="left")
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


def connections_panel(snap: Snapshot) -> Panel:
    """DJs (roster, fps, latency, active), browser counts, and links with their reconnect state."""
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


def health_panel(snap: Snapshot) -> Panel:
    """The health stats the graph's node kinds declare, by group (e.g. DJs, Browsers, MC)."""
    stats = health_keys(snap)
    if not stats:
        return Panel(Text("no health stats in this graph", style="dim"), title="Health", title_align="left")
    grid = Table.grid(padding=(0, 1))
    for group, head, details in health_groups(stats, health_stats(snap)):
        style = {"connected": "green", "disconnected": "red"}.get(str(head), "")
        grid.add_row(group, Text("" if head is None else str(head), style=style), " ".join(details))
    return Panel(grid, title="Health", title_align="left")


def warnings_panel(warnings: WarningBuffer) -> Panel:
    """The latest WARNING-or-worse log records."""
    records = list(warnings.records)
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
    return Panel(Group(*lines), title=f"Warnings ({warnings.total})", title_align="left")


def other_status(snap: Snapshot) -> Table | None:
    """Status fields no panel shows, as ``key=value`` per node; None if there are none."""
    table = Table.grid(padding=(0, 1))
    shown = _SHOWN | {h.key for h in health_keys(snap)}
    for s in snap.nodes.values():
        rest = [f"{k}={logfmt_value(v)}" for k, v in s.extra.items() if k not in shown and not isinstance(v, (dict, list))]
        if rest:
            table.add_row(Text(s.name, style="bold"), Text(" ".join(rest), overflow="fold"))
    return table if table.row_count else None
