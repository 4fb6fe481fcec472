"""DJ frame → Minecraft ``batch_update`` latency and the VJ process's CPU, with and without browser load.

    python bench/vj_minecraft.py [--seconds 10] [--browsers 50] [--baseline REV] [--variant LABEL='ARGS']…
                                 [--edge] [--edge-nice N] [--edge-variant LABEL='ARGS']…
                                 [--observers-realtime PRIO] [--common ARGS] [--hops] [--rounds 1] [--out bench/out/vj_minecraft.json]

``mcav run pipelines/vj.yaml`` runs in its own process, as in production. This
process plays one DJ streaming stamped frames at 60 fps (:class:`bench.wsclients.FakeDJ`:
the frame number rides in the first two bands, which the VJ passes to the
plugin unchanged). The MCAV plugin stand-in of ``tests/plugin_standin.py``
(schema checks off) and the lean browser clients run in processes of their own,
so that neither the plugin's reads nor the DJ's sends wait for a GIL busy with
1000 browsers; all timestamps are on the monotonic clock every process shares.
Latency = plugin (or browser) receipt − DJ send; browser figures over the first
100 browsers.

The baseline is the same server in the same run with no browser connected; the
report gives the loaded figures and their ratio to it. ``--baseline REV`` also
measures the server of git revision REV in the same run (before/after); each ``--variant``
measures this tree's server run with extra ``mcav run`` arguments (e.g.
``--variant si0.2='--switch-interval 0.2'``). ``--rounds N`` runs them all N times, in turn,
so that a busy machine's spells are shared out among them. ``--edge`` adds the case of
the fan-out in a process of its own: ``pipelines/vj-fanout.yaml`` publishes to a private
``redis-server`` and a local edge (``pipelines/edge.yaml``) serves the browsers; ``--edge-nice N``
the same with the edge at ``nice -n N``; ``--edge-variant`` that case with extra ``mcav run`` arguments for
the VJ only (e.g. ``--edge-variant rt='--realtime'``). ``--observers-realtime PRIO`` puts this process (the DJ)
and the plugin stand-in in the SCHED_RR class in every case, so that on a busy machine the figures are the
server's delays, not the observers' waits for a core (the browser clients stay time-shared). CPU is the
VJ process's (and the edge's) user+system time over the window, as a fraction of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench import mc_hops  # noqa: E402
from bench.common import code_env, code_tree, free_port, proc_cpu_s, wait_listening  # noqa: E402
from bench.paths_audio import StandInPlugin  # noqa: E402
from bench.wsclients import FakeDJ, Fleet  # noqa: E402
from mcav.runtime.priority import Priority  # noqa: E402
from mcav.runtime.priority import apply as apply_priority  # noqa: E402


def _must(refused: list[str]) -> None:
    """Observers at a priority they cannot have would measure something else: stop, saying why."""
    if refused:
        raise SystemExit("--observers-realtime: " + "; ".join(refused))


def _sig(bands: list[float]) -> int:
    return round(bands[0] * 1000) + 1000 * round(bands[1] * 1000)


Window = tuple[int, int, dict[str, Any]]  # (t0 ns, t1 ns, figures measured so far)

async def measure(proc: subprocess.Popen[bytes], n_browsers: int, seconds: float,
                  edge: subprocess.Popen[bytes] | None = None) -> Window:
    """One window: its bounds and the VJ's (and edge's) CPU (the observers' figures come after the run)."""
    procs = [proc] if edge is None else [proc, edge]
    t0, cpu0 = time.monotonic_ns(), [proc_cpu_s(p.pid) for p in procs]
    await asyncio.sleep(seconds)
    t1, cpu1 = time.monotonic_ns(), [proc_cpu_s(p.pid) for p in procs]
    cpu = [round((b - a) / ((t1 - t0) / 1e9), 3) for a, b in zip(cpu0, cpu1)]
    return t0, t1, {"browsers": n_browsers, "vj_cpu_core": cpu[0], "edge_cpu_core": cpu[1] if edge else None}


def _pct(x: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(x, q)), 2) if x.size else None


