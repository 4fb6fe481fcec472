"""Shared pieces of the benchmark paths: results, graph runs, CDFs, CPU time, subprocesses.

Every path returns a :class:`Result`; :mod:`bench.report` turns a list of them
into ``report.md`` and PNG figures. Latencies are in ms throughout.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from mcav.runtime.compile import CompiledGraph, compile_text
from mcav.runtime.engine import Runtime
from mcav.runtime.metrics import Histogram, Snapshot

__all__ = [
    "code_env",
    "code_tree",
    "wait_listening",
    "CDF_QS",
    "GRAPHS",
    "Curve",
    "Result",
    "Unavailable",
    "cdf_of",
    "cpu_ticks",
    "free_port",
    "graph",
    "metrics",
    "percentiles",
    "proc_cpu_s",
    "proc_resources",
    "run_graph",
    "spawn_mcav",
    "stop_server",
    "reap",
    "save_json",
]

ROOT = Path(__file__).resolve().parent.parent
#: The benchmark graphs (``bench/graphs/*.yaml``).
GRAPHS = Path(__file__).resolve().parent / "graphs"
#: Percentiles (0-100) sampled from a histogram to draw its CDF.
CDF_QS = tuple(float(q) for q in np.linspace(0, 100, 201))


class Unavailable(Exception):
    """A path cannot run here (a node kind or a helper is missing); reported, not a failure."""


@dataclass
class Curve:
    """A latency-vs-load series: ``x`` (load), p50 and p99 in ms at each x."""

    label: str
    x: list[float]
    p50: list[float | None]
    p99: list[float | None]


@dataclass
class Result:
    """What one measured path produced.

    Attributes:
        key: Short id, used for figure file names.
        title: Heading in the report.
        what: One paragraph: what is measured, from where to where, and the baseline.
        columns: Table header.
        rows: Table rows (already formatted or numbers).
        cdfs: Label → latency samples in ms (drawn as CDFs).
        curves: Latency-vs-load series (x label, curves).
        notes: Extra lines under the table (caveats, what was not measured).
        headline: Key → value for the summary at the top of the report.
    """

    key: str
    title: str
    what: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    cdfs: dict[str, list[float]] = field(default_factory=dict)
    curves: tuple[str, list[Curve]] | None = None
    notes: list[str] = field(default_factory=list)
    headline: dict[str, str] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)


def graph(name: str, overrides: Iterable[str] = ()) -> CompiledGraph:
    """Compile ``bench/graphs/NAME.yaml`` with ``--set``-style overrides."""
    path = GRAPHS / f"{name}.yaml"
    return compile_text(path.read_text(), str(path), tuple(overrides))


def cdf_of(h: Histogram) -> list[float]:
    """The latency distribution of a histogram's window, as :data:`CDF_QS` percentiles (ms)."""
    vals = h.percentiles_ms(*CDF_QS)
    return [float(v) for v in vals if v is not None]


def percentiles(samples: Iterable[float], qs: tuple[float, ...] = (50, 99)) -> list[float | None]:
    """Percentiles of raw samples (ms); None for an empty sample."""
    arr = np.asarray(list(samples), dtype=float)
    if arr.size == 0:
        return [None for _ in qs]
    return [float(v) for v in np.percentile(arr, qs)]


def run_graph(
    g: CompiledGraph, seconds: float, during: Any = None, until_done: bool = False
) -> tuple[Runtime, Snapshot, float, float]:
    """Run ``g`` in this process for ``seconds`` (or until its sources end).

    Args:
        during: Optional object with ``start(runtime)`` and ``close()`` run
            alongside (e.g. a dashboard).

    Returns:
        The runtime (stopped), its last snapshot, wall seconds and CPU seconds of this process.
    """
    rt = Runtime(g)
    c0, t0 = time.process_time(), time.perf_counter()
    rt.start()
    extra = during.start(rt) if during is not None else None
    try:
        if until_done:
            rt.wait(seconds)
        else:
            rt.stop_event.wait(seconds)
        snap = rt.snapshot()
    finally:
        if extra is not None:
            extra.close()
        rt.shutdown()
    return rt, snap, time.perf_counter() - t0, time.process_time() - c0


def proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_resources(pid: int) -> dict[str, float]:
    """``rss_mb`` (resident MiB), ``fds`` (open file descriptors) and ``threads`` of process ``pid`` (Linux ``/proc``)."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"rss_mb": int(status["VmRSS"].split()[0]) / 1024, "fds": float(len(os.listdir(f"/proc/{pid}/fd"))),
            "threads": float(status["Threads"])}


def metrics(admin_port: int, timeout: float = 5.0) -> dict[str, float]:
    """Every sample of the ``/metrics`` of the ``admin_http`` node on 127.0.0.1:``admin_port``, by name and labels
    (``'mcav_node_fps{node="viz",kind="pattern"}'`` → 57.3); ``{}`` when it does not answer within ``timeout`` s."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=timeout) as r:
            text = r.read().decode()
    except OSError:
        return {}
    return {k: float(v) for k, _, v in (ln.rpartition(" ") for ln in text.splitlines()) if k and not k.startswith("#")}


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far, from ``/proc/stat``; (0, 0) where it is absent."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_mcav(graph_name: str, overrides: Iterable[str], log: Path, code: Path | None = None,
               trace: Path | None = None, own_graph: bool = False,
               args: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """``mcav run bench/graphs/NAME.yaml --no-dashboard`` as a subprocess, its log to ``log``.

    ``code``: run the mcav of that tree (:func:`code_tree`, a baseline) on this tree's graph file.
    ``trace``: run it under :mod:`bench.hoptrace` (this tree's bench), which writes its per-hop times there.
    ``own_graph``: with ``code``, that tree's graph file (when it has one), for a change that is in the graph.
    ``args``: more ``mcav run`` options (e.g. ``--realtime``).
    """
    # The probe is this tree's file (it imports only mcav: the baseline's, when ``code`` is given).
    probe = [str(ROOT / "bench" / "hoptrace.py"), str(trace)] if trace is not None else ["-m", "mcav.runtime.cli"]
    env = code_env(code)
    graph = GRAPHS / f"{graph_name}.yaml"
    if own_graph and code is not None and (code / "bench" / "graphs" / graph.name).exists():
        graph = code / "bench" / "graphs" / graph.name
    cmd = [sys.executable, *probe, "--log-level", "WARNING", "run", str(graph)]
    for o in overrides:
        cmd += ["--set", o]
    cmd += ["--no-dashboard", "--stats-interval", "3600", *args]
    with log.open("ab") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=code or ROOT, env=env)


def wait_port(port: int, timeout: float = 10.0) -> bool:
    """Wait until something listens on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


async def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Wait until something accepts TCP connections on ``port`` (the benchmarked server ``proc`` is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


async def stop_server(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a benchmarked ``mcav run`` as Ctrl-C does; kill it if it has not exited after ``timeout`` s."""
    proc.send_signal(signal.SIGINT)
    try:
        await asyncio.to_thread(proc.wait, timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def reap(proc: subprocess.Popen[bytes], timeout: float, terminate: bool = False) -> None:
    """Wait up to ``timeout`` s for ``proc`` to exit (sent SIGTERM first with ``terminate``); kill it if it has not."""
    if terminate:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def save_json(path: Path, report: Any) -> None:
    """Write a benchmark's JSON report to ``path`` (folders created) and print it."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


def code_tree(rev: str) -> Path:
    """The tree of git revision ``rev`` in a temporary directory, to run a baseline with the old code.

    It holds ``_pkg/mcav/{runtime,nodes}`` so that :func:`code_env` can put that ``mcav`` first on the path.
    """
    out = Path(tempfile.mkdtemp(prefix="mcav-baseline-"))
    atexit.register(shutil.rmtree, out, True)  # removed when this process ends
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    pkg = out / "_pkg" / "mcav"
    pkg.mkdir(parents=True)
    for sub in ("runtime", "nodes"):
        (pkg / sub).symlink_to(out / sub)
    return out


def code_env(tree: Path | None, env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) for a child that runs the code of ``tree`` (None: this tree)."""
    env = dict(os.environ if env is None else env)
    if tree is not None:
        # No empty entry: it would stand for the working directory, and from the clone's root that
        # directory's own `mcav` package would win over the namespace in `_pkg` (the baseline ran this tree).
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tree / "_pkg"), env.get("PYTHONPATH", "")) if p)
    return env

