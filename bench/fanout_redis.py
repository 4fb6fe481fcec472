"""One show through Redis: a VJ process, N edge processes, browsers spread over them, a 60 fps DJ.

``python -m bench.fanout_redis [--edges 2] [--viewers 50,150,300] [--seconds 8] [--baseline REV] [--rounds 1] [--quick]
[--hops] [--stall MS] [--realtime PRIO]``

Processes (all on loopback): a private ``redis-server`` on a free port, the VJ
(``bench/graphs/vj_fanout.yaml``: DJs → pattern → its own browsers + ``redis_pub``)
and N edges (``bench/graphs/edge_browsers.yaml``: ``redis_sub`` → browsers). The DJ
and every browser are the lean clients of :mod:`bench.wsclients` (the browsers of
each server in a process of their own, :class:`~bench.wsclients.Fleet`), so DJ send → browser
receipt is measured on one clock for the VJ's own browsers
(the baseline, same run) and for the edges' browsers. At each step every edge
gets more viewers; CPU of each process comes from ``/proc``; every frame lost on
the way is read from each process's ``/metrics`` (``mcav_node_frames_lost_total``,
the edges' drops and skips). Prints a table and the sizing rule, writes
``bench/figures/fanout_redis.png`` and ``bench/out/fanout_redis.json``.
``--baseline REV`` runs the VJ and edges of git revision REV too (on REV's own graph files: their
settings are part of a change), in turn with this tree's (``--rounds`` times each), for
before/after figures from the same run. ``--hops`` tells where the time and the frames go
(:mod:`bench.fanout_hops`). What an edge adds is reported two ways: the difference of the two paths'
percentiles, and per frame (the edge's median viewer minus the VJ's median browser, for each frame).
``--realtime PRIO`` runs every process of the run in SCHED_RR (see :class:`Setup`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import fanout_hops
from mcav.runtime.priority import Priority
from mcav.runtime.priority import apply as apply_priority

from .common import ROOT, code_tree, free_port, metrics, percentiles, proc_cpu_s, reap, spawn_mcav, wait_listening
from .wsclients import _SIG, FakeDJ, Fleet

TARGET = 10_000


class RedisTap:
    """A plain Redis subscriber to the state channel: when each frame is out of Redis (the middle hop)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, int]] = []
        #: signature → the VJ's frame number (to line up :mod:`bench.hoptrace`'s times, which go by number)
        self.seqs: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self, url: str, channel: str) -> None:
        import redis.asyncio as aioredis

        self._client = aioredis.Redis.from_url(url)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(channel)
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for m in self._pubsub.listen():
            now = time.monotonic_ns()
            hit = _SIG.search(m["data"])
            if hit:
                sig = round(float(hit.group(1)) * 1000) + 1000 * round(float(hit.group(2)) * 1000)
                self.arrivals.append((sig, now))
                self.seqs[sig] = int.from_bytes(m["data"][4:12], "little")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            await self._pubsub.aclose()
            await self._client.aclose()


def _latencies(clients: list[list[tuple[int, int]]], window: set[int],
               sent: dict[int, int]) -> tuple[np.ndarray, float, float]:
    """Latencies (ms) of the window's frames over the clients' arrivals, the worst client's share of the window,
    the mean share."""
    lat, shares = [], []
    for arrivals in clients:
        got = {sig: t for sig, t in arrivals if sig in window}
        lat += [t - sent[sig] for sig, t in got.items()]
        shares.append(len(got) / len(window) if window else 0.0)
    return np.asarray(lat, float) / 1e6, min(shares, default=1.0), float(np.mean(shares)) if shares else 1.0


def _added_per_frame(vj: list[list[tuple[int, int]]], edge: list[list[tuple[int, int]]],
                     window: set[int]) -> np.ndarray:
    """Per frame, when the edge's median viewer got it minus when the VJ's median browser did (ms).

    This is what the hop adds to each frame; the difference of the two paths' p99s (also reported) mixes
    in stalls that hit one path's frames and not the other's, and can even be negative."""
    def medians(clients: list[list[tuple[int, int]]]) -> dict[int, float]:
        times: dict[int, list[int]] = {}
        for arrivals in clients:
            for sig, t in arrivals:
                if sig in window:
                    times.setdefault(sig, []).append(t)
        return {sig: float(np.median(ts)) for sig, ts in times.items()}

    at_vj, at_edge = medians(vj), medians(edge)
    return np.asarray([at_edge[s] - at_vj[s] for s in at_edge.keys() & at_vj.keys()], float) / 1e6


