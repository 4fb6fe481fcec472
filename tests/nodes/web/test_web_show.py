"""The admin panel's show section in headless Chromium: scenes, the cue list, the quantise countdown.

A real server (``mcav run`` of a small graph: DJ input → pattern → browser, admin pages, a ``show``
node with a cue list) and a DJ written by hand in the test, whose every frame is a beat: the test
steps the beat grid one beat at a time, so a quantised change's countdown is driven by explicit
frames, never by the clock, and every wait is on something the page or the server shows.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from web_support import Demo, open_admin, require_chromium, server_ask, wait_js, wait_server

require_chromium()
pytestmark = pytest.mark.browser

GRAPH = """\
graph: showweb
nodes:
  djs:   {kind: dj_server, port: 9000, beat_assist: false}
  viz:   {kind: pattern, in: djs, pattern: spectrum, entities: 16}
  web:   {kind: browser, in: viz, port: 8766, control: {pattern: viz, djs: djs, show: show}}
  admin: {kind: admin_http, port: 8080, control: {browser: web, pattern: viz}}
  show:  {kind: show, state_file: show.yaml, save_delay: 0, cues: cues.yaml, control: {pattern: viz}}
"""

CUES = """\
cues:
  - name: Doors
    actions: [{pattern: ring}]
  - name: Drop
    actions: [{pattern: galaxy}, {effect: flash}]
  - name: Break
    actions: [{pattern: bars}]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("showweb")
    (folder / "cues.yaml").write_text(CUES)
    graph = folder / "showweb.yaml"
    graph.write_text(GRAPH)
    d = Demo(graph=graph, listeners=("djs",), minecraft=False).start()
    yield d
    d.stop()


def test_save_recall_rename_and_delete_a_scene_by_clicking(context: Any, server: Demo) -> None:
    page = open_admin(context, server)
    page.wait_for_selector("#scene-list >> text=No scenes saved yet.")
    page.wait_for_selector("#no-midi-node")  # no midi node in this graph: the MIDI card says so
    assert page.is_hidden("#midi-learn")
    server_ask(server, "pattern_changed", {"type": "set_pattern", "pattern": "galaxy"})
    wait_server(server, lambda s: s["current_pattern"] == "galaxy")

    page.fill("#scene-name", "Drop")
    page.click("#scene-save")
    page.wait_for_selector('#scene-list [data-scene="Drop"]')
    scenes = server_ask(server, "scenes_list", {"type": "list_scenes"})["scenes"]
    assert [(s["name"], s["pattern"]) for s in scenes] == [("Drop", "galaxy")]
    assert "galaxy" in page.text_content('#scene-list [data-scene="Drop"]')

    server_ask(server, "pattern_changed", {"type": "set_pattern", "pattern": "bars"})
    wait_server(server, lambda s: s["current_pattern"] == "bars")
    page.click('#scene-list [data-scene="Drop"] [data-action=recall]')
    wait_server(server, lambda s: s["current_pattern"] == "galaxy")
    page.wait_for_selector('#scene-list [data-scene="Drop"].active')  # scene_loaded reached the page

    # An empty name is refused on the page, before anything is sent.
    page.fill("#scene-name", "  ")
    page.click("#scene-save")
    assert "1-64 characters" in page.text_content("#scene-name-error")

    page.fill("#scene-name", "Peak")
    page.click('#scene-list [data-scene="Drop"] [data-action=rename]')
    page.wait_for_selector('#scene-list [data-scene="Peak"]')
    assert [s["name"] for s in server_ask(server, "scenes_list", {"type": "list_scenes"})["scenes"]] == ["Peak"]

    page.click('#scene-list [data-scene="Peak"] [data-action=delete]')  # the first click only arms it
    page.wait_for_selector('#scene-list [data-scene="Peak"] [data-action=delete].armed')
    assert [s["name"] for s in server_ask(server, "scenes_list", {"type": "list_scenes"})["scenes"]] == ["Peak"]
    page.click('#scene-list [data-scene="Peak"] [data-action=delete]')
    page.wait_for_selector("#scene-list >> text=No scenes saved yet.")
    assert server_ask(server, "scenes_list", {"type": "list_scenes"})["scenes"] == []
    assert page.errors == []


def cue_position(server: Demo) -> int:
    return int(server_ask(server, "cues", {"type": "get_cues"})["position"])


