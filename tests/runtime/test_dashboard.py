"""The terminal dashboard: ``mcav run`` on a pseudo-terminal, checking what it draws."""

from __future__ import annotations

import os
import re
import sys
import textwrap
import time
from pathlib import Path
from typing import Callable

import pexpect
import pytest

pyte = pytest.importorskip("pyte")  # a terminal emulator: what the screen shows, not what was written

MCAV = [sys.executable, "-m", "mcav"]
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-B]|[=>78])")
ROWS, COLS = 50, 160


class Terminal:
    """``mcav run`` on a pty of ``rows``×``cols``; what it draws goes through a terminal emulator (pyte).

    :attr:`text` is everything drawn (escape codes removed, for what flashed by);
    :meth:`screen` is what the terminal shows now, one string per row.
    """

    def __init__(self, *args: str, cwd: Path, rows: int = ROWS, cols: int = COLS) -> None:
        # a plain xterm whatever the caller's environment says (rich reads these variables)
        drop = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(TERM="xterm-256color", PYTHONIOENCODING="utf-8")
        self.child = pexpect.spawn(
            MCAV[0], [*MCAV[1:], *args], cwd=str(cwd), env=env, dimensions=(rows, cols), encoding="utf-8",
            codec_errors="replace",  # Ctrl-C flushes the terminal's output queue, maybe mid-character
        )
        self.text = ""
        self._screen = pyte.Screen(cols, rows)
        self._stream = pyte.Stream(self._screen)

    def _read(self, timeout: float) -> bool:
        try:
            chunk = self.child.read_nonblocking(1 << 16, timeout=max(timeout, 0.01))
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self._stream.feed(chunk)
        self.text += ANSI.sub("", chunk)
        return True

    def screen(self) -> list[str]:
        """The rows the terminal shows now (trailing spaces removed)."""
        return [row.rstrip() for row in self._screen.display]

    def wait_for(self, check: Callable[[str], object], timeout: float = 15.0, what: str = "") -> object:
        """Read until ``check(text)`` is truthy (returns it); fails after ``timeout`` s of reading."""
        deadline = time.monotonic() + timeout
        while True:
            found = check(self.text)
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                pytest.fail(f"never drawn: {what or check}\n--- last output ---\n{self.text[-4000:]}")

    def wait_screen(self, check: Callable[[str], object], timeout: float = 15.0, what: str = "") -> object:
        """Read until ``check(the screen as one string)`` is truthy (returns it)."""
        deadline = time.monotonic() + timeout
        while True:
            found = check("\n".join(self.screen()))
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(min(remaining, 0.3)):
                pytest.fail(f"never on screen: {what or check}\n--- screen ---\n" + "\n".join(self.screen()))

    def finish(self, timeout: float = 15.0) -> int:
        """Read until the process exits; its exit status."""
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            if time.monotonic() > deadline:
                pytest.fail("mcav run did not exit")
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)


