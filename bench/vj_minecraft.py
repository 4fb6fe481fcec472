"""DJ frame → Minecraft ``batch_update`` latency and the VJ process's CPU, with and without browser load.

    python bench/vj_minecraft.py [--seconds 10] [--browsers 50] [--baseline REV] [--out bench/out/vj_minecraft.json]

``mcav run pipelines/vj.yaml`` runs in its own process, as in production. This
process plays one DJ streaming stamped frames at 60 fps (:class:`bench.wsclients.FakeDJ`:
the frame number rides in the first two bands, which the VJ passes to the
plugin unchanged), the lean browser clients, and the MCAV plugin stand-in of
``tests/plugin_standin.py`` (schema checks off) in a process of its own, so that
its reads never wait for this process's GIL (busy with the browsers); it
timestamps every message on the monotonic clock all processes share. Latency = plugin receipt − DJ send.

The baseline is the same server in the same run with no browser connected; the
report gives the loaded figures and their ratio to it. ``--baseline REV`` also
measures the server of git revision REV in the same run (before/after). CPU is the VJ
process's user+system time over the window, as a fraction of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.common import code_env, code_tree, free_port, proc_cpu_s, wait_listening  # noqa: E402
from bench.paths_audio import StandInPlugin  # noqa: E402
from bench.wsclients import BrowserClient, FakeDJ  # noqa: E402


def _sig(bands: list[float]) -> int:
    return round(bands[0] * 1000) + 1000 * round(bands[1] * 1000)


Window = tuple[int, int, dict[str, float | int | None]]  # (t0 ns, t1 ns, figures measured so far)


async def measure(proc: subprocess.Popen[bytes], dj: FakeDJ, browsers: list[BrowserClient], seconds: float) -> Window:
    """One window: browser latency, delivery and the VJ process's CPU (the plugin's figures come after the run)."""
    marks = [len(b.arrivals) for b in browsers]
    t0, cpu0 = time.monotonic_ns(), proc_cpu_s(proc.pid)
    await asyncio.sleep(seconds)
    t1, cpu1 = time.monotonic_ns(), proc_cpu_s(proc.pid)
    blat = [t - dj.sent[s] for b, k in zip(browsers, marks) for s, t in b.arrivals[k:]
            if s in dj.sent and t0 <= dj.sent[s] <= t1]
    wall = (t1 - t0) / 1e9
    ba = np.asarray(blat) / 1e6
    return t0, t1, {
        "browsers": len(browsers), "browser_p50_ms": _pct(ba, 50), "browser_p99_ms": _pct(ba, 99),
        "browser_states_per_s": round(len(blat) / wall / max(1, len(browsers)), 1) if browsers else None,
        "vj_cpu_core": round((cpu1 - cpu0) / wall, 3),
    }


def _pct(x: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(x, q)), 2) if x.size else None


def plugin_figures(window: Window, rows: list[tuple[float, float, int]], sent: dict[int, int]) -> dict[str, float | int | None]:
    """A window's figures with the plugin's: batches/s and DJ send → plugin receipt latency."""
    t0, t1, fig = window
    lat = []
    batches = 0
    for b0, b1, t in rows:
        if t0 <= t <= t1:
            batches += 1
        s = sent.get(_sig([b0, b1]))
        if s is not None and t0 <= s <= t1:
            lat.append(t - s)
    a = np.asarray(lat) / 1e6
    return {"browsers": fig["browsers"], "mc_batches_per_s": round(batches / ((t1 - t0) / 1e9), 2),
            "mc_p50_ms": _pct(a, 50), "mc_p99_ms": _pct(a, 99), "mc_max_ms": round(float(a.max()), 2) if a.size else None,
            **{k: v for k, v in fig.items() if k != "browsers"}}


async def run(seconds: float, n_browsers: int, code: Path | None = None) -> list[dict[str, float | int | None]]:
    plugin = StandInPlugin()  # in its own process: its reads never wait for this process's GIL
    dj_port, web_port, admin_port = free_port(), free_port(), free_port()
    log = Path(tempfile.gettempdir()) / "mcav-bench-vj-minecraft.log"
    cmd = [sys.executable, "-m", "mcav.runtime.cli", "--log-level", "WARNING", "run",
           str((code or ROOT) / "pipelines" / "vj.yaml"), "--no-dashboard", "--stats-interval", "3600"]
    for s in (f"djs.port={dj_port}", f"web.port={web_port}", f"admin.port={admin_port}", "mc.host=127.0.0.1",
              f"mc.port={plugin.port}", f"web.max_clients={n_browsers + 10}"):
        cmd += ["--set", s]
    proc = subprocess.Popen(cmd, cwd=code or ROOT, env=code_env(code), stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    browsers: list[BrowserClient] = []
    dj = FakeDJ(f"ws://127.0.0.1:{dj_port}", "bench_dj", 60.0)
    windows: list[Window] = []
    try:
        await wait_listening(dj_port, proc)
        await wait_listening(web_port, proc)
        dj.start()
        await asyncio.wait_for(dj.authed.wait(), 10)
        await asyncio.sleep(2.5)  # the plugin link is up and frames flow
        windows.append(await measure(proc, dj, browsers, seconds))  # baseline: no browser
        while len(browsers) < n_browsers:
            k = min(50, n_browsers - len(browsers))
            browsers += await asyncio.gather(*(BrowserClient.connect("127.0.0.1", web_port) for _ in range(k)))
        await asyncio.sleep(1.5)
        windows.append(await measure(proc, dj, browsers, seconds))
    finally:
        await dj.stop()
        for b in browsers:
            b.close()
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()
        rows = plugin.close()
    if not rows:
        raise RuntimeError(f"no batch_update reached the plugin stand-in (see {log})")
    return [plugin_figures(w, rows, dj.sent) for w in windows]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--browsers", type=int, default=50)
    ap.add_argument("--baseline", metavar="REV", help="also measure the VJ server of git revision REV (before/after)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "vj_minecraft.json")
    args = ap.parse_args()
    report: dict[str, object] = {}
    trees: list[tuple[str, Path | None]] = [(f"baseline {args.baseline}", code_tree(args.baseline))] if args.baseline else []
    for label, code in [*trees, ("this tree", None)]:
        base, loaded = asyncio.run(run(args.seconds, args.browsers, code))
        keys = ("mc_p50_ms", "mc_p99_ms", "vj_cpu_core")
        ratio = {k: round(loaded[k] / base[k], 2) for k in keys if base[k] and loaded[k]}  # type: ignore[operator]
        report[label] = {"baseline_no_browsers": base, "loaded": loaded, "loaded_over_baseline": ratio}
    if not args.baseline:
        report = report["this tree"]  # type: ignore[assignment]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
