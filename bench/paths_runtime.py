"""The runtime's own costs: per-frame overhead, per-hop latency vs load, and the dashboard's cost.

Each measurement has its baseline run side by side in the same process and run:
plain function calls and the fused chain for the queued chain; the same audio
graph without a dashboard for the dashboard.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np

from mcav.runtime.frames import Tick, now_ns

from .common import Curve, Result, cdf_of, graph, percentiles, run_graph

__all__ = ["chain_overhead", "dashboard_cost", "hop_latency"]

HOPS = 4  # edges in the chain graphs


def _plain_calls(n: int) -> float:
    """Baseline: the same frames made and transformed by plain Python calls; s per frame."""
    t0 = time.perf_counter()
    for i in range(n):
        f = Tick(seq=i, t_capture=now_ns(), value=float(i))
        for _ in range(3):
            f = Tick(seq=f.seq, t_capture=f.t_capture, value=f.value * 1.0)
    return (time.perf_counter() - t0) / n


def chain_overhead(quick: bool) -> Result:
    """Frames pushed flat out through counter → 3 × scale → collect: time per frame."""
    n = 3_000 if quick else 30_000
    rounds = 1 if quick else 3
    per: dict[str, list[float]] = {"plain calls": [], "fused": [], "queued": []}
    for _ in range(rounds):  # interleaved, so drift in machine load hits every variant alike
        per["plain calls"].append(_plain_calls(n))
        for name in ("fused", "queued"):
            _, snap, wall, _ = run_graph(graph(f"chain_{name}", [f"src.count={n}", "src.rate=0"]), 120, until_done=True)
            assert snap.nodes["out"].frames_in == n, f"{name}: {snap.nodes['out'].frames_in} of {n} frames arrived"
            per[name].append(wall / n)
    best = {k: min(v) * 1e6 for k, v in per.items()}  # µs per frame; the minimum is the least disturbed run
    res = Result(
        key="chain_overhead",
        title="Runtime overhead per frame (5-node chain, flat out)",
        what=(
            f"{n} frames through `counter → scale → scale → scale → collect` as fast as the source can go; "
            "wall time per frame. Baselines in the same run: the same frame objects made and transformed by "
            f"plain Python calls, and the chain fused on one thread vs a blocking ring on each of its {HOPS} edges. "
            f"Best of {rounds} interleaved round(s)."
        ),
        columns=["variant", "µs / frame", "× plain calls", "overhead per hop µs"],
    )
    for name, us in best.items():
        hop = "" if name == "plain calls" else f"{(us - best['plain calls']) / HOPS:.1f}"
        res.rows.append([name, f"{us:.1f}", f"{us / best['plain calls']:.1f}", hop])
    res.headline["per-frame overhead, fused / queued chain"] = (
        f"{(best['fused'] - best['plain calls']) / HOPS:.1f} / {(best['queued'] - best['plain calls']) / HOPS:.1f} µs per hop"
    )
    return res


def hop_latency(quick: bool) -> Result:
    """Capture → sink latency of the paced chain, fused vs queued, at increasing frame rates."""
    rates = [200, 1000] if quick else [100, 250, 500, 1000, 2000, 4000]
    seconds = 0.3 if quick else 3.0
    cdf_rate = 1000
    res = Result(
        key="hop_latency",
        title="Per-hop latency vs load (paced chain)",
        what=(
            "The same 5-node chain paced at a fixed frame rate; end-to-end latency at the sink (`now − t_capture` "
            f"when `collect` has the frame). Baseline: the fused chain (no rings) at the same rate; the difference "
            f"divided by {HOPS} is the cost of one queued hop (a ring plus a thread wake-up). {seconds:g} s per point; "
            "CDFs at 1000 Hz."
        ),
        columns=["rate Hz", "fused p50", "fused p99", "queued p50", "queued p99", "per hop p50 µs", "queued drops",
                 "queued xruns", "CPU % queued"],
    )
    curves = {"fused": Curve("fused", [], [], []), "queued": Curve("queued", [], [], [])}
    for rate in rates:
        row: dict[str, Any] = {}
        for name in ("fused", "queued"):
            rt, snap, wall, cpu = run_graph(graph(f"chain_{name}", ["src.count=null", f"src.rate={rate}"]), seconds)
            out = snap.nodes["out"]
            curves[name].x.append(rate)
            curves[name].p50.append(out.latency_p50_ms)
            curves[name].p99.append(out.latency_p99_ms)
            xruns = sum(s.xruns for s in snap.nodes.values())
            row[name] = (out.latency_p50_ms, out.latency_p99_ms, snap.total_drops, xruns, cpu / wall)
            if rate == cdf_rate:
                res.cdfs[f"{name} chain @ {rate} Hz"] = cdf_of(rt.node("out").ctx.metrics.latency)
        f50, f99, _, _, _ = row["fused"]
        q50, q99, q_drops, q_xruns, q_cpu = row["queued"]
        hop = (q50 - f50) / HOPS * 1e3 if q50 is not None and f50 is not None else None
        res.rows.append([rate, _f(f50), _f(f99), _f(q50), _f(q99), _f(hop, 0), q_drops, q_xruns, f"{q_cpu * 100:.0f}"])
        if rate == cdf_rate or (quick and rate == rates[-1]):
            res.headline["one queued hop (p50, at %d Hz)" % rate] = f"{_f(hop, 0)} µs"
    res.curves = ("frames per second", list(curves.values()))
    return res


class _DashboardInBench:
    """Runs the real :class:`Dashboard` at 4 Hz into an in-memory terminal while a graph runs."""

    def __init__(self) -> None:
        self.dashboard: Any = None

    def start(self, runtime: Any) -> _DashboardInBench:
        from rich.console import Console

        from mcav.runtime.dashboard import Dashboard

        console = Console(file=io.StringIO(), force_terminal=True, width=120, height=60, color_system="truecolor")
        self.dashboard = Dashboard(runtime, console=console, route_logging=False).start()
        return self

    def close(self) -> None:
        self.dashboard.close()


def dashboard_cost(quick: bool) -> Result:
    """The audio cycle's processing time and xruns with and without the dashboard rendering."""
    seconds = 0.8 if quick else 8.0
    rounds = 1 if quick else 3
    stats: dict[str, dict[str, list[float]]] = {"without": {}, "with": {}}
    renders: list[float] = []
    for _ in range(rounds):
        for variant in ("without", "with"):
            during = _DashboardInBench() if variant == "with" else None
            _, snap, wall, cpu = run_graph(graph("audio_cycle"), seconds, during=during)
            s = stats[variant]
            for node in ("fft", "beat"):
                s.setdefault(f"{node} proc p99", []).append(snap.nodes[node].proc_p99_ms or 0.0)
            s.setdefault("cycle p50", []).append(snap.nodes["out"].latency_p50_ms or 0.0)
            s.setdefault("cycle p99", []).append(snap.nodes["out"].latency_p99_ms or 0.0)
            s.setdefault("source xruns", []).append(float(snap.nodes["src"].xruns))
            s.setdefault("CPU %", []).append(cpu / wall * 100)
            if during is not None:
                renders.extend(during.dashboard.render_ms)
    res = Result(
        key="dashboard_cost",
        title="Cost of the dashboard on the audio cycle",
        what=(
            "`synth → fft → beat → discard`, paced like live input (512-sample blocks at 48 kHz, one every 10.7 ms), "
            "run with and without the real dashboard refreshing at 4 Hz into an in-memory terminal (120×60). "
            "Processing times are per block; the cycle latency is capture → end of the chain. "
            f"Median over {rounds} interleaved round(s) of {seconds:g} s."
        ),
        columns=["figure", "without dashboard", "with dashboard", "ratio"],
    )
    for key in stats["without"]:
        a, b = float(np.median(stats["without"][key])), float(np.median(stats["with"][key]))
        res.rows.append([key + (" ms" if "p" in key and "CPU" not in key else ""), f"{a:.3f}", f"{b:.3f}",
                         f"{b / a:.2f}" if a else "—"])
    r50, r99 = percentiles(renders)
    res.rows.append(["dashboard refresh ms (p50 / p99)", "—", f"{_f(r50)} / {_f(r99)}", ""])
    res.cdfs["dashboard refresh (snapshot + layout + render)"] = sorted(renders)
    ratio = np.median(stats["with"]["cycle p99"]) / max(np.median(stats["without"]["cycle p99"]), 1e-9)
    res.headline["dashboard: refresh p50 / cycle p99 ratio with vs without"] = f"{_f(r50)} ms / ×{ratio:.2f}"
    return res


def _f(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"
