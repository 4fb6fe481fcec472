"""The benchmark command's smoke mode: ``python -m bench.run --quick`` writes its report and figures.

Only the report's shape is checked, never a timing (benchmarks are not part of pass/fail).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/bench/ → the checkout
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_quick_bench_writes_report_with_every_path_and_graphs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=100,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    report = out / "report.md"
    assert r.stdout.strip() == str(report)
    text = report.read_text()
    for title in (
        "Runtime overhead per frame",
        "Per-hop latency vs load",
        "Cost of the dashboard on the audio cycle",
        "Audio capture → batch_update leaving for Minecraft",
        "DJ frame send → state received by a browser",
        "Fan-out: one DJ at 60 fps to N browsers",
        "Many DJs at 60 fps",
    ):
        assert f"## {title}" in text, title
    # every figure the report links exists and is a PNG
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert {"hop_latency_cdf.png", "hop_latency_load.png", "audio_minecraft_cdf.png", "dj_browser_cdf.png",
            "fanout_load.png", "many_djs_load.png"} <= set(figures)
    for name in figures:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    # the key figures carry numbers, e.g. "| one queued hop (p50, at 1000 Hz) | 16 µs |"
    assert re.search(r"\| one queued hop \(p50, at \d+ Hz\) \| \d+ µs \|", text)
    assert re.search(r"\| DJ → browser state, p50 / p99 \| [\d.]+ / [\d.]+ ms \|", text)
    assert "## Paths that did not run" not in text
    assert re.search(r"\| audio → Minecraft batch_update \(20 Hz tick\), p50 / p99 \| [\d.]+ / [\d.]+ ms \|", text)


def test_bench_without_matplotlib_says_what_to_install_before_measuring(tmp_path: Path) -> None:
    # The report's figures need matplotlib; without it `mcav bench` measured for minutes, then died with
    # a traceback. sys.modules[name] = None makes `import matplotlib` fail as if it were not installed.
    code = "import sys; sys.modules['matplotlib'] = None; from mcav.runtime.cli import main; sys.exit(main())"
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", code, "bench", "--quick", "--out", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr[-3000:]
    assert "matplotlib" in r.stderr and "pip install 'mcav[bench]'" in r.stderr and "Traceback" not in r.stderr
    assert "done in" not in r.stderr and not out.exists()  # nothing measured, nothing written
