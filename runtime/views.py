"""Views of a metrics snapshot: what the dashboard and the log lines show.

Both displays read the one metrics snapshot (:meth:`Runtime.snapshot`) and the
``status()`` dicts nodes put into it; this module turns a snapshot into *views*
(audio, connections, health) that both render. Recognised ``status()`` keys:

* audio (merged over nodes): ``bands`` (5 floats 0-1), ``bpm``,
  ``tempo_confidence`` (or ``confidence``), ``locked`` (bool: the tempo is
  locked), ``beats`` (beats so far) or ``beat`` (bool), ``peak``;
* the show: ``pattern_name`` (as users know it) or ``pattern`` (its key);
* progress of a finite source (a file analysed flat out): ``position_s`` and
  ``duration_s`` (seconds of input done and in all);
* DJs: ``dj_roster`` (WIRE.md 3.1 entries) or ``djs`` (``{dj_id: {fps,
  latency_ms}}``), and ``active_dj``;
* links: ``connected`` with ``reconnects``/``mc_reconnect_count``,
  ``next_retry_s`` and ``last_error`` (a node with ``mc_reconnect_count`` is the
  Minecraft link); ``clients``/``browsers`` (counts);
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
    "LinkView",
    "ProgressView",
    "ShowView",
    "WarningBuffer",
    "audio_view",
    "dj_views",
    "link_views",
    "progress_views",
    "show_view",
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
        locked: False while the tracker has no tempo lock (beats are then guesses); None = not exposed.
    """

    node: str
    bands: tuple[float, ...]
    bpm: float | None
    tempo_confidence: float | None
    beats: int | None
    beat: bool
    peak: float | None
    locked: bool | None = None


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
        if isinstance(x.get("locked"), bool):
            merged["locked"], got = x["locked"], True
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
        locked=merged.get("locked"),
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


@dataclass(frozen=True, slots=True)
class LinkView:
    """One outgoing link a node keeps up (its ``connected`` status key).

    Attributes:
        node: The node.
        connected: Up now.
        minecraft: The link to the Minecraft plugin (the node counts ``mc_reconnect_count``).
        reconnects: Successful reconnections so far.
        retry_s: Seconds to the next attempt while down (None = unknown).
        last_error: Why the last attempt failed (None = no error).
    """

    node: str
    connected: bool
    minecraft: bool
    reconnects: int
    retry_s: float | None
    last_error: str | None


def link_views(snap: Snapshot) -> list[LinkView]:
    """The links of the graph's nodes, in node order (the Minecraft link first)."""
    links = []
    for s in snap.nodes.values():
        x = s.extra
        if "connected" not in x:
            continue
        retry = _num(x.get("next_retry_s"))
        links.append(LinkView(
            node=s.name,
            connected=bool(x["connected"]),
            minecraft="mc_reconnect_count" in x,
            reconnects=int(_num(x.get("reconnects", x.get("mc_reconnect_count"))) or 0),
            retry_s=retry,
            last_error=str(x["last_error"]) if x.get("last_error") else None,
        ))
    return sorted(links, key=lambda link: not link.minecraft)


@dataclass(frozen=True, slots=True)
class ShowView:
    """What an operator checks first: the pattern, the live DJ, the clients and the worst latency.

    Attributes:
        pattern: The pattern on screen as users know it (its name, else its key; None = no pattern).
        live_dj: The DJ being shown (None = none, or no DJ server in the graph).
        djs: DJs connected (None = no DJ server in the graph).
        browsers: Browsers connected (None = no browser server in the graph).
        worst: ``(sink, p99 ms)`` of the sink with the highest end-to-end p99 (None = no measurement yet).
        drops: Frames lost on queued edges.
        decimated: Frames skipped by design on queued edges (not losses).
    """

    pattern: str | None
    live_dj: DJView | None
    djs: int | None
    browsers: int | None
    worst: tuple[str, float] | None
    drops: int
    decimated: int


def show_view(snap: Snapshot, sinks: list[str]) -> ShowView:
    """The :class:`ShowView` of a snapshot; ``sinks`` are where end-to-end latency is measured."""
    pattern = live = djs = browsers = None
    for s in snap.nodes.values():
        x = s.extra
        name = x.get("pattern_name") or x.get("pattern")
        if isinstance(name, str):
            pattern = name
        roster = dj_views(x)
        if roster is not None:
            djs = (djs or 0) + len(roster)
            live = next((d for d in roster if d.active), live)
        for key in ("clients", "browsers"):
            if isinstance(x.get(key), int) and not isinstance(x.get(key), bool):
                browsers = (browsers or 0) + x[key]
    measured = [(n, snap.nodes[n].latency_p99_ms) for n in sinks if n in snap.nodes]
    worst = max(((n, v) for n, v in measured if v is not None), key=lambda nv: nv[1], default=None)
    return ShowView(pattern, live, djs, browsers, worst, snap.total_drops, snap.total_decimated)


@dataclass(frozen=True, slots=True)
class ProgressView:
    """How far a finite source is: ``position_s`` of ``duration_s`` seconds of input."""

    node: str
    position_s: float
    duration_s: float

    @property
    def fraction(self) -> float:
        """0-1."""
        return min(max(self.position_s / self.duration_s, 0.0), 1.0) if self.duration_s > 0 else 0.0


def progress_views(snap: Snapshot) -> list[ProgressView]:
    """The nodes that report ``position_s`` and a positive ``duration_s``."""
    out = []
    for s in snap.nodes.values():
        pos, total = _num(s.extra.get("position_s")), _num(s.extra.get("duration_s"))
        if pos is not None and total:
            out.append(ProgressView(s.name, pos, total))
    return out


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
