"""What ``mcav run`` shows while a graph runs: a dashboard or structured log lines.

The log mode of ``mcav run`` lives here, and the choice between it and the
dashboard (:mod:`mcav.runtime.dashboard`). Both read the one metrics snapshot;
:mod:`mcav.runtime.views` turns it into what they show.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any, Protocol

from .health import health_line, health_reported
from .logfmt import logfmt, logfmt_value
from .metrics import NodeStats, Snapshot
from .views import DJView, ProgressView, audio_view, dj_views, progress_views, sink_names

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["Monitor", "format_status", "logfmt", "logfmt_value", "start_monitor", "wants_dashboard"]

log = logging.getLogger("mcav.status")
health_log = logging.getLogger("mcav.health")

#: Seconds between ``[HEALTH]`` log lines (CONNECTIVITY.md); ``MCAV_HEALTH_INTERVAL`` overrides it.
HEALTH_INTERVAL = 60.0


class Monitor(Protocol):
    """A running status display."""

    def close(self) -> None:
        """Stop displaying (idempotent)."""
        ...


# -- log lines ------------------------------------------------------------------------------------


def _node_line(s: NodeStats, sink: bool, in_rate: float | None, progress: ProgressView | None) -> str:
    # a sink sends no frames on: frames_out=0 next to its own frames_sent would read as a fault
    flat: dict[str, Any] = {}
    djs = dj_views(s.extra)
    if djs is not None:
        flat["djs"] = [_dj_text(d) for d in djs] or "none"
    for key, value in s.extra.items():
        if key in ("dj_roster", "djs"):
            continue
        if isinstance(value, (str, int, float, bool)) or value is None:
            flat[key] = value
        elif isinstance(value, (list, tuple)) and len(value) <= 8 and all(isinstance(v, (int, float)) for v in value):
            flat[key] = list(value)
    return logfmt(
        node=s.name,
        kind=s.kind,
        fps=round(s.fps or in_rate or 0.0, 1),
        frames_in=s.frames_in,
        frames_out=None if sink else s.frames_out,
        proc_p50_ms=s.proc_p50_ms,
        proc_p99_ms=s.proc_p99_ms,
        e2e_p50_ms=s.latency_p50_ms if sink else None,
        e2e_p99_ms=s.latency_p99_ms if sink else None,
        xruns=s.xruns,
        errors=s.errors,
        progress=None if progress is None else f"{progress.fraction:.0%}",
        **{k: v for k, v in flat.items() if k not in _NODE_FIELDS},
    )


_NODE_FIELDS = frozenset({"node", "kind", "fps", "frames_in", "frames_out", "xruns", "errors", "progress"})


def _dj_text(d: DJView) -> str:
    lat = "?" if d.latency_ms is None else f"{d.latency_ms:.0f}"
    return f"{d.name}{'*' if d.active else ''}({d.fps:.0f}fps/{lat}ms)".replace(" ", "_")


def format_status(
    snap: Snapshot, sinks: list[str] | tuple[str, ...] = (), in_rates: dict[str, float] | None = None
) -> list[str]:
    """Structured status lines of a snapshot: one per node, one per queued edge, one for the audio.

    Args:
        sinks: Nodes whose latency is end to end (``e2e_p50_ms``/``e2e_p99_ms``).
        in_rates: Input frames/s per node, shown as ``fps`` where the node sends nothing (sinks).
    """
    rates = in_rates or {}
    progress = {p.node: p for p in progress_views(snap)}
    lines = [_node_line(s, s.name in sinks, rates.get(s.name), progress.get(s.name)) for s in snap.nodes.values()]
    for e in snap.edges:
        lines.append(
            logfmt(edge=e.name, leaky=e.leaky, fill=f"{e.fill}/{e.slots}", high=e.high_water, drops=e.drops,
                   decimated=e.decimated, xruns=e.xruns)
        )
    audio = audio_view(snap)
    if audio is not None:
        lines.append(
            logfmt(
                audio=audio.node,
                bands=[round(b, 2) for b in audio.bands] or None,
                bpm=audio.bpm,
                locked=audio.locked,
                tempo_confidence=audio.tempo_confidence,
                beats=audio.beats,
            )
        )
    return lines


class _LogMonitor:
    """Logs :func:`format_status` every ``interval`` s and the health line every ``health_interval`` s."""

    def __init__(self, runtime: Runtime, interval: float, health_interval: float) -> None:
        self._runtime = runtime
        self._interval = interval
        self._health_interval = health_interval
        self._sinks = sink_names(runtime)
        self._prev: tuple[float, dict[str, int]] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mcav-status", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        now = time.monotonic()
        next_status, next_health = now + self._interval, now + self._health_interval
        while not self._stop.wait(max(0.0, min(next_status, next_health) - time.monotonic())):
            now = time.monotonic()
            snap = self._runtime.snapshot()  # one snapshot serves both lines
            if now >= next_status:
                next_status += self._interval
                counts = {n: st.frames_in for n, st in snap.nodes.items()}
                rates = {}
                if self._prev is not None and now > self._prev[0]:
                    rates = {n: (c - self._prev[1].get(n, c)) / (now - self._prev[0]) for n, c in counts.items()}
                self._prev = (now, counts)
                for line in format_status(snap, self._sinks, rates):
                    log.info("%s", line)
            if now >= next_health:
                next_health += self._health_interval
                if health_reported(snap):
                    health_log.info("%s", health_line(snap))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)




# -- choosing a display ---------------------------------------------------------------------------


def wants_dashboard(requested: bool, stream: IO[str] | None = None) -> bool:
    """True if the dashboard should run: requested, and ``stream`` (stdout) is a capable terminal."""
    stream = stream if stream is not None else sys.stdout
    if not requested:
        return False
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") not in ("dumb", "unknown")


def _positive_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment, else ``default`` (with a warning if unusable)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        log.warning("%s=%r is not a positive number of seconds; using %g s", name, raw, default)
        return default
    return value


def start_monitor(
    runtime: Runtime, dashboard: bool, interval: float = 10.0, health_interval: float | None = None
) -> Monitor:
    """Start the status display for ``runtime``.

    Args:
        runtime: The graph to show.
        dashboard: False forces log lines (``--no-dashboard``); True shows the
            dashboard when stdout is a terminal, log lines otherwise.
        interval: Seconds between status log lines (log mode). Default 10.
        health_interval: Seconds between ``[HEALTH]`` lines (log mode). Default
            ``$MCAV_HEALTH_INTERVAL`` or 60.
    """
    if health_interval is None:
        health_interval = _positive_env("MCAV_HEALTH_INTERVAL", HEALTH_INTERVAL)
    if interval <= 0 or health_interval <= 0:
        raise ValueError(f"status intervals must be > 0 s, got {interval} and {health_interval}")
    if wants_dashboard(dashboard):
        from .dashboard import Dashboard

        return Dashboard(runtime).start()
    return _LogMonitor(runtime, interval, health_interval)
