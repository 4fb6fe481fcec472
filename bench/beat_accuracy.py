"""Beat accuracy and analysis speed of ``pipelines/analyze.yaml`` (file → fft → beat), beside librosa.

    python bench/beat_accuracy.py [--block 2048] [--shared ../shared] [--no-librosa] [--set fft.hop=256 …]

For every annotated clip in ``../shared/beatdata`` (absent clips are skipped)
and for generated synth clips, it runs the real graph at ``speed: max`` and
scores the flagged beats with mir_eval's F-measure (±70 ms), on the whole clip
and without the first 5 s, next to librosa's offline ``beat_track`` on the
same file. It also reports the tempo found against the annotated one, the
median delay between a true beat and the frame that flags it, and the
throughput in × real time with the FFT and beat cost per block and the whole
cost per 512-sample hop, as a ratio to one bare ``rfft`` measured in the same run.

Needs the bench extras: ``pip install mir_eval librosa`` (librosa optional).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import timeit
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from mcav.nodes.audio.synth import SynthSignal, beat_times
from mcav.runtime.compile import compile_graph
from mcav.runtime.engine import Runtime
from mcav.runtime.model import parse_graph_text

ROOT = Path(__file__).resolve().parent.parent
ANALYZE = ROOT / "pipelines" / "analyze.yaml"
WINDOW = 0.070
TRIM = 5.0
#: (folder, audio, annotation) of the reference clips; a clip with fewer than 8 beats is a smoke test only.
REAL_CLIPS = [
    ("ballroom", "ballroom/Media-105901.wav", "ballroom/Media-105901.beats"),
    ("hainsworth", "hainsworth/hains001.flac", "hainsworth/hains001.beats"),
    ("madmom", "madmom/sample.wav", "madmom/sample.beats"),
]
#: name → (bpm, tempo changes, noise) of the generated clips (30 s, 44.1 kHz).
SYNTH_CLIPS = {
    "synth-128": (128.0, [], 0.0),
    "synth-96-noise": (96.0, [], 0.05),
    "synth-174-noise": (174.0, [], 0.02),
    "synth-100-to-130": (100.0, [[15.0, 130.0]], 0.01),
}


@dataclass
class Score:
    """One clip's figures."""

    name: str
    seconds: float
    ref_bpm: float
    bpm: float
    f_all: float
    f_trim: float
    delay_ms: float | None
    lib_bpm: float | None = None
    lib_all: float | None = None
    lib_trim: float | None = None
    real: bool = True
    smoke: bool = False


#: ``--set`` overrides applied to analyze.yaml on top of the clip, block and sink (e.g. ``fft.hop=256``).
SETS: tuple[str, ...] = ()


def graph(path: Path, block: int, sink: str = "collect") -> Runtime:
    text = ANALYZE.read_text()
    spec = parse_graph_text(text, str(ANALYZE),
                            (f"source.path={path}", f"source.block={block}", f"sink.kind={sink}", *SETS))
    return Runtime(compile_graph(spec))


def run_mcav(path: Path, block: int) -> tuple[np.ndarray, float, float]:
    """Flagged beat times (s), the tempo over the last 10 s, and the audio length."""
    rt = graph(path, block)
    if rt.run() != 0:
        raise SystemExit(f"the analyze graph failed on {path}")
    frames = list(rt.node("sink").frames)
    beats = np.array([f.t_audio for f in frames if f.beat])
    end = frames[-1].t_audio
    bpms = [f.bpm for f in frames if f.t_audio > end - 10 and f.bpm > 0]
    return beats, float(np.median(bpms)) if bpms else 0.0, end


def f_measures(ref: np.ndarray, est: np.ndarray) -> tuple[float, float]:
    import mir_eval

    whole = mir_eval.beat.f_measure(ref, est, f_measure_threshold=WINDOW) if len(ref) and len(est) else 0.0
    r, e = mir_eval.beat.trim_beats(ref, TRIM), mir_eval.beat.trim_beats(est, TRIM)
    trimmed = mir_eval.beat.f_measure(r, e, f_measure_threshold=WINDOW) if len(r) and len(e) else 0.0
    return float(whole), float(trimmed)


def flag_delays(ref: np.ndarray, est: np.ndarray) -> list[float]:
    """For each true beat after TRIM s, flagged time − true time of the nearest flag within ±70 ms (s)."""
    out = []
    for r in ref[ref >= TRIM]:
        if len(est):
            j = int(np.argmin(np.abs(est - r)))
            if abs(est[j] - r) <= WINDOW:
                out.append(float(est[j] - r))
    return out


def run_librosa(path: Path) -> tuple[np.ndarray, float] | None:
    try:
        import librosa
    except ImportError:
        return None
    y, sr = librosa.load(str(path), sr=None, mono=True)
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return np.asarray(beats), float(np.atleast_1d(tempo)[0])


def score_clip(name: str, path: Path, ref: np.ndarray, block: int, use_librosa: bool, real: bool) -> Score:
    est, bpm, seconds = run_mcav(path, block)
    f_all, f_trim = f_measures(ref, est)
    delays = flag_delays(ref, est)
    s = Score(
        name=name,
        seconds=seconds,
        ref_bpm=60.0 / float(np.median(np.diff(ref))),
        bpm=bpm,
        f_all=f_all,
        f_trim=f_trim,
        delay_ms=1000 * float(np.median(delays)) if delays else None,
        real=real,
        smoke=len(ref) < 8,
    )
    lib = run_librosa(path) if use_librosa else None
    if lib is not None:
        s.lib_all, s.lib_trim = f_measures(ref, lib[0])
        s.lib_bpm = lib[1]
    return s


def fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def print_table(scores: list[Score]) -> None:
    print("| clip | s | ref BPM | mcav BPM | librosa BPM | mcav F | mcav F >5 s | librosa F | librosa F >5 s | median flag delay ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in scores:
        note = " (smoke: <8 beats)" if s.smoke else ""
        print(
            f"| {s.name}{note} | {s.seconds:.1f} | {s.ref_bpm:.1f} | {s.bpm:.1f} | {fmt(s.lib_bpm, '.1f')} | "
            f"{s.f_all:.3f} | {s.f_trim:.3f} | {fmt(s.lib_all, '.3f')} | {fmt(s.lib_trim, '.3f')} | {fmt(s.delay_ms, '+.1f')} |"
        )
    for label, group in (("real clips", [s for s in scores if s.real and not s.smoke]), ("synth clips", [s for s in scores if not s.real])):
        if not group:
            continue
        libs = [s.lib_trim for s in group if s.lib_trim is not None]
        lib = f", librosa {np.mean(libs):.3f} (>5 s)" if libs else ""
        print(
            f"mean F on {len(group)} {label}: mcav {np.mean([s.f_all for s in group]):.3f} (whole), "
            f"{np.mean([s.f_trim for s in group]):.3f} (>5 s){lib}"
        )
    delays = [s.delay_ms for s in scores if s.delay_ms is not None]
    if delays:
        print(f"median flag delay over clips: {np.median(delays):+.1f} ms (positive = flagged after the true beat)")


def speed(block: int, tmp: Path) -> None:
    """Throughput of file(max) → fft → beat → discard, and the per-block costs."""
    path = tmp / "speed.wav"
    sf.write(path, SynthSignal(48000, bpm=128, noise=0.02).render(0, 48000 * 60), 48000)
    # Baseline in the same run: one bare Hann-windowed rfft of 1024 samples.
    x, w = np.random.default_rng(0).standard_normal(1024), np.hanning(1024)
    bare_us = min(timeit.repeat(lambda: np.abs(np.fft.rfft(x * w)), number=2000, repeat=5)) / 2000 * 1e6
    for blk in sorted({block, 512, 4096}):
        walls, cpus = [], []
        for _ in range(3):
            rt = graph(path, blk, sink="discard")
            t0, c0 = time.perf_counter(), time.process_time()
            rt.run()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        nodes = rt.snapshot().nodes
        fft_ms, beat_ms = nodes["fft"].proc_p50_ms or 0.0, nodes["beat"].proc_p50_ms or 0.0
        hop_us = min(walls) / (60 * 48000 // 512) * 1e6  # everything: source, engine, fft, beat
        print(
            f"block {blk:5d} ({1000 * blk / 48000:5.1f} ms): {60 / min(walls):6.0f}x real time (wall, best of 3), "
            f"{60 / min(cpus):6.0f}x (CPU); fft {1000 * fft_ms:.0f} us + beat {1000 * beat_ms:.0f} us per block; "
            f"{hop_us:.1f} us per 512-sample hop = {hop_us / bare_us:.1f}x one bare 1024-point rfft ({bare_us:.1f} us)"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block", type=int, default=None, help="source block (default: analyze.yaml's)")
    ap.add_argument("--set", action="append", default=[], metavar="NODE.KEY=VALUE",
                    help="override a parameter of analyze.yaml, as `mcav run --set` (repeatable), e.g. fft.hop=256")
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("MCAV_SHARED", ROOT.parent / "shared")))
    ap.add_argument("--no-librosa", action="store_true", help="skip the librosa comparison")
    ap.add_argument("--no-speed", action="store_true", help="skip the throughput measurement")
    args = ap.parse_args(argv)
    global SETS
    SETS = tuple(args.set)
    try:
        import mir_eval  # noqa: F401
    except ImportError:
        print("bench/beat_accuracy.py needs mir_eval: pip install mir_eval", file=sys.stderr)
        return 2
    block = args.block or int(parse_graph_text(ANALYZE.read_text(), str(ANALYZE)).nodes["source"].params["block"])
    scores = []
    beatdata = args.shared / "beatdata"
    for name, audio, ann in REAL_CLIPS:
        a, b = beatdata / audio, beatdata / ann
        if not (a.is_file() and b.is_file()):
            print(f"skipped {name}: {a} not found")
            continue
        ref = np.loadtxt(b, comments="#", ndmin=2)[:, 0]
        scores.append(score_clip(name, a, ref, block, not args.no_librosa, real=True))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, (bpm, changes, noise) in SYNTH_CLIPS.items():
            path = tmp / f"{name}.wav"
            sf.write(path, SynthSignal(44100, bpm=bpm, tempo_changes=changes, noise=noise).render(0, 44100 * 30), 44100)
            scores.append(score_clip(name, path, beat_times(bpm, 30, changes), block, not args.no_librosa, real=False))
        extra = "".join(f" --set {s}" for s in SETS)
        print(f"\nBeat F-measure (±70 ms, mir_eval), analyze.yaml with block {block}{extra}:\n")
        print_table(scores)
        if not args.no_speed:
            print("\nSpeed (file, max speed → fft → beat → discard; 60 s synth at 48 kHz, one worker thread):\n")
            speed(block, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
