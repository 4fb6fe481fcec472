"""Writing the benchmark report: ``report.md`` plus one PNG per CDF set and per load curve."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

from .common import Result

__all__ = ["write_report"]


def _plot_cdfs(res: Result, out: Path) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in res.cdfs.items():
        xs = sorted(values)
        if not xs:
            continue
        ys = [i / max(len(xs) - 1, 1) for i in range(len(xs))]
        ax.plot(xs, ys, label=label, drawstyle="steps-post")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of frames")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    ax.axhline(0.99, color="grey", lw=0.8, ls=":")
    ax.set_title(res.title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    name = f"{res.key}_cdf.png"
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def _plot_curves(res: Result, out: Path) -> str:
    import matplotlib.pyplot as plt

    assert res.curves is not None
    xlabel, curves = res.curves
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, c in enumerate(curves):
        color = f"C{i}"
        ax.plot(c.x, [v if v is not None else float("nan") for v in c.p50], "o-", color=color, label=f"{c.label} p50")
        ax.plot(c.x, [v if v is not None else float("nan") for v in c.p99], "s--", color=color, label=f"{c.label} p99")
    if curves and len(curves[0].x) > 1 and min(curves[0].x) > 0 and max(curves[0].x) / min(curves[0].x) > 20:
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("latency (ms, log scale)")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(res.title, fontsize=10)
    ax.legend(fontsize=8)
    name = f"{res.key}_load.png"
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def _table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _micro(micro: list[dict[str, Any]]) -> list[str]:
    lines = ["## Micro-benchmarks (pytest-benchmark)", ""]
    if not micro:
        return lines + ["Not run (`--quick` or `--no-micro`).", ""]
    groups: dict[str, list[dict[str, Any]]] = {}
    for b in micro:
        groups.setdefault(b.get("group") or b.get("file", "?"), []).append(b)
    for group, items in groups.items():
        base = min(b["median_us"] for b in items)
        lines += [f"**{group}**", ""]
        rows = [[b["name"], f"{b['median_us']:.2f}", f"{b['iqr_us']:.2f}", f"{b['median_us'] / base:.2f}"] for b in items]
        lines += _table(["benchmark", "median µs", "IQR µs", "× fastest in group"], rows) + [""]
    return lines


def write_report(
    results: list[Result],
    out: Path,
    quick: bool,
    micro: list[dict[str, Any]],
    errors: list[str],
    conditions: list[list[str]] | None = None,
    others: list[tuple[str, int, str]] | None = None,
) -> Path:
    """Write ``out/report.md`` and the figures; returns the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    for res in results:
        if res.cdfs:
            res.figures.append(_plot_cdfs(res, out))
        if res.curves is not None:
            res.figures.append(_plot_curves(res, out))
    lines = [
        "# mcav benchmark report",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M:%S')} · {'quick smoke run (short, not for figures)' if quick else 'full run'} · "
        f"Python {platform.python_version()} · {os.cpu_count()} CPU(s) · {platform.machine()}",
        "",
        "Latencies are in ms unless stated; each path has its baseline measured side by side in the same run, so "
        "compare within a table, not across machines.",
        "",
        *([
            "**Quick mode:** every path ran for about a second per point, so start-up, the first allocations and "
            "scheduling noise dominate: figures here (the fused-vs-queued ratio in particular) can contradict the "
            "README's, which come from full runs (`mcav bench` without `--quick`). Use this report to see that every "
            "path works, not for numbers.",
            "",
        ] if quick else []),
        "## Key figures",
        "",
    ]
    lines += _table(["figure", "value"], [[k, v] for res in results for k, v in res.headline.items()])
    lines.append("")
    if errors:
        lines += ["## Paths that did not run", ""] + [f"- {e}" for e in errors] + [""]
    for res in results:
        lines += [f"## {res.title}", "", res.what, ""]
        lines += _table(res.columns, res.rows) + [""]
        lines += [f"- {n}" for n in res.notes]
        if res.notes:
            lines.append("")
        lines += [f"![{res.title}]({name})" for name in res.figures]
        lines.append("")
    lines += _micro(micro)
    if others:
        lines += ["## Other benchmarks in bench/ (their own output)", ""]
        for title, code, text in others:
            lines += [f"**{title}**" + ("" if code == 0 else f" (exit status {code})"), "", "```", text, "```", ""]
    if conditions:
        lines += [
            "## Run conditions",
            "",
            "How busy the whole machine was while each path ran (all its CPUs, this benchmark included). The "
            "machine is shared: a path measured while something else was busy shows it in its p99s.",
            "",
        ]
        lines += _table(["path", "wall s", "machine busy %", "load avg (1 min)"], conditions) + [""]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
