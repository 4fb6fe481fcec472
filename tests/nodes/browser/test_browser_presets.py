"""The browser node's presets in a local graph: the analysis follows, the other browsers' sliders stay in sync."""

from __future__ import annotations

import asyncio

from conftest import build
from vj_support import running, two_browsers

from mcav.nodes.presets import PRESETS

SKIP = ("state", "ping", "dj_roster", "connect_codes", "minecraft_status")


DEMO = """
graph: demo
nodes:
  source: {kind: synth, bpm: 128}
  fft:    {kind: fft, in: source, preset: auto}
  beat:   {kind: beat, in: fft}
  viz:    {kind: pattern, in: beat, pattern: spectrum, entities: 16}
  web:    {kind: browser, in: viz, host: 127.0.0.1, port: 0, commands_per_s: 1000, command_burst: 1000}
"""


def test_set_preset_in_a_local_graph_changes_the_analysis_too_and_sliders_stay_in_sync():
    with running(build(DEMO)) as rt:
        web, fft, viz = rt.node("web"), rt.node("fft"), rt.node("viz")
        assert web.ready.wait(5)

        async def scenario() -> None:
            a, b = await two_browsers(web.status()["port"])
            changed = await a.ask({"type": "set_preset", "preset": "edm"}, "preset_changed", skip=SKIP)
            assert changed["preset"] == "edm" and fft.preset == "edm" and viz.state()["preset"] == "edm"
            assert (await b.expect("preset_changed", skip=SKIP))["settings"]["band_sensitivity"] == [1.5, 0.8, 0.9, 1.2, 1.0]
            assert "presets: auto" in (await a.ask({"type": "set_preset", "preset": "polka"}, "error", skip=SKIP))["message"]
            assert fft.preset == "edm"  # an unknown name changes nothing

            await a.send({"type": "set_band_sensitivity", "band": 0, "sensitivity": 0.5})
            synced = await b.expect("band_sensitivity_changed", skip=SKIP)
            assert synced == {"type": "band_sensitivity_changed", "band_sensitivity": [0.5, 0.8, 0.9, 1.2, 1.0]}
            assert await a.ask({"type": "ping"}, "pong", skip=SKIP) == {"type": "pong"}  # the sender is not echoed

            await a.send({"type": "set_preset", "preset": {"band_sensitivity": [2, 1, 1, 1, 1]}})
            assert (await b.expect("band_sensitivity_changed", skip=SKIP))["band_sensitivity"] == [2, 1, 1, 1, 1]
            assert (await b.expect("preset_changed", skip=SKIP))["preset"] == "custom" and fft.preset == "edm"
            await a.send({"type": "set_preset", "preset": PRESETS["chill"].to_wire()})
            assert (await b.expect("band_sensitivity_changed", skip=SKIP))["band_sensitivity"] == [0.9, 1.0, 1.1, 1.2, 1.3]
            assert (await b.expect("preset_changed", skip=SKIP))["preset"] == "chill" and fft.preset == "chill"

        asyncio.run(scenario())
