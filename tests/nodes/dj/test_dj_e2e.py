"""The DJ link end to end: synth → fft → beat → dj_relay ──ws──▶ dj_server → VJ graph.

In-process graphs for the data path and presets; real ``mcav run`` subprocesses of
``pipelines/dj-synth.yaml`` for key auth, a refused key (exit code, no retry) and
active-DJ failover when the active DJ's process is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, build, free_port
from dj_support import on_loop, running, vj_graph, wait_until

from mcav.nodes.dj.auth import KeyStore
from mcav.runtime.clock import ManualClock
from mcav.runtime.engine import Runtime
from mcav.runtime.frames import Features

MCAV = str(Path(sys.executable).with_name("mcav"))


def dj_graph(url: str, dj_id: str = "dj_synth", extra: str = "") -> str:
    return f"""
graph: dj
nodes:
  source: {{kind: synth, bpm: 128}}
  fft:    {{kind: fft, in: source}}
  beat:   {{kind: beat, in: fft}}
  relay:  {{kind: dj_relay, in: beat, vj_server_url: "{url}", dj_id: {dj_id}, dj_name: "Synth DJ"{extra}}}
"""


def test_synth_dj_graph_streams_into_a_vj_graph_and_follows_presets():
    with running(vj_graph()) as vj:
        djs, sink = vj.node("djs"), vj.node("sink")
        dj = Runtime(build(dj_graph(f"ws://127.0.0.1:{djs.port}")))
        dj.start()
        try:
            wait_until(lambda: len(sink.frames) >= 45, what="45 frames at the VJ")
            relay = dj.node("relay")
            assert relay.status()["connected"] and relay.status()["is_active"]
            frames = list(sink.frames)
            assert all(isinstance(f, Features) and f.source == "dj_synth" for f in frames)
            assert max(float(f.bands.max()) for f in frames) > 0.1  # real audio features, not zeros
            assert any(f.instant_bass > 0 for f in frames)
            (entry,) = on_loop(djs, djs.roster)
            assert entry["dj_name"] == "Synth DJ" and entry["fps"] > 30 and entry["clock_offset_ms"] is not None
            # the VJ changes preset: the DJ's fft follows
            assert dj.node("fft").status()["preset"] == "auto"
            on_loop(djs, lambda: djs.sync_preset("edm"))
            wait_until(lambda: dj.node("fft").status()["preset"] == "edm", what="the fft preset to follow")
            assert relay.status()["presets_applied"] == 1
            on_loop(djs, lambda: djs.sync_pattern("bars", {"entity_count": 32}))
            on_loop(djs, lambda: djs.sync_config(32, "stage"))
            wait_until(lambda: relay.relay.vj.get("zone") == "stage", what="config_sync at the DJ")
            assert relay.relay.vj["current_pattern"] == "bars" and relay.relay.vj["entity_count"] == 32
            # latency is measured from the DJ's capture time to the VJ sink (clock offset corrected)
            stats = vj.snapshot().nodes["sink"]
            assert stats.latency_p50_ms is not None and 0 <= stats.latency_p50_ms < 1000
        finally:
            dj.shutdown()
        wait_until(lambda: djs.health()["current_djs"] == 0, what="the DJ to leave")
        assert djs.health() == {"dj_connects": 1, "dj_disconnects": 1, "current_djs": 0}


def test_frames_are_dropped_and_counted_while_the_vj_is_unreachable():
    clock = ManualClock()  # the relay's backoff sleeps never end: it stays disconnected
    url = f"ws://127.0.0.1:{free_port()}"
    dj = Runtime(build(dj_graph(url)), clock=clock)
    dj.start()
    try:
        assert clock.wait_for_sleepers(1)  # first attempt refused; now in backoff
        relay = dj.node("relay")
        wait_until(lambda: relay.status()["frames_dropped"] >= 20, what="dropped frames")
        st = relay.status()
        assert st["frames_sent"] == 0 and st["connect_failures"] == 1 and not st["connected"]
        (edge,) = [e for e in dj.snapshot().edges if e.dst == "relay"]
        assert edge.high_water <= edge.slots  # bounded: nothing queues up behind the dead link
    finally:
        dj.shutdown()


def _spawn(url: str, dj_id: str, key: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MCAV_DJ_KEY": key, "MCAV_VJ_URL": url, "MCAV_DJ_ID": dj_id, "MCAV_DJ_NAME": dj_id.upper()}
    return subprocess.Popen([MCAV, "run", str(ROOT / "pipelines" / "dj-synth.yaml"), "--no-dashboard"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    store = KeyStore()
    for dj_id, prio in (("dj_a", 1), ("dj_b", 2)):
        store.add(dj_id, dj_id.upper(), f"key-of-{dj_id}", prio)
    store.save(tmp_path / "keys.yaml")
    return tmp_path / "keys.yaml"


def test_refused_key_exits_nonzero_without_retrying(keys_file: Path):
    with running(vj_graph(f", auth: {{keys: {keys_file}}}")) as vj:
        djs = vj.node("djs")
        proc = _spawn(f"ws://127.0.0.1:{djs.port}", "dj_a", "not-the-key")
        try:
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
        assert proc.returncode == 1, err
        assert "refused" in err and "4004" in err
        assert "not-the-key" not in err
        assert djs.status()["auth_failures"] == 1  # exactly one attempt


def test_active_dj_failover_when_its_process_is_killed(keys_file: Path):
    with running(vj_graph(f", auth: {{keys: {keys_file}}}")) as vj:
        djs, sink = vj.node("djs"), vj.node("sink")
        url = f"ws://127.0.0.1:{djs.port}"
        a = _spawn(url, "dj_a", "key-of-dj_a")
        b = None
        try:
            wait_until(lambda: djs.active_dj == "dj_a", timeout=30, what="dj_a to go live")
            b = _spawn(url, "dj_b", "key-of-dj_b")
            wait_until(lambda: djs.health()["current_djs"] == 2, timeout=30, what="dj_b to join")
            wait_until(lambda: djs.status()["djs"]["dj_b"]["frames"] > 0, what="frames from the standby DJ")
            assert djs.active_dj == "dj_a"
            assert {f.source for f in sink.frames} == {"dj_a"}  # standby frames are not emitted
            a.send_signal(signal.SIGKILL)
            a.wait(timeout=10)
            wait_until(lambda: djs.active_dj == "dj_b", timeout=15, what="failover to dj_b")
            wait_until(lambda: sink.frames and sink.frames[-1].source == "dj_b", what="dj_b's frames")
            assert djs.health()["dj_disconnects"] == 1
            b.send_signal(signal.SIGINT)  # a clean stop says going_offline
            assert b.wait(timeout=15) == 0
            wait_until(lambda: djs.health()["current_djs"] == 0, what="dj_b to leave")
            assert djs.active_dj is None
        finally:
            for p in (a, b):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()


def test_dj_pipeline_without_a_usable_input_names_the_alternatives():
    env = {**os.environ, "MCAV_VJ_URL": f"ws://127.0.0.1:{free_port()}"}
    proc = subprocess.run([MCAV, "run", str(ROOT / "pipelines" / "dj.yaml"), "--no-dashboard",
                           "--set", "source.device=no-such-input-device-42"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "--set source.kind=file" in proc.stderr and "--set source.kind=synth" in proc.stderr
    assert "mcav devices" in proc.stderr
