"""Failover from a hung live DJ to a standby, and whether the visuals froze meanwhile.

    python -m bench.failover [--repeats 3] [--out bench/out/failover.json]

``mcav run pipelines/vj.yaml`` (its own process) gets two DJs streaming at
60 fps, each in its own process: the first goes live, the second waits as
standby. The live DJ's process is then frozen with SIGSTOP (a hung laptop: its
socket stays open, nothing more is sent). A browser client records every
``state``: the failover time is from the SIGSTOP to the first ``state`` whose
``active_dj`` is the standby; the largest gap between two ``state`` messages
meanwhile says whether the show froze (``idle_fps`` keeps it moving).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench.common import free_port, stop_server, wait_listening, save_json  # noqa: E402
from bench.wsclients import FakeDJ  # noqa: E402


async def dj_main(url: str, dj_id: str) -> None:
    dj = FakeDJ(url, dj_id, 60.0)
    dj.start()
    await asyncio.Event().wait()


async def once(sets: list[str]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    dj_port, web_port, admin_port = free_port(), free_port(), free_port()
    cmd = [sys.executable, "-m", "mcav.runtime.cli", "--log-level", "WARNING", "run", str(ROOT / "pipelines" / "vj.yaml"),
           "--no-dashboard", "--stats-interval", "3600", "--fresh"]  # a saved DJ order must not change failover
    for s in (f"djs.port={dj_port}", "djs.host=127.0.0.1", f"web.port={web_port}", "web.host=127.0.0.1",
              f"admin.port={admin_port}", "admin.host=127.0.0.1", f"mc.port={free_port()}", *sets):
        cmd += ["--set", s]
    vj = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    djs: list[subprocess.Popen[bytes]] = []
    try:
        await wait_listening(dj_port, vj)
        await wait_listening(web_port, vj)
        async with connect(f"ws://127.0.0.1:{web_port}", proxy=None, compression=None, max_size=2**22) as ws:
            async def next_state() -> tuple[float, dict[str, Any]]:
                while True:
                    msg = json.loads(await ws.recv())
                    if msg["type"] == "state":
                        return time.monotonic(), msg

            for dj_id in ("dj_live", "dj_standby"):
                djs.append(subprocess.Popen([sys.executable, "-m", "bench.failover", "--dj", dj_id, "--url",
                                             f"ws://127.0.0.1:{dj_port}"], cwd=ROOT))
                while (await next_state())[1].get("active_dj") != "dj_live":
                    pass
            t_end = time.monotonic() + 2.0  # both connected, dj_live on air
            while time.monotonic() < t_end:
                await next_state()
            djs[0].send_signal(signal.SIGSTOP)
            t_stop = last = time.monotonic()
            gap = 0.0
            while True:
                t, st = await asyncio.wait_for(next_state(), 30)
                gap, last = max(gap, t - last), t
                if st.get("active_dj") == "dj_standby":
                    return {"failover_s": round(t - t_stop, 3), "largest_state_gap_s": round(gap, 3)}
    finally:
        for p in djs:
            p.send_signal(signal.SIGCONT)
            p.kill()
            p.wait(5)
        await stop_server(vj)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "failover.json")
    ap.add_argument("--dj", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dj:  # one DJ process
        asyncio.run(dj_main(args.url, args.dj))
        return 0
    report = {}
    for label, sets in (("default (idle_fps 0)", ["djs.idle_fps=0"]), ("idle_fps 60", ["djs.idle_fps=60"]),
                        ("heartbeat: lan", ["djs.idle_fps=60", "djs.heartbeat=lan"])):
        report[label] = [asyncio.run(once(sets)) for _ in range(args.repeats)]
        print(label, report[label], flush=True)
    save_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
