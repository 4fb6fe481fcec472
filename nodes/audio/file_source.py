"""The ``file`` source: WAV/FLAC (anything libsndfile reads), paced or flat out, optionally looped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from mcav.runtime.errors import NodeFailure
from mcav.runtime.frames import AudioBlock, Frame
from mcav.runtime.params import param

from .fft import downmix
from .pacing import PacedSource, Pacer, Speed
from .resample import StreamResampler

__all__ = ["FileSource", "resolve_path"]

_READ_BLOCKS = 32  # blocks read from disk per call: fewer, larger reads at max speed


def resolve_path(path: str, base_dir: Path) -> Path:
    """``path`` as given if it exists (absolute or relative to the working directory),
    else relative to the graph file's directory.

    Raises:
        NodeFailure: naming every place that was tried.
    """
    p = Path(path).expanduser()
    if p.is_file():
        return p
    tried = [p.resolve()]
    if not p.is_absolute():
        alt = base_dir / p
        if alt.is_file():
            return alt
        if alt.resolve() not in tried:  # the graph's folder is the working directory: one place, said once
            tried.append(alt.resolve())
    folders = [t for t in tried if t.is_dir()]
    if folders:
        raise NodeFailure(f"audio file {path} is a folder ({folders[0]}): give the path of a file in it")
    raise NodeFailure(f"audio file not found: {path} (looked for {' and '.join(str(t) for t in tried)})")


class FileSource(PacedSource):
    """Plays an audio file (WAV, FLAC…) in real time or as fast as the graph goes, resampled if asked."""

    kind = "file"

    @dataclass
    class Params:
        path: str = param(doc="audio file (WAV, FLAC…); relative to the working directory, else to the graph file")
        speed: Speed = param("realtime", doc="'realtime' paces blocks like a live input; 'max' runs flat out")
        loop: bool = param(False, doc="start again at the end (audio time keeps counting)")
        block: int = param(512, doc="samples per frame (at the output rate)", min=16, max=1 << 16)
        sample_rate: int = param(0, doc="output rate; 0 keeps the file's rate", unit="Hz", min=0, max=192000)
        mono: bool = param(False, doc="mix the channels down to one before resampling (an analysis needs no "
                                      "more, and resampling one channel costs half as much)")

    outputs = {"out": AudioBlock}

    _position_s = 0.0  # audio time played so far (s): progress of a long analysis
    _duration_s: float | None = None  # the file's length (s); None while looping

    def status(self) -> dict[str, Any]:
        """``position_s`` and ``duration_s`` (the dashboard and the status log show them as progress)."""
        return {"position_s": round(self._position_s, 3), "duration_s": self._duration_s}

    def _open(self):  # type: ignore[no-untyped-def]
        import soundfile as sf  # libsndfile is bundled with the wheel

        path = resolve_path(self.params.path, self.ctx.base_dir)
        try:
            return path, sf.SoundFile(str(path))
        except (RuntimeError, OSError) as exc:  # LibsndfileError is a RuntimeError
            raise NodeFailure(f"file source '{self.ctx.name}': cannot read {path}: {exc}") from None

    def _channels_out(self, channels: int) -> int:
        """The channels of the frames for a file of ``channels``: 1 with ``mono``, else the file's."""
        return 1 if self.params.mono else channels

    def _chunks(self, f, rate_out: int) -> Iterator[np.ndarray]:  # type: ignore[no-untyped-def]
        """Decoded, resampled samples in chunks, looping if asked."""
        p = self.params
        channels = self._channels_out(f.channels)
        mix = channels != f.channels
        resampler = StreamResampler(f.samplerate, rate_out, channels) if rate_out != f.samplerate else None
        want = p.block * _READ_BLOCKS
        # 16-bit PCM (most WAV and FLAC files): libsndfile's conversion to float costs 3x reading
        # int16 and scaling in numpy, which gives the same values (x / 32768, exact in float32).
        pcm16 = f.subtype == "PCM_16"
        while True:
            if pcm16:
                raw = f.read(want, dtype="int16", always_2d=True)
                data = np.multiply(raw, np.float32(1.0 / 32768.0), dtype=np.float32)
            else:
                data = f.read(want, dtype="float32", always_2d=True)
            if mix:  # the channel mean, as the fft node would take it
                data = downmix(data)[:, None]
            if data.shape[0] == 0:
                if p.loop and f.frames > 0:
                    f.seek(0)
                    continue
                if resampler is not None:
                    yield resampler.flush()
                return
            yield resampler.process(data) if resampler is not None else data

    def frames(self) -> Iterator[Frame]:
        p = self.params
        path, f = self._open()
        rate = p.sample_rate or f.samplerate
        self.ctx.log.info(
            "playing %s (%d Hz, %d ch, %.1f s) at %s speed%s%s",
            path, f.samplerate, f.channels, f.frames / max(1, f.samplerate), p.speed,
            ", mixed to mono" if self._channels_out(f.channels) != f.channels else "",
            f", resampled to {rate} Hz" if rate != f.samplerate else "",
        )  # fmt: skip
        pacer = Pacer(self.ctx, p.speed)
        self._duration_s = None if p.loop else f.frames / max(1, f.samplerate)
        pos = seq = 0
        block, name = p.block, self.ctx.name  # locals: this loop runs once per block at max speed
        block_s = block / rate
        pending = np.zeros((0, self._channels_out(f.channels)), np.float32)
        with f:
            for chunk in self._chunks(f, rate):
                pending = np.concatenate((pending, chunk)) if pending.shape[0] else chunk
                while pending.shape[0] >= block:
                    t_capture = pacer.wait((pos + block) / rate, block_s)
                    if t_capture is None:
                        return
                    yield AudioBlock(
                        seq=seq, t_capture=t_capture, samples=pending[:block], sample_rate=rate,
                        t_audio=pos / rate, source=name,
                    )  # fmt: skip
                    pending = pending[block:]
                    pos += block
                    seq += 1
                    self._position_s = pos / rate
            n = pending.shape[0]
            if n:  # the last, shorter block
                t_capture = pacer.wait((pos + n) / rate, n / rate)
                if t_capture is not None:
                    yield AudioBlock(
                        seq=seq, t_capture=t_capture, samples=pending, sample_rate=rate,
                        t_audio=pos / rate, source=self.ctx.name,
                    )  # fmt: skip