def figures(window: Window, rows: list[tuple[float, float, int]], browsers: list[list[list[int]]],
            sent: dict[int, int]) -> dict[str, Any]:
    """A window's figures: batches/s and DJ send → plugin receipt, DJ send → browser receipt (ms).

    Only a frame's first batch counts: the VJ re-sends the last DJ frame while the DJ is gone (its link
    dropped by an overloaded server), and those copies are no new frames (``mc_repeats`` counts them).
    """
    t0, t1, fig = window
    wall = (t1 - t0) / 1e9
    inside = lambda sig: sig in sent and t0 <= sent[sig] <= t1  # noqa: E731
    first: dict[int, int] = {}
    for b0, b1, t in rows:
        first.setdefault(_sig([b0, b1]), t)
    lat = [t - sent[sig] for sig, t in first.items() if inside(sig)]
    repeats = sum(1 for b0, b1, t in rows if inside(_sig([b0, b1]))) - len(lat)
    batches = sum(t0 <= t <= t1 for _, _, t in rows)
    blat = [t - sent[sig] for arrivals in browsers for sig, t in arrivals if inside(sig)] if fig["browsers"] else []
    a, ba = np.asarray(lat) / 1e6, np.asarray(blat) / 1e6
    return {"browsers": fig["browsers"], "mc_batches_per_s": round(batches / wall, 2), "mc_p50_ms": _pct(a, 50),
            "mc_p99_ms": _pct(a, 99), "mc_max_ms": round(float(a.max()), 2) if a.size else None,
            "browser_p50_ms": _pct(ba, 50), "browser_p99_ms": _pct(ba, 99),
            "browser_states_per_s": round(len(blat) / wall / min(100, fig["browsers"]), 1) if blat else None,
            "vj_cpu_core": fig["vj_cpu_core"], "edge_cpu_core": fig["edge_cpu_core"], "mc_repeats": repeats}


