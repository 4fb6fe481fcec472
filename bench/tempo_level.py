"""The metrical level, measured: what the tracker's evidence says at each clip's tempo, its half and its double.

    python bench/tempo_level.py [--shared ../shared] [--rate 48000]

For each gtzan16k clip, the beat node's classes run frame by frame as in ``bench/beat_accuracy.py``; C is the
tracked tempo (median over the last 10 s, the bench's tempo), and each quantity is read at C/2, C and 2C
(averaged over the tempo estimates of the last 10 s unless said), so that a rule "halve when X" or "double
when Y" can be checked against the clips tracked at double or half the annotated tempo (issue 13's tempo
level; see bench/BEATS.md, round 8):

* comb: the tempo comb (autocorrelation at 1-4 periods, 1/√k, no prior, no tatum) of the onset function, of
  the bass band's flux and of the snare bands' (500-6000 Hz), each at C/2 and 2C over its value at C;
* prior: the tempo prior at C/2, C and 2C; belief: log10 of the tracker's tempo belief at C/2 and 2C over C
  (``-inf``: outside its 60-200 BPM);
* ratio: the periodicity ratio (:mod:`mcav.nodes.audio.periodicity`, at the tracked period) and the half-time
  alternation's running mean (:mod:`mcav.nodes.audio.halftime`);
* from the tracker's own beats after 5 s (strongest value within ±21 ms): the onset function's alternation
  between even and odd beats, its value at the midpoints (the half-beat, 2C's other beats) over the beats, and
  the *backbeat sign* at C and at 2C — the correlation, over consecutive pairs of that level's beats, of the
  bass band's and the snare bands' contrast within the pair (kick on 1, snare on 2 reads < 0; one level too
  fast, beat and off-beat, > 0; the tracker's parity does not matter);
* stability: the standard deviation (%) over the estimates from 8 s on of where the comb peaks within ±6 % of
  each level.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from mcav.nodes.audio.beat import BeatAnalyzer
from mcav.nodes.audio.tempo import TempoEstimator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from beat_accuracy import ROOT, load, real_sets, tempo_ok  # noqa: E402
from beat_eval import spectra  # noqa: E402

#: The bands read as the snare's (500-2000 and 2000-6000 Hz), beside the bass band (40-250 Hz).
SNARE = [2, 3]
#: How far from a beat its onset is looked for, in s (as :mod:`mcav.nodes.audio.halftime`).
NEAR_S = 0.021


def run(specs: list) -> dict:
    """Track one clip; keep the onset rows, the flagged beats (onset-sample indices) and each tempo estimate."""
    an = BeatAnalyzer()
    times: list[float] = []
    bpms: list[float] = []
    beats, estimates, belief = [], [], None
    for s in specs:
        row = an.feed(s)
        times.append(s.t_audio)
        bpms.append(row["bpm"])
        if row["beat"]:
            beats.append(an.last_beat)
        tempo = getattr(an, "tempo", None)
        if tempo is not None and tempo.belief is not belief:  # a new estimate replaced the belief
            belief = tempo.belief
            estimates.append({"n": an.n, "belief": belief, "ratio": tempo.evidence.ratio,
                              "alternation": an.halftime.alternation})
    t, bpm = np.array(times), np.array(bpms)
    sel = (t > t[-1] - 10.0) & (bpm > 0)
    rate = next(1.0 / s.hop_s for s in specs if s.hop_s > 0)
    return {"rate": rate, "states": an.tempo.bpms, "tempo": float(np.median(bpm[sel])) if sel.any() else 0.0,
            "odf": np.concatenate([s.odf for s in specs]).astype(np.float64),
            "flux": np.concatenate([s.flux for s in specs]).astype(np.float64),
            "beats": np.array(beats, np.float64), "estimates": estimates, "t_end": float(t[-1]), "n": an.n}


def detrend(x: np.ndarray, rate: float) -> np.ndarray:
    """The tempo estimator's adaptive threshold: minus a 0.1 s moving average, negative parts to 0."""
    box = max(3, int(0.1 * rate)) | 1
    return np.maximum(x - np.convolve(x, np.ones(box) / box, mode="same"), 0.0)


def near_max(x: np.ndarray, pos: np.ndarray, h: int) -> np.ndarray:
    """Strongest value of ``x`` within ±h samples of each position (NaN where the window leaves ``x``)."""
    p = np.round(pos).astype(np.intp)
    ok = (p >= h) & (p < x.size - h)
    out = np.full(p.size, np.nan)
    if ok.any():
        out[ok] = np.max(np.stack([x[p[ok] + d] for d in range(-h, h + 1)]), axis=0)
    return out


def backbeat(bass: np.ndarray, snare: np.ndarray, pos: np.ndarray, h: int) -> float:
    """Correlation over consecutive pairs of beats ``pos`` of the bass's and the snare's within-pair contrast."""
    b, s = near_max(bass, pos, h), near_max(snare, pos, h)
    m = pos.size // 2 * 2
    db, ds = (b[0:m:2] - b[1:m:2]) / np.nanmean(b), (s[0:m:2] - s[1:m:2]) / np.nanmean(s)
    ok = np.isfinite(db) & np.isfinite(ds)
    db, ds = db[ok], ds[ok]
    den = float(np.sqrt(np.sum(db * db) * np.sum(ds * ds)))
    return float(np.sum(db * ds)) / den if den > 0 else float("nan")


