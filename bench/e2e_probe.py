"""What the end-to-end benchmark watches: the first visible change after each burst, at every observer.

* :class:`BrowserWatcher` — a raw browser client on :8766 that keeps each
  ``state`` message's arrival time and entity scales/heights;
* :func:`plugin_frames` — the same from the plugin stand-in's ``batch_update`` messages;
* :class:`CaptureProbe` — a capture stream of its own on the null sink's monitor
  (same block size and PortAudio latency as the graph's), which times the block holding each burst's
  first sample: the capture path alone;
* :func:`analysis_delays` — the analysis window, offline: the same fft → beat →
  pattern chain fed bursts from a file, counting the audio it needs after the
  onset's block before the scene changes visibly.

A *visible change* is an entity growing or rising by at least :data:`VISIBLE`
blocks (1/16: one texture pixel of a block) relative to the last frame received
before the burst's onset.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["VISIBLE", "BrowserWatcher", "CaptureProbe", "analysis_delays", "first_changes", "plugin_frames"]

#: Smallest change that counts as visible, in blocks (a zone is 10 blocks tall: y moves are ×10).
VISIBLE = 1.0 / 16
ZONE_BLOCKS = 10.0
#: How long after an onset a change still counts as its response (s).
HORIZON_NS = 250_000_000

Frame = tuple[int, np.ndarray]  # (arrival ns, [scale..., y*ZONE_BLOCKS...])


def _vector(entities: Sequence[dict[str, Any]]) -> np.ndarray:
    scale = [float(e.get("scale", 0.0)) for e in entities]
    y = [float(e.get("y", 0.0)) * ZONE_BLOCKS for e in entities]
    return np.asarray(scale + y)


def first_changes(onsets_ns: Sequence[int], frames: Sequence[Frame]) -> list[float | None]:
    """For each onset: ms until the first frame that differs visibly from the one before the onset."""
    times = [t for t, _ in frames]
    out: list[float | None] = []
    for t0 in onsets_ns:
        k = bisect.bisect_right(times, t0)
        if k == 0:
            out.append(None)
            continue
        ref = frames[k - 1][1]
        hit = None
        for t, v in frames[k:]:
            if t - t0 > HORIZON_NS:
                break
            if v.shape == ref.shape and _visible(v, ref):
                hit = (t - t0) / 1e6
                break
        out.append(hit)
    return out


def _visible(v: np.ndarray, ref: np.ndarray) -> bool:
    n = v.size // 2
    # upward only: between bursts the scene is still decaying from the previous one
    return n > 0 and float(np.max(v - ref)) >= VISIBLE


class BrowserWatcher:
    """A browser on ``ws://127.0.0.1:port``: every ``state``'s arrival (monotonic ns) and entity vector."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.frames: list[Frame] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 20.0) -> None:
        from websockets.asyncio.client import connect

        deadline = time.monotonic() + timeout
        while True:
            try:
                ws = await connect(f"ws://127.0.0.1:{self.port}", proxy=None, compression=None, max_size=None)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        self._task = asyncio.ensure_future(self._read(ws))

    async def _read(self, ws: Any) -> None:
        async with ws:
            async for text in ws:
                now = time.monotonic_ns()
                if text.startswith('{"type":"state"'):
                    self.frames.append((now, _vector(json.loads(text)["entities"])))
                elif '"type":"ping"' in text[:40]:
                    await ws.send('{"type":"pong"}')

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def plugin_frames(plugin: Any, since: int = 0) -> list[Frame]:
    """The stand-in's ``batch_update`` messages from index ``since`` on, as frames."""
    with plugin._cond:
        pairs = list(zip(plugin.messages[since:], plugin.arrivals[since:]))
    return [(int(t * 1e9), _vector(m.get("entities", []))) for m, t in pairs
            if m.get("type") == "batch_update" and m.get("entities")]


