"""What ``mcav run`` shows while a graph runs: a dashboard or structured log lines.

Both displays read the one metrics snapshot (:meth:`Runtime.snapshot`) and the
``status()`` dicts nodes put into it; this module turns a snapshot into *views*
(audio, connections, health) that both render. Recognised ``status()`` keys:

* audio (any node): ``bands`` (5 floats 0-1), ``bpm``, ``tempo_confidence``,
  ``beats`` (beats so far) or ``beat`` (bool), ``peak``;
* connections: ``dj_roster`` (list of ``{dj_id, dj_name, fps, latency_ms,
  is_active}``) and ``active_dj``; ``clients`` / ``browsers`` (counts);
  ``connected`` with ``reconnects`` and ``next_retry_s``;
* health: the CONNECTIVITY.md keys (:data:`HEALTH_KEYS`), at the top level of a
  status dict or under ``health_stats``/``health``; merged over all nodes.

Anything else is shown generically as ``key=value``.
"""

from __future__ import annotations

import collections
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

from .metrics import NodeStats, Snapshot

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = [
    "HEALTH_KEYS",
    "AudioView",
    "Monitor",
    "WarningBuffer",
    "audio_view",
    "format_health",
    "format_status",
    "health_view",
    "logfmt",
    "sink_names",
    "start_monitor",
    "wants_dashboard",
]

log = logging.getLogger("mcav.status")
health_log = logging.getLogger("mcav.health")

#: The health statistics of the old VJ server (CONNECTIVITY.md "Health Monitoring").
HEALTH_KEYS = (
    "dj_connects",
    "dj_disconnects",
    "browser_connects",
    "browser_disconnects",
    "mc_reconnect_count",
    "current_djs",
    "current_browsers",
    "mc_connected",
)

#: Seconds between ``[HEALTH]`` log lines (CONNECTIVITY.md); ``MCAV_HEALTH_INTERVAL`` overrides it.
HEALTH_INTERVAL = 60.0


class Monitor(Protocol):
    """A running status display."""

    def close(self) -> None:
        """Stop displaying (idempotent)."""
        ...


# -- views of a snapshot --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioView:
    """The latest audio features some node exposes in its ``status()``.

    Attributes:
        node: The node they come from.
        bands: The 5 band levels, 0-1.
        bpm: Tempo estimate in beats per minute (None = unknown).
        tempo_confidence: 0-1 (None = unknown).
        beats: Beats detected so far (None when the node exposes only ``beat``).
        beat: True if the node's latest frame was a beat.
        peak: Overall level 0-1 (None = not exposed).
    """

    node: str
    bands: tuple[float, ...]
    bpm: float | None
    tempo_confidence: float | None
    beats: int | None
    beat: bool
    peak: float | None


def audio_view(snap: Snapshot) -> AudioView | None:
    """The features of the last node (in graph order) whose status has ``bands``; None if none does."""
    found = None
    for s in snap.nodes.values():
        bands = s.extra.get("bands")
        if isinstance(bands, (list, tuple)) and bands:
            found = s
    if found is None:
        return None
    x = found.extra
    beats = x.get("beats")
    return AudioView(
        node=found.name,
        bands=tuple(_num(b) or 0.0 for b in x["bands"]),
        bpm=_num(x.get("bpm")),
        tempo_confidence=_num(x.get("tempo_confidence")),
        beats=int(beats) if isinstance(beats, (int, float)) else None,
        beat=bool(x.get("beat", False)),
        peak=_num(x.get("peak")),
    )


def health_view(snap: Snapshot) -> dict[str, Any] | None:
    """The CONNECTIVITY.md health stats merged over every node's status; None if no node has any."""
    found: dict[str, Any] = {}
    for s in snap.nodes.values():
        for source in (s.extra, s.extra.get("health_stats"), s.extra.get("health")):
            if isinstance(source, dict):
                for key in HEALTH_KEYS:
                    if key in source and key not in found:
                        found[key] = source[key]
    return found or None


def sink_names(runtime: Runtime) -> list[str]:
    """Nodes with no outgoing edge: where end-to-end latency is measured."""
    g = runtime.graph
    return [n for n in g.nodes if not g.edges_from(n)]


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# -- log lines ------------------------------------------------------------------------------------


def logfmt(**fields: Any) -> str:
    """``key=value`` pairs; None values are left out, strings with spaces are quoted."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, float):
            text = f"{value:.3f}".rstrip("0").rstrip(".") if value == value else "nan"
        elif isinstance(value, (list, tuple)):
            text = ",".join(logfmt_value(v) for v in value)
        else:
            text = logfmt_value(value)
        parts.append(f"{key}={text}")
    return " ".join(parts)


def logfmt_value(value: Any) -> str:
    """One value as logfmt text (quoted when it has spaces or quotes)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    return f'"{text}"' if (" " in text or '"' in text or not text) else text


