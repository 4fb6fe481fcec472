"""The ``fft`` node: Hann-windowed FFTs → the 5 MCAV bands (short window), AGC, smoothing, flux (long window), bass lane."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mcav.nodes.interfaces import AnalysisPreset
from mcav.nodes.presets import PRESET_NAMES, Preset, get_preset
from mcav.runtime.frames import AudioBlock, Frame, Spectrum
from mcav.runtime.node import NodeContext, SyncNode
from mcav.runtime.params import param

from .bands import BAND_EDGES_HZ, band_bins
from .spectrum import SpectrumAnalyzer

__all__ = ["BAND_EDGES_HZ", "Fft", "SpectrumAnalyzer", "band_bins", "downmix"]


def downmix(samples: np.ndarray) -> np.ndarray:
    """The mono mix (channel mean) of ``[n]`` or ``[n, channels]`` samples, same units.

    A matrix-vector product with ``1/channels`` weights: ``mean(axis=1)`` over a
    short last axis costs ~50x more, and for 2 channels the result is bit-identical
    (halving is exact).
    """
    if samples.ndim == 1:
        return samples
    channels = samples.shape[1]
    if channels == 1:
        return samples[:, 0]
    if samples.dtype.kind != "f":
        return samples.mean(axis=1)
    return samples.dot(_mix_weights(channels, samples.dtype))


@functools.lru_cache(maxsize=16)
def _mix_weights(channels: int, dtype: np.dtype) -> np.ndarray:
    return np.full(channels, 1.0 / channels, dtype)


class Fft(SyncNode):
    """Hann FFTs of the mono mix → 5 MCAV bands (short window) with AGC, smoothing, gate; flux (long window); bass lane."""

    kind = "fft"
    provides = {"preset": AnalysisPreset}

    @dataclass
    class Params:
        size: int = param(1024, doc="the beat's FFT window (flux, odf) in samples (21.3 ms at 48 kHz)", min=64,
                          max=1 << 15)
        hop: int = param(512, doc="samples between the beat's analyses (10.7 ms at 48 kHz)", min=16, max=1 << 15)
        band_size: int = param(512, doc="the bands' FFT window in samples (10.7 ms at 48 kHz)", min=64, max=1 << 15)
        band_hop: int = param(512, doc="samples between band analyses, a divisor of hop (10.7 ms at 48 kHz)", min=16,
                              max=1 << 15)
        preset: str = param("auto", doc="analysis preset (attack, release, AGC gain, beat tuning)", choices=PRESET_NAMES)
        gate: float = param(0.02, doc="noise gate: bands fall while the largest sample is below this", min=0, max=1)
        agc_half_life: float = param(2.3, doc="time for a band's AGC peak to fall by half", unit="s", min=0.01)
        bass_cutoff: float = param(120.0, doc="corner of the fast bass lane's low-pass", unit="Hz", min=20, max=500)

        def __post_init__(self) -> None:
            if self.band_hop > self.hop or self.hop % self.band_hop:
                raise ValueError(f"band_hop {self.band_hop} must divide hop {self.hop} (e.g. {self.hop // 2}): "
                                 "every beat hop must end with a band hop")

    inputs = {"in": AudioBlock}
    outputs = {"out": Spectrum}

    #: Long hops a burst's chunk holds (:meth:`process_burst`): numpy's per-call cost then counts once per
    #: chunk, and a chunk's windows and spectra stay in the CPU's caches (60 s at 48 kHz, 2048-sample
    #: frames: 16-32 hops cost 0.56-0.60 of frame by frame, 64 hops as much as frame by frame).
    BURST_HOPS = 32

    def __init__(self, params: Params, ctx: NodeContext) -> None:
        super().__init__(params, ctx)
        self._preset = get_preset(params.preset)
        self._analyzer: SpectrumAnalyzer | None = None
        self._seq = 0

    @property
    def preset(self) -> str:
        """Name of the preset in force."""
        return self._preset.name

    def set_preset(self, name: str) -> None:
        """Switch preset at run time; safe from any thread (takes effect at the next block).

        Raises:
            ValueError: naming the valid presets when ``name`` is unknown.
        """
        # One attribute store is atomic under the GIL and process() reads it once per block.
        self._preset = get_preset(name)
        self.ctx.log.info("preset set to '%s'", self._preset.name)

    def process(self, frame: Frame, port: str) -> Spectrum | None:
        assert isinstance(frame, AudioBlock)
        an = self._stream(frame)
        if an is None:
            return None
        preset = self._preset
        return self._spectrum(frame, an.analyze(downmix(frame.samples), preset), preset)

    def process_burst(self, frames: list[Frame], port: str) -> list[Frame | None]:
        """The frames of a burst in chunks of about :attr:`BURST_HOPS` hops, each chunk in one analysis."""
        out: list[Frame | None] = []
        i = 0
        while i < len(frames):
            first = frames[i]
            assert isinstance(first, AudioBlock)
            an = self._stream(first)
            if an is None:
                out.append(None)
                i += 1
                continue
            per = max(1, self.BURST_HOPS * self.params.hop // max(1, first.samples.shape[0]))
            chunk: list[AudioBlock] = [first]
            for frame in frames[i + 1 : i + per]:
                assert isinstance(frame, AudioBlock)
                if frame.sample_rate != first.sample_rate:  # the next chunk restarts the stream state
                    break
                chunk.append(frame)
            preset = self._preset
            results = an.analyze_many([downmix(f.samples) for f in chunk], preset)
            out.extend(self._spectrum(f, r, preset) for f, r in zip(chunk, results))
            i += len(chunk)
        return out

    def _stream(self, frame: AudioBlock) -> SpectrumAnalyzer | None:
        """The stream state for ``frame``: new on the first block or a rate change; None if the params cannot work."""
        an = self._analyzer
        if an is None or an.sr != frame.sample_rate:
            # First block, or the device came back at another rate: restart the stream state.
            p = self.params
            try:
                an = self._analyzer = SpectrumAnalyzer(
                    frame.sample_rate,
                    p.size,
                    p.hop,
                    p.gate,
                    p.agc_half_life,
                    p.bass_cutoff,
                    start_sample=round(frame.t_audio * frame.sample_rate),
                    band_size=p.band_size,
                    band_hop=p.band_hop,
                )
            except ValueError as exc:
                self.ctx.fail(f"fft node '{self.ctx.name}': {exc}")
                return None
        return an

    def _spectrum(self, frame: AudioBlock, out: dict | None, preset: Preset) -> Spectrum | None:
        """The Spectrum of ``frame`` from its analysis fields (None: no band hop ended in it)."""
        if out is None:
            return None
        spec = Spectrum(
            seq=self._seq,
            t_capture=frame.t_capture,
            sample_rate=frame.sample_rate,
            preset=preset.name,
            source=frame.source,
            **out,
        )
        self._seq += 1
        return spec

    def status(self) -> dict[str, str]:
        return {"preset": self.preset}
