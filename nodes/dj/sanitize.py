"""What the VJ side does to every remote value before trusting it (WIRE.md 2.1 and 2.4).

Pure functions, no I/O: clamping an audio frame, the per-DJ BPM stabiliser,
and the NTP-style clock-offset computation of the handshake. Import them from
:mod:`mcav.nodes.dj.protocol`.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from mcav.runtime.jsonwire import clamp_finite

__all__ = ["BpmStabilizer", "PhaseBeatAssist", "clock_offset", "sanitize_audio_frame"]

#: Number of MCAV bands.
BANDS = 5


def sanitize_audio_frame(data: Mapping[str, Any]) -> dict[str, Any]:
    """Clamp every field of a ``dj_audio_frame`` (WIRE.md 2.4, MCAV ``_sanitize_audio_frame``).

    Returns a dict with exactly these keys:

    * ``bands``: 5 floats in [0, 1] (padded with 0 / truncated; non-list → zeros; bad item → 0);
    * ``peak``, ``beat_i``, ``i_bass``: [0, 5], default 0;
    * ``bpm``: [0, 300], default 120;
    * ``tempo_conf``, ``beat_phase``: [0, 1], default 0;
    * ``seq``: int ≥ 0, else 0;
    * ``beat``, ``i_kick``: ``bool(value)`` (missing → False);
    * ``ts``: the float if finite, else None (the server then uses the arrival time).
    """
    raw = data.get("bands")
    items = list(raw[:BANDS]) if isinstance(raw, (list, tuple)) else []
    bands = [clamp_finite(b, 0.0, 1.0, 0.0) for b in items] + [0.0] * (BANDS - len(items))
    seq = data.get("seq")
    ts = data.get("ts")
    return {
        "seq": seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else 0,
        "ts": float(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool) and math.isfinite(ts) else None,
        "bands": bands,
        "peak": clamp_finite(data.get("peak"), 0.0, 5.0, 0.0),
        "beat": bool(data.get("beat", False)),
        "beat_i": clamp_finite(data.get("beat_i"), 0.0, 5.0, 0.0),
        "bpm": clamp_finite(data.get("bpm"), 0.0, 300.0, 120.0),
        "tempo_conf": clamp_finite(data.get("tempo_conf"), 0.0, 1.0, 0.0),
        "beat_phase": clamp_finite(data.get("beat_phase"), 0.0, 1.0, 0.0),
        "i_bass": clamp_finite(data.get("i_bass"), 0.0, 5.0, 0.0),
        "i_kick": bool(data.get("i_kick", False)),
    }


class BpmStabilizer:
    """Per-DJ octave correction and smoothing of the reported BPM (MCAV ``_stabilize_bpm``).

    Each update picks, among ``raw``, ``2·raw`` and ``raw/2``, the candidate in
    [60, 200] BPM closest to the previous value (a previous value outside
    [40, 240] counts as 120; no candidate in range → ``raw`` clamped to
    [60, 200]), then moves towards it by α = 0.25 if it is more than 8 BPM away,
    else 0.4, and clamps the result to [60, 200].

    Unlike MCAV, a raw BPM ≤ 0 (a DJ that has no tempo yet) or a non-finite
    one keeps the previous value instead of dragging it to 60.
    """

    def __init__(self, initial: float = 0.0) -> None:
        #: Last stabilised BPM (0 until the first valid update).
        self.bpm = initial

    def update(self, raw: Any) -> float:
        """Feed one raw BPM; return the stabilised BPM."""
        if not isinstance(raw, (int, float)) or not math.isfinite(raw) or raw <= 0:
            return self.bpm if self.bpm > 0 else 120.0
        raw = float(raw)
        prev = self.bpm if 40.0 <= self.bpm <= 240.0 else 120.0
        valid = [c for c in (raw, raw * 2.0, raw * 0.5) if 60.0 <= c <= 200.0] or [min(200.0, max(60.0, raw))]
        chosen = min(valid, key=lambda c: abs(c - prev))
        alpha = 0.25 if abs(chosen - prev) > 8.0 else 0.4
        self.bpm = min(200.0, max(60.0, (1.0 - alpha) * prev + alpha * chosen))
        return self.bpm


def clock_offset(t1: float, t2: Any, t3: Any, t4: float) -> tuple[float, float] | None:
    """NTP offset and round trip from one ``clock_sync`` exchange, or None if implausible.

    Args:
        t1: Server time the request was sent (s).
        t2: DJ time it was received (``dj_recv_time``, s).
        t3: DJ time the response was sent (``dj_send_time``, s).
        t4: Server time the response arrived (s).

    Returns:
        ``(offset, rtt)`` in s, offset = DJ clock − server clock; None when a
        value is not a finite number, |t2−t1| or |t3−t4| exceeds 3600 s, or
        the round trip is outside [0, 30] s.
    """
    for t in (t2, t3):
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            return None
    if abs(t2 - t1) > 3600 or abs(t3 - t4) > 3600:
        return None
    rtt = (t4 - t1) - (t3 - t2)
    if not 0.0 <= rtt <= 30.0:
        return None
    return ((t2 - t1) + (t3 - t4)) / 2.0, rtt


class PhaseBeatAssist:
    """Fills beats a DJ's detector missed, from its reported phase (MCAV ``_apply_phase_beat_assist``).

    A frame without a beat becomes a beat when tempo confidence ≥ 0.60, BPM ≥ 60,
    the phase is within 0.08 of a beat boundary, and at least 0.6 of a beat
    period passed since the last beat; its intensity is then at least
    ``min(1, 0.5 + 0.25·confidence)``.
    """

    def __init__(self) -> None:
        self._last: float | None = None  # monotonic s of the last beat

    def apply(self, beat: bool, intensity: float, bpm: float, confidence: float, phase: float,
              now: float) -> tuple[bool, float]:
        """Return ``(beat, intensity)`` for one frame at monotonic time ``now`` (s)."""
        if beat:
            self._last = now
            return beat, intensity
        if confidence < 0.60 or bpm < 60.0:
            return beat, intensity
        period = 60.0 / max(60.0, bpm)
        near = phase < 0.08 or phase > 0.92
        if near and (self._last is None or now - self._last >= 0.6 * period):
            self._last = now
            return True, max(intensity, min(1.0, 0.5 + 0.25 * confidence))
        return beat, intensity