def test_go_and_back_step_through_the_cue_list(context: Any, server: Demo) -> None:
    page = open_admin(context, server)
    wait_js(page, "document.querySelectorAll('#cue-list .cue-row').length === 3")
    assert page.text_content("#cue-next") == "Doors" and page.text_content("#cue-current") == "—"
    assert page.is_disabled("#cue-back") and not page.is_disabled("#cue-go")

    page.click("#cue-go")
    page.wait_for_selector('#cue-list [data-cue="0"][data-state=current]')
    assert page.text_content("#cue-current") == "Doors" and page.text_content("#cue-next") == "Drop"
    assert page.get_attribute('#cue-list [data-cue="1"]', "data-state") == "next"
    assert cue_position(server) == 0
    wait_server(server, lambda s: s["current_pattern"] == "ring")
    # No DJ plays, so no state frames: the page knows from the pattern_changed a cue's switch sends too.
    page.wait_for_selector("#now-pattern[data-pattern=ring]")

    page.keyboard.press("g")  # the GO key
    page.wait_for_selector('#cue-list [data-cue="1"][data-state=current]')
    assert page.get_attribute('#cue-list [data-cue="0"]', "data-state") == "done"
    wait_server(server, lambda s: s["current_pattern"] == "galaxy")

    page.click("#cue-back")
    page.wait_for_selector('#cue-list [data-cue="0"][data-state=current]')
    assert cue_position(server) == 0
    wait_server(server, lambda s: s["current_pattern"] == "ring")
    assert page.errors == []


class BeatDJ:
    """A remote DJ over the DJ wire whose frames are each one beat at 120 BPM (sync websockets)."""

    def __init__(self, ws: Any, dj_id: str = "dj_beats") -> None:
        self.ws = ws
        self.seq = 0
        self.ws.send(json.dumps({"type": "dj_auth", "dj_id": dj_id, "dj_name": "Beats", "dj_key": "",
                                 "direct_mode": False}))
        req = self._expect("clock_sync_request")
        now = time.time()
        self.ws.send(json.dumps({"type": "clock_sync_response", "server_time": req["server_time"],
                                 "dj_recv_time": now, "dj_send_time": now}))
        self._expect("stream_route")

    def _expect(self, mtype: str) -> dict[str, Any]:
        deadline = time.monotonic() + 5
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if msg.get("type") == mtype:
                return msg

    def frame(self, beat: bool = True, confidence: float = 0.9) -> None:
        self.seq += 1
        self.ws.send(json.dumps({
            "type": "dj_audio_frame", "seq": self.seq, "ts": time.time(), "bands": [0.5, 0.4, 0.3, 0.2, 0.1],
            "peak": 0.6, "beat": beat, "beat_i": 1.0 if beat else 0.0, "bpm": 120.0, "tempo_conf": confidence,
            "beat_phase": 0.0, "i_bass": 0.5, "i_kick": beat}))


def test_a_quantised_change_counts_down_on_the_page_and_clears_when_it_lands(context: Any, server: Demo) -> None:
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{server.ports['djs']}", open_timeout=5, close_timeout=1) as ws:
        dj = BeatDJ(ws)
        wait_server(server, lambda s: s["active_dj"] == "dj_beats")
        page = open_admin(context, server)
        assert page.is_hidden("#quantize-countdown")
        dj.frame()  # the first beat: the grid is there (beat 1 starts bar one)
        wait_js(page, "window.mcavLive.frame && window.mcavLive.frame.is_beat === true")
        state = wait_server(server, lambda s: s["quantize_pending"] == [])
        target = next(p["id"] for p in state["patterns"] if p["id"] != state["current_pattern"])

        page.select_option("#quantize-select", "bar")
        page.click(f"#pattern-grid [data-pattern={target}]")
        row = f'#quantize-countdown [data-change="pattern {target}"]'
        page.wait_for_selector(f"{row}[data-beats-left='4']")
        assert page.is_visible("#quantize-countdown")
        assert "on the next bar" in page.text_content(row)
        assert re.search(r"4 beats · \d+\.\d s", page.text_content(row))  # and the time at the tempo now
        waiting = server_ask(server, "vj_state")
        assert waiting["current_pattern"] != target
        assert waiting["quantize_pending"] == [{"change": f"pattern {target}", "quantize": "bar", "beats_left": 4}]
        assert page.get_attribute("#now-pattern", "data-pattern") != target  # not announced before it lands
        for left in (3, 2, 1):
            dj.frame()
            page.wait_for_selector(f"{row}[data-beats-left='{left}']")
        dj.frame()  # the bar: it lands, the countdown goes
        page.wait_for_selector("#quantize-countdown", state="hidden")
        landed = wait_server(server, lambda s: s["current_pattern"] == target)
        assert landed["quantize_pending"] == []
        page.wait_for_selector(f"#now-pattern[data-pattern={target}]")

        # No grid (the DJ's tracker lost its lock): the same choice lands at once, nothing waits.
        dj.frame(beat=False, confidence=0.0)
        wait_js(page, "window.mcavLive.frame && window.mcavLive.frame.zone_status.locked === false")
        other = next(p["id"] for p in state["patterns"] if p["id"] not in (target, state["current_pattern"]))
        page.click(f"#pattern-grid [data-pattern={other}]")
        at_once = wait_server(server, lambda s: s["current_pattern"] == other)
        assert at_once["quantize_pending"] == [] and page.is_hidden("#quantize-countdown")
        assert page.errors == []
