"""Audio capture → ``batch_update`` leaving for Minecraft, on one machine.

The graph runs in this process; the Minecraft plugin is the project's stand-in
(``tests/plugin_standin.py``) in a child process, so that it competes for the
CPU like the real server would but not for this process's GIL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from .common import ROOT, Result, Unavailable, cdf_of, graph, run_graph

__all__ = ["audio_minecraft", "StandInPlugin"]

_STANDIN = """
import json, sys
sys.path.insert(0, "tests")
from plugin_standin import PluginStandIn
plugin = PluginStandIn(port=0, shared_dir=None, max_entities=1024).start()
print(plugin.port, flush=True)
sys.stdin.read()  # until the parent closes our stdin
with plugin._cond:  # then: the first two bands and the arrival (monotonic ns) of every batch_update
    rows = [[m["bands"][0], m["bands"][1], int(t * 1e9)] for m, t in zip(plugin.messages, plugin.arrivals)
            if m.get("type") == "batch_update" and isinstance(m.get("bands"), list)]
json.dump(rows, sys.stdout)
sys.stdout.flush()
plugin.stop()
"""


class StandInPlugin:
    """The plugin stand-in running in a child process; ``port`` is where it listens.

    In a process of its own it reads its socket without waiting for this process's GIL, so its
    arrival times (monotonic ns, the same clock in every process) are the plugin's, not the benchmark's.
    """

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _STANDIN], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.close()
            raise Unavailable(f"the Minecraft plugin stand-in did not start: {err.strip().splitlines()[-1:]}")
        self.port = int(line)

    def close(self) -> list[tuple[float, float, int]]:
        """Stop it; return ``(bands[0], bands[1], arrival ns)`` of every ``batch_update`` it received."""
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return []
        try:
            return [(a, b, t) for a, b, t in json.loads(out or "[]")]
        except ValueError:
            return []


def audio_minecraft(quick: bool) -> Result:
    """Capture → batch_update latency at the plugin tick rate (20 Hz) and at 60 Hz, and without a network sink."""
    seconds = 0.6 if quick else 12.0
    res = Result(
        key="audio_minecraft",
        title="Audio capture → batch_update leaving for Minecraft (local graph)",
        what=(
            "`synth → fft → beat → pattern (64 entities) → minecraft`, the synth paced like live capture "
            "(t_capture = the block's capture time). Latency = when the `batch_update` text has been handed to "
            "the plugin's socket − t_capture. The plugin is the stand-in in another process. Side by side: the "
            "sink capped at the plugin's 20 Hz tick (the default; a frame waits for its slot), at 60 Hz, and the "
            f"same chain ending in `discard` (no network hop) as the baseline. {seconds:g} s each."
        ),
        columns=["variant", "p50 ms", "p99 ms", "batches/s", "coalesced", "unsent", "xruns", "CPU %"],
    )
    plugin = StandInPlugin()
    try:
        variants: list[tuple[str, list[str]]] = [
            ("minecraft @ 20 Hz", [f"mc.port={plugin.port}", "mc.rate=20"]),
            ("minecraft @ 60 Hz", [f"mc.port={plugin.port}", "mc.rate=60"]),
            ("baseline: discard", ["mc.kind=discard"]),
        ]
        for label, overrides in variants:
            rt, snap, wall, cpu = run_graph(graph("audio_minecraft", overrides), seconds)
            mc = snap.nodes["mc"]
            x: dict[str, Any] = mc.extra
            batches = x.get("batches")
            res.rows.append([
                label, _f(mc.latency_p50_ms), _f(mc.latency_p99_ms),
                f"{batches / wall:.1f}" if isinstance(batches, int) else "—",
                x.get("frames_coalesced", "—"), x.get("frames_unsent", "—"),
                sum(s.xruns for s in snap.nodes.values()), f"{cpu / wall * 100:.0f}",
            ])
            res.cdfs[label] = cdf_of(rt.node("mc").ctx.metrics.latency)
            if label.endswith("20 Hz"):
                res.headline["audio → Minecraft batch_update (20 Hz tick), p50 / p99"] = (
                    f"{_f(mc.latency_p50_ms)} / {_f(mc.latency_p99_ms)} ms"
                )
                if not x.get("connected"):
                    res.notes.append("the sink was not connected at the end of the 20 Hz run")
    finally:
        plugin.close()
    res.notes.append(
        "Blocks arrive every 10.7 ms; the sink sends at most `rate` batches per second. A frame that comes before "
        "its slot is held until the slot unless a newer one replaces it (counted as coalesced), so the latency "
        "depends on how the block and tick periods interleave, not on the rate alone."
    )
    return res


def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"
