"""Run inside a private network namespace (only loopback) by test_link.py: a graph with a ``link`` node and,
beside it, another Link peer (a DJ's software) that joins, sets 140 BPM and leaves. Prints one JSON line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2])]  # tests/, for conftest and vj_support

from conftest import build, wait_until  # noqa: E402
from vj_support import running  # noqa: E402

from mcav.nodes.link.session import LinkSession  # noqa: E402
from mcav.runtime.health import health_stats  # noqa: E402

GRAPH = """
nodes:
  source: {kind: synth, bpm: 128}
  fft:    {kind: fft, in: source}
  beat:   {kind: beat, in: fft}
  sync:   {kind: link, in: beat, quantum: 4, tempo: 100}
  out:    {kind: collect, in: sync, max_frames: 100000}
"""


def main() -> None:
    result: dict[str, object] = {}
    with running(build(GRAPH)) as rt:
        sync, out = rt.node("sync"), rt.node("out")
        wait_until(lambda: len(out.frames) > 20, what="frames")
        result["alone"] = dict(sync.status())
        peer = LinkSession(tempo=140.0, quantum=4.0)  # the DJ's software: a second Link peer on this machine
        peer.open()
        try:
            wait_until(lambda: sync.status()["link_peers"] >= 1, timeout=15, what="the peers to meet")
            peer.set_tempo(140.0)
            try:
                wait_until(lambda: abs(out.frames[-1].bpm - 140.0) < 0.01, timeout=10, what="the session tempo")
            except AssertionError:
                raise AssertionError(f"{out.frames[-1]} {sync.status()} {peer.sample()}") from None
            t0 = time.monotonic()
            first = len(out.frames)
            wait_until(lambda: time.monotonic() - t0 > 4.0, timeout=6, what="4 s of Link frames")
            frames = list(out.frames)[first:]
            result["joined"] = dict(sync.status())
            result["health"] = health_stats(rt.snapshot())
            result["link_frames"] = [[f.t_audio, f.beat, f.bpm, f.tempo_confidence, f.locked, f.beat_phase]
                                     for f in frames]
            sample = peer.sample()
            result["peer"] = {"tempo": sample.tempo if sample else None, "peers": sample.peers if sample else None}
        finally:
            peer.close()
        wait_until(lambda: sync.status()["source"] == "audio", timeout=15, what="the audio's beat again")
        result["left"] = dict(sync.status())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
