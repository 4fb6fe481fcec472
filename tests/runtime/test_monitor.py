"""Log mode of ``mcav run``: structured status lines when stdout is not a terminal."""

from __future__ import annotations

import os
import re
import shlex
import sys
import textwrap
from pathlib import Path

import pexpect
from pexpect.popen_spawn import PopenSpawn

from mcav.nodes.health import VJ_HEALTH
from mcav.runtime.health import format_health
from mcav.runtime.monitor import logfmt

MCAV = [sys.executable, "-m", "mcav"]


def parse(line: str) -> dict[str, str]:
    """A logfmt line as a dict (quoted values unquoted)."""
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', line)}


def spawn(tmp_path: Path, graph: str, *args: str) -> PopenSpawn:
    (tmp_path / "g.yaml").write_text(textwrap.dedent(graph))
    cmd = " ".join(shlex.quote(a) for a in [*MCAV, "run", "g.yaml", *args])
    # stdout and stderr are pipes here, not a terminal: the monitor must choose log mode by itself
    return PopenSpawn(cmd, cwd=str(tmp_path), encoding="utf-8", timeout=15)


def test_without_a_terminal_status_goes_to_the_log_as_structured_lines(tmp_path: Path) -> None:
    child = spawn(
        tmp_path,
        """
        graph: logged
        nodes:
          src:  {kind: counter, count: null, rate: 200}
          slow: {kind: scale, in: {from: src, queue: {slots: 2, leaky: downstream}}, work_ms: 10}
          out:  {kind: collect, in: slow, max_frames: 5}
        """,
        "--stats-interval",
        "0.25",
    )
    child.expect(r"mcav\.status: (node=out kind=collect fps=[1-9][^\r\n]*frames_in=[1-9][^\r\n]*)\r?\n")
    out = parse(child.match.group(1))
    assert out["kind"] == "collect" and float(out["e2e_p50_ms"]) >= 10.0 and "e2e_p99_ms" in out
    assert out["collected"] == "5"  # the node's own status() fields come along
    # an edge line reports the ring's fill and its drops (200 Hz into a 10 ms consumer)
    child.expect(r"mcav\.status: (edge=src\.out->slow\.in [^\r\n]*drops=[1-9][^\r\n]*)\r?\n")
    edge = parse(child.match.group(1))
    assert edge["leaky"] == "downstream" and re.fullmatch(r"[0-2]/2", edge["fill"])
    child.expect(r"mcav\.status: (node=slow [^\r\n]*)\r?\n")
    slow = parse(child.match.group(1))
    assert float(slow["proc_p50_ms"]) >= 10.0 and "e2e_p50_ms" not in slow  # not a sink
    child.kill(2)  # SIGINT
    child.expect(pexpect.EOF)
    assert child.wait() == 0


def test_logfmt_quotes_and_drops_none() -> None:
    assert logfmt(a=1, b=None, c="two words", d=0.5, e=True, f=[1, 2.25]) == 'a=1 c="two words" d=0.5 e=true f=1,2.25'


def test_health_line_has_the_old_servers_format() -> None:
    line = format_health(VJ_HEALTH, {"current_djs": 2, "dj_connects": 5, "dj_disconnects": 3, "current_browsers": 1,
                          "browser_connects": 4, "browser_disconnects": 3, "mc_connected": True, "mc_reconnect_count": 1})
    assert line == "[HEALTH] DJs: 2 (conn=5, disc=3) / Browsers: 1 (conn=4, disc=3) / MC: connected (reconn=1)"
    assert format_health(VJ_HEALTH, {}).endswith("MC: disconnected (reconn=0)")


def test_log_mode_writes_the_connectivity_health_line(tmp_path: Path) -> None:
    from conftest import free_port
    from websockets.sync.client import connect

    web_port = free_port()
    graph = f"""
        nodes:
          src: {{kind: synth, bpm: 120}}
          fft: {{kind: fft, in: src}}
          beat: {{kind: beat, in: fft}}
          viz: {{kind: pattern, in: beat, entities: 8}}
          web: {{kind: browser, in: viz, host: 127.0.0.1, port: {web_port}}}
        """
    (tmp_path / "g.yaml").write_text(textwrap.dedent(graph))
    cmd = " ".join(shlex.quote(a) for a in [*MCAV, "run", "g.yaml", "--stats-interval", "600"])
    # the health line comes every 60 s; MCAV_HEALTH_INTERVAL shortens it for this test
    child = PopenSpawn(cmd, cwd=str(tmp_path), encoding="utf-8", timeout=15, env={**os.environ, "MCAV_HEALTH_INTERVAL": "0.2"})
    child.expect(r"browsers on ws://")  # the browser node listens
    child.expect(r"\[HEALTH\] DJs: 0 \(conn=0, disc=0\) / Browsers: 0 \(conn=0, disc=0\) / MC: disconnected \(reconn=0\)")
    with connect(f"ws://127.0.0.1:{web_port}", proxy=None) as ws:
        ws.recv(timeout=5)
        child.expect(r"mcav\.health: \[HEALTH\] DJs: 0 \(conn=0, disc=0\) / Browsers: 1 \(conn=1, disc=0\) / MC: ")
    child.expect(r"Browsers: 0 \(conn=1, disc=1\)")
    child.kill(2)
    child.expect(pexpect.EOF)
    assert child.wait() == 0


def test_a_finite_source_shows_its_progress_in_both_displays() -> None:
    # any node reporting position_s/duration_s in its status (a file analysed flat out) gets a progress bar
    from rich.console import Console

    from mcav.runtime.metrics import NodeStats, Snapshot
    from mcav.runtime.monitor import format_status
    from mcav.runtime.panels import essentials
    from mcav.runtime.views import audio_view, link_views, progress_views, show_view

    source = NodeStats("source", "file", 0, 4000, 900.0, 0, 0, None, None, None, None,
                       extra={"position_s": 45.0, "duration_s": 180.0})
    snap = Snapshot("analyze", 3.0, {"source": source}, [])
    assert "progress=25%" in format_status(snap)[0]
    console = Console(width=80, record=True, color_system=None)
    show = show_view(snap, [])
    for line in essentials(audio_view(snap), False, show, link_views(snap), progress_views(snap)):
        console.print(line)
    text = console.export_text()
    assert "Progress" in text and " 25%" in text and "0:45 / 3:00 (source)" in text
