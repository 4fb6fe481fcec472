"""The dashboard's layout on real pseudo-terminals: what fits at 80×24 and 160×50, and the view keys."""

from __future__ import annotations

import re
from pathlib import Path

from test_dashboard import Terminal, synth_dj, vj_graph, write


def _screen_has(*patterns: str):  # type: ignore[no-untyped-def]
    """A check that every regex is on the screen at once (returns the screen)."""
    return lambda screen: screen if all(re.search(p, screen) for p in patterns) else None


def test_80x24_shows_the_essentials_of_a_vj_server_in_priority_order(tmp_path: Path) -> None:
    from conftest import accepts, free_port, wait_until
    from websockets.sync.client import connect

    dj_port, web_port, mc_port = free_port(), free_port(), free_port()  # nothing listens on mc_port
    write(tmp_path, vj_graph(dj_port, web_port, mc_port))
    term = Terminal("run", "g.yaml", cwd=tmp_path, rows=24, cols=80)
    term.wait_screen(lambda s: "Tempo" in s, what="the dashboard")
    wait_until(lambda: accepts(web_port), timeout=10, what="the browser port listening")  # drawn ≠ serving yet
    dj = synth_dj(dj_port)
    try:
        with connect(f"ws://127.0.0.1:{web_port}", proxy=None) as browser:
            browser.recv(timeout=5)
            essentials = (
                r"Tempo\s+BPM", r"Live DJ\s+▶ (Synth DJ|dj_synth)\s+\d+ fps", r"Minecraft\s+✗ DISCONNECTED \(mc\)",
                r"Clients\s+1 browser · 1 DJ", r"Latency\s+worst p99 [\d.]+ ms at \w+", r"Warnings",
            )
            screen = term.wait_screen(_screen_has(*essentials), what="every essential on one 80x24 screen")
            rows = str(screen).splitlines()
            order = [next(i for i, row in enumerate(rows) if re.search(p, row)) for p in essentials]
            assert order == sorted(order), rows  # in priority order, top to bottom
            title = next(row for row in rows if row.startswith("mcav graph 'vj'"))
            assert "pattern Stacked Tower" in title  # the name users know, not the key 'spectrum'
            # the Minecraft failure is visible without scrolling: the reason is on the screen
            term.wait_screen(lambda s: re.search(r"DISCONNECTED \(mc\)\s+retry in [\d.]+ s", s), what="retry time")
            # keys switch the detail view: l = log, c = connections, v = next
            term.child.send("l")
            term.wait_screen(_screen_has(r"\[log\]", r"╭─ Log"), what="the log view")
            term.child.send("c")
            term.wait_screen(_screen_has(r"\[connections\]", r"Connections"), what="the connections view")
            term.child.send("v")
            term.wait_screen(_screen_has(r"\[log\]"), what="v cycles to the next view")
    finally:
        dj.stop()
        dj.shutdown()
    term.child.sendintr()
    assert term.finish() == 0


def test_160x50_shows_every_detail_panel_and_a_tall_log(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        graph: big
        nodes:
          src:  {kind: synth, bpm: 128}
          fft:  {kind: fft, in: src}
          beat: {kind: beat, in: fft}
          viz:  {kind: pattern, in: beat, pattern: spectrum, entities: 16}
          out:  {kind: discard, in: viz}
        """,
    )
    term = Terminal("run", "g.yaml", cwd=tmp_path, rows=50, cols=160)

    def tall_log(screen: str) -> list[str] | None:
        """Every panel on screen and a log of at least 10 rows (a frame may be mid-draw: then not yet)."""
        if not _screen_has(r"Tempo", r"Nodes", r"Connections", r"Health", r"Audio", r"╭─ Log")(screen):
            return None
        rows = screen.splitlines()
        top = next(i for i, r in enumerate(rows) if "╭─ Log" in r)
        bottoms = [i for i, r in enumerate(rows) if r.startswith("╰") and i > top]
        return rows if bottoms and max(bottoms) - top >= 10 else None  # the room that is left, not 4 lines

    rows = term.wait_screen(tall_log, what="all panels and a log of 10 rows or more")
    assert isinstance(rows, list)
    assert "pattern Stacked Tower" in next(row for row in rows if row.startswith("mcav graph 'big'"))
    assert len(rows) <= 50
    term.child.sendintr()
    assert term.finish() == 0


def test_no_beat_flash_while_the_tempo_is_not_locked(tmp_path: Path) -> None:
    # noise alone: onsets come and go but the tracker never locks on a tempo
    write(
        tmp_path,
        """
        nodes:
          src:  {kind: synth, bpm: 128, level: 0.0, noise: 0.3, seed: 3}
          fft:  {kind: fft, in: src}
          beat: {kind: beat, in: fft}
          out:  {kind: discard, in: beat}
        """,
    )
    term = Terminal("run", "g.yaml", cwd=tmp_path, rows=24, cols=80)
    term.wait_screen(lambda s: "NOT LOCKED" in s, what="not locked")
    term.wait_for(lambda t: re.search(r"up 0:0[3-9]", t), what="three seconds of refreshes")
    assert "● BEAT" not in term.text
    term.child.sendintr()
    assert term.finish() == 0
