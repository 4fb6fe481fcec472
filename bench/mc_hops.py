"""Where a DJ frame's time goes on its way to the plugin: ``vj_minecraft --hops`` lines up :mod:`bench.hoptrace`'s
times (``MCAV_HOPTRACE=minecraft``) with the DJ's sends and the plugin stand-in's receipts.

Each stage is the time between two stamps of the same frame (ms), over the frames a window's DJ sent;
the stages add up to the DJ send → plugin receipt of that frame. The probes cost a few µs each, the same
in every case measured.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.fanout_hops import load

#: The stamps of a frame's path: event → what it marks ("sent" is the DJ's send, "plugin" the stand-in's
#: receipt). The stages run between consecutive stamps in the order of their median times, which differs
#: between trees (e.g. where the ``batch_update`` is encoded).
STAMPS = {"sent": "DJ sends", "dj_in": "hub has it", "pat_in": "pattern starts", "pat_out": "pattern done",
          "mc_enc": "encoded", "mc_in": "sink's loop has it", "mc_out": "written", "plugin": "plugin reads it"}


def stages(trace_file: Path, t0: int, t1: int, sent: dict[int, int],
           rows: list[tuple[float, float, int]]) -> dict[str, list[float | None]]:
    """``{stage: [p50, p99]}`` in ms for the frames the DJ sent between ``t0`` and ``t1`` (monotonic ns)."""
    trace = load(trace_file)
    if not trace:
        return {}
    plugin: dict[int, int] = {}
    for b0, b1, t in rows:  # the first batch of each frame (as vj_minecraft.figures counts)
        plugin.setdefault(round(b0 * 1000) + 1000 * round(b1 * 1000), t)
    times: dict[str, dict[int, int]] = {k: v for k, v in trace.items() if isinstance(v, dict)}
    sigs = times.pop("dj_sig", {})
    times["sent"] = {seq: sent[sig] for seq, sig in sigs.items() if sig in sent}
    times["plugin"] = {seq: plugin[sig] for seq, sig in sigs.items() if sig in plugin}
    inside = [seq for seq, t in times["sent"].items() if t0 <= t <= t1]
    rel = {e: np.array([times[e][s] - times["sent"][s] for s in inside if s in times.get(e, {})]) for e in STAMPS}
    order = sorted((e for e in STAMPS if rel[e].size), key=lambda e: float(np.median(rel[e])))
    out: dict[str, list[float | None]] = {}
    # Then two sums: inside the VJ, and the hub to the plugin (the "written" stamp waits for the GIL after the
    # socket write, so a tree whose writer loses the GIL there looks slower inside than it is).
    for a, b in [*zip(order, order[1:]), ("dj_in", "mc_out"), ("dj_in", "plugin")]:
        ta, tb = times.get(a, {}), times.get(b, {})
        d = np.array([tb[s] - ta[s] for s in inside if s in ta and s in tb]) / 1e6
        label = f"{STAMPS[a]} → {STAMPS[b]}" + (" (inside the VJ)" if (a, b) == ("dj_in", "mc_out") else "")
        out[label] = [round(float(np.percentile(d, q)), 3) if d.size else None for q in (50, 99)]
    return out


def lines(figures: dict[str, list[float | None]]) -> list[str]:
    """The stages as aligned text lines, p50 / p99."""
    return [f"    {label:<44} {p50} / {p99} ms" for label, (p50, p99) in figures.items()]