class CaptureProbe:
    """Its own capture stream on the default source: arrival of the first loud block after silence."""

    def __init__(self, block: int, latency: str | float = "low", rate: int = 48000) -> None:
        import sounddevice as sd

        sd._terminate()  # PortAudio lists the devices when it starts: see the benchmark's own server
        sd._initialize()
        self.arrivals: list[int] = []
        self._quiet = True
        self._stream = sd.InputStream(samplerate=rate, channels=1, blocksize=block, latency=latency,
                                      dtype="float32", callback=self._callback)
        self._stream.start()

    def _callback(self, block: np.ndarray, frames: int, t: Any, status: Any) -> None:
        now = time.monotonic_ns()
        peak = float(np.max(np.abs(block)))
        if peak > 0.05 and self._quiet:
            self.arrivals.append(now)
            self._quiet = False
        elif peak < 0.01:
            self._quiet = True

    def delays(self, onsets_ns: Sequence[int]) -> list[float | None]:
        """ms from each onset to the arrival of the block holding it (None if not seen)."""
        out: list[float | None] = []
        for t0 in onsets_ns:
            k = bisect.bisect_left(self.arrivals, t0 - 5_000_000)  # the probe may see it a little early
            ok = k < len(self.arrivals) and self.arrivals[k] - t0 < HORIZON_NS
            out.append((self.arrivals[k] - t0) / 1e6 if ok else None)
        return out

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


def analysis_delays(sets: Sequence[str], block: int, bursts: int = 120, rate: int = 48000, seed: int = 1) -> list[float]:
    """ms of audio the analysis needs after the block holding an onset, until the scene changes visibly.

    Runs ``file → fft → beat → pattern → collect`` (this tree's nodes, ``sets`` applied to the
    ``fft``/``beat``/``viz`` nodes) at full speed on silence with 50 ms noise bursts at random sample
    offsets 300-400 ms apart, as the live benchmark plays them.
    """
    import soundfile as sf

    from mcav.nodes.builtin import Collect
    from mcav.runtime.compile import compile_text
    from mcav.runtime.engine import Runtime

    rng = np.random.default_rng(seed)
    onsets, pos = [], rate // 2
    for _ in range(bursts):
        onsets.append(pos)
        pos += int(rng.uniform(0.30, 0.40) * rate)
    audio = np.zeros(pos + rate // 2, np.float32)
    for s in onsets:
        audio[s : s + rate // 20] = rng.uniform(-0.5, 0.5, rate // 20)
    keep = [s for s in sets if s.split(".", 1)[0] in ("fft", "beat", "viz")]
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "bursts.wav"
        sf.write(wav, audio, rate, subtype="FLOAT")
        text = (f"graph: e2e_analysis\nnodes:\n  source: {{kind: file, path: '{wav}', speed: max, block: {block}}}\n"
                "  fft: {kind: fft, in: source}\n  beat: {kind: beat, in: fft}\n"
                "  viz: {kind: pattern, in: beat, pattern: spectrum, entities: 64}\n  sink: {kind: collect, in: viz}\n")
        rt = Runtime(compile_text(text, "e2e_analysis.yaml", tuple(keep)))
        rt.start()
        rt.wait(120)
        rt.shutdown()
    sink = rt.node("sink")
    assert isinstance(sink, Collect), f"the graph's sink is a collect node, not {type(sink).__name__}"
    scenes = list(sink.frames)
    ends = [int(np.ceil(round(s.features.t_audio * rate) / block) * block) for s in scenes]  # type: ignore[attr-defined]
    frames = [(e, np.concatenate([s.scale, s.y * ZONE_BLOCKS])) for e, s in zip(ends, scenes)]  # type: ignore[attr-defined]
    out = []
    for s0 in onsets[3:]:  # the first bursts set the AGC peaks
        e0 = (s0 // block + 1) * block
        k = bisect.bisect_right([t for t, _ in frames], s0)
        if k == 0:
            continue
        ref = frames[k - 1][1]
        for e, v in frames[k:]:
            if e - e0 > 0.25 * rate:
                break
            if _visible(v, ref):
                out.append((e - e0) / rate * 1000)
                break
    return out
