"""DJ link on loopback: frames/s sustained per DJ and DJ→VJ frame latency p50/p99.

    python -m bench.dj_latency [--seconds 5] [--djs 1 4 8] [--fps 60]

The DJs run in a child process (``DJRelay`` clients, one per DJ, each sending
``fps`` frames/s stamped with their send time); the VJ graph (``dj_server`` →
``async_collect``) runs in this process. Latency is measured at the VJ graph's
consumer from the DJ's capture stamp (corrected by the handshake's clock
offset): wire + parsing + sanitising + one ring hop. Only the active DJ's
frames reach the graph; the others are still received, rate-limited and
sanitised, which is the load.

Baseline, measured in the same run: a bare ``websockets`` server receiving the
same JSON frames from the same kind of child process (no mcav), latency
``time.time() - ts`` on arrival. The report gives mcav's figures as ratios of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np

from mcav.runtime.compile import compile_text
from mcav.runtime.engine import Runtime

__all__ = ["dj_link", "main"]

VJ_GRAPH = """
graph: bench-vj
nodes:
  djs:  {kind: dj_server, host: 127.0.0.1, port: 0, max_djs: 64}
  sink: {kind: async_collect, in: {from: djs, queue: {slots: 64}}, max_frames: 16}
"""


# -- the child process: DJ clients ------------------------------------------------------------------


async def _clients(url: str, n: int, fps: float, seconds: float, raw: bool) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    from mcav.nodes.dj.relay import DJRelay, DJRelayConfig
    from mcav.runtime.frames import Features, now_ns

    rng = np.random.default_rng(0)
    bands = [float(x) for x in rng.random(5)]
    sent = [0] * n

    async def pace(send: Any, i: int) -> None:
        period, t_next = 1.0 / fps, time.perf_counter()
        end = t_next + seconds
        while t_next < end:
            if await send(i):
                sent[i] += 1
            t_next += period
            await asyncio.sleep(max(0.0, t_next - time.perf_counter()))

    if raw:
        socks = [await connect(url, proxy=None, compression=None) for _ in range(n)]

        async def send_raw(i: int) -> bool:
            msg = {"type": "dj_audio_frame", "seq": sent[i], "ts": time.time(), "bands": bands, "peak": 0.5,
                   "beat": False, "beat_i": 0.0, "bpm": 128.0, "tempo_conf": 0.5, "beat_phase": 0.5,
                   "i_bass": 0.1, "i_kick": False}
            await socks[i].send(json.dumps(msg, separators=(",", ":")))
            return True

        await asyncio.gather(*(pace(send_raw, i) for i in range(n)))
        for s in socks:
            await s.close()
        return {"sent": sent}

    relays = [DJRelay(DJRelayConfig(url, dj_id=f"dj_{i}", dj_name=f"DJ {i}")) for i in range(n)]
    tasks = [asyncio.ensure_future(r.run()) for r in relays]
    while not all(r.connected for r in relays):
        await asyncio.sleep(0.01)

    async def send_mcav(i: int) -> bool:
        f = Features(seq=sent[i], t_capture=now_ns(), bands=np.asarray(bands, np.float32), peak=0.5, bpm=128.0)
        return await relays[i].send_frame(f)

    await asyncio.gather(*(pace(send_mcav, i) for i in range(n)))
    for r in relays:
        await r.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"sent": sent}


def _spawn(url: str, n: int, fps: float, seconds: float, raw: bool) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "bench.dj_latency", "--child", url, str(n), str(fps), str(seconds)]
    return subprocess.Popen(cmd + (["--raw"] if raw else []), stdout=subprocess.PIPE, text=True)


# -- the VJ side ---------------------------------------------------------------------------------------


def _mcav_run(n: int, fps: float, seconds: float) -> dict[str, Any]:
    from mcav.nodes.dj.server import DJServer

    rt = Runtime(compile_text(VJ_GRAPH, "bench-vj.yaml"))
    rt.start()
    try:
        djs = rt.node("djs")
        assert isinstance(djs, DJServer), f"VJ_GRAPH's djs is a dj_server node, not {type(djs).__name__}"
        djs.ready.wait(5)
        child = _spawn(f"ws://127.0.0.1:{djs.port}", n, fps, seconds, raw=False)
        while djs.status()["current_djs"] < n and child.poll() is None:
            time.sleep(0.01)
        t0, before = time.perf_counter(), {k: v["frames"] for k, v in djs.status()["djs"].items()}
        time.sleep(seconds * 0.9)
        st = djs.status()
        elapsed = time.perf_counter() - t0
        rates = [(st["djs"][k]["frames"] - before.get(k, 0)) / elapsed for k in st["djs"]]
        sink = rt.snapshot().nodes["sink"]
        child.communicate(timeout=seconds + 30)
        return {"fps_min": min(rates), "fps_mean": float(np.mean(rates)), "p50": sink.latency_p50_ms,
                "p99": sink.latency_p99_ms, "dropped": st["dropped_rate_limit"] + st["dropped_invalid"]}
    finally:
        rt.shutdown()


def _baseline_run(n: int, fps: float, seconds: float) -> dict[str, Any]:
    from websockets.asyncio.server import serve

    lat: list[float] = []
    ready, done, port = threading.Event(), threading.Event(), [0]

    async def handler(ws: Any) -> None:
        async for raw in ws:
            lat.append((time.time() - json.loads(raw)["ts"]) * 1000.0)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, compression=None) as server:
            port[0] = server.sockets[0].getsockname()[1]
            ready.set()
            await asyncio.to_thread(done.wait)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    ready.wait(5)
    _spawn(f"ws://127.0.0.1:{port[0]}", n, fps, seconds, raw=True).communicate(timeout=seconds + 30)
    done.set()
    thread.join(5)
    p50, p99 = np.percentile(lat, [50, 99]) if lat else (float("nan"), float("nan"))
    return {"p50": float(p50), "p99": float(p99), "fps_mean": len(lat) / n / seconds}


def measure(djs: list[int], fps: float, seconds: float) -> list[dict[str, Any]]:
    """One row per DJ count: mcav figures, baseline figures and their ratios."""
    rows = []
    for n in djs:
        m, b = _mcav_run(n, fps, seconds), _baseline_run(n, fps, seconds)
        rows.append({"djs": n, "fps": fps, **{f"mcav_{k}": v for k, v in m.items()},
                     **{f"base_{k}": v for k, v in b.items()},
                     "ratio_p50": m["p50"] / b["p50"] if b["p50"] else None,
                     "ratio_p99": m["p99"] / b["p99"] if b["p99"] else None})
    return rows


def dj_link(quick: bool) -> Any:
    """The path for ``bench.run``: a :class:`bench.common.Result`."""
    from .common import Result

    rows = measure([1, 4] if quick else [1, 4, 8], 60.0, 2.0 if quick else 5.0)
    return Result(
        key="dj_link", title="DJ link: DJ → VJ on loopback", what=__doc__.split("\n\n", 2)[2].strip(),
        columns=["DJs", "fps/DJ min", "fps/DJ mean", "p50 ms", "p99 ms", "bare ws p50", "bare ws p99",
                 "×p50", "×p99"],
        rows=[[r["djs"], f"{r['mcav_fps_min']:.1f}", f"{r['mcav_fps_mean']:.1f}", f"{r['mcav_p50']:.2f}",
               f"{r['mcav_p99']:.2f}", f"{r['base_p50']:.2f}", f"{r['base_p99']:.2f}",
               f"{r['ratio_p50']:.2f}", f"{r['ratio_p99']:.2f}"] for r in rows],
        headline={"DJ→VJ p50/p99 (1 DJ, 60 fps)": f"{rows[0]['mcav_p50']:.2f} / {rows[0]['mcav_p99']:.2f} ms"},
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: print a table (or, with ``--child``, run the DJ clients)."""
    ap = argparse.ArgumentParser(prog="python -m bench.dj_latency", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--djs", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--child", nargs=4, metavar=("URL", "N", "FPS", "SECONDS"), help=argparse.SUPPRESS)
    ap.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        url, n, fps, secs = a.child
        print(json.dumps(asyncio.run(_clients(url, int(n), float(fps), float(secs), a.raw))))
        return 0
    print(f"{'DJs':>3} {'fps/DJ min':>10} {'mean':>6} {'p50 ms':>7} {'p99 ms':>7} {'ws p50':>7} {'ws p99':>7} "
          f"{'x p50':>6} {'x p99':>6}")
    for r in measure(a.djs, a.fps, a.seconds):
        print(f"{r['djs']:>3} {r['mcav_fps_min']:>10.1f} {r['mcav_fps_mean']:>6.1f} {r['mcav_p50']:>7.2f} "
              f"{r['mcav_p99']:>7.2f} {r['base_p50']:>7.2f} {r['base_p99']:>7.2f} {r['ratio_p50']:>6.2f} "
              f"{r['ratio_p99']:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
