"""The show under a flood of wrong credentials: state rate, VJ CPU and memory, guesses that get through.

    python -m bench.auth_flood [--seconds 10] [--attackers 100] [--out bench/out/auth_flood.json]

``mcav run`` of the VJ graph (DJ keys required, an operator password) runs in
its own process. This process plays one keyed DJ streaming at 60 fps, one lean
browser counting ``state`` messages, and ``--attackers`` concurrent attackers
that reconnect as fast as they can with a wrong credential:

* ``dj_key_one_host``: wrong DJ keys, all from 127.0.0.1 (issue 14.3);
* ``dj_key_many_hosts``: wrong DJ keys, each attacker from its own loopback
  address 127.0.1.N (the per-address throttle does not apply; the one key-check
  worker and its bounded queue do);
* ``code_one_host``: wrong connect codes; ``password_one_host``: wrong operator passwords.

The attackers run in their own process at nice 19 (their CPU is not the VJ's
on a real LAN). Each window reports the browser's state rate, the VJ process's CPU (fraction
of one core) and peak RSS, and the guesses the server actually checked per
second (closed 4004 / answered "Invalid …") versus those refused unchecked
(4029). The baseline is the same server in the same run with no attacker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench.common import free_port, proc_cpu_s, proc_resources, stop_server, wait_listening, save_json  # noqa: E402
from bench.wsclients import BrowserClient, FakeDJ  # noqa: E402

GRAPH = """
graph: vj
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: {dj}, auth: {{keys: {keys}}}}}
  viz: {{kind: pattern, in: djs, pattern: spectrum, entities: 64}}
  web: {{kind: browser, in: {{from: viz, queue: {{slots: 2, leaky: downstream}}}}, host: 127.0.0.1, port: {web},
         operator_password: bench-password}}
"""


class Attack:
    """Attackers reconnecting with a wrong credential; counts what the server did with each try."""

    def __init__(self, kind: str, dj_port: int, web_port: int, n: int, many_hosts: bool) -> None:
        self.kind, self.dj_port, self.web_port, self.n, self.many_hosts = kind, dj_port, web_port, n, many_hosts
        self.checked = 0  # the server judged the credential (and found it wrong)
        self.throttled = 0  # refused unchecked (4029)
        self.other = 0
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [asyncio.ensure_future(self._attacker(i)) for i in range(self.n)]

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _attacker(self, i: int) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        kw: dict[str, Any] = {"local_addr": (f"127.0.1.{i + 1}", 0)} if self.many_hosts else {}
        port = self.web_port if self.kind == "password" else self.dj_port
        while True:
            try:
                async with connect(f"ws://127.0.0.1:{port}", proxy=None, compression=None, open_timeout=10,
                                   close_timeout=1, **kw) as ws:
                    if self.kind == "password":
                        await ws.recv()  # vj_state
                        await ws.send(json.dumps({"type": "vj_auth", "password": f"guess-{i}"}))
                        reply = json.loads(await ws.recv())
                        while reply.get("type") not in ("auth_error", "auth_success"):
                            reply = json.loads(await ws.recv())
                        if "Invalid" in reply.get("message", ""):
                            self.checked += 1
                        await asyncio.wait_for(ws.wait_closed(), 5)
                        if ws.close_code == 4029:
                            self.throttled += 1
                        continue
                    msg = ({"type": "dj_auth", "dj_id": "bench_dj", "dj_name": "x", "dj_key": f"guess-{i}"}
                           if self.kind == "dj_key" else {"type": "code_auth", "code": f"BEAT-{i:04d}", "dj_name": "x"})
                    await ws.send(json.dumps(msg))
                    async for _ in ws:
                        pass
            except ConnectionClosed:
                pass
            except Exception:  # refused before the handshake finished (budget), timeouts…
                self.other += 1
                await asyncio.sleep(0.05)
                continue
            code = ws.close_code
            if code == 4004:
                self.checked += 1
            elif code == 4029:
                self.throttled += 1
            elif self.kind != "password":
                self.other += 1


async def attack_main(kind: str, many: bool, n: int, dj_port: int, web_port: int, warmup: float,
                      seconds: float) -> dict[str, Any]:
    """The attacker process: flood for ``warmup`` + ``seconds``; counts of the measured part."""
    attack = Attack(kind, dj_port, web_port, n, many)
    attack.start()
    await asyncio.sleep(warmup)
    c0, th0, t0 = attack.checked, attack.throttled, time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - t0
    out = {"guesses_checked_per_s": round((attack.checked - c0) / wall, 2),
           "refused_unchecked_per_s": round((attack.throttled - th0) / wall, 1), "other_errors": attack.other}
    await attack.stop()
    return out


async def window(proc: subprocess.Popen[bytes], browser: BrowserClient, seconds: float, attack: tuple[str, bool] | None,
                 ports: tuple[int, int], attackers: int) -> dict[str, Any]:
    """One measured window. The attackers (if any) run in their own process at nice 19: a real attacker's
    CPU is on another machine, and on this 2-core box an attacker spinning at full speed would otherwise
    measure its own competition for the CPU rather than the VJ server's resilience."""
    warmup = 1.0
    child = None
    if attack is not None:
        kind, many = attack
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.auth_flood", "--attack", kind, *(["--many-hosts"] if many else []),
            "--attackers", str(attackers), "--dj-port", str(ports[0]), "--web-port", str(ports[1]),
            "--seconds", str(seconds), cwd=ROOT, stdout=asyncio.subprocess.PIPE, preexec_fn=lambda: os.nice(19))
        await asyncio.sleep(warmup)  # let the flood reach its steady state
    n0, t0, cpu0 = browser.messages, time.monotonic(), proc_cpu_s(proc.pid)
    peak = 0.0
    while time.monotonic() - t0 < seconds:
        await asyncio.sleep(0.25)
        peak = max(peak, proc_resources(proc.pid)["rss_mb"])
    wall = time.monotonic() - t0
    out: dict[str, Any] = {
        "attack": f"{attack[0]}_{'many_hosts' if attack[1] else 'one_host'}" if attack else "none",
        "states_per_s": round((browser.messages - n0) / wall, 1),
        "vj_cpu_core": round((proc_cpu_s(proc.pid) - cpu0) / wall, 3),
        "vj_peak_rss_mb": round(peak, 1),
    }
    if child is not None:
        stdout, _ = await child.communicate()
        out.update(json.loads(stdout.decode().strip().splitlines()[-1]))
        await asyncio.sleep(1.0)
    return out