def evidence(r: dict) -> dict[str, float]:
    """The quantities of the module's docstring for one tracked clip ``r`` (see :func:`run`)."""
    rate, c = r["rate"], r["tempo"]
    levels = (c / 2, c, 2 * c)
    # The comb over 25-450 BPM without prior or tatum (its scores are relative: only ratios are read).
    flat = TempoEstimator(rate, 25.0, 450.0, prior_octaves=1e3, tatum=0.0)
    wide = TempoEstimator(rate, 25.0, 450.0)  # the shipped prior, over the wider range
    index = [int(np.argmin(np.abs(np.log(flat.bpms / b)))) for b in levels]
    win = int(8 * rate)
    ests = [e for e in r["estimates"] if e["n"] >= win]
    last = [e for e in ests if e["n"] / rate > r["t_end"] - 10.0]
    out: dict[str, float] = {}
    signals = {"odf": r["odf"], "bass": r["flux"][:, 0], "snare": r["flux"][:, SNARE].sum(axis=1)}
    for name, sig in signals.items():
        # The estimator's own comb (its ``_score``), read at any level: no copy of it here.
        combs = np.array([flat._score(detrend(sig[e["n"] - win : e["n"]], rate)) for e in last])
        mean = combs[:, index].mean(axis=0)
        out[f"comb {name} C/2"], out[f"comb {name} 2C"] = mean[0] / mean[1], mean[2] / mean[1]
    for level, i in zip(("C/2", "C", "2C"), index):
        out[f"prior {level}"] = float(wide.prior[i])
    belief = np.mean([e["belief"] for e in last], axis=0)
    for level, b in (("C/2", c / 2), ("2C", 2 * c)):
        j = int(np.argmin(np.abs(np.log(r["states"] / b))))
        near = abs(np.log(r["states"][j] / b)) < 0.01
        at_c = float(belief[int(np.argmin(np.abs(np.log(r["states"] / c))))])
        out[f"belief {level}"] = float(np.log10(belief[j] / at_c)) if near else float("-inf")
    out["ratio"] = float(np.mean([e["ratio"] for e in last]))
    out["alternation"] = float(r["estimates"][-1]["alternation"])
    h = max(1, round(NEAR_S * rate))
    bt = r["beats"][r["beats"] > 5 * rate]
    if bt.size >= 8:
        on, mids = near_max(r["odf"], bt, h), bt[:-1] + np.diff(bt) / 2
        out["odf alternation"] = float(abs(np.nanmean(on[::2]) - np.nanmean(on[1::2])) / np.nanmean(on))
        out["midpoint/beat"] = float(np.nanmean(near_max(r["odf"], mids, h)) / np.nanmean(on))
        out["backbeat C"] = backbeat(signals["bass"], signals["snare"], bt, h)
        out["backbeat 2C"] = backbeat(signals["bass"], signals["snare"], np.sort(np.concatenate((bt, mids))), h)
    # Stability: where the comb peaks within ±6 % of each level, estimate by estimate.
    span = int(np.ceil(np.log(1.06) / np.log(1.005)))
    scores = [flat._score(detrend(r["odf"][e["n"] - win : e["n"]], rate)) for e in ests]
    for level, i in zip(("C/2", "C", "2C"), index):
        lo, hi = max(0, i - span), min(flat.bpms.size, i + span + 1)
        peaks = [np.log(flat.bpms[lo + int(np.argmax(s[lo:hi]))]) for s in scores if s is not None]
        out[f"stability {level}"] = 100.0 * float(np.std(peaks)) if peaks else float("nan")
    return out


def level(ref: float, ours: float) -> str:
    """The clip's class: at the annotated level, tracked at double ("×2") or half ("×½") of it, or neither."""
    if tempo_ok(ours, ref):
        return "hit"
    if tempo_ok(ours / 2, ref):
        return "×2"
    return "×½" if abs(2 * ours / ref - 1) <= 0.1 else "—"  # ±10 %: metal.00026's .bpm and its beats differ 4 %


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("MCAV_SHARED", ROOT.parent / "shared")))
    ap.add_argument("--rate", type=int, default=48000, help="analysis rate in Hz (0 = each file's own)")
    args = ap.parse_args(argv)
    clips = [r for r in real_sets(args.shared) if r[0] == "gtzan16k"]
    if not clips:
        print(f"no gtzan16k clips under {args.shared / 'beatdata'}")
        return 2
    rows = []
    for _, name, path, _, ref in clips:
        r = run(spectra(*load(path), args.rate))
        rows.append((name, ref, r["tempo"], level(ref, r["tempo"]), evidence(r)))
    keys = list(dict.fromkeys(k for *_, e in rows for k in e))
    print("| clip | annotated BPM | ours | class | " + " | ".join(keys) + " |")
    print("|" + "---|" * (4 + len(keys)))
    for name, ref, ours, cls, e in sorted(rows, key=lambda z: (z[3] == "hit", z[0])):
        print(f"| {name} | {ref:.1f} | {ours:.1f} | {cls} | " + " | ".join(f"{e.get(k, float('nan')):.2f}" for k in keys) + " |")
    print("\nEach quantity: the range over the clips at the annotated level, and its value on each miss:")
    for k in keys:
        hits = [e[k] for *_, c, e in rows if c == "hit" and np.isfinite(e.get(k, np.nan))]
        misses = ", ".join(f"{n} ({c}) {e.get(k, float('nan')):.2f}" for n, _, _, c, e in rows if c != "hit")
        print(f"  {k}: hits {min(hits):.2f} to {max(hits):.2f}; {misses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
