"""The show node: settings survive a restart, scenes over the browser wire, a crash never leaves half a file."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml
from conftest import build
from vj_support import RawBrowser, on_loop, running, wait_until

from mcav.nodes.show import store

SKIP = ("state", "ping", "dj_roster", "connect_codes", "minecraft_status", "pattern_changed", "config_update",
        "preset_changed", "band_sensitivity_changed", "effect_triggered")


def graph(state_file: Path, extra: str = "") -> str:
    return f"""
graph: showtest
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: 0}}
  viz: {{kind: pattern, in: djs, entities: 16}}
  web: {{kind: browser, in: viz, host: 127.0.0.1, port: 0, commands_per_s: 1000, command_burst: 1000}}
  show: {{kind: show, state_file: "{state_file}", save_delay: 0{extra}}}
"""


def test_settings_are_saved_and_restored_and_fresh_ignores_them(tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    with running(build(graph(path))) as rt:
        viz = rt.node("viz")
        assert rt.node("web").ready.wait(5)
        viz.set_pattern("bars")
        viz.set_entity_count(32)
        wait_until(lambda: path.exists() and yaml.safe_load(path.read_text())["live"].get("entity_count") == 32, timeout=15)
    saved = yaml.safe_load(path.read_text())
    assert saved["version"] == 1 and saved["live"]["pattern"] == "bars"
    with running(build(graph(path))) as rt:  # a restart: the saved settings win over the graph's
        wait_until(lambda: rt.node("viz").state()["pattern"] == "bars" and rt.node("viz").state()["entity_count"] == 32, timeout=15)
    with running(build(graph(path, ", fresh: true"))) as rt:
        assert rt.node("web").ready.wait(5)
        wait_until(lambda: rt.node("show").status()["saves"] == 0 and rt.node("viz").state()["pattern"] == "spectrum")


def test_the_beat_rate_survives_a_restart_but_no_scene_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    with running(build(graph(path))) as rt:
        viz, show = rt.node("viz"), rt.node("show")
        assert rt.node("web").ready.wait(5)
        viz.set_beat_rate(0.5)
        wait_until(lambda: path.exists() and yaml.safe_load(path.read_text())["live"].get("beat_rate") == 0.5, timeout=15)
        # A scene is a look: recalling one saved during another song must leave the song's beat rate alone.
        assert "beat_rate" not in on_loop(rt, show.save_scene("Half"))
        viz.set_beat_rate(2)
        on_loop(rt, show.recall_scene("Half"))
        assert viz.state()["beat_rate"] == 2
    with running(build(graph(path))) as rt:  # a restart, on the same song: the saved rate wins over the graph's 1
        wait_until(lambda: rt.node("viz").state()["beat_rate"] == 2, timeout=15)
    text = "version: 1\nlive: {beat_rate: 0.5}\nscenes: {Old: {pattern: bars, beat_rate: 2}}\n"
    imported = store.parse(text, "a hand-written file")
    assert imported.live == {"beat_rate": 0.5} and imported.scenes == {"Old": {"pattern": "bars"}}


def test_a_corrupt_or_newer_file_is_kept_aside_and_the_show_starts_from_the_graph(tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    path.write_text("version: 99\nlive: {pattern: bars}\n")
    assert store.load(path)[0] is None
    assert not path.exists() and any(p.name.startswith("show.yaml.bad-") for p in tmp_path.iterdir())
    path.write_text(": not yaml :\n  - [")
    show, problem = store.load(path)
    assert show is None and problem is not None and "not YAML" in problem


def test_scenes_over_the_browser_wire_as_the_newer_mcav_panel_sends_them(tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    with running(build(graph(path))) as rt:
        web, viz = rt.node("web"), rt.node("viz")
        assert web.ready.wait(5)
        port = web.status()["port"]

        async def scenario() -> None:
            b = await RawBrowser.connect(port)
            await b.expect("vj_state", skip=SKIP)
            await b.send({"type": "list_scenes"})
            assert (await b.expect("scenes_list", skip=SKIP))["scenes"] == []
            await b.send({"type": "set_pattern", "pattern": "galaxy"})
            await b.send({"type": "save_scene", "name": "Drop"})
            listed = await b.expect("scenes_list", skip=SKIP)  # to every browser after a change
            assert [s["name"] for s in listed["scenes"]] == ["Drop"] and listed["scenes"][0]["pattern"] == "galaxy"
            assert (await b.expect("scene_saved", skip=SKIP))["name"] == "Drop"
            await b.send({"type": "set_pattern", "pattern": "bars"})
            await b.send({"type": "load_scene", "name": "Drop"})
            assert (await b.expect("scene_loaded", skip=SKIP))["name"] == "Drop"
            await b.send({"type": "load_scene", "name": "Nope"})
            err = await b.expect("error", skip=SKIP)
            assert "no scene called 'Nope' (scenes: Drop)" in err["message"]
            for ask, reply, key in (("get_stages", "stages", "stages"), ("get_bitmap_patterns", "bitmap_patterns", "patterns"),
                                    ("get_bitmap_transitions", "bitmap_transitions", "transitions"),
                                    ("get_bitmap_palettes", "bitmap_palettes", "palettes")):
                await b.send({"type": ask})
                assert (await b.expect(reply, skip=SKIP))[key] == []
            await b.send({"type": "export_scenes"})
            exported = (await b.expect("scenes_exported", skip=SKIP))["yaml"]
            assert yaml.safe_load(exported)["scenes"]["Drop"]["pattern"] == "galaxy"
            await b.send({"type": "delete_scene", "name": "Drop"})
            assert (await b.expect("scenes_list", skip=SKIP))["scenes"] == []
            assert (await b.expect("scene_deleted", skip=SKIP))["name"] == "Drop"
            await b.send({"type": "import_scenes", "yaml": exported})
            assert [s["name"] for s in (await b.expect("scenes_list", skip=SKIP))["scenes"]] == ["Drop"]
            await b.ws.close()

        asyncio.run(scenario())
        wait_until(lambda: viz.state()["pattern"] == "galaxy")
    assert "Drop" in yaml.safe_load(path.read_text())["scenes"]


def test_sigkill_during_saves_never_leaves_a_half_written_file(tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    writer = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from mcav.nodes.show import store
        path = Path({str(path)!r})
        big = {{f"scene {{i}}": {{"pattern": "bars", "entity_count": i % 1000 + 1}} for i in range(3000)}}
        i = 0
        while True:
            i += 1
            store.save(path, store.ShowFile({{"pattern": "bars", "entity_count": i % 1000 + 1}}, big))
            if i == 3:
                print("saving", flush=True)
    """)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "saving"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        show, problem = store.load(path)
        assert problem is None and show is not None and len(show.scenes) == 3000


