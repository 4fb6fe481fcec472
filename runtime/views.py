"""Views of a metrics snapshot: what the dashboard and the log lines show.

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
* health: see :mod:`mcav.runtime.health`.

Anything else is shown generically as ``key=value``.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .metrics import Snapshot

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = [
    "AudioView",
    "DJView",
    "WarningBuffer",
    "audio_view",
    "dj_views",
    "sink_names",
]

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


def sink_names(runtime: Runtime) -> list[str]:
    """Nodes that take frames in but send none on: where end-to-end latency is measured."""
    g = runtime.graph
    return [n for n in g.nodes if g.edges_into(n) and not g.edges_from(n)]


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


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