def _mcav(graph: Path, sets: list[str], extra: list[str], code: Path | None, log: Path,
          nice: int = 0, trace: Path | None = None) -> subprocess.Popen[bytes]:
    # ``trace``: under this tree's bench.hoptrace, the Minecraft path's probes only (the baseline's mcav).
    main = [str(ROOT / "bench" / "hoptrace.py"), str(trace)] if trace is not None else ["-m", "mcav.runtime.cli"]
    cmd = [*(("nice", "-n", str(nice)) if nice else ()), sys.executable, *main, "--log-level", "WARNING", "run",
           str(graph), "--no-dashboard", "--stats-interval", "3600"]
    for s in sets:
        cmd += ["--set", s]
    env = code_env(code)
    if trace is not None:
        env["MCAV_HOPTRACE"] = "minecraft"
    return subprocess.Popen(cmd + extra, cwd=code or ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


async def run(seconds: float, n_browsers: int, code: Path | None = None, extra: list[str] = [],  # noqa: B006
              edge: bool = False, edge_nice: int = 0, fleet_nice: int = 0,
              observers: Priority = Priority(), hops: bool = False) -> list[dict[str, Any]]:
    """One case: the plugin's and the first 100 browsers' figures without browsers, then with ``n_browsers``.

    ``edge``: the VJ publishes to a private redis-server and an edge process serves the browsers, at
    ``edge_nice`` (``nice -n``: lower CPU priority than the VJ's, so the Minecraft path wins a busy core).
    ``fleet_nice``: the browser clients' process at ``nice -n`` (browsers of a real show are on other machines).
    ``observers``: the plugin stand-in's priority (this process's is set by the caller).
    ``hops``: the VJ runs under :mod:`bench.hoptrace`; each window's figures get ``stages`` (:mod:`bench.mc_hops`).
    """
    plugin = StandInPlugin()  # in its own process: its reads never wait for a busy client's GIL
    _must(apply_priority(observers, plugin.proc.pid))
    dj_port, web_port, admin_port = free_port(), free_port(), free_port()
    tmp = Path(tempfile.mkdtemp(prefix="mcav-bench-vj-minecraft-"))
    sets = [f"djs.port={dj_port}", f"web.port={web_port}", f"admin.port={admin_port}", "mc.host=127.0.0.1",
            f"mc.port={plugin.port}", f"web.max_clients={n_browsers + 10}"]
    redis = edge_proc = None
    browsers_port = web_port
    trace = tmp / "vj.hops.json" if hops else None
    if edge:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("--edge needs redis-server (apt-get install redis-server)")
        rport, browsers_port, edge_admin = free_port(), free_port(), free_port()
        url = f"redis://127.0.0.1:{rport}/0"
        redis = subprocess.Popen([binary, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                  "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        proc = _mcav((code or ROOT) / "pipelines" / "vj-fanout.yaml", [*sets, f"pub.url={url}"], extra, code,
                     tmp / "vj.log", trace=trace)
        edge_proc = _mcav((code or ROOT) / "pipelines" / "edge.yaml",  # `extra` is the VJ's (e.g. --realtime)
                          [f"sub.url={url}", f"web.port={browsers_port}", f"admin.port={edge_admin}",
                           f"web.max_clients={n_browsers + 10}"], [], code, tmp / "edge.log", edge_nice)
    else:
        news = ("osc.port=0", "show.fresh=true") if code is None else ()  # nodes older trees lack
        proc = _mcav((code or ROOT) / "pipelines" / "vj.yaml", [*sets, *news], extra, code, tmp / "vj.log",
                     trace=trace)
    log = tmp / "vj.log"
    dj = FakeDJ(f"ws://127.0.0.1:{dj_port}", "bench_dj", 60.0)
    fleet: Fleet | None = None
    windows: list[Window] = []
    arrivals: list[list[list[int]]] = []
    try:
        await wait_listening(dj_port, proc)
        await wait_listening(web_port, proc)
        if edge_proc is not None:
            await wait_listening(browsers_port, edge_proc)
        dj.start()
        await asyncio.wait_for(dj.authed.wait(), 10)
        await asyncio.sleep(2.5)  # the plugin link is up and frames flow
        windows.append(await measure(proc, 0, seconds, edge_proc))  # baseline: no browser
        fleet = Fleet(browsers_port, fleet_nice)  # the browsers, in a process of their own
        await fleet.grow(n_browsers)
        await asyncio.sleep(1.5)
        windows.append(await measure(proc, n_browsers, seconds, edge_proc))
        arrivals = [[list(a) for a in c] for c in (await fleet.arrivals())[:100]]
    finally:
        if fleet is not None:
            fleet.close()
        await dj.stop()
        for p in (proc, edge_proc):
            if p is not None:
                p.send_signal(signal.SIGINT)
        for p in (proc, edge_proc, redis):
            if p is None:
                continue
            if p is redis:
                p.terminate()
            try:
                await asyncio.to_thread(p.wait, 10)
            except subprocess.TimeoutExpired:
                p.kill()
        rows = plugin.close()
    if not rows:
        raise RuntimeError(f"no batch_update reached the plugin stand-in (see {log})")
    out = [figures(w, rows, arrivals, dj.sent) for w in windows]
    if trace is not None:
        for fig, (t0, t1, _) in zip(out, windows):
            fig["stages"] = mc_hops.stages(trace, t0, t1, dj.sent, rows)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--browsers", type=int, default=50)
    ap.add_argument("--baseline", metavar="REV", help="also measure the VJ server of git revision REV (before/after)")
    ap.add_argument("--variant", action="append", default=[], metavar="LABEL=ARGS",
                    help="also this tree with extra `mcav run` arguments (repeatable)")
    ap.add_argument("--edge", action="store_true",
                    help="also this tree with the browsers on a local edge process (fan-out in a process of its own)")
    ap.add_argument("--edge-nice", type=int, default=0, metavar="N",
                    help="also the --edge case with the edge at `nice -n N` (N > 0: below the VJ)")
    ap.add_argument("--edge-variant", action="append", default=[], metavar="LABEL=ARGS",
                    help="also the --edge-nice case with extra `mcav run` arguments for the VJ (repeatable; "
                         "with --baseline, for the baseline's tree too)")
    ap.add_argument("--observers-realtime", type=int, metavar="PRIO",
                    help="the DJ (this process) and the plugin stand-in in SCHED_RR at PRIO, in every case")
    ap.add_argument("--fleet-nice", type=int, default=0, metavar="N",
                    help="run the browser clients at `nice -n N` in every case (real browsers are elsewhere)")
    ap.add_argument("--common", default="", metavar="ARGS",
                    help="extra `mcav run` arguments for the VJ in every case, the baseline's too (e.g. '--realtime')")
    ap.add_argument("--hops", action="store_true",
                    help="the VJ under bench.hoptrace: where each DJ frame's time goes, stage by stage (p50/p99)")
    ap.add_argument("--edge-only", action="store_true",
                    help="only the edge cases (not the VJ serving the browsers itself, baseline or this tree)")
    ap.add_argument("--rounds", type=int, default=1, help="run every case this many times, in turn")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "vj_minecraft.json")
    args = ap.parse_args()
    report: dict[str, object] = {}
    observers = Priority(realtime=args.observers_realtime, inherited=False)  # not the servers and clients it starts
    _must(apply_priority(observers))  # this process: the DJ's sends (its threads inherit it)
    # (label, code tree, the VJ's extra `mcav run` arguments, browsers on an edge, the edge's nice)
    base_tree = code_tree(args.baseline) if args.baseline else None
    cases: list[tuple[str, Path | None, list[str], bool, int]] = (
        [(f"baseline {args.baseline}", base_tree, [], False, 0)] if args.baseline else [])
    cases.append(("this tree", None, [], False, 0))
    for v in args.variant:
        label, _, extra = v.partition("=")
        cases.append((label, None, shlex.split(extra), False, 0))
    if args.edge:
        cases.append(("browsers on an edge", None, [], True, 0))
    if args.edge_nice or args.edge_variant:
        cases.append((f"browsers on an edge at nice {args.edge_nice}", None, [], True, args.edge_nice))
    for v in args.edge_variant:
        label, _, extra = v.partition("=")
        for tree, name in ((base_tree, f"baseline {args.baseline}"), (None, "this tree")) if base_tree else ((None, ""),):
            cases.append((f"{label}, browsers on an edge at nice {args.edge_nice}" + (f" ({name})" if name else ""),
                          tree, shlex.split(extra), True, args.edge_nice))
    if args.edge_only:
        cases = [c for c in cases if c[3]]
    for r in range(args.rounds):
        for label, code, extra, edge, nice in cases:
            base, loaded = asyncio.run(run(args.seconds, args.browsers, code, [*shlex.split(args.common), *extra],
                                           edge, nice, args.fleet_nice,
                                           observers, args.hops))
            keys = ("mc_p50_ms", "mc_p99_ms", "vj_cpu_core")
            ratio = {k: round(loaded[k] / base[k], 2) for k in keys if base[k] and loaded[k]}  # type: ignore[operator]
            key = label if args.rounds == 1 else f"{label} #{r + 1}"
            report[key] = {"baseline_no_browsers": base, "loaded": loaded, "loaded_over_baseline": ratio,
                           "load_avg_1min": round(os.getloadavg()[0], 2)}
            print(f"{key}: DJ → plugin p50/p99 {base['mc_p50_ms']}/{base['mc_p99_ms']} ms with no browser, "
                  f"{loaded['mc_p50_ms']}/{loaded['mc_p99_ms']} ms with {args.browsers}; VJ CPU "
                  f"{base['vj_cpu_core']}/{loaded['vj_cpu_core']} of a core; load {os.getloadavg()[0]:.2f}", flush=True)
            for fig in (base, loaded) if args.hops else ():
                print(f"  stages with {fig['browsers']} browsers, p50 / p99:", *mc_hops.lines(fig["stages"]), sep="\n")
    written = next(iter(report.values())) if len(report) == 1 else report  # one case: its figures alone
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(written, indent=2))
    print(json.dumps(written, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