def test_mcav_run_fresh_sets_fresh_on_the_show_node(tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    path.write_text("version: 1\nlive: {pattern: bars}\nscenes: {}\n")
    g = tmp_path / "g.yaml"
    g.write_text(
        "nodes:\n"
        "  src: {kind: synth, duration: 0.5, speed: max}\n"
        "  fft: {kind: fft, in: src}\n"
        "  beat: {kind: beat, in: fft}\n"
        "  viz: {kind: pattern, in: beat}\n"
        "  out: {kind: discard, in: viz}\n"
        f"  show: {{kind: show, state_file: '{path}'}}\n"
    )
    run = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "run", str(g), "--no-dashboard", "--fresh"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "fresh start" in run.stderr and "restored from" not in run.stderr
    run = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "run", str(g), "--no-dashboard"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and f"pattern = 'bars' (restored from {path})" in run.stderr


CUES = """\
cues:
  - name: Doors
    actions: [{pattern: ring}]
  - name: Drop
    trigger: {after: 5}
    actions: [{pattern: galaxy}, {effect: flash, intensity: 1.5}]
  - name: Break
    actions: [{blackout: true}]
"""


def test_mcav_show_validate_names_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "cues.yaml"
    good.write_text(CUES)
    r = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "show", "validate", str(good)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "3 cues (triggers: after, manual)" in r.stdout, r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("cues:\n  - name: A\n    trigger: {bars: -1}\n    actions: [{pattern: ring}]\n"
                   "  - name: B\n    actions: [{patern: ring}]\n")
    r = subprocess.run([sys.executable, "-m", "mcav.runtime.cli", "show", "validate", str(bad)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert f"{bad}:2: cue 1: trigger must be manual" in r.stderr and f"{bad}:6: cue 2: an action is one of" in r.stderr


def test_cues_go_back_and_fire_on_their_own_trigger_on_the_graph_clock(tmp_path: Path) -> None:
    from mcav.runtime.clock import ManualClock

    (tmp_path / "cues.yaml").write_text(CUES)
    clock = ManualClock()
    from mcav.runtime.compile import compile_graph
    from mcav.runtime.model import load_graph

    g = tmp_path / "g.yaml"  # cue files are relative to the graph file
    g.write_text(graph(tmp_path / "show.yaml").replace("save_delay: 0}", "save_delay: 0, cues: cues.yaml}"))
    with running(compile_graph(load_graph(g)), clock) as rt:
        web, viz = rt.node("web"), rt.node("viz")
        assert web.ready.wait(5)

        async def scenario() -> None:
            b = await RawBrowser.connect(web.status()["port"])
            await b.expect("vj_state", skip=SKIP)
            await b.send({"type": "get_cues"})
            first = await b.expect("cues", skip=SKIP)
            assert [c["name"] for c in first["cues"]] == ["Doors", "Drop", "Break"] and first["next"] == "Doors"
            await b.send({"type": "cue_go"})
            # A browser's commands run in order, so the get_cues reply means cue_go's
            # control call is over: its 5 s timeout no longer sleeps on the manual clock.
            await b.send({"type": "get_cues"})
            for _ in range(2):  # the show's broadcast and the reply, in either order
                assert (await b.expect("cues", skip=SKIP))["current"] == "Doors"
            assert viz.state()["pattern"] == "ring"
            await asyncio.to_thread(clock.wait_for_sleepers, 1)
            clock.advance(5.1)  # the Drop cue's trigger: 5 s after Doors
            fired = await b.expect("cues", skip=SKIP)
            assert fired["current"] == "Drop" and fired["next"] == "Break" and viz.state()["pattern"] == "galaxy"
            await b.send({"type": "cue_back"})
            assert (await b.expect("cues", skip=SKIP))["current"] == "Doors" and viz.state()["pattern"] == "ring"
            await b.ws.close()

        asyncio.run(scenario())


def test_a_drop_cue_fires_when_the_live_djs_bass_comes_back_after_a_long_breakdown(tmp_path: Path) -> None:
    import time

    from dj_support import RawDJ

    (tmp_path / "cues.yaml").write_text("cues:\n  - name: Intro\n    actions: [{pattern: ring}]\n"
                                        "  - name: Drop\n    trigger: {drop: 8}\n    actions: [{pattern: galaxy}]\n")
    g = tmp_path / "g.yaml"
    # Every frame reaches the pattern (a queue that holds the whole burst, no rate limit, no beat assist).
    g.write_text(graph(tmp_path / "show.yaml", ", cues: cues.yaml").replace(
        "port: 0}", "port: 0, rate_limit: 100000, beat_assist: false}", 1).replace(
        "in: djs,", "in: {from: djs, queue: {slots: 1024}},"))
    from mcav.runtime.compile import compile_graph
    from mcav.runtime.model import load_graph

    with running(compile_graph(load_graph(g))) as rt:
        web, djs, viz = rt.node("web"), rt.node("djs"), rt.node("viz")
        assert web.ready.wait(5) and djs.ready.wait(5)

        async def scenario() -> None:
            b = await RawBrowser.connect(web.status()["port"])
            await b.expect("vj_state", skip=SKIP)
            await b.send({"type": "cue_go"})
            assert (await b.expect("cues", skip=SKIP))["current"] == "Intro"
            dj = await RawDJ.connect(djs.port)
            await dj.auth("dj_drop")
            # 6 s of full bass, a 20 s breakdown (10.7 bars at 128 BPM), the bass back: the frames' own
            # timestamps (in the past, the DJ's clock synced) make the timeline, sent in one burst.
            start = time.time() - 28.5
            for k in range(28 * 20 + 10):
                t = k / 20
                bass = 0.01 if 6 <= t < 26 else 0.8
                await dj.frame(seq=k, ts=start + t, bands=[bass, 0.3, 0.3, 0.2, 0.1], bpm=128.0, tempo_conf=0.9)
            fired = await b.expect("cues", skip=SKIP)
            assert fired["current"] == "Drop" and viz.state()["pattern"] == "galaxy"
            assert rt.node("show").status()["drops"] == 1 and rt.node("show").status()["cue"] == 2
            await dj.close()
            await b.ws.close()

        asyncio.run(scenario())
