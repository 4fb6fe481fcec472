"""Render every pattern to PNG: the front (x-y) and top (x-z) views at a beat.

The scenes come from a real graph: ``synth → fft → beat`` fanned out to one
``pattern`` node per key, each feeding a ``collect`` sink, run once at full
speed. For each pattern the gallery shows the scene of the first beat after
``at`` seconds of audio, so every picture shows the same musical moment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from mcav.runtime.frames import Scene

__all__ = ["BAND_COLOURS", "collect_scenes", "render_gallery"]

#: The admin panel's band colours: bass, low, mid, high, air.
BAND_COLOURS = ("#f97316", "#facc15", "#22c55e", "#22d3ee", "#c026d3")
_BG = "#0b0d17"


def collect_scenes(keys: Sequence[str], entities: int, at: float = 2.0, bpm: float = 128.0) -> dict[str, Scene]:
    """Run the synth graph and return, per key, the scene at the first beat after ``at`` s of audio."""
    from mcav.runtime.compile import compile_graph
    from mcav.runtime.engine import Runtime
    from mcav.runtime.model import parse_graph_text

    lines = [
        "graph: gallery",
        "nodes:",
        f"  src: {{kind: synth, bpm: {bpm}, duration: {at + 2.0}, speed: max}}",
        "  fft: {kind: fft, in: src}",
        "  beat: {kind: beat, in: fft}",
    ]
    for key in keys:
        lines.append(f"  p_{key}: {{kind: pattern, in: beat, pattern: {key}, entities: {entities}}}")
        lines.append(f"  c_{key}: {{kind: collect, in: p_{key}}}")
    rt = Runtime(compile_graph(parse_graph_text("\n".join(lines) + "\n", "<gallery>")))
    if rt.run() != 0:
        raise RuntimeError("the gallery graph failed")
    out = {}
    for key in keys:
        frames = [f for f in rt.node(f"c_{key}").frames if isinstance(f, Scene)]  # type: ignore[attr-defined]
        beats = [f for f in frames if f.features.beat and f.features.t_audio >= at]
        out[key] = beats[0] if beats else frames[-1]
    return out


def _draw(ax, u: np.ndarray, v: np.ndarray, depth: np.ndarray, s: Scene, label: str, small: bool) -> None:  # type: ignore[no-untyped-def]
    ax.set_facecolor(_BG)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#334155")
    used = s.scale > 0
    order = np.argsort(depth[used])  # far first, so near entities are drawn on top
    idx = np.flatnonzero(used)[order]
    colours = np.array(BAND_COLOURS)[s.band[idx]]
    size = (s.scale[idx] * (9 if small else 16)) ** 2
    alpha = 0.35 + 0.65 * s.brightness[idx] / 15.0
    rgba = [(*_rgb(c), a) for c, a in zip(colours, alpha)]
    edge = np.where(s.glow[idx], "white", "none")
    ax.scatter(u[idx], v[idx], s=size, c=rgba, marker="s", edgecolors=edge, linewidths=0.6)
    ax.text(0.02, 0.97, label, color="#94a3b8", fontsize=6 if small else 9, va="top", transform=ax.transAxes)


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


def _panel(fig, cell, key: str, title: str, s: Scene, small: bool) -> None:  # type: ignore[no-untyped-def]
    sub = cell.subgridspec(1, 2, wspace=0.04)
    front = fig.add_subplot(sub[0, 0])
    top = fig.add_subplot(sub[0, 1])
    _draw(front, s.x, s.y, -s.z, s, "front", small)  # looking along +z: small z is nearest
    _draw(top, s.x, 1.0 - s.z, s.y, s, "above", small)
    visible = int(np.count_nonzero(s.scale > 0))
    front.set_title(f"{key} — {title}  ({visible}/{s.count})", color="white", fontsize=8 if small else 11, loc="left")


#: ``progress(what, done, total)``: called as the gallery advances (``total`` 0 while it is unknown).
ProgressCallback = Callable[[str, int, int], None]


def _no_progress(what: str, done: int, total: int) -> None:
    pass


def render_gallery(
    out_dir: Path, keys: Sequence[str], entities: int = 64, progress: ProgressCallback = _no_progress
) -> list[Path]:
    """Write ``<key>.png`` per pattern and ``contact_sheet.png`` into ``out_dir``; return the paths.

    Args:
        progress: Told when the analysis runs and after each picture (the contact sheet last).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .registry import PATTERNS

    out_dir.mkdir(parents=True, exist_ok=True)
    total = len(keys) + 1
    progress("running synth → patterns", 0, total)
    scenes = collect_scenes(keys, entities)
    written: list[Path] = []
    for key in keys:
        progress(f"drawing {key}", len(written), total)
        fig = plt.figure(figsize=(8, 4.2), facecolor=_BG)
        _panel(fig, fig.add_gridspec(1, 1)[0], key, PATTERNS[key].name, scenes[key], small=False)
        path = out_dir / f"{key}.png"
        fig.savefig(path, dpi=80, facecolor=_BG)
        plt.close(fig)
        written.append(path)
    progress("drawing the contact sheet", len(written), total)
    cols = 3
    rows = -(-len(keys) // cols)
    fig = plt.figure(figsize=(cols * 4.6, rows * 2.5), facecolor=_BG)
    grid = fig.add_gridspec(rows, cols, hspace=0.3, wspace=0.08, top=1.0 - 0.5 / (rows * 2.5), bottom=0.01)
    for k, key in enumerate(keys):
        _panel(fig, grid[k // cols, k % cols], key, PATTERNS[key].name, scenes[key], small=True)
    title = f"mcav patterns — {entities} entities, synth at 128 BPM, at a beat"
    fig.suptitle(title, color="white", fontsize=12, y=1.0 - 0.15 / (rows * 2.5))
    path = out_dir / "contact_sheet.png"
    fig.savefig(path, dpi=60, facecolor=_BG)
    plt.close(fig)
    written.append(path)
    progress("done", total, total)
    return written
