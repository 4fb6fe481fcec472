"""The soak benchmark, briefly: ``python bench/soak.py --minutes 0.2 --every 2`` passes against the real server,
and its verdict fails a resource that grows (its judgement on made-up samples, no server)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/bench/ → the checkout


def test_a_short_soak_passes_and_reports_every_sample(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    r = subprocess.run(
        [sys.executable, "bench/soak.py", "--minutes", "0.2", "--every", "2", "--browsers", "6", "--slow", "1",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=100,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1].endswith("PASS")
    report = json.loads(out.read_text())
    assert len(report["samples"]) >= 6  # 12 s, every 2 s
    assert all(s["rss_mb"] > 0 and s["fds"] > 0 and s["threads"] > 0 for s in report["samples"])
    assert set(report["slopes_per_h"]) == {"rss_mb", "fds", "threads"}
    assert report["sessions"]["dj sessions"] >= 2 and report["sessions"]["browser sessions"] >= 6
    assert report["frames"]["batch_update at the plugin"] > 0 and report["frames"]["djs out"] > 0
    assert report["samples"][-1]["brw"] >= 1  # browsers were connected while it sampled
    assert all(n == 0 for n in report["unaccounted"].values()), report["unaccounted"]


def test_the_verdict_fails_growth_beyond_a_limit_and_its_floor() -> None:
    from bench.soak import judge

    idle = {"rss_mb": 60.0, "fds": 15.0, "threads": 6.0}
    flat = [{"t_s": t, "rss_mb": 60.0 + (t % 20) / 10, "fds": 40.0, "threads": 6.0} for t in range(0, 600, 10)]
    assert judge(flat, 120, idle, idle, {"djs → viz": 0}, 1000)[1] == []
    leaking = [{**r, "fds": 40.0 + r["t_s"] / 30} for r in flat]  # 120 descriptors an hour
    verdict, failures = judge(leaking, 120, idle, {**idle, "fds": 31.0}, {"djs → viz": 0}, 1000)
    assert verdict["slopes_per_h"]["fds"] == 120.0
    assert [f.split(" ")[0] for f in failures] == ["fds", "idle"]
    assert judge(flat, 120, idle, idle, {"mc → plugin": 40}, 1000)[1] == ["mc → plugin: 40 frames unaccounted for"]
    # a short run's step is not a trend: +1 MiB in 30 s is 120 MiB/h but under the floor
    short = [{"t_s": t, "rss_mb": 60.0 + t / 30, "fds": 40.0, "threads": 6.0} for t in range(0, 32, 2)]
    assert judge(short, 6, idle, idle, {}, 1000)[1] == []
