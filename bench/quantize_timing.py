"""How beat-quantised pattern switches line up with the music.

    python bench/quantize_timing.py [--bpm 128] [--duration 120]

A synth track (its beat times are known exactly) runs through fft → beat →
pattern at full speed; every 2.3 s of audio (so requests fall anywhere in a
beat) a switch is asked for, quantised to the next beat and, in a second run,
the next bar. For each switch: where it landed against the nearest true beat
(ms; the tracker's announce lag included), and how long after the request it
came (beats). Prints median and p99, and how many switches landed exactly on
a beat frame.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from mcav.nodes.audio.synth import beat_times  # noqa: E402
from mcav.nodes.patterns.node import PatternNode  # noqa: E402
from mcav.runtime.compile import compile_text  # noqa: E402
from mcav.runtime.engine import Runtime  # noqa: E402


def measure(bpm: float, duration: float, unit: str) -> dict[str, float]:
    rt = Runtime(compile_text(
        "nodes:\n"
        f"  src: {{kind: synth, bpm: {bpm}, duration: {duration}, speed: max}}\n"
        "  fft: {kind: fft, in: src}\n"
        "  beat: {kind: beat, in: fft}\n"
        f"  viz: {{kind: pattern, in: beat, quantize: {unit}}}\n"
        "  out: {kind: collect, in: viz}\n", "quantize-bench.yaml"))
    viz = rt.node("viz")
    assert isinstance(viz, PatternNode), f"the graph's viz is a pattern node, not {type(viz).__name__}"
    original = viz.process
    keys = [p["id"] for p in viz.patterns()]
    asks: list[tuple[float, str]] = []
    next_ask = 8.0  # after the tracker has locked

    def process(frame, port):  # type: ignore[no-untyped-def]
        nonlocal next_ask
        if next_ask <= frame.t_audio < duration - 4.0:  # a bar (≤ 2 s at 128 BPM) fits before the end
            key = keys[len(asks) % len(keys)] if keys[len(asks) % len(keys)] != viz.state()["pattern"] else keys[-1]
            viz.set_pattern(key)
            asks.append((frame.t_audio, key))
            next_ask += 2.3
        return original(frame, port)

    viz.process = process  # type: ignore[method-assign]
    assert rt.run() == 0
    scenes = rt.node("out").frames  # type: ignore[attr-defined]
    truth = beat_times(bpm, duration)
    period = 60.0 / bpm
    errors, waits, on_beat = [], [], 0
    for t_ask, key in asks:
        hit = next((s for s in scenes if s.features.t_audio > t_ask and s.pattern == key), None)
        if hit is None:
            continue
        t = hit.features.t_audio
        errors.append(1000 * (t - truth[np.argmin(np.abs(truth - t))]))
        waits.append((t - t_ask) / period)
        on_beat += bool(hit.features.beat)
    err = np.abs(np.array(errors))
    return {"switches": len(errors), "asked": len(asks), "on_beat_frames": on_beat,
            "abs_error_ms_p50": round(float(np.percentile(err, 50)), 1),
            "abs_error_ms_p99": round(float(np.percentile(err, 99)), 1),
            "wait_beats_p50": round(float(np.median(waits)), 2), "wait_beats_max": round(float(np.max(waits)), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bpm", type=float, default=128.0)
    ap.add_argument("--duration", type=float, default=120.0)
    args = ap.parse_args()
    for unit in ("beat", "bar"):
        print(unit, measure(args.bpm, args.duration, unit))


if __name__ == "__main__":
    main()