async def run(seconds: float, attackers: int) -> list[dict[str, Any]]:
    from mcav.nodes.dj.auth import KeyStore

    tmp = Path(tempfile.mkdtemp(prefix="mcav-auth-flood-"))
    store = KeyStore()
    store.add("bench_dj", "Bench DJ", "right-key")
    store.save(tmp / "keys.yaml")
    dj_port, web_port = free_port(), free_port()
    (tmp / "vj.yaml").write_text(GRAPH.format(dj=dj_port, web=web_port, keys=tmp / "keys.yaml"))
    cmd = [sys.executable, "-m", "mcav.runtime.cli", "--log-level", "WARNING", "run", str(tmp / "vj.yaml"),
           "--no-dashboard", "--stats-interval", "3600"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(tmp / "log.txt").open("wb"))
    dj = FakeDJ(f"ws://127.0.0.1:{dj_port}", "bench_dj", 60.0, key="right-key")
    browser: BrowserClient | None = None
    results = []
    try:
        await wait_listening(dj_port, proc)
        await wait_listening(web_port, proc)
        dj.start()
        await asyncio.wait_for(dj.authed.wait(), 10)
        browser = await BrowserClient.connect("127.0.0.1", web_port)
        await asyncio.sleep(1.5)
        ports = (dj_port, web_port)
        results.append(await window(proc, browser, seconds, None, ports, attackers))
        for attack in (("dj_key", False), ("dj_key", True), ("code", False), ("password", False)):
            results.append(await window(proc, browser, seconds, attack, ports, attackers))
            print(json.dumps(results[-1]), flush=True)
        results.append(await window(proc, browser, seconds, None, ports, attackers))  # back to the baseline?
        return results
    finally:
        await dj.stop()
        if browser is not None:
            browser.close()
        await stop_server(proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--attackers", type=int, default=100)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "auth_flood.json")
    ap.add_argument("--attack", choices=("dj_key", "code", "password"), help=argparse.SUPPRESS)
    ap.add_argument("--many-hosts", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dj-port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--web-port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.attack:  # the attacker process of one window
        print(json.dumps(asyncio.run(attack_main(args.attack, args.many_hosts, args.attackers, args.dj_port,
                                                 args.web_port, 1.0, args.seconds))))
        return 0
    results = asyncio.run(run(args.seconds, args.attackers))
    base = results[0]
    for r in results[1:]:
        r["states_over_baseline"] = round(r["states_per_s"] / base["states_per_s"], 3) if base["states_per_s"] else None
    save_json(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