#: /metrics samples that count frames lost or skipped on the way (mcav_node_frames_lost_total by reason).
_LOSS_METRICS = ("mcav_node_frames_lost_total{", "mcav_edge_drops_total{", "mcav_edge_decimated_total{")


def losses(admin_port: int) -> dict[str, int]:
    """The loss counters of one process's ``/metrics``, by sample (``{}`` if it does not answer)."""
    return {k: int(v) for k, v in metrics(admin_port).items() if k.startswith(_LOSS_METRICS)}


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


@dataclass(frozen=True)
class Setup:
    """How a run is made.

    ``hops``: the servers run under :mod:`bench.hoptrace` and each step prints where time and frames went.
    ``stall_ms``: each edge is stopped (SIGSTOP) that long once a second while measuring, as a starved core
    would hold it, so where the frames of the burst that follows are lost shows every time.
    ``realtime``: every process of the run — the VJ and edges (`mcav run --realtime`), redis-server, the
    browser clients and this one (the DJ, the tap) — in SCHED_RR at this priority: what dedicated cores
    would show, on a machine other jobs share (they keep 5 % of each core).
    """

    hops: bool = False
    stall_ms: float = 0.0
    realtime: int | None = None


def _realtime(pid: int, prio: int | None) -> None:
    if prio is not None and (refused := apply_priority(Priority(realtime=prio, inherited=False), pid)):
        raise SystemExit("--realtime: " + "; ".join(refused))


