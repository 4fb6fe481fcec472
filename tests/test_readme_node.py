"""README's architecture picture and its "write your own node" example, checked against the code."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from conftest import ROOT
from websockets.asyncio.server import serve

README = (ROOT / "README.md").read_text()


def block(after: str, lang: str) -> str:
    start = README.index(after)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(README, start)
    assert match is not None, f"no {lang} block after {after!r}"
    return match.group(1)


def test_the_architecture_picture_is_the_graph_of_vj_yaml() -> None:
    drawn = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "graph", str(ROOT / "pipelines" / "vj.yaml"),
                            "--format", "mermaid"], capture_output=True, text=True, timeout=60)
    assert drawn.returncode == 0, drawn.stderr
    assert block("## Architecture", "mermaid") == drawn.stdout


def test_the_walkthrough_node_is_short_installs_and_runs(tmp_path: Path) -> None:
    code = block("## Writing a node kind", "python")
    assert len(code.splitlines()) < 60
    pkg = tmp_path / "my_package"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(code)
    dist = tmp_path / "my_package-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-package\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mcav.nodes]\nbeat_ws = my_package:BeatWs\n")

    received: list[dict] = []
    ready = threading.Event()
    port: list[int] = []
    stop: list[asyncio.Future[None]] = []

    async def peer() -> None:
        async def handler(ws):  # type: ignore[no-untyped-def]
            async for raw in ws:
                received.append(json.loads(raw))

        async with serve(handler, "127.0.0.1", 0) as server:
            port.append(server.sockets[0].getsockname()[1])
            stop.append(asyncio.get_running_loop().create_future())
            ready.set()
            await asyncio.wait_for(stop[0], 60)

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(peer(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n"
        "  src: {kind: synth, duration: 6, speed: realtime}\n"
        "  fft: {kind: fft, in: src}\n"
        "  beat: {kind: beat, in: fft}\n"
        f"  out: {{kind: beat_ws, in: beat, url: 'ws://127.0.0.1:{port[0]}', reconnect: lan}}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    listed = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "nodes", "beat_ws"], capture_output=True,
                            text=True, timeout=60, env=env)
    assert listed.returncode == 0 and "reconnect (link 'beat_ws'): initial=1.0, max=10.0, jitter=0.1" in listed.stdout
    run = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "run", str(graph), "--no-dashboard"],
                         capture_output=True, text=True, timeout=60, env=env)
    loop.call_soon_threadsafe(lambda: stop[0].done() or stop[0].set_result(None))
    thread.join(5)
    assert run.returncode == 0, run.stderr
    beats = [m for m in received if "beat" in m]
    assert len(beats) >= 4 and [m["beat"] for m in beats] == list(range(1, len(beats) + 1))
    assert all(isinstance(m["bpm"], (int, float)) for m in beats)
