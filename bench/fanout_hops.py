"""Where an edge's time and frames go: ``fanout_redis --hops`` lines up :mod:`bench.hoptrace`'s times.

For each frame of a step's window (by the VJ's frame number, read off Redis by the bench's tap) the time
since the DJ sent it at each hop: the VJ's browser node and its fan-out, ``redis_pub`` taking it and
handing it to Redis, the tap (out of Redis), the edge's ``redis_sub`` and browser node and fan-out, and
the browsers' receipt (the median client and the last one). Frames an edge viewer missed are put down
to the first hop they did not reach; a frame that left the edge's fan-out but did not arrive was lost
to that client's leaky queue (a slow reader: the server's ``frames_dropped``) or is still unread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

#: (label, process, event) in path order; process "vj" or "edge".
HOPS = (("VJ browser node takes it", "vj", "browser_in"), ("VJ fan-out first chunk", "vj", "fanout_first"),
        ("VJ fan-out done", "vj", "fanout_last"), ("VJ browsers get it (median)", "vj", "client_med"),
        ("redis_pub takes it", "vj", "pub_in"), ("redis_pub hands it to Redis", "vj", "pub_write"),
        ("out of Redis (bench tap)", "tap", "tap"), ("redis_sub has it", "edge", "sub_in"),
        ("edge browser node takes it", "edge", "browser_in"), ("edge fan-out first chunk", "edge", "fanout_first"),
        ("edge fan-out done", "edge", "fanout_last"), ("edge browsers get it (median)", "edge", "client_med"),
        ("edge browsers get it (last)", "edge", "client_max"))


def load(path: Path) -> dict[str, Any]:
    """A trace file as {event: {seq: first time}} and ``loop_lag_raw`` ({} if the process wrote none)."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out: dict[str, Any] = {"loop_lag_raw": raw.pop("loop_lag", []), "gc_raw": raw.pop("gc", [])}
    for event, rows in raw.items():
        d: dict[int, int] = {}
        for seq, t in rows:
            d.setdefault(seq, t)
        out[event] = d
    return out


def _clients(arrivals: list[list[tuple[int, int]]], seq_of: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
    per: dict[int, list[int]] = {}
    for a in arrivals:
        for sig, t in a:
            if sig in seq_of:
                per.setdefault(seq_of[sig], []).append(t)
    return ({s: int(np.median(v)) for s, v in per.items()}, {s: max(v) for s, v in per.items()})


def lag(trace: dict[str, Any], t0: int, t1: int) -> tuple[float, float]:
    """p99 and max (ms) of how late a 1 ms timer fired on a process's node loop between ``t0`` and ``t1``."""
    v = [lag for t, lag in trace.get("loop_lag_raw", []) if t0 <= t <= t1]
    return (float(np.percentile(v, 99)) / 1e6, max(v) / 1e6) if v else (float("nan"), float("nan"))


def gc_pauses(trace: dict[str, Any], t0: int, t1: int) -> str:
    """The garbage collections of a process between ``t0`` and ``t1``: count and longest (ms) per generation."""
    by: dict[int, list[int]] = {}
    for gen, t, d in trace.get("gc_raw", []):
        if t0 <= t <= t1:
            by.setdefault(gen, []).append(d)
    return ", ".join(f"gen{g} ×{len(v)} ≤{max(v) / 1e6:.1f} ms" for g, v in sorted(by.items())) or "none"


def report(step: dict[str, Any], vj: dict[str, dict[int, int]], edge: dict[str, dict[int, int]]) -> dict[str, Any]:
    """Print and return one step's hop table (p50/p99 ms since the DJ sent the frame) and where frames went.

    ``step``: ``sent`` {seq: DJ send ns}, ``seq_of`` {signature: seq}, ``tap`` {seq: ns}, ``vj_clients`` and
    ``edge_clients`` (each client's arrivals).
    """
    sent: dict[int, int] = step["sent"]
    vmed, _ = _clients(step["vj_clients"], step["seq_of"])
    emed, emax = _clients(step["edge_clients"], step["seq_of"])
    procs = {"vj": {**vj, "client_med": vmed}, "edge": {**edge, "client_med": emed, "client_max": emax},
             "tap": {"tap": step["tap"]}}
    rows = {}
    print(f"      hops (ms since the DJ sent the frame, p50 / p99 over {len(sent)} frames):")
    for label, proc, event in HOPS:
        times = procs[proc].get(event, {})
        d = [(times[s] - t) / 1e6 for s, t in sent.items() if s in times]
        if d:
            p50, p99 = np.percentile(d, [50, 99])
            rows[event if proc != "edge" else f"edge_{event}"] = (float(p50), float(p99))
            print(f"        {label:32s} {p50:6.2f} / {p99:6.2f}  ({len(d)} frames)")
    # Frames an edge viewer missed, by the first hop they did not reach.
    missed: dict[str, int] = {}
    got = [{step["seq_of"][sig] for sig, _ in a if sig in step["seq_of"]} for a in step["edge_clients"]]
    vj_got = {step["seq_of"][sig] for a in step["vj_clients"] for sig, _ in a if sig in step["seq_of"]}
    for have in got:
        for s in vj_got - have:
            where = next((ev for ev, d in (("not handed to Redis", vj.get("pub_write", {})),
                                           ("not read by redis_sub", edge.get("sub_in", {})),
                                           ("not taken by the edge browser (ring drop)", edge.get("browser_in", {})),
                                           ("not written by the fan-out (skipped/replaced)", edge.get("fanout_last", {})))
                          if s not in d), "written, not received (client queue drop or client behind)")
            missed[where] = missed.get(where, 0) + 1
    if missed:
        print(f"      client-frames an edge viewer missed that a VJ browser got, by where: {missed}")
    return {"hops_ms": rows, "missed_by_hop": missed}


def hop_cpu() -> dict[str, float]:
    """CPU per frame (µs, best of 5 × 200) of what the Redis hop adds, next to the browser's own encode
    (the baseline: the VJ pays it for its browsers anyway) — robust to a busy machine, unlike latency."""
    import timeit

    from mcav.nodes.redis import protocol as P
    from mcav.nodes.redis.scene import scene_from_state
    from mcav.nodes.statewire import StateEncoder
    from mcav.runtime.frames import Features, Scene

    n = 64
    i = np.arange(n, dtype=np.float32)
    f = Features(seq=1, t_capture=0, bands=np.full(5, 0.5, np.float32), peak=0.5, bpm=128.0)
    scene = Scene(seq=1, t_capture=0, features=f, x=(i + 0.5) / n, y=i / n, z=i / n, scale=np.full(n, 0.3, np.float32),
                  brightness=np.full(n, 15, np.int8), glow=np.zeros(n, bool), visible=np.ones(n, bool),
                  band=(np.arange(n) % 5).astype(np.int8), pattern="spectrum")
    enc = StateEncoder()
    text = enc.encode(scene, {})
    data = P.pack_state(1, 0, 0, text)

    def best(fn: object) -> float:
        return min(timeit.repeat(fn, number=200, repeat=5)) / 200 * 1e6  # type: ignore[arg-type]

    def encode() -> str:
        StateEncoder._last = None  # the memo would answer every call after the first
        return enc.encode(scene, {})

    return {"state_encode_us": best(encode),
            "pack_us": best(lambda: P.pack_state(1, 0, 0, text)),
            "unpack_head_us": best(lambda: scene_from_state(P.unpack_state(data).text, 0, n)),
            "unpack_rebuild_us": best(lambda: scene_from_state(P.unpack_state(data).text, 0, n)[0].x),
            "state_bytes": len(text)}
