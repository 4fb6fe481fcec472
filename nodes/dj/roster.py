"""Connected DJs: per-DJ session state and statistics, the queue, and the active DJ.

Pure bookkeeping (no sockets): :class:`DJSession` holds what the VJ knows of one
DJ (rate limiter, BPM stabiliser, clock offset, fps and latencies), and
:class:`Roster` keeps the queue order and which DJ is active. The queue is
ordered by priority (lower first, ties by the preferred order, then by arrival)
unless an operator reorders it; when the active DJ leaves, the first DJ in the
queue takes over. The preferred order remembers every DJ seen, the
disconnected ones in their place (:func:`merge_order`), so a show can keep it
across a restart and DJs rejoin the queue where the operator put them.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any, Callable

from mcav.runtime.ratelimit import TokenBucket

from .sanitize import BpmStabilizer

__all__ = ["DJSession", "Roster", "merge_order"]

#: DJs the preferred order remembers (the oldest disconnected ones are forgotten first).
MAX_PREFERRED = 256

#: Weight of the old value in latency moving averages (MCAV: 0.8 old / 0.2 new).
EMA_KEEP = 0.8


def _ema(old: float | None, new: float) -> float:
    return new if old is None else old * EMA_KEEP + new * (1.0 - EMA_KEEP)


@dataclass(eq=False)
class DJSession:
    """One authenticated DJ.

    Attributes:
        dj_id, dj_name, priority, direct_mode: From the handshake (priority: lower = earlier).
        connected_at: Server wall-clock time of the handshake (s since the epoch).
        bucket: Frame rate limiter.
        conn: The DJ's websocket connection.
        clock_offset: DJ clock − server clock in s, once a clock sync succeeded.
        sync_rtt_ms: Round trip of that clock sync (ms).
        mc_connected: Last ``mc_connected`` of a direct-mode DJ (None otherwise).
    """

    dj_id: str
    dj_name: str
    priority: int
    direct_mode: bool
    connected_at: float
    bucket: TokenBucket
    conn: Any = None
    clock_offset: float | None = None
    sync_rtt_ms: float | None = None
    mc_connected: bool | None = None
    bpm: BpmStabilizer = field(default_factory=BpmStabilizer)
    frames: int = 0
    dropped_rate: int = 0
    dropped_invalid: int = 0
    pipeline_latency_ms: float | None = None
    ping_ms: float | None = None
    last_frame_at: float | None = None  # server monotonic s
    last_seen: float = 0.0  # server monotonic s of the DJ's last message of any kind
    tempo_confidence: float = 0.0
    beat_phase: float = 0.0
    _arrivals: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=512))

    def frame_arrived(self, now: float) -> None:
        """Count an accepted frame at server monotonic time ``now`` (s)."""
        self.frames += 1
        self.last_frame_at = now
        self._arrivals.append(now)

    def fps(self, now: float) -> float:
        """Accepted frames in the last second (read-only: safe from the metrics thread)."""
        return float(sum(1 for t in list(self._arrivals) if t > now - 1.0))

    def record_pipeline_latency(self, ms: float) -> None:
        """Capture-to-arrival latency of a frame (ms, clamped to [0, 60000], averaged)."""
        self.pipeline_latency_ms = _ema(self.pipeline_latency_ms, min(60000.0, max(0.0, ms)))

    def record_ping(self, ms: float) -> None:
        """One-way heartbeat delay corrected by the clock offset (ms, clamped, averaged)."""
        self.ping_ms = _ema(self.ping_ms, min(60000.0, max(0.0, ms)))

    @property
    def latency_ms(self) -> float:
        """What MCAV shows as latency: the heartbeat delay if known, else the pipeline latency."""
        return round(self.ping_ms if self.ping_ms is not None else (self.pipeline_latency_ms or 0.0), 1)

    def entry(self, is_active: bool, position: int, now: float) -> dict[str, Any]:
        """The WIRE.md 3.1 ``dj_roster`` entry (plus frame counters and the clock offset)."""
        age = None if self.last_frame_at is None else round((now - self.last_frame_at) * 1000.0, 1)
        return {
            "dj_id": self.dj_id,
            "dj_name": self.dj_name,
            "is_active": is_active,
            "connected_at": self.connected_at,
            "fps": self.fps(now),
            "latency_ms": self.latency_ms,
            "ping_ms": round(self.ping_ms or 0.0, 1),
            "pipeline_latency_ms": round(self.pipeline_latency_ms or 0.0, 1),
            "bpm": round(self.bpm.bpm if self.bpm.bpm > 0 else 120.0, 1),
            "tempo_confidence": round(self.tempo_confidence, 3),
            "beat_phase": round(self.beat_phase, 3),
            "priority": self.priority,
            "last_frame_age_ms": age,
            "direct_mode": self.direct_mode,
            "mc_connected": self.mc_connected if self.direct_mode else None,
            "queue_position": position,
            "clock_offset_ms": None if self.clock_offset is None else round(self.clock_offset * 1000.0, 2),
            "frames": self.frames,
            "dropped_rate_limit": self.dropped_rate,
        }


class Roster:
    """The connected DJs in queue order, and the active one."""

    def __init__(self) -> None:
        self.sessions: dict[str, DJSession] = {}
        self.order: list[str] = []
        #: Every DJ seen (or restored), in the operator's order: where a DJ joins the queue.
        self.preferred: list[str] = []
        #: Id of the DJ whose frames are used, or None.
        self.active: str | None = None

    def __contains__(self, dj_id: object) -> bool:
        return dj_id in self.sessions

    def __len__(self) -> int:
        return len(self.sessions)

    def get(self, dj_id: str) -> DJSession:
        """The session of ``dj_id`` (ValueError naming the connected DJs if absent)."""
        try:
            return self.sessions[dj_id]
        except KeyError:
            known = ", ".join(self.order) or "none"
            raise ValueError(f"no connected DJ '{dj_id}' (connected: {known})") from None

    def _key(self, dj_id: str) -> tuple[int, int]:
        rank = self.preferred.index(dj_id) if dj_id in self.preferred else len(self.preferred)
        return (self.sessions[dj_id].priority, rank)

    def add(self, session: DJSession) -> None:
        """Queue a new DJ after every DJ of lower priority, and of equal priority earlier in the preferred order."""
        self.sessions[session.dj_id] = session
        key = self._key(session.dj_id)
        pos = next((i for i, other in enumerate(self.order) if self._key(other) > key), len(self.order))
        self.order.insert(pos, session.dj_id)
        self._remember()

    def set_preferred(self, dj_ids: list[str]) -> None:
        """Restore a preferred order (e.g. a saved show's); the connected DJs are re-queued by it."""
        if not isinstance(dj_ids, list) or not all(isinstance(d, str) for d in dj_ids):
            raise ValueError(f"the DJ order must be a list of DJ ids, got {dj_ids!r}")
        self.preferred = list(dict.fromkeys(dj_ids))[:MAX_PREFERRED]
        self.order.sort(key=self._key)
        self._remember()

    def _remember(self) -> None:
        self.preferred = merge_order(self.order, self.preferred)[:MAX_PREFERRED]

    def remove(self, dj_id: str) -> bool:
        """Forget a DJ; True if it was the active one (then no DJ is active)."""
        self.sessions.pop(dj_id, None)
        if dj_id in self.order:
            self.order.remove(dj_id)
        if self.active == dj_id:
            self.active = None
            return True
        return False

    def next_active(self, alive: Callable[[DJSession], bool] = lambda s: True) -> str | None:
        """The DJ that should take over: the first in the queue that is ``alive`` (else the first)."""
        fresh = [d for d in self.order if alive(self.sessions[d])]
        return fresh[0] if fresh else (self.order[0] if self.order else None)

    def reorder(self, dj_id: str, new_position: int) -> None:
        """Move ``dj_id`` to ``new_position`` (0-based, clamped to the queue)."""
        self.get(dj_id)
        if isinstance(new_position, bool) or not isinstance(new_position, int):
            raise ValueError(f"new_position must be an integer, got {new_position!r}")
        self.order.remove(dj_id)
        self.order.insert(max(0, min(len(self.order), new_position)), dj_id)
        self._remember()

    def entries(self, now: float) -> list[dict[str, Any]]:
        """Roster entries sorted by queue position."""
        return [self.sessions[d].entry(d == self.active, i, now) for i, d in enumerate(self.order)]


def merge_order(order: list[str], previous: list[str]) -> list[str]:
    """``order`` (the connected DJs, as queued now) with every other DJ of ``previous`` kept right after the
    DJ it followed there (at the front if none did): ``merge_order(["b", "a"], ["a", "x", "b"])`` is
    ``["b", "a", "x"]``."""
    out = list(order)
    for i, dj in enumerate(previous):
        if dj in out:
            continue
        after = next((p for p in reversed(previous[:i]) if p in out), None)
        out.insert(out.index(after) + 1 if after is not None else 0, dj)
    return out