def _node_line(s: NodeStats, sink: bool) -> str:
    flat = {}
    for key, value in s.extra.items():
        if key == "dj_roster" and isinstance(value, list):
            flat["djs"] = [_roster_entry(d) for d in value if isinstance(d, dict)] or None
        elif isinstance(value, (str, int, float, bool)) or value is None:
            flat[key] = value
        elif isinstance(value, (list, tuple)) and len(value) <= 8 and all(isinstance(v, (int, float)) for v in value):
            flat[key] = list(value)
    return logfmt(
        node=s.name,
        kind=s.kind,
        fps=round(s.fps, 1),
        frames_in=s.frames_in,
        frames_out=s.frames_out,
        proc_p50_ms=s.proc_p50_ms,
        proc_p99_ms=s.proc_p99_ms,
        e2e_p50_ms=s.latency_p50_ms if sink else None,
        e2e_p99_ms=s.latency_p99_ms if sink else None,
        xruns=s.xruns,
        errors=s.errors,
        **flat,
    )


def _roster_entry(d: dict[str, Any]) -> str:
    name = d.get("dj_name") or d.get("dj_id") or "?"
    fps, lat = _num(d.get("fps")), _num(d.get("latency_ms"))
    star = "*" if d.get("is_active") else ""
    return f"{name}{star}({fps or 0:.0f}fps/{lat or 0:.0f}ms)".replace(" ", "_")


def format_status(snap: Snapshot, sinks: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Structured status lines of a snapshot: one per node, one per queued edge, one for the audio."""
    lines = [_node_line(s, s.name in sinks) for s in snap.nodes.values()]
    for e in snap.edges:
        lines.append(
            logfmt(edge=e.name, leaky=e.leaky, fill=f"{e.fill}/{e.slots}", high=e.high_water, drops=e.drops, xruns=e.xruns)
        )
    audio = audio_view(snap)
    if audio is not None:
        lines.append(
            logfmt(
                audio=audio.node,
                bands=[round(b, 2) for b in audio.bands],
                bpm=audio.bpm,
                tempo_confidence=audio.tempo_confidence,
                beats=audio.beats,
            )
        )
    return lines


def format_health(health: dict[str, Any]) -> str:
    """The old VJ server's health line (WIRE.md 5), from :func:`health_view`'s dict."""
    h = collections.defaultdict(int, health)
    mc = "connected" if health.get("mc_connected") else "disconnected"
    return (
        f"[HEALTH] DJs: {h['current_djs']} (conn={h['dj_connects']}, disc={h['dj_disconnects']}) / "
        f"Browsers: {h['current_browsers']} (conn={h['browser_connects']}, disc={h['browser_disconnects']}) / "
        f"MC: {mc} (reconn={h['mc_reconnect_count']})"
    )


class _LogMonitor:
    """Logs :func:`format_status` every ``interval`` s and the health line every ``health_interval`` s."""

    def __init__(self, runtime: Runtime, interval: float, health_interval: float) -> None:
        self._runtime = runtime
        self._interval = interval
        self._health_interval = health_interval
        self._sinks = sink_names(runtime)
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
                for line in format_status(snap, self._sinks):
                    log.info("%s", line)
            if now >= next_health:
                next_health += self._health_interval
                health = health_view(snap)
                if health is not None:
                    health_log.info("%s", format_health(health))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)


# -- warnings -------------------------------------------------------------------------------------


class WarningBuffer(logging.Handler):
    """Keeps the last ``size`` WARNING-or-worse records (as formatted text) for the dashboard.

    Args:
        size: Records kept; older ones are forgotten. Default 6.
    """

    def __init__(self, size: int = 6) -> None:
        super().__init__(logging.WARNING)
        self.records: collections.deque[tuple[float, str, str]] = collections.deque(maxlen=size)
        self.total = 0

    def emit(self, record: logging.LogRecord) -> None:
        # deque.append is atomic under the GIL: no lock needed against the reader
        self.records.append((record.created, record.levelname, f"{record.name}: {record.getMessage()}"))
        self.total += 1


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
        health_interval = float(os.environ.get("MCAV_HEALTH_INTERVAL", HEALTH_INTERVAL))
    if wants_dashboard(dashboard):
        from .dashboard import Dashboard

        return Dashboard(runtime).start()
    return _LogMonitor(runtime, interval, health_interval)