def rows(text: str, name: str) -> list[list[str]]:
    """Every drawn table row whose first cell is ``name``, as lists of cells (oldest first)."""
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[0] == name:
            out.append(cells)
    return out


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "g.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_dashboard_draws_nodes_queues_sinks_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        graph: dash
        nodes:
          src:  {kind: counter, count: null, rate: 100}
          slow: {kind: scale, in: {from: src, queue: {slots: 4, leaky: downstream}}, work_ms: 15}
          out:  {kind: collect, in: slow, max_frames: 10}
        """,
    )
    term = Terminal("run", "g.yaml", cwd=tmp_path)
    term.wait_for(lambda t: "mcav graph 'dash'" in t and "Nodes" in t, what="title and nodes table")
    # the slow node sleeps 15 ms per frame behind a 100 Hz source: its queue overflows and drops
    slow = term.wait_for(
        lambda t: next((r for r in rows(t, "slow") if r[6].isdigit() and int(r[6]) > 0), None), what="drops on slow"
    )
    assert slow[1] == "scale" and slow[5].endswith("/4")  # queue fill of its 4-slot ring
    assert float(slow[3]) >= 15.0  # proc p50 of a 15 ms sleep
    src = rows(term.text, "src")[-1]
    assert src[1] == "counter" and src[5] == "fused"
    # the sink's end-to-end latency row: capture → out includes at least the 15 ms of work
    sink = term.wait_for(
        lambda t: next((r for r in rows(t, "out") if len(r) == 3 and r[1] != "—"), None), what="sink latency"
    )
    assert float(sink[1]) >= 15.0 and float(sink[2]) >= float(sink[1])
    assert "Audio" in term.text and "Connections" in term.text and "Health" in term.text
    term.child.sendintr()
    assert term.finish() == 0
    assert "graph 'dash' stopped (exit 0)" in term.text


def test_a_source_ahead_of_real_time_shows_no_latency(tmp_path: Path) -> None:
    # a synth at speed: max stamps its frames at start + audio time, ahead of the clock: capture → out reads
    # below 0 (it was drawn as "-334.6 ms", in green), which is no latency at all
    write(
        tmp_path,
        """
        graph: ahead
        nodes:
          src: {kind: synth, bpm: 120, duration: 100000, speed: max}
          out: {kind: discard, in: src}
        """,
    )
    term = Terminal("run", "g.yaml", cwd=tmp_path)
    term.wait_for(lambda t: next((r for r in rows(t, "out") if len(r) == 3 and r[1] != "—"), None), what="a sink row")
    sink = rows(term.text, "out")[-1]
    assert sink[1] == sink[2] == "ahead", sink
    term.wait_for(lambda t: "the source runs ahead of real time" in t, what="the show panel's latency line")
    assert not re.search(r"worst p99 -", term.text)
    term.child.sendintr()
    assert term.finish() == 0


def test_dashboard_shows_latest_warnings(tmp_path: Path) -> None:
    # the jsonl sink cannot open a directory: the graph fails and the last frame lists the error
    (tmp_path / "adir").mkdir()
    write(
        tmp_path,
        """
        nodes:
          src: {kind: counter, count: null, rate: 50}
          out: {kind: jsonl, in: src, path: adir}
        """,
    )
    term = Terminal("run", "g.yaml", cwd=tmp_path)
    assert term.finish() == 1
    panel = term.text[term.text.rfind("Warnings (") :]
    assert re.search(r"ERROR\s+mcav\.runtime: \w+: node 'out' failed to start: .*Is a directory", panel), panel


def test_no_dashboard_flag_logs_structured_lines_on_a_terminal(tmp_path: Path) -> None:
    write(tmp_path, "nodes:\n  src: {kind: counter, count: null, rate: 50}\n  out: {kind: discard, in: src}\n")
    term = Terminal("run", "g.yaml", "--no-dashboard", "--stats-interval", "0.2", cwd=tmp_path)
    term.wait_for(lambda t: re.search(r"node=out kind=discard fps=\S+ frames_in=[1-9]", t), what="status line")
    term.child.sendintr()
    assert term.finish() == 0
    assert "┃" not in term.text and "Nodes" not in term.text  # no table was drawn


def test_dashboard_shows_tempo_and_beat_flash_of_the_audio_chain(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        nodes:
          src:  {kind: synth, bpm: 128}
          fft:  {kind: fft, in: src}
          beat: {kind: beat, in: fft}
          out:  {kind: discard, in: beat}
        """,
    )
    term = Terminal("run", "g.yaml", cwd=tmp_path)
    term.wait_for(lambda t: "● BEAT" in t, what="a beat flash")
    # the synth plays 128 BPM: once the tracker locks, the panel shows it
    bpm = term.wait_for(lambda t: re.search(r"BPM (1\d\d\.\d)  locked  confidence (\d\.\d\d)", t), timeout=30, what="BPM")
    assert abs(float(bpm.group(1)) - 128) < 2 and 0 < float(bpm.group(2)) <= 1  # type: ignore[union-attr]
    out = term.wait_for(lambda t: next((r for r in rows(t, "out") if len(r) > 5 and float(r[2]) > 50), None), what="fps")
    assert out[1] == "discard"  # a sink's rate is its input rate (48000 / 512 ≈ 94 blocks/s)
    term.child.sendintr()
    assert term.finish() == 0


