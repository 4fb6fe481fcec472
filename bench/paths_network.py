"""Network paths: DJ frame send → ``state`` received by a browser, fan-out, and many DJs.

The VJ server is ``mcav run bench/graphs/vj_browsers.yaml`` in its own process;
the DJs and browsers are the lean clients of :mod:`bench.wsclients` in this
process, so every latency is measured on one monotonic clock. The baseline,
run side by side, is :mod:`bench.relay_baseline`: a bare websockets relay.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import CDF_QS, ROOT, Curve, Result, Unavailable, free_port, proc_cpu_s, spawn_mcav, wait_listening
from .wsclients import BrowserClient, FakeDJ

__all__ = ["dj_to_browser", "fanout", "many_djs"]

FPS = 60.0


@dataclass
class Run:
    """What one scenario measured (latencies in ms, over every client)."""

    latencies: np.ndarray
    sent: int  # frames the active DJ sent in the window
    broadcast: int  # of those, frames at least one browser received
    delivery_min: float  # worst client: share of the broadcast frames it received
    delivery_mean: float
    server_cpu: float  # VJ process CPU, fraction of one core
    bench_cpu: float  # this process (the clients), fraction of one core
    lost: int  # browsers whose connection ended

    def p(self, q: float) -> float | None:
        return float(np.percentile(self.latencies, q)) if self.latencies.size else None

    def cdf(self) -> list[float]:
        return [float(v) for v in np.percentile(self.latencies, CDF_QS)] if self.latencies.size else []


def _start_server(kind: str, dj_port: int, web_port: int, log: Path) -> subprocess.Popen[bytes]:
    if kind == "mcav":
        return spawn_mcav("vj_browsers", [f"djs.port={dj_port}", f"web.port={web_port}"], log)
    with log.open("ab") as f:
        return subprocess.Popen([sys.executable, "-m", "bench.relay_baseline", str(dj_port), str(web_port)],
                                cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)


class Session:
    """One VJ server process with the DJs and browsers connected to it so far.

    Load grows within a session (more browsers, more DJs) and each
    :meth:`measure` covers only its own window, so one server start serves a
    whole series.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.dj_port, self.web_port = free_port(), free_port()
        self.log = Path(tempfile.gettempdir()) / f"mcav-bench-{kind}.log"
        self.proc = _start_server(kind, self.dj_port, self.web_port, self.log)
        self.browsers: list[BrowserClient] = []
        self.djs: list[FakeDJ] = []

    async def __aenter__(self) -> Session:
        await wait_listening(self.dj_port, self.proc)
        await wait_listening(self.web_port, self.proc)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for dj in self.djs:
            await dj.stop()
        for c in self.browsers:
            c.close()
        # mcav stops cleanly on SIGINT; the relay has nothing to clean up and SIGTERM ends it at once
        self.proc.send_signal(signal.SIGINT if self.kind == "mcav" else signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    async def grow(self, browsers: int = 0, djs: int = 0) -> None:
        """Connect browsers up to ``browsers`` and DJs up to ``djs`` in all, then wait for frames to flow."""
        while len(self.browsers) < browsers:  # in batches, so the accept backlog never overflows
            k = min(50, browsers - len(self.browsers))
            self.browsers += await asyncio.gather(*(BrowserClient.connect("127.0.0.1", self.web_port) for _ in range(k)))
        while len(self.djs) < djs:
            dj = FakeDJ(f"ws://127.0.0.1:{self.dj_port}", f"bench_dj_{len(self.djs)}", FPS)
            dj.start()
            self.djs.append(dj)
            if len(self.djs) == 1:  # the first DJ to connect is the active one: its frames reach the browsers
                await asyncio.wait_for(dj.authed.wait(), 10)
        last = self.browsers[-1]
        mark = len(last.arrivals)
        deadline = time.monotonic() + 10
        while len(last.arrivals) <= mark and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if len(last.arrivals) <= mark:
            raise RuntimeError(f"no state message reached browser {len(self.browsers)}")

    async def measure(self, seconds: float, warmup: float) -> Run:
        """Let the current load settle for ``warmup`` s, then measure ``seconds`` s."""
        await asyncio.sleep(warmup)
        clients = list(self.browsers)
        marks = [len(c.arrivals) for c in clients]
        t0, cpu0, own0 = time.monotonic_ns(), proc_cpu_s(self.proc.pid), time.process_time()
        await asyncio.sleep(seconds)
        t1, cpu1, own1 = time.monotonic_ns(), proc_cpu_s(self.proc.pid), time.process_time()
        ends = [len(c.arrivals) for c in clients]
        sent = self.djs[0].sent
        # frames sent inside the window, minus the last 100 ms still in flight when it closed
        window = {sig for sig, t in sent.items() if t0 <= t <= t1 - 100_000_000}
        per_client: list[set[int]] = []
        lat: list[int] = []
        for c, a, b in zip(clients, marks, ends):
            got: set[int] = set()
            for sig, t in c.arrivals[a:b]:
                if sig in window and sig not in got:
                    got.add(sig)
                    lat.append(t - sent[sig])
            per_client.append(got)
        union = set().union(*per_client) if per_client else set()
        shares = [len(g) / len(union) if union else 0.0 for g in per_client]
        wall = (t1 - t0) / 1e9
        return Run(
            latencies=np.asarray(lat, dtype=float) / 1e6, sent=len(window), broadcast=len(union),
            delivery_min=min(shares, default=0.0), delivery_mean=float(np.mean(shares)) if shares else 0.0,
            server_cpu=(cpu1 - cpu0) / wall, bench_cpu=(own1 - own0) / wall, lost=sum(c.lost for c in clients),
        )


def _series(kind: str, steps: list[tuple[int, int]], seconds: float) -> list[Run]:
    """Measure ``(browsers, djs)`` loads in order on one server of ``kind``."""
    try:
        from mcav.runtime.registry import get_kind

        get_kind("browser"), get_kind("dj_server"), get_kind("pattern")
    except Exception as exc:
        raise Unavailable(f"a VJ node kind is missing: {exc}") from exc
    warmup = 0.3 if seconds < 3 else 1.5

    async def go() -> list[Run]:
        runs = []
        async with Session(kind) as session:
            for browsers, djs in steps:
                await session.grow(browsers, djs)
                runs.append(await session.measure(seconds, warmup))
        return runs

    return asyncio.run(go())


def _row(label: object, r: Run) -> list[object]:
    return [label, _f(r.p(50)), _f(r.p(99)), _f(float(r.latencies.max()) if r.latencies.size else None), r.sent,
            f"{r.broadcast / r.sent * 100:.0f}" if r.sent else "—", f"{r.delivery_mean * 100:.1f}",
            f"{r.delivery_min * 100:.1f}", f"{r.server_cpu * 100:.0f}", f"{r.bench_cpu * 100:.0f}", r.lost]


COLUMNS = ["", "p50 ms", "p99 ms", "max ms", "frames sent", "broadcast %", "delivered % mean", "delivered % worst",
           "server CPU %", "clients CPU %", "clients lost"]
LEGEND = (
    "broadcast % = share of the DJ's frames that reached at least one browser (the browser node paces `state` "
    "to 60 Hz by capture time, so a frame closer than 0.8 period to the previous one is skipped); delivered % = "
    "share of the broadcast frames each browser received (per-client queues drop for slow clients). CPU % is of "
    "one core; 'clients' is this benchmark process, which plays every DJ and browser."
)


def dj_to_browser(quick: bool) -> Result:
    """One DJ at 60 fps to one browser: mcav's VJ graph vs a bare websockets relay."""
    seconds = 0.6 if quick else 10.0
    res = Result(
        key="dj_browser",
        title="DJ frame send → state received by a browser (two processes on loopback)",
        what=(
            "A DJ client sends `dj_audio_frame` at 60 fps to the VJ server (`mcav run bench/graphs/vj_browsers.yaml`: "
            "dj_server → pattern (64 entities) → browser); a browser client times each frame's `state` "
            "(matched by a signature in the bands). Baseline side by side: a bare websockets relay "
            f"(`bench/relay_baseline.py`) sending a state of the same size. {seconds:g} s each."
        ),
        columns=["server", *COLUMNS[1:]],
    )
    for kind, label in (("mcav", "mcav VJ graph"), ("relay", "baseline: bare relay")):
        (r,) = _series(kind, [(1, 1)], seconds)
        res.rows.append(_row(label, r))
        res.cdfs[label] = r.cdf()
        if kind == "mcav":
            res.headline["DJ → browser state, p50 / p99"] = f"{_f(r.p(50))} / {_f(r.p(99))} ms"
    res.notes.append(LEGEND)
    return res


def fanout(quick: bool) -> Result:
    """One DJ at 60 fps to 1…500 browsers; latency, delivery and server CPU at each count."""
    counts = [1, 10] if quick else [1, 10, 100, 500, 1000, 2000]
    kinds = ("mcav",) if quick else ("mcav", "relay")  # the smoke run skips the baseline series
    seconds = 0.6 if quick else 8.0
    res = Result(
        key="fanout",
        title="Fan-out: one DJ at 60 fps to N browsers",
        what=(
            "The DJ → browser path with N browsers connected, for mcav and for the bare relay baseline; "
            "latency over every browser's frames. N = 1 is the baseline of each series; browsers are added to the "
            f"same running server from one point to the next. {seconds:g} s per point."
        ),
        columns=["server, N", *COLUMNS[1:]],
    )
    curves = {k: Curve(k, [], [], []) for k in ("mcav", "relay")}
    sustained = 0
    runs = {kind: _series(kind, [(n, 1) for n in counts], seconds) for kind in kinds}
    for i, n in enumerate(counts):
        for kind in kinds:
            r = runs[kind][i]
            res.rows.append(_row(f"{kind}, {n}", r))
            curves[kind].x.append(n)
            curves[kind].p50.append(r.p(50))
            curves[kind].p99.append(r.p(99))
            if kind == "mcav":
                res.cdfs[f"mcav, {n} browsers"] = r.cdf()
                p99 = r.p(99)
                if r.delivery_min >= 0.95 and p99 is not None and p99 < 50 and not r.lost:
                    sustained = max(sustained, n)
    res.curves = ("browsers", [c for c in curves.values() if c.x])
    res.headline["fan-out sustained (every browser ≥ 95 % of frames, p99 < 50 ms)"] = (
        f"{sustained} browsers (tried {', '.join(map(str, counts))})"
    )
    res.notes.append(LEGEND)
    return res


def many_djs(quick: bool) -> Result:
    """1, 5 and 20 DJs streaming at 60 fps; the active one's frames to one browser."""
    counts = [1, 3] if quick else [1, 5, 20]
    seconds = 0.6 if quick else 8.0
    res = Result(
        key="many_djs",
        title="Many DJs at 60 fps (the active DJ's frames to a browser)",
        what=(
            "N DJs connect and all stream at 60 fps; the first is the active DJ whose frames drive the visuals, "
            "the others are parsed, sanitised and tracked in the roster. Latency of the active DJ's frames to "
            f"one browser, and the VJ process's CPU. N = 1 is the baseline; DJs join the same running server from "
            f"one point to the next. {seconds:g} s per point."
        ),
        columns=["DJs", *COLUMNS[1:]],
    )
    curve = Curve("mcav, active DJ", [], [], [])
    for n, r in zip(counts, _series("mcav", [(1, n) for n in counts], seconds)):
        res.rows.append(_row(n, r))
        res.cdfs[f"{n} DJs"] = r.cdf()
        curve.x.append(n)
        curve.p50.append(r.p(50))
        curve.p99.append(r.p(99))
        res.headline[f"{n} DJs: active DJ → browser p50 / p99, VJ CPU"] = (
            f"{_f(r.p(50))} / {_f(r.p(99))} ms, {r.server_cpu * 100:.0f} %"
        )
    res.curves = ("DJs streaming at 60 fps", [curve])
    res.notes.append(LEGEND)
    return res


def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"
