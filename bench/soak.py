"""Soak: the VJ server under a show's churn for minutes; do its memory, descriptors or threads grow?

    python bench/soak.py [--minutes 10] [--every 10] [--djs 2] [--browsers 20] [--slow 3]
                         [--warmup S] [--seed 1] [--out FILE.json]

What an operator runs before a show. ``mcav run pipelines/vj.yaml`` runs in a process of its own, every port
on 127.0.0.1 (free ones, chosen by binding port 0 first; the show file in a temporary folder). Against it, for
``--minutes`` (default 10):

* ``--djs`` DJs (default 2; :class:`bench.wsclients.FakeDJ`) stream at 60 frames/s with heartbeats; each
  session lasts 20-60 s, then the DJ disconnects and comes back 1-5 s later (the live slot changes hands);
* ``--browsers`` lean browser clients (default 20; :class:`bench.wsclients.BrowserClient`), each connecting,
  reading ``state`` for 2-20 s and leaving, over and over (about 2 connections a second with 20);
* ``--slow`` slow readers (default 3): browsers that never read a byte after the handshake and stay 10-60 s,
  long enough for the server's queue drops and its heartbeat timeout (2 missed pongs, ~30-45 s);
* the Minecraft plugin stand-in of ``tests/plugin_standin.py``, connected throughout, counting what it gets;
* every ``--every`` s (default 10): the server's RSS (MiB, ``/proc/PID/status`` VmRSS), open descriptors
  (``/proc/PID/fd``), threads, and its ``/metrics`` counters (frames in/out, drops and losses, clients).

Durations come from a seeded RNG (``--seed``); every wait has a timeout and nothing is synchronised by
sleeping (a session's length and the DJ's frame pacing are clock-paced on purpose). At the end it prints one
row per sample, the least-squares slope per hour of RSS, descriptors and threads over the samples after the
warm-up (``--warmup`` s, default a fifth of the run and at most 120 s: the allocator's arenas, the thread
pools and the kernel's socket buffers settle first), the frames sent, delivered and lost, and whether every
frame is accounted for (DJ server → pattern → Minecraft and browser edges; the Minecraft sink's frames
against the ``batch_update`` messages the stand-in received).

Exit status 1 (the reason printed) when, after the warm-up, a resource grows faster than its limit **and**
by more than its floor over the judged window (the floor keeps a short run's noise from failing it):

=========  ===========  =========  ======================================================================
resource   limit (/h)   floor      why
=========  ===========  =========  ======================================================================
RSS        20 MiB       6 MiB      12 h at the limit is 240 MiB on a ~100 MiB process: a show survives it,
                                   while 1 KiB kept per connection at this churn (~8000/h) already nears it
FDs        20           6          one descriptor kept per connection would be thousands an hour; 20/h
                                   allows the noise of clients coming and going between samples
threads    6            3          the thread count is fixed once the pools have started
=========  ===========  =========  ======================================================================

It also exits 1 when, with every client gone at the end, the server holds more descriptors (+4) or threads
(+2) than with none connected at the start, when frames go missing between counters (more than 0.1 %), or
when the server dies or does not stop cleanly on SIGINT within 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.common import free_port, metrics, proc_resources, stop_server, wait_listening  # noqa: E402
from bench.vj_minecraft import _mcav  # noqa: E402
from bench.wsclients import BrowserClient, FakeDJ  # noqa: E402
from plugin_standin import PluginStandIn  # noqa: E402

__all__ = ["LIMITS", "main", "slope_per_hour", "soak"]

#: resource → (limit per hour, floor over the judged window); see the module's docstring for why.
LIMITS = {"rss_mb": (20.0, 6.0), "fds": (20.0, 6.0), "threads": (6.0, 3.0)}
#: How many more descriptors / threads the idle server may hold at the end than at the start.
IDLE_SLACK = {"fds": 4, "threads": 2}
DJ_SESSION_S, DJ_PAUSE_S, BROWSER_S, SLOW_S = (20.0, 60.0), (1.0, 5.0), (2.0, 20.0), (10.0, 60.0)
_M = 'mcav_node_frames_{}_total{{node="{}",kind="{}"}}'
#: The sockets the DJ and browser servers hold open (handshakes included).
OPEN = {n: f'mcav_security_events{{node="{n}",kind="{k}",event="connections_open"}}'
        for n, k in (("djs", "dj_server"), ("web", "browser"))}
#: Columns of the table: label → the /metrics sample (summed over every sample starting with it).
COLUMNS = {
    "DJs": "mcav_connected_djs{", "brw": "mcav_connected_browsers{", "mc": "mcav_minecraft_connected{",
    "dj conns": "mcav_dj_connections_total{", "brw conns": "mcav_browser_connections_total{",
    "djs out": _M.format("out", "djs", "dj_server"), "mc in": _M.format("in", "mc", "minecraft"),
    "web in": _M.format("in", "web", "browser"), "lost": "mcav_node_frames_lost_total{",
    "edge drops": "mcav_edge_drops_total{",
    "hb timeouts": 'mcav_security_events{node="web",kind="browser",event="heartbeat_timeouts"}',
}


class CountingPlugin(PluginStandIn):
    """The plugin stand-in, counting messages by type instead of keeping them (a soak would keep gigabytes)."""

    def __init__(self) -> None:
        super().__init__(port=0, shared_dir=None, max_entities=1024)
        self.counts: Counter[str] = Counter()

    def _record(self, text: str) -> dict[str, Any] | None:
        msg = super()._record(text)
        with self._cond:
            self.messages.clear()
            self.arrivals.clear()
            self.counts[str(msg.get("type")) if msg else "invalid"] += 1
        return msg


class SlowReader(BrowserClient):
    """A browser that stops reading once its handshake is done (a stalled tab on a bad network)."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.open.is_set() and self._transport is not None:
            self._transport.pause_reading()


