"""The mcav command, run as a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from watch_support import MCAV, Watched


def mcav(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MCAV, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


def write(tmp_path: Path, text: str, name: str = "g.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_validate_ok_prints_one_summary_line(tmp_path: Path) -> None:
    g = write(tmp_path, "graph: demo\nnodes:\n  src: {kind: counter}\n  out: {kind: discard, in: src}\n")
    r = mcav("validate", str(g))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1 and "graph 'demo' is valid: 2 nodes" in r.stdout


def test_validate_reports_each_problem_and_exits_2(tmp_path: Path) -> None:
    g = write(
        tmp_path,
        """
        nodes:
          src: {kind: counter, count: many}
          out: {kind: colect, in: src}
        """,
    )
    r = mcav("validate", str(g))
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 2
    assert f"{g}:3: node 'src': key 'count': expected an integer" in lines[0]
    assert f"{g}:4: node 'out': key 'kind': unknown node kind 'colect'; did you mean 'collect'?" in lines[1]


def test_missing_file_and_bad_flags_exit_2(tmp_path: Path) -> None:
    assert mcav("validate", str(tmp_path / "nope.yaml")).returncode == 2
    r = mcav("run", "--frobnicate")
    assert r.returncode == 2 and "unrecognized argument: --frobnicate" in r.stderr
    g = write(tmp_path, "nodes:\n  src: {kind: counter}\n  out: {kind: discard, in: src}\n")
    r = mcav("validate", str(g), "--set", "src.count")
    assert r.returncode == 2 and "expected NODE.KEY=VALUE" in r.stderr
    r = mcav("run", str(g), "--stats-interval", "0")
    assert r.returncode == 2 and "must be a positive number of seconds" in r.stderr
    # --realtime's PRIO is optional: written before the graph, it takes the graph's name as PRIO
    r = mcav("run", "--realtime", str(g))
    assert r.returncode == 2 and "expected an integer" in r.stderr and "put the graph first" in r.stderr


def test_a_graph_that_is_not_utf8_is_a_problem_with_its_line_not_a_traceback(tmp_path: Path) -> None:
    g = tmp_path / "latin1.yaml"
    g.write_bytes(b"graph: x\nnodes:\n  a: {kind: counter}\n  # caf\xe9\n  b: {kind: discard, in: a}\n")
    for command in ("validate", "run"):
        r = mcav(command, str(g))
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr
        assert f"{g}:4: not UTF-8 text (byte 0xe9)" in r.stderr


def test_an_unquoted_variable_in_an_inline_mapping_says_to_quote_it(tmp_path: Path) -> None:
    g = write(tmp_path, "nodes:\n  src: {kind: counter, count: ${MCAV_COUNT:-3}}\n  out: {kind: discard, in: src}\n")
    r = mcav("validate", str(g))
    assert r.returncode == 2
    assert f"{g}:2: malformed YAML" in r.stderr and 'quote a ${VAR} value: "${VAR}"' in r.stderr
    g.write_text('nodes:\n  src: {kind: counter, count: "${MCAV_COUNT:-3}"}\n  out: {kind: discard, in: src}\n')
    assert mcav("validate", str(g)).returncode == 0


def test_set_path_dash_writes_jsonl_to_standard_output(tmp_path: Path) -> None:
    # README: jsonl's `path` '-' = stdout; on the command line `--set out.path=-` was read as YAML (a list)
    g = write(tmp_path, "nodes:\n  src: {kind: counter, count: 3}\n  out: {kind: jsonl, in: src, path: o.jsonl}\n")
    r = mcav("run", str(g), "--set", "out.path=-", "--no-dashboard", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3 and not (tmp_path / "o.jsonl").exists()


def test_nodes_lists_kinds_and_describes_one() -> None:
    r = mcav("nodes")
    assert r.returncode == 0
    assert any(line.startswith("counter ") and "source" in line for line in r.stdout.splitlines())
    r = mcav("nodes", "counter")
    assert r.returncode == 0
    assert "out  out          Tick" in r.stdout
    assert "rate (float Hz): frames per second" in r.stdout and "default 0.0 Hz" in r.stdout
    r = mcav("nodes", "countr")
    assert r.returncode == 2 and "did you mean 'counter'" in r.stderr


@pytest.mark.parametrize("fmt,marker", [("text", "└─"), ("dot", "digraph"), ("mermaid", "flowchart LR")])
def test_graph_draws_nodes_edges_and_queues(tmp_path: Path, fmt: str, marker: str) -> None:
    g = write(
        tmp_path,
        """
        graph: drawn
        nodes:
          src: {kind: counter}
          s: {kind: scale, in: src}
          out: {kind: collect, in: {from: s, queue: {slots: 3, leaky: upstream}}}
          t: {kind: ticker}
          o2: {kind: collect, in: t}
        """,
    )
    r = mcav("graph", str(g), "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert marker in r.stdout
    assert "ring 3 leaky=upstream" in r.stdout and "(fused)" in r.stdout
    assert "ring 4 leaky=downstream (implicit)" in r.stdout


def test_run_finite_graph_exits_0_when_sources_end(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    g = write(tmp_path, f"nodes:\n  src: {{kind: counter, count: 25}}\n  sink: {{kind: jsonl, in: src, path: '{out}'}}\n")
    r = mcav("run", str(g), "--no-dashboard", "--set", "src.count=30")
    assert r.returncode == 0, r.stderr
    assert len(out.read_text().splitlines()) == 30


def test_run_refuses_an_invalid_graph_before_starting(tmp_path: Path) -> None:
    out = tmp_path / "never.jsonl"
    g = write(tmp_path, f"nodes:\n  src: {{kind: counter, rate: -1}}\n  sink: {{kind: jsonl, in: src, path: '{out}'}}\n")
    r = mcav("run", str(g), "--no-dashboard")
    assert r.returncode == 2 and "below the minimum" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_a_running_graph_cleanly(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "out.jsonl"
    g = write(
        tmp_path,
        f"""
        nodes:
          src: {{kind: counter, count: null, rate: 200}}
          sink: {{kind: jsonl, in: {{from: src, queue: 8}}, path: '{out}', flush_every: 1}}
          tick: {{kind: ticker, count: null, interval: 0.01}}
          net: {{kind: async_collect, in: tick}}
        """,
    )
    proc = subprocess.Popen([*MCAV, "run", str(g), "--no-dashboard"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the graph reports it is running
        if "running (Ctrl-C to stop)" in line:
            break
    proc.send_signal(sig)
    sent = time.monotonic()
    try:
        code = proc.wait(timeout=10)
    finally:
        proc.kill()
    took = time.monotonic() - sent
    rest = proc.stderr.read()
    assert code == 0, rest
    assert "stopping" in rest and "stopped (exit 0)" in rest
    assert "aborting" not in rest  # everything ended gracefully, nothing had to be killed
    lines = out.read_text().splitlines()
    assert lines and all(line.startswith("{") and line.endswith("}") for line in lines)  # no torn line
    print(f"shutdown took {took:.2f} s")


def test_third_party_kinds_load_through_the_entry_point(tmp_path: Path) -> None:
    pkg = tmp_path / "mcav_extra"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            '''
            from mcav.runtime.frames import Frame
            from mcav.runtime.node import SyncNode

            class Echo(SyncNode):
                """Prints nothing, passes frames on (a third-party kind)."""
                kind = "echo"
                inputs = {"in": Frame}
                outputs = {"out": Frame}

                def process(self, frame, port):
                    return frame
            '''
        )
    )
    dist = tmp_path / "mcav_extra-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mcav-extra\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mcav.nodes]\necho = mcav_extra:Echo\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = mcav("nodes", "echo", env=env)
    assert r.returncode == 0, r.stderr
    assert "a third-party kind" in r.stdout
    g = write(tmp_path, "nodes:\n  src: {kind: counter}\n  e: {kind: echo, in: src}\n  out: {kind: discard, in: e}\n")
    assert mcav("run", str(g), "--no-dashboard", env=env).returncode == 0


def test_a_third_party_kind_brings_its_own_link_policy_and_control_interface(tmp_path: Path) -> None:
    """An OSC-style sink from another package: its own link name and defaults, and a control port."""
    pkg = tmp_path / "mcav_osc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            '''
            from mcav.nodes.interfaces import PatternControl
            from mcav.runtime.control import Require
            from mcav.runtime.frames import Frame
            from mcav.runtime.node import AsyncNode, EndOfStream
            from mcav.runtime.policies import Link

            OSC_OUT = Link("osc_out", reconnect={"default": {"initial": 0.5, "max": 4.0}, "lan": {"initial": 0.1}},
                           heartbeat={"default": {"interval": 1.0, "failure_threshold": 5}})

            class OscOut(AsyncNode):
                """Sends frames to an OSC peer (a third-party kind with its own link)."""
                kind = "osc_out"
                inputs = {"in": Frame}
                policies = {"reconnect": OSC_OUT, "heartbeat": OSC_OUT}
                requires = {"pattern": Require(PatternControl, optional=True, doc="names the pattern in OSC")}

                async def run(self):
                    assert self.ctx.reconnect.initial == float(__import__("os").environ["WANT_INITIAL"])
                    try:
                        async for _ in self.ctx.input():
                            pass
                    except EndOfStream:
                        pass
            '''
        )
    )
    dist = tmp_path / "mcav_osc-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mcav-osc\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mcav.nodes]\nosc_out = mcav_osc:OscOut\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "WANT_INITIAL": "0.1"}
    r = mcav("nodes", "osc_out", env=env)
    assert r.returncode == 0, r.stderr
    assert "reconnect (link 'osc_out'): initial=0.5, max=4.0" in r.stdout and "lan: initial=0.1" in r.stdout
    assert "pattern      pattern_control (one provider, optional) — names the pattern in OSC" in r.stdout
    g = write(tmp_path, "nodes:\n  src: {kind: counter}\n  osc: {kind: osc_out, in: src, reconnect: lan}\n")
    r = mcav("run", str(g), "--no-dashboard", env=env)
    assert r.returncode == 0, r.stderr
    bad = write(tmp_path, "nodes:\n  src: {kind: counter}\n  osc: {kind: osc_out, in: src, reconnect: wan}\n", "bad.yaml")
    r = mcav("validate", str(bad), env=env)
    assert r.returncode == 2 and "unknown reconnect preset 'wan' of link osc_out; presets: default, lan" in r.stderr


def test_watch_applies_parameters_live_keeps_running_on_errors_and_adds_new_nodes(tmp_path: Path) -> None:
    """``mcav run --watch``: each save of the graph file, as a VJ editing it during a show would."""
    body = ("nodes:\n  src: {kind: synth, speed: realtime}\n  fft: {kind: fft, in: src}\n  beat: {kind: beat, in: fft}\n"
            "  viz: {kind: pattern, in: beat, pattern: spectrum}\n  out: {kind: discard, in: viz}\n")
    with Watched(tmp_path / "g.yaml", body) as run:
        run.wait_for("watching")
        run.save(body.replace("pattern: spectrum", "pattern: bars"))
        run.wait_for("kept src, fft, beat, out; applied live to viz")
        run.save(body.replace("kind: discard", "kind: discrad"))
        run.wait_for("is invalid; still running the previous graph")
        run.wait_for("unknown node kind")
        run.save(body + "  more: {kind: discard, in: viz}\n")
        run.wait_for("kept src, fft, beat, out; applied live to viz; added more")
        assert run.interrupt() == 0