async def bench(edges: int, viewers: list[int], seconds: float, warmup: float, out: Path | None,
                code: Path | None = None, setup: Setup = Setup()) -> list[dict]:
    """One run: rows per step; ``out`` (None: no files) gets the report and figure; ``code``: a baseline tree."""
    hops, stall_ms = setup.hops, setup.stall_ms
    server_args = ("--realtime", str(setup.realtime)) if setup.realtime is not None else ()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    tmp = Path(tempfile.mkdtemp(prefix="mcav-fanout-"))
    rport, dj_port, vj_web, vj_admin = free_port(), free_port(), free_port(), free_port()
    url = f"redis://127.0.0.1:{rport}/0"
    redis = subprocess.Popen([binary, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    _realtime(redis.pid, setup.realtime)
    vj = spawn_mcav("vj_fanout", [f"djs.port={dj_port}", f"web.port={vj_web}", f"pub.url={url}",
                                  f"admin.port={vj_admin}"], tmp / "vj.log", code, tmp / "vj.trace" if hops else None,
                    own_graph=True, args=server_args)
    ports = [free_port() for _ in range(edges)]
    admins = [free_port() for _ in range(edges)]
    edge_procs = [spawn_mcav("edge_browsers", [f"web.port={p}", f"sub.url={url}", f"admin.port={a}"],
                             tmp / f"edge{i}.log", code, tmp / f"edge{i}.trace" if hops else None, own_graph=True,
                             args=server_args)
                  for i, (p, a) in enumerate(zip(ports, admins))]
    procs = [vj, *edge_procs]
    rows: list[dict] = []
    fleets: list[Fleet] = []
    dj = FakeDJ(f"ws://127.0.0.1:{dj_port}", "bench_dj", 60.0)
    tap = RedisTap()
    try:
        await wait_listening(rport, redis)
        for port, proc in zip([dj_port, vj_web, *ports], [vj, vj, *edge_procs]):
            await wait_listening(port, proc)
        dj.start()
        await asyncio.wait_for(dj.authed.wait(), 10)
        await tap.start(url, "mcav:main:state")
        # Each server's browsers in a process of their own: none reads behind another server's browsers.
        fleets = [Fleet(vj_web), *(Fleet(p) for p in ports)]
        for f in fleets:
            _realtime(f.proc.pid, setup.realtime)
        for n in viewers:  # the VJ's own browsers, as many as each edge has: the same fan-out on both paths
            for f in fleets:
                await f.grow(n)
            await asyncio.sleep(warmup)
            tap_mark = len(tap.arrivals)
            t0 = time.monotonic_ns()
            cpu0 = [proc_cpu_s(p.pid) for p in (*procs, redis)]
            own0 = time.process_time() + sum(proc_cpu_s(f.proc.pid) for f in fleets)
            lost0 = [await asyncio.to_thread(losses, a) for a in (vj_admin, *admins)]
            for f in fleets:
                await f.lag()
            await asyncio.gather(asyncio.sleep(seconds), *(_stall(p, stall_ms, seconds) for p in edge_procs if stall_ms))
            t1 = time.monotonic_ns()
            cpu1 = [proc_cpu_s(p.pid) for p in (*procs, redis)]
            lost = [_delta(await asyncio.to_thread(losses, a), b) for a, b in zip((vj_admin, *admins), lost0)]
            wall = (t1 - t0) / 1e9
            cpu = [(b - a) / wall for a, b in zip(cpu0, cpu1)]
            window = {s for s, t in dj.sent.items() if t0 <= t <= t1 - 200_000_000}
            bench_cpu = time.process_time() + sum(proc_cpu_s(f.proc.pid) for f in fleets) - own0
            at_vj, *at_edges = [await f.arrivals() for f in fleets]
            fleet_lag = [[d / 1e6 for t, d in await f.lag() if t0 <= t <= t1] for f in fleets]
            vj_lat, vj_worst, _ = _latencies(at_vj, window, dj.sent)
            # Frames some VJ browser got: what the edge could have had (a frame lost before the hop is no edge loss).
            at_vj_got = {sig for a in at_vj for sig, _ in a if sig in window}
            edge_short = max((len(at_vj_got - {sig for sig, _ in a}) for g in at_edges for a in g), default=0)
            edge_all = [_latencies(g, window, dj.sent) for g in at_edges]
            e_lat = np.concatenate([e[0] for e in edge_all]) if edge_all else np.zeros(0)
            e_worst = min(e[1] for e in edge_all)
            (v50, v99), (e50, e99) = percentiles(vj_lat), percentiles(e_lat)
            if v50 is None or v99 is None or e50 is None or e99 is None:
                raise RuntimeError(f"no frame of the window reached the VJ's or the edges' browsers (logs in {tmp})")
            a50, a99 = percentiles(_added_per_frame(at_vj, [a for g in at_edges for a in g], window))
            r50, r99 = percentiles([(t - dj.sent[sig]) / 1e6 for sig, t in tap.arrivals[tap_mark:] if sig in window])
            edge_cpu = float(np.mean(cpu[1:-1]))
            row = {"viewers_per_edge": n, "edges": edges, "frames": len(window),
                   "vj_p50_ms": v50, "vj_p99_ms": v99, "edge_p50_ms": e50, "edge_p99_ms": e99,
                   "redis_p50_ms": r50, "redis_p99_ms": r99, "edge_minus_vj_p50_ms": e50 - v50, "edge_minus_vj_p99_ms": e99 - v99,
                   "added_per_frame_p50_ms": a50, "added_per_frame_p99_ms": a99,
                   "vj_worst_delivery": vj_worst, "edge_worst_delivery": e_worst,
                   "frames_lost_pct": 100 * (1 - e_worst),
                   "edge_lost_vs_vj_pct": 100 * edge_short / len(at_vj_got) if at_vj_got else 0.0, "vj_cpu": cpu[0], "edge_cpu": edge_cpu,
                   "redis_cpu": cpu[-1], "bench_cpu": bench_cpu / wall,
                   "load_avg_1min": os.getloadavg()[0], "vj_losses": lost[0], "edge_losses": lost[1:],
                   "edge_mean_delivery": float(np.mean([e[2] for e in edge_all])),
                   "clients_lag_p99_ms": [percentiles(v)[1] for v in fleet_lag],
                   "clients_lag_max_ms": [max(v, default=0.0) for v in fleet_lag],
                   "edge_lat": e_lat.tolist(), "vj_lat": vj_lat.tolist()}
            if hops:
                seq_of = {sig: tap.seqs[sig] for sig in window if sig in tap.seqs}
                row["_hop_step"] = {"sent": {seq_of[s]: dj.sent[s] for s in seq_of}, "seq_of": seq_of,
                                    "tap": {tap.seqs[sig]: t for sig, t in tap.arrivals[tap_mark:] if sig in seq_of},
                                    "vj_clients": at_vj, "edge_clients": at_edges[0], "t0": t0, "t1": t1}
            rows.append(row)
            print(f"{n:5d}/edge ×{edges}: DJ→VJ browser p50/p99 {v50:.2f}/{v99:.2f} ms · DJ→edge browser "
                  f"{e50:.2f}/{e99:.2f} ms (+{e50 - v50:.2f}/+{e99 - v99:.2f}; per frame +{a50:.2f}/+{a99:.2f}) · DJ→out of Redis {r50:.2f}/{r99:.2f} · worst delivery VJ {vj_worst:.1%}, "
                  f"edge {e_worst:.1%} · CPU VJ {cpu[0]:.0%} edge {edge_cpu:.0%} redis {cpu[-1]:.1%} "
                  f"(bench clients {row['bench_cpu']:.0%}) · machine load {row['load_avg_1min']:.1f}", flush=True)
            print(f"      frames the VJ's browsers got that an edge viewer missed: {row['edge_lost_vs_vj_pct']:.2f} % "
                  f"(worst viewer)", flush=True)
            print(f"      lost or skipped in the window: VJ {lost[0] or 'none'}; edges {lost[1:]}", flush=True)
            print("      the clients' own processes (VJ's, edges'): a 1 ms timer late by p99 "
                  + ", ".join(f"{a or 0:.1f}" for a in row["clients_lag_p99_ms"]) + " ms, at most "
                  + ", ".join(f"{a:.0f}" for a in row["clients_lag_max_ms"]) + " ms", flush=True)
    finally:
        for f in fleets:
            f.close()
        await dj.stop()
        await tap.stop()
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in (*procs, redis):
            reap(p, 5 if p is redis else 10, terminate=p is redis)  # redis last, once the servers are gone
    if hops:
        _hop_report(rows, tmp)
    if out is not None:
        _report(rows, out)
    return rows


async def _stall(proc: subprocess.Popen[bytes], ms: float, seconds: float) -> None:
    """Stop ``proc`` for ``ms`` once a second, for ``seconds`` (it always gets SIGCONT)."""
    end = time.monotonic() + seconds - 1.0
    while time.monotonic() < end:
        await asyncio.sleep(0.5)
        try:
            proc.send_signal(signal.SIGSTOP)
            await asyncio.sleep(ms / 1000)
        finally:
            proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.5)


def _hop_report(rows: list[dict], tmp: Path) -> None:
    """Each step's hops (:mod:`bench.fanout_hops`) from the traces the VJ and the first edge wrote."""
    vj, edge = fanout_hops.load(tmp / "vj.trace"), fanout_hops.load(tmp / "edge0.trace")
    for row in rows:
        step = row.pop("_hop_step")
        print(f"{row['viewers_per_edge']:5d}/edge: server loops (VJ, edge): a 1 ms timer late by p99 / max "
              + ", ".join("{:.1f} / {:.1f}".format(*fanout_hops.lag(t, step["t0"], step["t1"])) for t in (vj, edge))
              + " ms; GC VJ " + fanout_hops.gc_pauses(vj, step["t0"], step["t1"]) + ", edge "
              + fanout_hops.gc_pauses(edge, step["t0"], step["t1"]), flush=True)
        row.update(fanout_hops.report(step, vj, edge))


def _report(rows: list[dict], out: Path) -> dict:
    xs = np.array([r["viewers_per_edge"] for r in rows], float)
    cpu = np.array([r["edge_cpu"] for r in rows])
    slope, base = np.polyfit(xs, cpu, 1) if len(rows) > 1 else (0.0, 0.0)
    if slope <= 0:  # one point, or noise from a busy machine: charge everything to the viewers (pessimistic)
        slope, base = float(cpu[-1] / xs[-1]), 0.0
    per100 = 100 * slope
    # Sizing: an edge runs at ≤ 60 % of one core (headroom for bursts, GC, a reconnect storm).
    per_edge = int(max(1.0, (0.6 - max(base, 0.0)) / max(slope, 1e-9)) // 100 * 100) or 100
    n_edges = -(-TARGET // per_edge)
    worst = max(rows, key=lambda r: r["edge_p99_ms"])
    rule = {"cpu_per_100_viewers_per_edge": per100, "edge_base_cpu": float(base), "viewers_per_edge": per_edge,
            "edges_for_10000": n_edges, "cores_for_10000": n_edges * 0.6 + 1 + 0.1,
            "expected_p99_ms": worst["edge_p99_ms"]}
    print(f"edge CPU ≈ {max(base, 0):.1%} + {per100:.1%} of a core per 100 viewers → {per_edge} viewers per edge at 60 % "
          f"of a core; 10 000 viewers: {n_edges} edge processes (~{rule['cores_for_10000']:.0f} cores with the VJ and "
          f"Redis), p99 ≈ {rule['expected_p99_ms']:.1f} ms as measured at {int(worst['viewers_per_edge'])}/edge")
    hop = fanout_hops.hop_cpu()
    print("CPU per frame: state encode {state_encode_us:.0f} µs (once on the VJ, for its browsers and redis_pub); "
          "the hop adds pack {pack_us:.1f} µs on the VJ and unpack + head {unpack_head_us:.0f} µs on each edge, "
          "whose browsers get the VJ's bytes ({unpack_rebuild_us:.0f} µs with the entities, for a minecraft node "
          "there; {state_bytes} B per frame)".format(**hop))
    out.mkdir(parents=True, exist_ok=True)
    (out / "fanout_redis.json").write_text(json.dumps({"rows": [{k: v for k, v in r.items() if not k.endswith("_lat")}
                                                                 for r in rows], "sizing": rule, "hop_cpu": hop}, indent=1))
    _figure(rows, ROOT / "bench" / "figures" / "fanout_redis.png")
    return rule


def _figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    last = rows[-1]
    for key, label in (("vj_lat", "DJ → VJ's own browser"), ("edge_lat", "DJ → edge browser (via Redis)")):
        v = np.sort(np.asarray(last[key]))
        if v.size:
            a.plot(v, np.linspace(0, 1, v.size), label=label)
    a.set(xlabel="latency (ms)", ylabel="share of frames", xscale="log",
          title=f"{last['viewers_per_edge']} viewers on each of {last['edges']} edges")
    a.legend()
    xs = [r["viewers_per_edge"] for r in rows]
    b.plot(xs, [100 * r["edge_cpu"] for r in rows], "o-", label="edge process")
    b.plot(xs, [100 * r["vj_cpu"] for r in rows], "s-", label="VJ process")
    b.plot(xs, [100 * r["redis_cpu"] for r in rows], "^-", label="redis-server")
    b.set(xlabel="viewers per edge", ylabel="% of one core", title="CPU")
    b.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edges", type=int, default=2)
    ap.add_argument("--viewers", default="50,150,300", help="viewers per edge at each step")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--baseline", metavar="REV", help="also run the VJ and edges of git revision REV, in turn")
    ap.add_argument("--rounds", type=int, default=1, help="with --baseline: runs of each, in turn")
    ap.add_argument("--quick", action="store_true", help="smoke mode: 1 edge, 10 viewers, 1 s")
    ap.add_argument("--hops", action="store_true", help="trace each frame's hops in the VJ and edge processes")
    ap.add_argument("--stall", type=float, default=0.0, metavar="MS",
                    help="stop each edge for MS once a second while measuring (a starved core)")
    ap.add_argument("--realtime", type=int, metavar="PRIO",
                    help="every process of the run in SCHED_RR at PRIO (the servers with `mcav run --realtime`)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    a = ap.parse_args()
    if a.quick:
        a.edges, a.viewers, a.seconds = 1, "5,10", 1.0
    viewers, warmup = [int(v) for v in a.viewers.split(",")], 1.0 if a.quick else 2.0
    setup = Setup(a.hops, a.stall, a.realtime)
    _realtime(0, a.realtime)  # this process: the DJ's sends and the tap
    if not a.baseline:
        asyncio.run(bench(a.edges, viewers, a.seconds, warmup, a.out, setup=setup))
        return
    old = code_tree(a.baseline)
    runs: dict[str, list[dict]] = {}
    for r in range(a.rounds):
        for label, code in ((f"baseline {a.baseline}", old), ("this tree", None)):
            print(f"-- {label}, round {r + 1}", flush=True)
            rows = asyncio.run(bench(a.edges, viewers, a.seconds, warmup, None, code, setup))
            runs[f"{label} #{r + 1}"] = [{k: v for k, v in row.items() if not k.endswith("_lat")} for row in rows]
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "fanout_redis_baseline.json").write_text(json.dumps(runs, indent=1))
    for n in viewers:
        for label, rows in runs.items():
            row = next(x for x in rows if x["viewers_per_edge"] == n)
            print(f"{n:4d}/edge  {label:22s} edge adds p50/p99 +{row['edge_minus_vj_p50_ms']:.2f}/+"
                  f"{row['edge_minus_vj_p99_ms']:.2f} ms (per frame +{row['added_per_frame_p50_ms']:.2f}/+"
                  f"{row['added_per_frame_p99_ms']:.2f}) · worst/mean delivery {row['edge_worst_delivery']:.1%}/"
                  f"{row['edge_mean_delivery']:.2%} · missed vs VJ {row['edge_lost_vs_vj_pct']:.2f} % · edge CPU {row['edge_cpu']:.0%} · load {row['load_avg_1min']:.1f}")


if __name__ == "__main__":
    main()