async def hold(stop: asyncio.Event, seconds: float) -> None:
    """Stay ``seconds`` (a session's length), or less if the soak ends meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def dj_sessions(url: str, dj_id: str, rng: random.Random, stop: asyncio.Event, tally: Counter[str]) -> None:
    """One DJ coming and going until ``stop``: sessions of 20-60 s at 60 frames/s, 1-5 s apart."""
    while not stop.is_set():
        dj = FakeDJ(url, dj_id, 60.0)
        dj.start()
        try:
            await asyncio.wait_for(dj.authed.wait(), 10)
            tally["dj sessions"] += 1
            await hold(stop, rng.uniform(*DJ_SESSION_S))
        except TimeoutError:
            tally["dj refused"] += 1  # e.g. 4005: the server still held the last session of this id
        await asyncio.wait_for(dj.stop(), 15)
        tally["dj frames sent"] += len(dj.sent)
        await hold(stop, rng.uniform(*DJ_PAUSE_S))


async def browser_sessions(port: int, rng: random.Random, stop: asyncio.Event, tally: Counter[str],
                           slow: bool = False) -> None:
    """One browser slot coming and going until ``stop`` (a slow reader's sessions with ``slow``)."""
    kind, span = ("slow", SLOW_S) if slow else ("browser", BROWSER_S)
    while not stop.is_set():
        try:
            client = await (SlowReader if slow else BrowserClient).connect("127.0.0.1", port)
        except (OSError, TimeoutError):
            tally[f"{kind} connect failures"] += 1
            await hold(stop, 1.0)
            continue
        tally[f"{kind} sessions"] += 1
        await hold(stop, rng.uniform(*span))
        tally["states received"] += client.messages
        client.close()


def slope_per_hour(t_s: list[float], ys: list[float]) -> float:
    """Least-squares slope of ``ys`` over ``t_s`` (seconds), per hour; 0.0 with fewer than 2 points."""
    if len(t_s) < 2 or max(t_s) == min(t_s):
        return 0.0
    return float(np.polyfit(np.asarray(t_s, float), np.asarray(ys, float), 1)[0]) * 3600


def _sum(sample: dict[str, float], prefix: str) -> float:
    return sum(v for k, v in sample.items() if k.startswith(prefix))


def unaccounted(m: dict[str, float], batches: int) -> dict[str, float]:
    """Frames each hop cannot account for: out − in − dropped − decimated − waiting, and the Minecraft sink's
    frames against the ``batch_update`` messages the stand-in received (0 everywhere when nothing is lost)."""
    out: dict[str, float] = {}
    nodes = {"djs": "dj_server", "viz": "pattern", "mc": "minecraft", "web": "browser"}
    for a, b in (("djs", "viz"), ("viz", "mc"), ("viz", "web")):
        edge = f'{{edge="{a}.out->{b}.in"}}'
        out[f"{a} → {b}"] = (m.get(_M.format("out", a, nodes[a]), 0) - m.get(_M.format("in", b, nodes[b]), 0)
                            - m.get("mcav_edge_drops_total" + edge, 0) - m.get("mcav_edge_decimated_total" + edge, 0)
                            - m.get("mcav_edge_fill" + edge, 0))
    mc_lost = _sum(m, 'mcav_node_frames_lost_total{node="mc"')
    out["mc → plugin"] = m.get(_M.format("in", "mc", "minecraft"), 0) - mc_lost - batches
    return out


async def settle(admin: int, timeout: float = 15.0) -> dict[str, float]:
    """The server's /metrics once it counts no DJ and no browser connected (or after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while True:
        m = await asyncio.to_thread(metrics, admin)
        busy = [_sum(m, p) for p in ("mcav_connected_djs{", "mcav_connected_browsers{", *OPEN.values())]
        if (m and not any(busy)) or time.monotonic() > deadline:
            return m
        await asyncio.sleep(0.2)  # polling a counter, with a deadline


def _row(t: float, res: dict[str, float], m: dict[str, float]) -> dict[str, float]:
    return {"t_s": round(t, 1), **{k: round(v, 1) for k, v in res.items()},
            **{label: _sum(m, prefix) for label, prefix in COLUMNS.items()}}


def table(rows: list[dict[str, float]]) -> str:
    """The samples as a fixed-width table, one row per sample."""
    cols = list(rows[0])
    width = {c: max(len(c), *(len(f"{r[c]:g}") for r in rows)) for c in cols}
    lines = ["  ".join(c.rjust(width[c]) for c in cols)]
    lines += ["  ".join(f"{r[c]:g}".rjust(width[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def judge(rows: list[dict[str, float]], warmup: float, idle0: dict[str, float], idle1: dict[str, float],
          missing: dict[str, float], frames: float) -> tuple[dict[str, Any], list[str]]:
    """The slopes after the warm-up, and every way the run failed (empty: it passed)."""
    late = [r for r in rows if r["t_s"] >= warmup]
    t = [r["t_s"] for r in late]
    window_h = (t[-1] - t[0]) / 3600 if len(t) > 1 else 0.0
    slopes, failures = {}, []
    for res, (limit, floor) in LIMITS.items():
        slope = slopes[res] = round(slope_per_hour(t, [r[res] for r in late]), 2)
        if slope > limit and slope * window_h > floor:
            failures.append(f"{res} grows {slope:g}/h after the warm-up (limit {limit:g}/h; "
                            f"+{slope * window_h:.1f} over {window_h * 60:.1f} min, floor {floor:g})")
    for res, slack in IDLE_SLACK.items():
        if idle1[res] - idle0[res] > slack:
            failures.append(f"idle {res}: {idle0[res]:g} with no client at the start, {idle1[res]:g} at the end")
    for hop, n in missing.items():
        if abs(n) > max(3.0, frames * 0.001):
            failures.append(f"{hop}: {n:g} frames unaccounted for")
    return {"slopes_per_h": slopes, "judged_samples": len(late), "judged_min": round(window_h * 60, 2)}, failures


async def soak(minutes: float, every: float, n_djs: int, n_browsers: int, n_slow: int, warmup: float,
               seed: int) -> tuple[dict[str, Any], list[str]]:
    """Run the soak; return its report and its failures (empty: the server passed)."""
    rng, tally, stop = random.Random(seed), Counter[str](), asyncio.Event()
    tmp = Path(tempfile.mkdtemp(prefix="mcav-soak-"))
    plugin = CountingPlugin().start()
    dj_port, web_port, admin = free_port(), free_port(), free_port()
    sets = [f"djs.port={dj_port}", f"web.port={web_port}", f"admin.port={admin}", "osc.port=0",
            *(f"{n}.host=127.0.0.1" for n in ("djs", "web", "admin", "osc", "mc")), f"mc.port={plugin.port}",
            f"show.state_file={tmp / 'vj.show.yaml'}"]
    proc = _mcav(ROOT / "pipelines" / "vj.yaml", sets, ["--fresh"], None, tmp / "vj.log")
    tasks: list[asyncio.Task[None]] = []
    rows: list[dict[str, float]] = []
    failures: list[str] = []
    try:
        for port in (dj_port, web_port, admin):
            await wait_listening(port, proc)
        if not await asyncio.to_thread(plugin.wait_for, lambda: plugin.counts["batch_update"] > 0, 20):
            raise RuntimeError(f"no batch_update reached the plugin stand-in (see {tmp / 'vj.log'})")
        idle0 = proc_resources(proc.pid)
        t0 = time.monotonic()
        spawn: list[Callable[[], Any]] = [
            *(lambda i=i: dj_sessions(f"ws://127.0.0.1:{dj_port}", f"soak_dj_{i}", rng, stop, tally)
              for i in range(n_djs)),
            *(lambda: browser_sessions(web_port, rng, stop, tally) for _ in range(n_browsers)),
            *(lambda: browser_sessions(web_port, rng, stop, tally, slow=True) for _ in range(n_slow))]
        tasks = [asyncio.ensure_future(make()) for make in spawn]
        t_next = 0.0
        while (t := time.monotonic() - t0) <= minutes * 60 + 1e-6:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode} after {t:.0f} s (see {tmp / 'vj.log'})")
            rows.append(_row(t, proc_resources(proc.pid), await asyncio.to_thread(metrics, admin)))
            print(f"soak: {t:6.0f} s  RSS {rows[-1]['rss_mb']:g} MiB  FDs {rows[-1]['fds']:g}  "
                  f"threads {rows[-1]['threads']:g}  browsers {rows[-1]['brw']:g}", file=sys.stderr, flush=True)
            t_next += every
            await asyncio.sleep(max(0.0, t_next - (time.monotonic() - t0)))  # the sampling clock
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        final = await settle(admin)
        idle1 = proc_resources(proc.pid)
        missing = unaccounted(final, plugin.counts["batch_update"])
        frames = final.get(_M.format("out", "djs", "dj_server"), 0)
        verdict, failures = judge(rows, warmup, idle0, idle1, missing, frames)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await stop_server(proc)
        plugin.stop()
    if proc.returncode != 0:
        failures.append(f"the server exited with {proc.returncode} on SIGINT (see {tmp / 'vj.log'})")
    report = {"minutes": round((time.monotonic() - t0) / 60, 2), "every_s": every, "warmup_s": warmup,
              "samples": rows, **verdict, "idle_start": idle0, "idle_end": idle1, "unaccounted": missing,
              "frames": {"dj frames sent": tally.pop("dj frames sent", 0), "djs out": frames,
                         "mc in": final.get(_M.format("in", "mc", "minecraft"), 0),
                         "batch_update at the plugin": plugin.counts["batch_update"],
                         "web in": final.get(_M.format("in", "web", "browser"), 0),
                         **{k.split("{")[1].rstrip("}"): v for k, v in final.items()
                            if k.startswith(("mcav_node_frames_lost_total{", "mcav_edge_drops_total{")) and v}},
              "sessions": dict(tally), "plugin": dict(plugin.counts), "log": str(tmp / "vj.log")}
    return report, failures


def summary(report: dict[str, Any], failures: list[str]) -> str:
    """What ``main`` prints: the table, the slopes, the frames and the verdict."""
    rows = report["samples"]
    first, last = rows[0], rows[-1]
    lines = [table(rows), ""]
    for res, unit in (("rss_mb", "MiB"), ("fds", ""), ("threads", "")):
        lines.append(f"{res:>8}: {first[res]:g} → {last[res]:g} {unit}; slope after the {report['warmup_s']:g} s warm-up "
                     f"{report['slopes_per_h'][res]:+g} {unit}/h (limit {LIMITS[res][0]:g}); idle "
                     f"{report['idle_start'][res]:g} → {report['idle_end'][res]:g}")
    lines.append("frames: " + ", ".join(f"{k} {v:g}" for k, v in report["frames"].items()))
    lines.append("unaccounted: " + ", ".join(f"{k} {v:g}" for k, v in report["unaccounted"].items()))
    lines.append("sessions: " + ", ".join(f"{k} {v}" for k, v in sorted(report["sessions"].items())))
    lines.append(f"soak: {report['minutes']:g} min: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the soak, print the table and the verdict; exit 1 when the server failed it."""
    ap = argparse.ArgumentParser(prog="python bench/soak.py", description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="how long the load runs (default 10)")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples (default 10)")
    ap.add_argument("--djs", type=int, default=2, help="DJs coming and going (default 2)")
    ap.add_argument("--browsers", type=int, default=20, help="browsers coming and going (default 20)")
    ap.add_argument("--slow", type=int, default=3, help="slow readers that never read (default 3)")
    ap.add_argument("--warmup", type=float, help="seconds not judged at the start (default: a fifth, at most 120)")
    ap.add_argument("--seed", type=int, default=1, help="the sessions' random lengths (default 1)")
    ap.add_argument("--out", type=Path, help="also write the report as JSON here")
    a = ap.parse_args(argv)
    warmup = a.warmup if a.warmup is not None else min(120.0, a.minutes * 60 / 5)
    try:
        report, failures = asyncio.run(soak(a.minutes, a.every, a.djs, a.browsers, a.slow, warmup, a.seed))
    except (RuntimeError, TimeoutError) as exc:
        print(f"soak: FAIL: {exc!r}")
        return 1
    if a.out is not None:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps({**report, "failures": failures}, indent=2))
    print(summary(report, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
