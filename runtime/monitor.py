"""What ``mcav run`` shows while a graph runs: status lines in the log.

Every ``interval`` s one line per node with traffic (fps, processing p50/p99,
drops, xruns, latency at sinks). A rich terminal dashboard replaces these
lines when stdout is a terminal (see issue: dashboard).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from .engine import Runtime
from .metrics import Snapshot

__all__ = ["Monitor", "format_status", "start_monitor"]

log = logging.getLogger("mcav.status")


class Monitor(Protocol):
    """A running status display."""

    def close(self) -> None:
        """Stop displaying (idempotent)."""
        ...


def format_status(snap: Snapshot) -> list[str]:
    """Status lines of a snapshot: one per node, then one per queued edge that dropped."""
    lines = []
    for s in snap.nodes.values():
        parts = [f"{s.name}[{s.kind}]", f"in={s.frames_in}", f"out={s.frames_out}", f"fps={s.fps:.1f}"]
        if s.proc_p50_ms is not None:
            parts.append(f"proc_p50={s.proc_p50_ms:.3f}ms proc_p99={s.proc_p99_ms:.3f}ms")
        if s.latency_p50_ms is not None:
            parts.append(f"lat_p50={s.latency_p50_ms:.2f}ms lat_p99={s.latency_p99_ms:.2f}ms")
        if s.xruns:
            parts.append(f"xruns={s.xruns}")
        if s.errors:
            parts.append(f"errors={s.errors}")
        lines.append(" ".join(parts))
    for e in snap.edges:
        if e.drops:
            lines.append(f"{e.name} fill={e.fill}/{e.slots} drops={e.drops} ({e.leaky})")
    return lines


class _LogMonitor:
    def __init__(self, runtime: Runtime, interval: float) -> None:
        self._runtime = runtime
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mcav-status", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            for line in format_status(self._runtime.snapshot()):
                log.info("%s", line)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)


def start_monitor(runtime: Runtime, dashboard: bool, interval: float = 10.0) -> Monitor:
    """Start the status display for ``runtime`` (log lines; the dashboard when available)."""
    return _LogMonitor(runtime, interval)
