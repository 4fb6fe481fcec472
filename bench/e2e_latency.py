"""End-to-end latency: a noise burst enters the sound card → the first visible change in a browser and in Minecraft.

    python -m bench.e2e_latency [--bursts 100] [--configs defaults,low_latency] [--topologies one,two]
                                [--baseline REV] [--out bench/out]

The benchmark starts its own PulseAudio server with a null sink (:mod:`bench.pulse`), plays 50 ms noise
bursts into it through a 5 ms playback buffer, 300-400 ms apart, and runs mcav capturing the sink's monitor
with the ``sounddevice`` node, as a show does:

* ``one``: ``pipelines/demo.yaml`` with the synth swapped for ``sounddevice`` (one process);
* ``two``: ``pipelines/dj.yaml`` → ``pipelines/vj.yaml`` (two processes, the DJ link on loopback).

A raw browser client and the plugin stand-in (``tests/plugin_standin.py``) time the first visible change
after each onset (:mod:`bench.e2e_probe`). The breakdown: **capture path** (onset → the capture block holding
it, timed live by a capture stream of the benchmark's own with the same block size and PortAudio latency),
**analysis window** (audio the fft → beat → pattern chain needs after that block before the scene changes
visibly, measured offline on the same bursts with the same code), and **processing + pacing + network** (the
rest, at each percentile).
``--baseline REV`` also runs each configuration with the code of git revision REV (before/after in one run).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "tests")) if p not in sys.path]

# As mcav.bench, never bench: `mcav bench` imports this module from mcav.bench, and its run.py catches
# mcav.bench.common.Unavailable (bench.common's would be another class, and a skipped path would fail).
from mcav.bench.common import Result, Unavailable, code_env, code_tree, free_port, proc_cpu_s  # noqa: E402
from mcav.bench.e2e_probe import BrowserWatcher, CaptureProbe, analysis_delays, first_changes, plugin_frames  # noqa: E402
from mcav.bench.pulse import BurstPlayer, PulseServer, PulseUnavailable  # noqa: E402

__all__ = ["CONFIGS", "Case", "Config", "e2e_latency", "main", "run"]

#: The DJ process's nodes in the two-process topology (the rest belong to the VJ server).
DJ_NODES = ("source", "fft", "beat", "relay")


@dataclass(frozen=True)
class Config:
    """A configuration: ``--set`` overrides by node name, and the code it runs (None = this tree)."""

    label: str
    sets: tuple[str, ...] = ()
    code: Path | None = None

    @functools.cached_property
    def capture(self) -> tuple[int, str | float]:
        """The capture block and PortAudio latency the graph runs with (for the probe): overrides, else the code's."""
        latency: str | float
        if self.code is None:
            from mcav.nodes.audio.capture import Capture

            p = Capture.Params()
            block, latency = p.block, p.latency
        else:
            block, latency = _in_tree(self.code, "from mcav.nodes.audio.capture import Capture as C; "
                                                 "p = C.Params(); print(json.dumps([p.block, p.latency]))")
        for s in self.sets:
            key, _, value = s.partition("=")
            if key == "source.block":
                block = int(value)
            elif key == "source.latency":
                latency = value if value in ("low", "high") else float(value)
        return int(block), latency

    def analysis(self) -> list[float]:
        """The analysis window's delays (ms) on the offline bursts, with this configuration's code and overrides."""
        block = self.capture[0]
        if self.code is None:
            return analysis_delays(self.sets, block)
        return _in_tree(self.code, "from bench.e2e_probe import analysis_delays; "
                                   f"print(json.dumps(analysis_delays({list(self.sets)!r}, {block})))")


