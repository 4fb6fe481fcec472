"""Run every benchmark path and write the report: ``mcav bench [--out DIR] [--quick]``.

Also ``python -m mcav.bench`` (from anywhere) or ``python -m bench.run`` (in the
clone). Writes ``DIR/report.md`` (default: the current folder) with one section per measured
path, PNG figures beside it (latency CDFs, latency-vs-load curves) and the
pytest-benchmark micro-benchmarks of ``bench/test_bench_*.py`` folded in.
The other bench/ scripts (DJ link, VJ → Minecraft, beat accuracy, a 2-minute soak) are run too
and their output is shown verbatim. ``--quick`` is the smoke mode: every path
briefly, no micro-benchmarks and no other scripts, about a second per point;
its figures show that the pipeline works, not the numbers.

Exit status: 0 when the report was written and every path that could run ran;
1 when a path failed (the report lists it); 2, before anything runs, without
matplotlib (the figures need it). A path whose node kinds are not installed is
reported as not run, without failing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from .common import ROOT, Result, Unavailable, cpu_ticks
from .report import write_report

__all__ = ["PATHS", "Unavailable", "main"]


def _paths() -> dict[str, Callable[[bool], Result]]:
    from . import e2e_latency, paths_audio, paths_network, paths_runtime

    return {
        "chain_overhead": paths_runtime.chain_overhead,
        "hop_latency": paths_runtime.hop_latency,
        "dashboard_cost": paths_runtime.dashboard_cost,
        "audio_minecraft": paths_audio.audio_minecraft,
        "dj_browser": paths_network.dj_to_browser,
        "fanout": paths_network.fanout,
        "many_djs": paths_network.many_djs,
        "e2e_latency": e2e_latency.e2e_latency,
    }


#: Names of the measured paths, in report order.
PATHS = (
    "chain_overhead",
    "hop_latency",
    "dashboard_cost",
    "audio_minecraft",
    "dj_browser",
    "fanout",
    "many_djs",
    "e2e_latency",
)
#: Paths the smoke mode leaves out unless named with --only (they need a minute even when short).
SLOW_PATHS = frozenset({"e2e_latency"})


def run_micro(out: Path) -> list[dict[str, Any]]:
    """Run ``bench/test_bench_*.py`` with pytest-benchmark; one dict per benchmark (times in µs)."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bench").glob("test_bench_*.py"))
    if not files:
        return []
    data = out / "micro.json"
    cmd = [sys.executable, "-m", "pytest", *files, "-q", "--benchmark-only", f"--benchmark-json={data}",
           "--benchmark-max-time=0.5", "-p", "no:cacheprovider"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    (out / "micro.log").write_text(proc.stdout + proc.stderr)
    if not data.exists():
        return [{"name": "pytest-benchmark failed (see micro.log)", "group": "error", "median_us": 1.0, "iqr_us": 0.0}]
    benches = json.loads(data.read_text())["benchmarks"]
    return [
        {
            "name": b["name"],
            "group": b.get("group") or b["fullname"].split("::")[0],
            "median_us": b["stats"]["median"] * 1e6,
            "iqr_us": b["stats"]["iqr"] * 1e6,
        }
        for b in benches
    ]


#: Other benchmark scripts in bench/ (each engineer's own), run in full mode and shown verbatim.
OTHERS: tuple[tuple[str, list[str]], ...] = (
    ("DJ link: frames/s and DJ → VJ latency (`python -m bench.dj_latency --seconds 3`)",
     ["-m", "bench.dj_latency", "--seconds", "3"]),
    ("VJ server → Minecraft and browsers (`python bench/vj_minecraft.py --seconds 5`)",
     ["bench/vj_minecraft.py", "--seconds", "5", "--out", "{out}/vj_minecraft.json"]),
    ("Beat tracking accuracy (`python bench/beat_accuracy.py`, needs mir_eval and ../shared)",
     ["bench/beat_accuracy.py"]),
    ("Soak: the VJ server under DJ and browser churn for 2 minutes (`python bench/soak.py --minutes 2 --every 5`; "
     "before a show, run it for 10 or more)",
     ["bench/soak.py", "--minutes", "2", "--every", "5", "--out", "{out}/soak.json"]),
)


def run_others(out: Path) -> list[tuple[str, int, str]]:
    """Run :data:`OTHERS` that exist here; (title, exit status, last lines of output) for each."""
    done = []
    for title, args in OTHERS:
        script = args[1] if args[0] == "-m" else args[0]
        path = ROOT / (script.replace(".", "/") + ".py" if args[0] == "-m" else script)
        if not path.exists():
            continue
        cmd = [sys.executable, *(a.format(out=out) for a in args)]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
            text, code = (proc.stdout + proc.stderr).strip(), proc.returncode
        except subprocess.TimeoutExpired:
            text, code = "timed out after 900 s", -1
        done.append((title, code, "\n".join(text.splitlines()[-40:])))
    return done


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``mcav bench`` / ``python -m mcav.bench``."""
    parser.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                        help="report directory (default: the current folder)")
    parser.add_argument("--quick", action="store_true", help="smoke mode: every path briefly, no micro-benchmarks")
    parser.add_argument("--only", action="append", choices=PATHS, help="run only this path (repeatable)")
    parser.add_argument("--no-micro", action="store_true", help="skip the pytest-benchmark micro-benchmarks")
    parser.add_argument("--no-others", action="store_true", help="skip the other bench/ scripts (dj_latency, …)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m mcav.bench`` and ``python -m bench.run``."""
    parser = argparse.ArgumentParser(prog="python -m mcav.bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return command(parser.parse_args(argv))


def command(args: argparse.Namespace) -> int:
    """Run the benchmarks and write report.md with its figures (into --out, default the current folder).

    Exit status: 0 when every path that could run ran, 1 when one failed, 2 without matplotlib.
    """
    try:
        import matplotlib  # noqa: F401  (the report's figures need it: say so before minutes of measuring)
    except ImportError:
        print("error: mcav bench draws its figures with matplotlib, which is not installed: "
              "pip install 'mcav[bench]' (or pip install matplotlib)", file=sys.stderr)
        return 2
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # as `mcav run` does: short GIL slices keep the audio worker and the I/O loop responsive
    sys.setswitchinterval(0.001)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.error.txt"):
        stale.unlink()
    table = _paths()
    results: list[Result] = []
    skipped: list[str] = []
    failed: list[str] = []
    conditions: list[list[str]] = []
    names = list(args.only or [p for p in PATHS if not (args.quick and p in SLOW_PATHS)])
    micro_on = not (args.quick or args.no_micro)
    others_on = not (args.quick or args.no_others or args.only)
    columns = (TextColumn("bench: {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    progress = Progress(*columns, console=Console(stderr=True))
    task = progress.add_task("", total=len(names) + micro_on + others_on)
    with progress:
        for name in names:
            t0 = time.monotonic()
            busy0, total0 = cpu_ticks()
            progress.update(task, description=name)
            try:
                results.append(table[name](args.quick))
            except Unavailable as exc:
                skipped.append(f"{name}: not run: {exc}")
            except Exception as exc:  # one broken path must not lose the others' figures
                failed.append(f"{name}: FAILED: {exc!r}")
                (out / f"{name}.error.txt").write_text(traceback.format_exc())
            busy1, total1 = cpu_ticks()
            busy = (busy1 - busy0) / (total1 - total0) * 100 if total1 > total0 else float("nan")
            load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
            conditions.append([name, f"{time.monotonic() - t0:.1f}", f"{busy:.0f}", load])
            progress.console.print(f"bench: {name} done in {time.monotonic() - t0:.1f} s", highlight=False)
            progress.advance(task)
        progress.update(task, description="micro-benchmarks (pytest-benchmark)")
        micro = run_micro(out) if micro_on else []
        progress.advance(task, micro_on)
        progress.update(task, description="other bench/ scripts")
        others = run_others(out) if others_on else []
        progress.advance(task, others_on)
        progress.update(task, description="writing the report")
    report = write_report(results, out, args.quick, micro, skipped + failed, conditions, others)
    print(report)
    for line in skipped + failed:
        print(f"bench: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
