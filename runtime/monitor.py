"""What ``mcav run`` shows while a graph runs: a dashboard or structured log lines.

Both displays read the one metrics snapshot (:meth:`Runtime.snapshot`) and the
``status()`` dicts nodes put into it; this module turns a snapshot into *views*
(audio, connections, health) that both render. Recognised ``status()`` keys:

* audio (merged over nodes): ``bands`` (5 floats 0-1), ``bpm``,
  ``tempo_confidence`` (or ``confidence``), ``beats`` (beats so far) or ``beat``
  (bool), ``peak``;
* DJs: ``dj_roster`` (WIRE.md 3.1 entries) or ``djs`` (``{dj_id: {fps,
  latency_ms}}``), and ``active_dj``;
* links: ``connected`` with ``reconnects``/``mc_reconnect_count``,
  ``next_retry_s`` and ``last_error``; ``clients``/``browsers`` (counts);
* health: the CONNECTIVITY.md keys (:data:`HEALTH_KEYS`), at the top level of a
  status dict or under ``health_stats``/``health``, merged over all nodes (a
  ``minecraft`` node's ``connected`` stands for ``mc_connected``).

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
    "DJView",
    "Monitor",
    "WarningBuffer",
    "audio_view",
    "dj_views",
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
    """The audio features exposed by the nodes' status, merged (later nodes win); None if none has any."""
    merged: dict[str, Any] = {}
    names: list[str] = []
    for s in snap.nodes.values():
        x = s.extra
        got = False
        bands = x.get("bands")
        if isinstance(bands, (list, tuple)) and bands:
            merged["bands"], got = tuple(_num(b) or 0.0 for b in bands), True
        for key, alias in (("bpm", "bpm"), ("tempo_confidence", "tempo_confidence"), ("tempo_confidence", "confidence"),
                           ("peak", "peak")):
            if _num(x.get(alias)) is not None:
                merged[key], got = _num(x[alias]), True
        if isinstance(x.get("beats"), int) and not isinstance(x.get("beats"), bool):
            merged["beats"], got = x["beats"], True
        if isinstance(x.get("beat"), bool):
            merged["beat"], got = x["beat"], True
        if got:
            names.append(s.name)
    if not names:
        return None
    return AudioView(
        node=", ".join(names),
        bands=merged.get("bands", ()),
        bpm=merged.get("bpm"),
        tempo_confidence=merged.get("tempo_confidence"),
        beats=merged.get("beats"),
        beat=merged.get("beat", False),
        peak=merged.get("peak"),
    )


@dataclass(frozen=True, slots=True)
class DJView:
    """One connected DJ as a ``dj_server`` reports it (fps in frames/s, latency in ms)."""

    name: str
    fps: float
    latency_ms: float | None
    active: bool


def dj_views(extra: dict[str, Any]) -> list[DJView] | None:
    """The DJs in a node's status (``dj_roster`` list or ``djs`` dict); None if it has neither."""
    active = extra.get("active_dj")
    roster = extra.get("dj_roster")
    if isinstance(roster, list):
        entries = [(d.get("dj_id"), d) for d in roster if isinstance(d, dict)]
    elif isinstance(extra.get("djs"), dict):
        entries = [(k, v) for k, v in extra["djs"].items() if isinstance(v, dict)]
    else:
        return None
    return [
        DJView(
            name=str(d.get("dj_name") or dj_id or "?"),
            fps=_num(d.get("fps")) or 0.0,
            latency_ms=_num(d.get("latency_ms")),
            active=bool(d.get("is_active")) or (active is not None and dj_id == active),
        )
        for dj_id, d in entries
    ]


def health_view(snap: Snapshot) -> dict[str, Any] | None:
    """The CONNECTIVITY.md health stats merged over every node's status; None if no node has any."""
    found: dict[str, Any] = {}
    for s in snap.nodes.values():
        for source in (s.extra, s.extra.get("health_stats"), s.extra.get("health")):
            if isinstance(source, dict):
                for key in HEALTH_KEYS:
                    if key in source and key not in found:
                        found[key] = source[key]
        if s.kind == "minecraft" and "connected" in s.extra:
            found.setdefault("mc_connected", bool(s.extra["connected"]))
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
        fps=round(s.fps, 1),
        frames_in=s.frames_in,
        frames_out=s.frames_out,
        proc_p50_ms=s.proc_p50_ms,
        proc_p99_ms=s.proc_p99_ms,
        e2e_p50_ms=s.latency_p50_ms if sink else None,
        e2e_p99_ms=s.latency_p99_ms if sink else None,
        xruns=s.xruns,
        errors=s.errors,
        **{k: v for k, v in flat.items() if k not in _NODE_FIELDS},
    )


_NODE_FIELDS = frozenset({"node", "kind", "fps", "frames_in", "frames_out", "xruns", "errors"})


def _dj_text(d: DJView) -> str:
    lat = "?" if d.latency_ms is None else f"{d.latency_ms:.0f}"
    return f"{d.name}{'*' if d.active else ''}({d.fps:.0f}fps/{lat}ms)".replace(" ", "_")


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
                bands=[round(b, 2) for b in audio.bands] or None,
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