def vj_graph(dj_port: int, web_port: int, mc_port: int) -> str:
    return f"""
        graph: vj
        nodes:
          djs: {{kind: dj_server, host: 127.0.0.1, port: {dj_port}}}
          viz: {{kind: pattern, in: djs, entities: 16}}
          web: {{kind: browser, in: viz, host: 127.0.0.1, port: {web_port}}}
          mc:  {{kind: minecraft, in: viz, url: "ws://127.0.0.1:{mc_port}"}}
        """


def synth_dj(dj_port: int):  # type: ignore[no-untyped-def]
    """A real DJ graph in this process: synth → fft → beat → dj_relay."""
    from conftest import build

    from mcav.runtime.engine import Runtime

    rt = Runtime(build(f"""
        nodes:
          source: {{kind: synth, bpm: 128}}
          fft:    {{kind: fft, in: source}}
          beat:   {{kind: beat, in: fft}}
          relay:  {{kind: dj_relay, in: beat, vj_server_url: "ws://127.0.0.1:{dj_port}", dj_id: dj_synth,
                    dj_name: "Synth DJ", max_connect_attempts: 10, reconnect_interval: 0.2}}
        """))
    rt.start()
    return rt


def test_dashboard_shows_djs_browsers_minecraft_and_health(tmp_path: Path) -> None:
    from conftest import accepts, free_port, wait_until
    from websockets.sync.client import connect

    dj_port, web_port, mc_port = free_port(), free_port(), free_port()  # nothing listens on mc_port
    write(tmp_path, vj_graph(dj_port, web_port, mc_port))
    term = Terminal("run", "g.yaml", cwd=tmp_path)
    term.wait_for(lambda t: "Connections" in t, what="the dashboard")
    wait_until(lambda: accepts(web_port), timeout=10, what="the browser port listening")  # drawn ≠ serving yet
    dj = synth_dj(dj_port)
    try:
        with connect(f"ws://127.0.0.1:{web_port}", proxy=None) as browser:
            # the DJ streams at 60 fps: its roster line shows its name, fps and latency
            line = term.wait_for(lambda t: re.findall(r"▶ (?:Synth DJ|dj_synth)\s+(\d+) fps\s+([\d.]+|—) ms", t)[-1:], what="DJ row")
            term.wait_for(lambda t: re.search(r"djs\s+DJs 1\s+active: dj_synth", t), what="active DJ")
            term.wait_for(lambda t: re.search(r"web\s+browsers 1", t), what="browser count")
            mc = term.wait_for(
                lambda t: re.search(r"mc\s+disconnected\s+reconnects (\d+), retry in ([\d.]+) s", t), what="MC state"
            )
            assert float(mc.group(2)) <= 60  # type: ignore[union-attr]
            term.wait_for(lambda t: re.search(r"DJs\s+1\s+conn=1 disc=0", t), what="health: DJs")
            term.wait_for(lambda t: re.search(r"Browsers\s+1\s+conn=1 disc=0", t), what="health: browsers")
            assert re.search(r"MC\s+disconnected\s+reconn=\d+", term.text)
            browser.recv(timeout=5)  # the browser really is served (vj_state first)
        fps = term.wait_for(lambda t: [int(f) for f in re.findall(r"▶ (?:Synth DJ|dj_synth)\s+(\d+) fps", t) if int(f) >= 30],
                            what="DJ fps near 60")
        assert max(fps) <= 70 and line  # type: ignore[arg-type, operator]
    finally:
        dj.stop()
        dj.shutdown()
    term.child.sendintr()
    assert term.finish() == 0