def _in_tree(code: Path, script: str) -> Any:
    """What ``script`` (which prints one JSON value last) prints when run with the code of ``code``."""
    out = subprocess.run([sys.executable, "-c", f"import json; {script}"], cwd=code, env=code_env(code),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


#: The low-latency preset (README "End to end"), as `--set` options of `mcav run`: capture blocks of 128 samples,
#: states at up to 120 Hz, the plugin budget at 240/s; the analysis (and so the beat accuracy) is the default's.
LOW_LATENCY = ("source.block=128", "mc.rate=240", "web.state_rate=120", "relay.fps=120")
#: The issue's "block 128, hop 128, fft 512" row: a short window for the beat too (it lowers the beat F-measure).
SHORT_WINDOW = (*LOW_LATENCY, "fft.hop=128", "fft.size=512", "fft.band_hop=128", "fft.band_size=512")
#: The defaults before this benchmark existed, spelled out (for a baseline on this tree's code).
OLD_DEFAULTS = ("source.block=512", "fft.size=1024", "fft.hop=512", "fft.band_size=1024", "fft.band_hop=512",
                "mc.rate=20", "web.state_rate=60", "relay.fps=60")
CONFIGS = {
    "defaults": Config("defaults"),
    "low_latency": Config("low-latency preset", LOW_LATENCY),
    "short_window": Config("block 128, hop 128, fft 512", SHORT_WINDOW),
    "old_defaults": Config("old defaults", OLD_DEFAULTS),
    "block512": Config("defaults, block 512", ("source.block=512",)),
    "capture256": Config("defaults, block 256, latency low", ("source.block=256", "source.latency=low")),
    "state120": Config("defaults, states at up to 120 Hz", ("web.state_rate=120",)),
    "band_hop256": Config("bands at hop 256", ("fft.band_hop=256",)),
    "band_hop512": Config("bands at hop 512", ("fft.band_hop=512",)),
    "one_window": Config("one window (fft 1024/512)", ("fft.band_size=1024", "fft.band_hop=512")),
}


@dataclass
class Case:
    """One configuration in one topology: latencies (ms) per burst at each observer."""

    config: str
    topology: str
    browser: list[float | None]
    plugin: list[float | None]
    capture: list[float | None]
    analysis: list[float]
    cpu: float  # mcav processes, fraction of one core
    extra: dict[str, Any] = field(default_factory=dict)

    def stats(self, target: str) -> dict[str, Any]:
        vals = [v for v in getattr(self, target) if v is not None]
        cap = [v for v in self.capture if v is not None]
        q = (50, 90, 99)
        tot = np.percentile(vals, q) if vals else [np.nan] * 3
        capq = np.percentile(cap, q) if cap else [np.nan] * 3
        anq = np.percentile(self.analysis, q) if self.analysis else [np.nan] * 3
        rest = [t - c - a for t, c, a in zip(tot, capq, anq)]
        r = lambda xs: [round(float(x), 2) for x in xs]  # noqa: E731
        return {"n": len(vals), "of": len(getattr(self, target)), "total": r(tot), "capture": r(capq),
                "analysis": r(anq), "rest": r(rest)}


def _cmd(graph: Path, sets: list[str]) -> list[str]:
    # --fresh: a show saved by an earlier run (pattern, DJ order…) must not change what is measured.
    cmd = [sys.executable, "-m", "mcav.runtime.cli", "--log-level", "WARNING", "run", str(graph), "--fresh"]
    for s in sets:
        cmd += ["--set", s]
    return cmd + ["--no-dashboard", "--stats-interval", "3600"]


def _spawn(cmd: list[str], env: dict[str, str], code: Path | None, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as f:
        return subprocess.Popen(cmd, cwd=code or ROOT, env=code_env(code, env), stdout=f, stderr=subprocess.STDOUT)


def _processes(cfg: Config, topology: str, plugin_port: int, env: dict[str, str], log: Path
               ) -> tuple[list[subprocess.Popen[bytes]], int, int | None]:
    pipes = (cfg.code or ROOT) / "pipelines"
    web, admin = free_port(), free_port()
    show = [f"web.port={web}", f"admin.port={admin}", "mc.host=127.0.0.1", f"mc.port={plugin_port}"]
    if topology == "one":
        sets = ["source.kind=sounddevice", *show, *(s for s in cfg.sets if s.split(".")[0] not in ("relay", "djs"))]
        return [_spawn(_cmd(pipes / "demo.yaml", sets), env, cfg.code, log)], web, admin
    dj_port = free_port()
    # osc.port=0: another mcav on the machine (another engineer's run) may hold the default UDP 7700.
    vj_sets = [f"djs.port={dj_port}", "osc.port=0", *show, *(s for s in cfg.sets if s.split(".")[0] not in DJ_NODES)]
    dj_sets = [f"relay.vj_server_url=ws://127.0.0.1:{dj_port}", *(s for s in cfg.sets if s.split(".")[0] in DJ_NODES)]
    vj = _spawn(_cmd(pipes / "vj.yaml", vj_sets), env, cfg.code, log)
    return [vj, _spawn(_cmd(pipes / "dj.yaml", dj_sets), env, cfg.code, log)], web, None  # dj.yaml has no admin


async def run_case(pulse: PulseServer, player: BurstPlayer, cfg: Config, topology: str, bursts: int,
                   analysis: list[float]) -> Case:
    """Start the graph(s), play ``bursts`` bursts (after 3 warm-up ones), return what each observer saw."""
    from plugin_standin import PluginStandIn

    plugin = PluginStandIn(shared_dir=None, max_entities=1024).start()
    log = Path(tempfile.gettempdir()) / "mcav-bench-e2e.log"
    procs, web, admin = _processes(cfg, topology, plugin.port, pulse.env, log)
    browser, probe = BrowserWatcher(web), None
    try:
        await browser.start()
        batches = lambda: any(m.get("type") == "batch_update" for m in plugin.messages)  # noqa: E731
        ok = await asyncio.to_thread(plugin.wait_for, batches, 20)
        if not ok or any(p.poll() is not None for p in procs):
            raise RuntimeError(f"{cfg.label}/{topology}: the graph did not reach the plugin (see {log})")
        probe = CaptureProbe(*cfg.capture)
        await asyncio.sleep(1.0)
        mark, first, states0 = len(plugin.messages), len(player.onsets), len(browser.frames)
        cpu0 = sum(proc_cpu_s(p.pid) for p in procs)
        t0 = asyncio.get_running_loop().time()
        for _ in range(bursts + 3):
            player.burst()
            await asyncio.sleep(random.uniform(0.30, 0.40))
        dt = asyncio.get_running_loop().time() - t0
        cpu = (sum(proc_cpu_s(p.pid) for p in procs) - cpu0) / dt
        onsets, updates = player.onsets[first + 3 :], plugin_frames(plugin, mark)
        # what the observers received per s: what the CPU went into besides the analysis
        rates = {"states_per_s": round((len(browser.frames) - states0) / dt, 1),
                 "batches_per_s": round(len(updates) / dt, 1),
                 "entities_per_batch": round(sum(v.size // 2 for _, v in updates) / max(1, len(updates)), 1)}
        xruns = None if admin is None else await asyncio.to_thread(_source_xruns, admin)
        return Case(cfg.label, topology, first_changes(onsets, browser.frames), first_changes(onsets, updates),
                    probe.delays(onsets), analysis, round(cpu, 3),
                    {"unsent_probe": sum(v is None for v in probe.delays(onsets)), "xruns": xruns, **rates})
    finally:
        if probe is not None:
            probe.close()
        await browser.stop()
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                await asyncio.to_thread(p.wait, 10)
            except subprocess.TimeoutExpired:
                p.kill()
        plugin.stop()


def _source_xruns(admin: int) -> int | None:
    """The capture node's xruns (overflows and ring drops) from the graph's /metrics."""
    from urllib.request import urlopen

    with urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('mcav_node_xruns_total{node="source"'):
                return int(float(line.rsplit(" ", 1)[1]))
    return None


def run(configs: list[Config], topologies: list[str], bursts: int) -> list[Case]:
    """Every configuration in every topology on one PulseAudio server; baseline and new side by side."""
    cases: list[Case] = []
    with PulseServer() as pulse:
        player = BurstPlayer(pulse)
        try:
            for cfg in configs:
                analysis = cfg.analysis()
                for topo in topologies:
                    print(f"e2e: {cfg.label}, {topo} process(es) …", file=sys.stderr, flush=True)
                    cases.append(asyncio.run(run_case(pulse, player, cfg, topo, bursts, analysis)))
        finally:
            player.close()
    return cases


TOPO = {"one": "one process (demo.yaml)", "two": "dj.yaml → vj.yaml"}
COLUMNS = ["configuration", "topology", "→", "p50 ms", "p90 ms", "p99 ms", "capture p50/p99", "analysis p50/p99",
           "rest p50/p99", "seen", "CPU % (mcav)", "capture xruns", "states/s, batches/s"]


def rows(cases: list[Case]) -> list[list[Any]]:
    """The report table: one row per case and observer."""
    out = []
    for c in cases:
        for target in ("browser", "plugin"):
            s = c.stats(target)
            out.append([c.config, TOPO[c.topology], target, *s["total"],
                        f"{s['capture'][0]} / {s['capture'][2]}", f"{s['analysis'][0]} / {s['analysis'][2]}",
                        f"{s['rest'][0]} / {s['rest'][2]}", f"{s['n']}/{s['of']}", f"{c.cpu * 100:.0f}",
                        "—" if c.extra.get("xruns") is None else c.extra["xruns"],
                        f"{c.extra.get('states_per_s', '—')}, {c.extra.get('batches_per_s', '—')}"])
    return out


def plot(cases: list[Case], path: Path) -> Path:
    """Stacked p50 breakdown per case and observer beside the CDFs of the totals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows_n = 2 * len(cases)
    fig, (bars, cdf) = plt.subplots(1, 2, figsize=(13, max(4.8, 0.32 * rows_n + 1.5)),
                                    gridspec_kw={"width_ratios": [1.2, 1]})
    labels: list[str] = []
    parts: dict[str, list[float]] = {"capture path": [], "analysis window": [], "processing + pacing + network": []}
    colors = {name: f"C{i}" for i, name in enumerate(dict.fromkeys(c.config for c in cases))}
    styles = {("one", "browser"): "-", ("one", "plugin"): "--", ("two", "browser"): "-.", ("two", "plugin"): ":"}
    for c in cases:
        for target in ("browser", "plugin"):
            s = c.stats(target)
            labels.append(f"{c.config}, {'1 proc' if c.topology == 'one' else 'DJ→VJ'} → {target}")
            for k, v in zip(parts, (s["capture"][0], s["analysis"][0], s["rest"][0])):
                parts[k].append(max(0.0, v))
            vals = sorted(v for v in getattr(c, target) if v is not None)
            if vals:
                cdf.plot(vals, np.linspace(0, 1, len(vals)), drawstyle="steps-post", color=colors[c.config],
                         ls=styles[(c.topology, target)], label=labels[-1])
    bottom = np.zeros(len(labels))
    for k, v in parts.items():
        bars.barh(labels, v, left=bottom, label=k)
        bottom += np.asarray(v)
    bars.invert_yaxis()
    bars.set_xlabel("p50 latency (ms)")
    bars.tick_params(axis="y", labelsize=7)
    bars.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    bars.set_title("burst onset → first visible change, p50 breakdown", fontsize=9)
    cdf.axhline(0.99, color="grey", lw=0.8, ls=":")
    cdf.set_xlim(0, 100)
    cdf.set_xlabel("latency (ms; the rare tail beyond 100 ms is off the chart)")
    cdf.set_ylabel("fraction of bursts")
    cdf.grid(alpha=0.3)
    cdf.legend(fontsize=6, loc="lower right")
    cdf.set_title("CDF of the end-to-end latency", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def e2e_latency(quick: bool) -> Result:
    """The bench.run path: defaults and the low-latency preset, one process and DJ → VJ."""
    try:
        cases = run([CONFIGS["defaults"], CONFIGS["low_latency"]], ["one", "two"], 6 if quick else 60)
    except PulseUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    res = Result(key="e2e_latency", title="End to end: sound card → first visible change (browser, plugin)",
                 what=__doc__.split("\n\n")[1].replace("\n", " "), columns=COLUMNS, rows=rows(cases))
    for c in cases:
        for target in ("browser", "plugin"):
            res.cdfs[f"{c.config}, {c.topology}, {target}"] = [v for v in getattr(c, target) if v is not None]
            s = c.stats(target)
            key = f"e2e {c.config}, {TOPO[c.topology]} → {target}, p50 / p99"
            res.headline[key] = f"{s['total'][0]} / {s['total'][2]} ms"
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bursts", type=int, default=100, help="bursts per case (after 3 warm-up ones)")
    ap.add_argument("--configs", default="defaults,low_latency", help=f"comma-separated, of {', '.join(CONFIGS)}")
    ap.add_argument("--topologies", default="one,two", help="one (demo.yaml), two (dj.yaml → vj.yaml)")
    ap.add_argument("--baseline", metavar="REV", help="also run the defaults with the code of git revision REV")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = ap.parse_args(argv)
    sys.setswitchinterval(0.001)
    configs = [CONFIGS[name] for name in args.configs.split(",")]
    if args.baseline:
        configs.insert(0, Config(f"defaults @ {args.baseline}", (), code_tree(args.baseline)))
    cases = run(configs, args.topologies.split(","), args.bursts)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "e2e_latency.json").write_text(json.dumps(
        [{"config": c.config, "topology": c.topology, "cpu_core": c.cpu, "browser": c.stats("browser"),
          "plugin": c.stats("plugin"), **c.extra,
          "per_burst_ms": {"browser": c.browser, "plugin": c.plugin, "capture": c.capture}} for c in cases], indent=2))
    plot(cases, args.out / "e2e_latency.png")
    print("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS))
    for r in rows(cases):
        print("| " + " | ".join(str(x) for x in r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
