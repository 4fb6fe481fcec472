"""The sections of the terminal dashboard, each a pure function of one snapshot's views.

:func:`essentials` is what fits in 80×24 (tempo and lock, the live DJ, the
Minecraft link, clients, the worst latency); the other panels are the details
shown as the terminal grows.
"""

from __future__ import annotations

import time
from typing import Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .health import health_groups, health_keys, health_stats
from .metrics import Snapshot
from .logfmt import logfmt_value
from .views import AudioView, LinkView, ProgressView, ShowView, WarningBuffer, dj_views

__all__ = [
    "BAND_NAMES",
    "audio_panel",
    "connections_panel",
    "essentials",
    "health_panel",
    "log_panel",
    "nodes_table",
    "other_status",
    "sinks_table",
    "warnings_lines",
]

#: The MCAV bands, low to high (40-250, 250-500, 500-2000, 2000-6000, 6000-20000 Hz).
BAND_NAMES = ("bass", "low-mid", "mid", "high-mid", "high")

#: status() keys the sections below render; the rest appear under "status".
_SHOWN = frozenset(
    {"position_s", "duration_s"}
    | {"bands", "bpm", "tempo_confidence", "confidence", "beats", "beat", "peak", "dj_roster", "djs", "active_dj"}
    | {"locked", "pattern", "pattern_name"}
    | {"clients", "browsers", "connected", "reconnects", "next_retry_s", "last_error", "health_stats", "health"}
)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _latency_style(ms: float | None) -> str:
    # visuals feel in sync below ~20 ms; above ~50 ms a crowd notices
    if ms is None or ms < 0:
        return "dim"
    return "green" if ms < 20 else "yellow" if ms < 50 else "bold red"


def _latency_ms(ms: float | None) -> str:
    # Below 0: the frames were stamped ahead of the clock (a file or synth at `speed: max` stamps its start plus
    # the audio time, which the patterns' frame clock needs), so there is no latency to show.
    return "ahead" if ms is not None and ms < 0 else _ms(ms)


def _count(value: int, bad: str = "red") -> Text:
    return Text(str(value), style=bad if value else "dim")


def _meter(level: float, width: int = 24) -> Text:
    level = min(max(level, 0.0), 1.0)
    full = round(level * width)
    style = "green" if level < 0.6 else "yellow" if level < 0.85 else "red"
    return Text("█" * full, style=style) + Text("·" * (width - full), style="dim")


