"""The link node with a real Ableton Link session: two peers on this machine, in a network namespace of
their own so that Link's multicast (224.76.78.75:20808) stays on loopback."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("aalink", reason="the link extra (aalink) is not installed")

HERE = Path(__file__).resolve().parent
#: A private network namespace holding only loopback, with multicast on it: Link's discovery packets can
#: reach no other machine (Link announces itself on every interface it finds).
NETNS = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec \"$@\""


def _namespace_prefix() -> list[str]:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare/ip (util-linux, iproute2) missing: no private network for the Link peers")
    probe = subprocess.run(["unshare", "-n", "sh", "-c", NETNS, "sh", "true"], capture_output=True, text=True,
                           timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a private network namespace here ({probe.stderr.strip()[:200]}); the Link "
                    "mapping is tested without a network in test_timeline.py")
    return ["unshare", "-n", "sh", "-c", NETNS, "sh"]


def test_a_link_peer_drives_the_beat_and_leaving_hands_it_back_to_the_audio() -> None:
    run = subprocess.run([*_namespace_prefix(), sys.executable, str(HERE / "link_peers_run.py")],
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["alone"]["source"] == "audio" and result["alone"]["link_peers"] == 0
    assert result["joined"]["source"] == "link" and result["joined"]["link_peers"] == 1
    assert result["health"]["link_beat"] is True and result["health"]["link_peers"] == 1
    assert result["peer"] == {"tempo": 140.0, "peers": 1}
    frames = result["link_frames"]
    assert all(locked and confidence == 1.0 and abs(bpm - 140.0) < 0.01
               for _, _, bpm, confidence, locked, _ in frames)
    beats = [t for t, beat, *_ in frames if beat]
    assert len(beats) >= 8  # 4 s at 140 BPM: 9 beats, give or take the edges
    # one beat flagged per Link beat: 60/140 s apart, within one 10.7 ms frame (the synth's 512 samples)
    assert abs(statistics.median(b - a for a, b in zip(beats, beats[1:])) - 60 / 140) < 0.011
    assert result["left"]["source"] == "audio" and result["left"]["link_peers"] == 0
