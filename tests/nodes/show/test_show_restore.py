"""What a show keeps across a restart of ``mcav run``, and which value wins: ``--set`` > saved > graph file.

Real processes: ``mcav run`` of a small VJ graph (DJ input, pattern, browsers, a Minecraft link with no
plugin behind it, a show node), DJs and a browser speaking their wires by hand over loopback.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml
from conftest import free_port, wait_until
from websockets.sync.client import ClientConnection, connect

GRAPH = """\
graph: keep
nodes:
  djs:  {kind: dj_server, host: 127.0.0.1, port: 9000}
  viz:  {kind: pattern, in: djs, pattern: spectrum, entities: 64}
  web:  {kind: browser, in: viz, host: 127.0.0.1, port: 8766, commands_per_s: 1000, command_burst: 1000}
  mc:   {kind: minecraft, in: viz, host: 127.0.0.1, port: 8765, zone: main}
  show: {kind: show, state_file: show.yaml, save_delay: 0}
"""


class Server:
    """``mcav run`` of :data:`GRAPH` on free ports; its log is kept in a file."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.graph = folder / "keep.yaml"
        self.graph.write_text(GRAPH)
        self.ws, self.djs = free_port(), free_port()
        self.log = folder / f"run-{time.monotonic_ns()}.log"
        args = [sys.executable, "-m", "mcav.runtime.cli", "run", str(self.graph), "--no-dashboard",
                "--set", f"web.port={self.ws}", "--set", f"djs.port={self.djs}", "--set", f"mc.port={free_port()}",
                *extra]
        self.proc = subprocess.Popen(args, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        wait_until(self._listening, timeout=30, what=f"mcav run listening ({self.output()[-2000:]})")

    def _listening(self) -> bool:
        assert self.proc.poll() is None, self.output()
        try:
            with connect(f"ws://127.0.0.1:{self.ws}", open_timeout=1):
                return True
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(30) == 0, self.output()[-3000:]


@contextmanager
def running(folder: Path, *extra: str) -> Iterator[Server]:
    s = Server(folder, *extra)
    try:
        yield s
    finally:
        if s.proc.poll() is None:
            s.stop()


def ask(server: Server, reply: str, msg: dict[str, Any] | None = None) -> dict[str, Any]:
    """Over a fresh browser connection, send ``msg`` (if any) and return the first ``reply`` message."""
    with connect(f"ws://127.0.0.1:{server.ws}", open_timeout=5) as ws:
        if msg is not None:
            ws.send(json.dumps(msg))
        deadline = time.monotonic() + 5
        while True:
            got = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if got.get("type") == reply:
                return got
            assert got.get("type") != "error", got


def dj(stack: ExitStack, server: Server, dj_id: str) -> ClientConnection:
    """A DJ connected (and clock-synced) over the DJ wire, kept open until ``stack`` closes."""
    ws = stack.enter_context(connect(f"ws://127.0.0.1:{server.djs}", open_timeout=5))
    ws.send(json.dumps({"type": "dj_auth", "dj_id": dj_id, "dj_name": dj_id.upper(), "dj_key": "", "direct_mode": False}))
    while (msg := json.loads(ws.recv(timeout=5)))["type"] != "clock_sync_request":
        pass
    now = time.time()
    ws.send(json.dumps({"type": "clock_sync_response", "server_time": msg["server_time"], "dj_recv_time": now,
                        "dj_send_time": now}))
    return ws


def queue(server: Server) -> list[str]:
    roster = ask(server, "vj_state")["dj_roster"]
    return [d["dj_id"] for d in sorted(roster, key=lambda d: d["queue_position"])]


def saved(folder: Path) -> dict[str, Any]:
    path = folder / "show.yaml"
    return yaml.safe_load(path.read_text())["live"] if path.exists() else {}


def logged(server: Any, *lines: str) -> str:
    """The server's log once every one of ``lines`` is in it (the restore logs as the ports open, not before)."""
    wait_until(lambda: all(line in server.output() for line in lines), timeout=10,
               what=f"{lines} in the log")
    return str(server.output())


def test_zone_dj_order_and_banners_survive_a_restart(tmp_path: Path) -> None:
    with running(tmp_path) as server, ExitStack() as djs:
        dj(djs, server, "dj_a")
        wait_until(lambda: queue(server) == ["dj_a"], timeout=10, what="dj_a in the queue")
        dj(djs, server, "dj_b")
        wait_until(lambda: queue(server) == ["dj_a", "dj_b"], timeout=10, what="dj_b in the queue")
        ask(server, "dj_roster", {"type": "reorder_dj_queue", "dj_id": "dj_b", "new_position": 0})
        ask(server, "config_update", {"type": "set_zone", "zone": "arena"})
        ask(server, "banner_profile_saved", {"type": "set_banner_profile", "dj_id": "dj_a",
                                             "profile": {"banner_mode": "text", "text_format": "A is on"}})
        ask(server, "pattern_changed", {"type": "set_pattern", "pattern": "galaxy"})
        wait_until(lambda: saved(tmp_path).get("dj_order") == ["dj_b", "dj_a"] and saved(tmp_path).get("zone") == "arena"
                   and "dj_a" in saved(tmp_path).get("banners", {}) and saved(tmp_path).get("pattern") == "galaxy",
                   timeout=10, what=f"the show file to keep it all: {saved(tmp_path)}")
    show_file = tmp_path / "show.yaml"
    with running(tmp_path) as server, ExitStack() as djs:
        logged(server, f"zone = 'arena' (restored from {show_file})",
               f"dj_order = ['dj_b', 'dj_a'] (restored from {show_file})",
               f"banners = 1 DJ profiles (restored from {show_file})", f"pattern = 'galaxy' (restored from {show_file})")
        state = ask(server, "vj_state")
        assert state["zone"] == "arena" and state["current_pattern"] == "galaxy"
        assert ask(server, "banner_profile", {"type": "get_banner_profile", "dj_id": "dj_a"})["profile"]["text_format"] == "A is on"
        # dj_a comes back first (and goes live), yet the queue is the operator's: dj_b before dj_a.
        dj(djs, server, "dj_a")
        wait_until(lambda: queue(server) == ["dj_a"], timeout=10, what="dj_a back")
        dj(djs, server, "dj_b")
        wait_until(lambda: len(queue(server)) == 2, timeout=10, what="dj_b back")
        assert queue(server) == ["dj_b", "dj_a"]


def test_set_wins_over_the_saved_show_which_wins_over_the_graph_file(tmp_path: Path) -> None:
    show_file = tmp_path / "show.yaml"
    show_file.write_text(yaml.safe_dump({"version": 1, "scenes": {}, "live": {
        "pattern": "bars", "entity_count": 32, "zone": "arena", "dj_order": ["dj_x", "dj_y"]}}))
    with running(tmp_path, "--set", "viz.pattern=ring", "--set", "mc.zone=stage") as server:
        logged(server, "pattern = 'ring' (--set on the command line; the saved 'bars' is not restored)",
               "zone = 'stage' (--set on the command line; the saved 'arena' is not restored)",
               f"entity_count = 32 (restored from {show_file})", "preset = 'auto' (the graph file)",
               "base_scale = 0.2 (the graph file)")
        state = ask(server, "vj_state")
        assert (state["current_pattern"], state["entity_count"], state["zone"]) == ("ring", 32, "stage")
        # What is on screen now is what the show keeps (the --set values included).
        wait_until(lambda: saved(tmp_path).get("pattern") == "ring", timeout=10, what="the file to follow")
    with running(tmp_path, "--fresh") as server:
        log = logged(server, "fresh start")
        assert "restored from" not in log
        state = ask(server, "vj_state")
        assert (state["current_pattern"], state["entity_count"], state["zone"]) == ("spectrum", 64, "main")


def test_precedence_and_the_remembered_dj_order_as_pure_rules() -> None:
    from mcav.nodes.dj.roster import merge_order
    from mcav.nodes.show.restore import choose

    got = choose(("pattern", "entity_count", "preset", "zone"), {"pattern": "ring", "entity_count": 64, "preset": "auto"},
                 {"pattern": "bars", "entity_count": 32}, pinned=["pattern"])
    assert [(c.key, c.value, c.source) for c in got] == [
        ("pattern", "ring", "--set"), ("entity_count", 32, "saved"), ("preset", "auto", "graph")]
    assert got[0].describe("F") == "--set on the command line; the saved 'bars' is not restored"
    # Disconnected DJs keep their place after the DJ they followed.
    assert merge_order(["b", "a"], ["a", "x", "b"]) == ["b", "a", "x"]
    assert merge_order(["c"], ["x", "c", "y"]) == ["x", "c", "y"]
    assert merge_order([], ["x", "y"]) == ["x", "y"]