def nodes_table(snap: Snapshot, rates: dict[str, float], compact: bool = False) -> Table:
    """Every node: fps (input rate for sinks), processing p50/p99, input queue fill, drops, xruns, errors.

    ``skipped`` counts frames decimated by design on the node's inputs (not losses).
    ``compact`` (narrow terminals) leaves the kind out and shortens the headers.
    """
    table = Table(title="Nodes", title_justify="left", expand=True, show_edge=False, pad_edge=False)
    table.add_column("node")
    if not compact:
        table.add_column("kind")
    heads = ("fps", "p50", "p99", "queue", "drops", "skip", "xruns", "err") if compact else (
        "fps", "proc p50 ms", "proc p99 ms", "queue", "drops", "skipped", "xruns", "errors")
    for name in heads:
        table.add_column(name, justify="right")
    for s in snap.nodes.values():
        into = [e for e in snap.edges if e.dst == s.name]
        queue = Text(" ".join(f"{e.fill}/{e.slots}" for e in into) or "fused", style="" if into else "dim")
        kind = () if compact else (s.kind,)
        table.add_row(
            Text(s.name, style="bold"),
            *kind,
            f"{s.fps or rates.get(s.name, 0.0):.1f}",
            _ms(s.proc_p50_ms),
            _ms(s.proc_p99_ms),
            queue,
            _count(sum(e.drops for e in into), bad="yellow"),
            Text(str(sum(e.decimated for e in into)), style="dim"),
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
            Text(_latency_ms(s.latency_p50_ms), style=_latency_style(s.latency_p50_ms)),
            Text(_latency_ms(s.latency_p99_ms), style=_latency_style(s.latency_p99_ms)),
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
    return Panel(Group(grid, tempo_line(audio, flash)), title=f"Audio ({audio.node})", title_align="left")


def tempo_line(audio: AudioView | None, flash: bool) -> Text:
    """BPM, lock, confidence and the beat flash; no flash while the tempo is not locked."""
    if audio is None:
        return Text.assemble(("BPM ", "dim"), ("no audio analysis in this graph", "dim"))
    bpm = "—" if not audio.bpm else f"{audio.bpm:.1f}"  # 0 = no tempo yet
    conf = "—" if audio.tempo_confidence is None else f"{audio.tempo_confidence:.2f}"
    line = Text.assemble(("BPM ", "dim"), (bpm, "bold"))
    if audio.locked is False:  # beats are onset guesses until the tracker locks: do not flash them
        return line + Text.assemble("  ", (" NOT LOCKED ", "bold black on yellow"), ("  confidence ", "dim"), conf)
    if audio.locked:
        line += Text("  locked", style="green")
    beat = Text(" ● BEAT ", style="bold black on yellow") if flash else Text(" ○ beat ", style="dim")
    return line + Text.assemble(("  confidence ", "dim"), conf, "  ", beat)


def _label(name: str) -> Text:
    return Text(f"{name:<10}", style="dim")


def _link_text(link: LinkView) -> Text:
    if link.connected:
        return Text.assemble(("✓ connected", "green"), (f" ({link.node}, reconnects {link.reconnects})", "dim"))
    text = Text.assemble(("✗ DISCONNECTED", "bold red"), f" ({link.node})")
    if link.retry_s is not None:
        text.append(f"  retry in {link.retry_s:.1f} s")
    if link.last_error:
        text.append(f"  {link.last_error}", style="red")
    return text


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def progress_line(p: ProgressView, width: int = 30) -> Text:
    """``━━━━━━╺━━━━  42%  1:02 / 2:30 (source)``: how far a finite source is."""
    done = round(p.fraction * width)
    return _label("Progress") + Text.assemble(
        ("━" * done, "green"), ("━" * (width - done), "dim"), f" {p.fraction:4.0%}",
        (f"  {_clock(p.position_s)} / {_clock(p.duration_s)} ({p.node})", "dim"))


def essentials(
    audio: AudioView | None, flash: bool, show: ShowView, links: list[LinkView], progress: Sequence[ProgressView] = ()
) -> list[Text]:
    """One line each, most important first: progress (a file), tempo/lock, live DJ, links, clients, latency."""
    lines = [progress_line(p) for p in progress]
    lines.append(_label("Tempo") + tempo_line(audio, flash))
    if show.djs is not None:
        dj = show.live_dj
        if dj is None:
            live = Text("none live", style="yellow")
        else:
            lat = "—" if dj.latency_ms is None else f"{dj.latency_ms:.1f}"
            live = Text.assemble(("▶ ", "green"), (dj.name, "bold"), f"  {dj.fps:.0f} fps  {lat} ms")
        lines.append(_label("Live DJ") + live + Text(f"  ({show.djs} connected)", style="dim"))
    for link in links:
        lines.append(_label("Minecraft" if link.minecraft else "Link") + _link_text(link))
    clients = [f"{show.browsers} browser{'s' if show.browsers != 1 else ''}"] if show.browsers is not None else []
    if show.djs is not None:
        clients.append(f"{show.djs} DJ{'s' if show.djs != 1 else ''}")
    if clients:
        lines.append(_label("Clients") + Text(" · ".join(clients)))
    if show.worst is None:
        lines.append(_label("Latency") + Text("no measurement yet", style="dim"))
    elif show.worst[1] < 0:
        lines.append(_label("Latency") + Text("none: the source runs ahead of real time (speed: max)", style="dim"))
    else:
        sink, p99 = show.worst
        lines.append(_label("Latency") + Text.assemble(
            "worst p99 ", (f"{p99:.1f} ms", _latency_style(p99)), (f" at {sink} (capture → out)", "dim")))
    for line in lines:
        line.no_wrap, line.overflow = True, "ellipsis"
    return lines


def log_panel(lines: list[str], height: int) -> Panel:
    """The last ``height - 2`` log lines (oldest first), in a panel ``height`` lines tall."""
    shown = lines[-max(height - 2, 1):] if lines else []
    body: RenderableType = Group(*(Text(line, no_wrap=True, overflow="ellipsis") for line in shown)) if shown else Text(
        "no log lines yet", style="dim")
    return Panel(body, title="Log", title_align="left", height=max(height, 3))


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


def warnings_lines(warnings: WarningBuffer, limit: int) -> list[Text]:
    """``Warnings (total)`` and the latest ``limit`` WARNING-or-worse records, one line each."""
    records = list(warnings.records)[-limit:] if limit > 0 else []
    head = Text(f"Warnings ({warnings.total})", style="bold yellow") if warnings.total else (
        _label("Warnings") + Text("none", style="dim"))
    lines = [head]
    for created, level, message in records:
        lines.append(Text.assemble(
            "  ",
            (time.strftime("%H:%M:%S ", time.localtime(created)), "dim"),
            (f"{level:<8}", "bold red" if level in ("ERROR", "CRITICAL") else "yellow"),
            message.splitlines()[0] if message else "",
            no_wrap=True, overflow="ellipsis",
        ))
    return lines


def other_status(snap: Snapshot) -> Table | None:
    """Status fields no panel shows, as ``key=value`` per node; None if there are none."""
    table = Table.grid(padding=(0, 1))
    shown = _SHOWN | {h.key for h in health_keys(snap)}
    for s in snap.nodes.values():
        rest = [f"{k}={logfmt_value(v)}" for k, v in s.extra.items() if k not in shown and not isinstance(v, (dict, list))]
        if rest:
            table.add_row(Text(s.name, style="bold"), Text(" ".join(rest), overflow="fold"))
    return table if table.row_count else None
