"""The end-to-end latency benchmark (bench/e2e_latency.py) on a short run: it must see every observer react.

Marked ``audio``: it starts a PulseAudio server of its own (null sink) and skips cleanly without one.
Only what the benchmark sees is checked, never a timing: its figures come from ``bench/``.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/bench/ → the checkout
pytestmark = pytest.mark.audio


@pytest.fixture(scope="module")
def e2e() -> Any:
    if shutil.which("pulseaudio") is None:
        pytest.skip("pulseaudio is not installed")
    sys.path.insert(0, str(ROOT))
    try:
        from bench import e2e_latency
        from bench.pulse import PulseServer, PulseUnavailable
    except ImportError as exc:
        pytest.skip(f"the benchmark cannot run here: {exc}")
    if ctypes.util.find_library("portaudio") is None:
        pytest.skip("PortAudio is not installed (apt-get install libportaudio2)")
    try:
        with PulseServer():
            pass
    except PulseUnavailable as exc:
        pytest.skip(str(exc))
    return e2e_latency


def test_short_run_sees_each_burst_at_the_browser_and_the_plugin_in_both_topologies(e2e: Any) -> None:
    before = set(os.listdir("/proc"))
    cases = e2e.run([e2e.CONFIGS["defaults"]], ["one", "two"], bursts=4)
    assert [(c.config, c.topology) for c in cases] == [("defaults", "one"), ("defaults", "two")]
    for c in cases:
        for target in ("browser", "plugin", "capture"):
            seen = [v for v in getattr(c, target) if v is not None]
            # on a busy machine the player may fold two bursts into one, and a burst may rise too little
            # over the last one's decay to count: each observer must still have seen one
            assert 3 <= len(getattr(c, target)) <= 4 and seen, (c.topology, target, getattr(c, target))
            # the capture probe may see a burst up to 5 ms before the player's estimate of its onset
            low = -5 if target == "capture" else 0
            assert all(low <= v < 250 for v in seen), (c.topology, target, seen)
        assert c.analysis and all(v >= 0 for v in c.analysis)
        s = c.stats("browser")
        assert s["total"][0] == pytest.approx(s["capture"][0] + s["analysis"][0] + s["rest"][0], abs=0.02)
        assert c.cpu > 0
    # the capture node's xruns come from the one-process graph's /metrics (dj.yaml serves none)
    assert [type(c.extra["xruns"]) for c in cases] == [int, type(None)]
    # the PulseAudio server and the mcav processes it started are gone
    started = [p for p in set(os.listdir("/proc")) - before if p.isdigit()]
    leftovers = [p for p in started if _cmdline(p).startswith(("pulseaudio", sys.executable))]
    assert leftovers == []


def test_a_baseline_runs_with_its_own_capture_settings_and_analysis(e2e: Any) -> None:
    from bench.common import code_tree

    old = code_tree("eda4b0a")  # before issue 18's capture defaults: blocks of 256, PortAudio's "low"
    base = e2e.Config("defaults @ eda4b0a", (), old)
    assert base.capture == (256, "low")
    assert e2e.Config("defaults").capture == (128, 0.005)
    assert e2e.Config("x", ("source.block=512", "source.latency=0.02"), old).capture == (512, 0.02)
    delays = base.analysis()  # run by the old tree's own bench.e2e_probe and nodes
    assert len(delays) > 100 and all(d >= 0 for d in delays)


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
