"""The ``sounddevice`` source: live capture through PortAudio, reopened when the device dies.

The PortAudio callback runs on the audio thread and holds the GIL while it
runs, so it does the least possible: copy the block into a preallocated ring,
note its capture time, count status flags, wake the reader. Everything else
(mono mixing, analysis) happens on the source's worker thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator, Literal

import numpy as np

from mcav.runtime.errors import NodeFailure
from mcav.runtime.frames import AudioBlock, Frame
from mcav.runtime.node import NodeContext, SourceNode
from mcav.runtime.params import param
from mcav.runtime.policies import Backoff, Link

from .devices import AudioUnavailable, InputDevice, find_input_device, load_sounddevice

__all__ = ["AdcClock", "BlockRing", "Capture"]


class BlockRing:
    """A single-producer single-consumer ring of fixed-size audio blocks.

    The producer (PortAudio callback) writes a slot, then bumps ``written``;
    the consumer reads up to ``written`` and bumps ``read``. Each index has one
    writer and an int store is atomic under the GIL, so no lock is needed.
    When full, the *new* block is dropped and counted: the callback must not wait.

    Args:
        slots: Capacity in blocks.
        block: Samples per block.
        channels: Channels per sample.
    """

    def __init__(self, slots: int, block: int, channels: int) -> None:
        self.data = np.zeros((slots, block, channels), np.float32)
        self.frames = np.zeros(slots, np.int64)  # valid samples per slot (PortAudio may vary)
        self.t_first = np.zeros(slots, np.int64)  # monotonic ns of each block's first sample
        self.slots = slots
        self.written = 0
        self.read = 0
        self.dropped = 0
        self.wake = threading.Event()

    def put(self, block: np.ndarray, t_first_ns: int) -> None:
        """Producer side: copy one block in (or count a drop when full)."""
        if self.written - self.read >= self.slots:
            self.dropped += 1
            return
        i = self.written % self.slots
        n = min(block.shape[0], self.data.shape[1])
        self.data[i, :n] = block[:n]
        self.frames[i] = n
        self.t_first[i] = t_first_ns
        self.written += 1
        self.wake.set()

    def get(self) -> tuple[np.ndarray, int] | None:
        """Consumer side: a copy of the oldest block and its first-sample time, or None if empty."""
        if self.read >= self.written:
            return None
        i = self.read % self.slots
        out = self.data[i, : self.frames[i]].copy(), int(self.t_first[i])
        self.read += 1
        return out


class AdcClock:
    """Maps the time of each block's first sample onto ``time.monotonic_ns``, steadily.

    The callback runs only once it holds the GIL, so "now" on entry minus PortAudio's
    ``currentTime`` is the offset between the two clocks *plus* that wait (up to the
    switch interval, more under load). With blocks of 2.7 ms, taking it as it comes made
    capture times jitter by as much and sometimes run backwards. The smallest offset seen
    is the best estimate (a wait only adds to it); it may rise by ``drift`` of the audio
    time so that a PortAudio clock running slower than ours is followed. Without usable
    stream times, the arrival time minus the block's duration. Times never go backwards.

    Args:
        rate: Sample rate in Hz.
        drift: Largest clock rate difference followed, as a fraction (100 ppm).
    """

    def __init__(self, rate: int, drift: float = 1e-4) -> None:
        self.rate = rate
        self.drift = drift
        self.offset_ns: int | None = None  # our clock minus PortAudio's
        self._last = -1

    def first_sample_ns(self, now_ns: int, current_s: float, adc_s: float, frames: int) -> int:
        """Monotonic ns of the block's first sample, from the callback's entry time and PortAudio's times (s)."""
        lag = current_s - adc_s
        if adc_s > 0 and 0.0 <= lag < 1.0:
            offset = now_ns - round(current_s * 1e9)
            if self.offset_ns is not None:
                offset = min(offset, self.offset_ns + round(frames / self.rate * self.drift * 1e9))
            self.offset_ns = offset
            first = round(adc_s * 1e9) + offset
        else:
            first = now_ns - frames * 1_000_000_000 // self.rate
        first = self._last = max(first, self._last + 1)
        return first


#: A capture device that died or stalled is reopened after 1 s ×1.5 up to 10 s, forever.
AUDIO_DEVICE = Link("audio_device", reconnect={"default": dict(initial=1.0, multiplier=1.5, max=10.0, max_attempts=None)})


class Capture(SourceNode):
    """Live audio input through PortAudio (device by name, index or default); reopened when it dies."""

    kind = "sounddevice"
    policies = {"reconnect": AUDIO_DEVICE}

    @dataclass
    class Params:
        device: str | int | None = param(None, doc="input device: index, name or part of it (null = default)")
        sample_rate: int = param(48000, doc="capture rate (0 = the device's default)", unit="Hz", min=0, max=384000)
        channels: int = param(0, doc="channels to capture (0 = up to 2 of the device's)", min=0, max=64)
        block: int = param(128, doc="samples per block (2.7 ms at 48 kHz; a quarter of the fft hop: an onset waits "
                           "at most this long for its block)", min=16, max=1 << 15)
        ring_blocks: int = param(256, doc="blocks buffered between the audio thread and the graph", min=2, max=4096)
        latency: Literal["low", "high"] | float = param(
            0.005, doc="input latency asked of PortAudio: seconds, or its device's `low`/`high` defaults (PulseAudio's "
            "`low` is 10.7 ms; 5 ms gives two 128-sample periods)", unit="s", min=0.0, max=1.0)
        stall_timeout: float = param(3.0, doc="no audio for this long means the stream died", unit="s", min=0.1)
        duration: float | None = param(None, doc="stop after this much audio (null = run until stopped)", unit="s", min=0)

    outputs = {"out": AudioBlock}

    def __init__(self, params: Params, ctx: NodeContext) -> None:
        super().__init__(params, ctx)
        self.device: InputDevice | None = None
        self.status_flags = 0  # callbacks that reported over/underflow
        self.reopens = 0
        self.stream_latency: float | None = None  # s: what PortAudio granted for the latency asked
        self._ring: BlockRing | None = None
        self._stream_error: str | None = None

    def status(self) -> dict[str, Any]:
        ring = self._ring
        return {
            "device": self.device.name if self.device else None,
            "status_flags": self.status_flags,
            "dropped": ring.dropped if ring else 0,
            "reopens": self.reopens,
            "input_latency_ms": None if self.stream_latency is None else round(self.stream_latency * 1000, 2),
        }

    def _callback_for(self, ring: BlockRing, rate: int):  # type: ignore[no-untyped-def]
        monotonic_ns = time.monotonic_ns

        clock = AdcClock(rate)

        def callback(indata: np.ndarray, frames: int, t: Any, status: Any) -> None:
            now = monotonic_ns()
            if status:
                self.status_flags += 1
            ring.put(indata, clock.first_sample_ns(now, t.currentTime, t.inputBufferAdcTime, frames))

        return callback

    def _open(self, sd: Any) -> tuple[Any, BlockRing, int]:
        """Find the device and start a stream on it."""
        p = self.params
        dev = find_input_device(sd, p.device)
        rate = p.sample_rate or int(dev.default_rate)
        channels = p.channels or min(2, dev.channels)
        if channels > dev.channels:
            raise NodeFailure(f"device '{dev.name}' has {dev.channels} input channel(s); channels: {channels} asked")
        ring = BlockRing(p.ring_blocks, p.block, channels)
        stream = sd.InputStream(
            device=dev.index,
            samplerate=rate,
            channels=channels,
            blocksize=p.block,
            dtype="float32",
            latency=p.latency,
            callback=self._callback_for(ring, rate),
        )
        try:
            stream.start()
        except BaseException:  # e.g. the device is busy: the opened stream must not leak
            self._close(stream, abort=False)
            raise
        self.device = dev
        self._ring = ring
        self.stream_latency = float(stream.latency)
        self.ctx.log.info("capturing from [%d] %s at %d Hz, %d ch, %d-sample blocks, %.1f ms input latency",
                          dev.index, dev.name, rate, channels, p.block, self.stream_latency * 1000)
        return stream, ring, rate

    def _alternatives(self) -> str:
        n = self.ctx.name
        return (
            f"\nalternatives: another device (`mcav devices`, then --set {n}.device=NAME), a file "
            f"(--set {n}.kind=file --set {n}.path=track.wav) or the built-in synth (--set {n}.kind=synth)"
        )

    def frames(self) -> Iterator[Frame]:
        try:
            sd = load_sounddevice()
        except AudioUnavailable as exc:
            raise NodeFailure(f"sounddevice node '{self.ctx.name}': {exc}{self._alternatives()}") from None
        ctx = self.ctx
        backoff = Backoff(ctx.reconnect_policy())
        seq = 0
        pos = 0  # samples emitted: the audio time keeps counting across reopens
        while not ctx.stopping:
            try:
                stream, ring, rate = self._open(sd)
            except (AudioUnavailable, sd.PortAudioError) as exc:
                if isinstance(exc, AudioUnavailable) and not backoff.ever_connected:
                    # a wrong name or no device at all: say so now, with what to use instead
                    raise NodeFailure(f"sounddevice node '{ctx.name}': {exc}{self._alternatives()}") from None
                delay = backoff.failed()  # busy, or gone and maybe coming back
                if delay is None:
                    raise NodeFailure(f"sounddevice node '{ctx.name}': cannot open audio input: {exc}") from None
                ctx.log.warning("cannot open audio input (%s); retrying in %.1f s", str(exc).splitlines()[0], delay)
            else:
                if backoff.ever_connected:
                    self.reopens += 1
                backoff.connected()
                end = None if self.params.duration is None else round(self.params.duration * rate)
                try:
                    for block, t_first in self._read(stream, ring, rate):
                        if end is not None and pos + block.shape[0] >= end:
                            block = block[: end - pos]
                        yield AudioBlock(
                            seq=seq, t_capture=t_first, samples=block, sample_rate=rate,
                            t_audio=pos / rate, source=ctx.name,
                        )  # fmt: skip
                        seq += 1
                        pos += block.shape[0]
                        if end is not None and pos >= end:
                            return
                finally:
                    self._close(stream)
                if ctx.stopping:
                    return
                delay = backoff.lost()
                ctx.log.warning("audio stream died (%s); reopening in %.1f s", self._stream_error, delay)
            if ctx.stop_event.wait(delay):
                return
            _rescan(sd)

    def _read(self, stream: Any, ring: BlockRing, rate: int) -> Iterator[tuple[np.ndarray, int]]:
        """Blocks from the ring until the graph stops or the stream dies."""
        ctx = self.ctx
        stall_ns = int(self.params.stall_timeout * 1e9)
        last_data = time.monotonic_ns()
        flags_seen = self.status_flags
        dropped_seen = 0
        while not ctx.stopping:
            ring.wake.clear()
            item = ring.get()
            if item is None:
                if not stream.active:
                    self._stream_error = "the stream stopped"
                    return
                if time.monotonic_ns() - last_data > stall_ns:
                    self._stream_error = f"no audio for {self.params.stall_timeout:g} s"
                    return
                ring.wake.wait(0.05)
                continue
            last_data = time.monotonic_ns()
            # Count losses where the runtime shows them: overflow flags and ring drops are xruns.
            if self.status_flags != flags_seen or ring.dropped != dropped_seen:
                ctx.metrics.xruns += (self.status_flags - flags_seen) + (ring.dropped - dropped_seen)
                flags_seen, dropped_seen = self.status_flags, ring.dropped
            yield item

    def _close(self, stream: Any, abort: bool = True) -> None:
        """Stop (``abort``) and close ``stream``; close() runs even when abort() fails."""
        try:
            if abort:
                stream.abort()
        except Exception as exc:  # a dead device may fail to stop; it is closed all the same
            self.ctx.log.debug("stopping the stream failed: %s", exc)
        finally:
            try:
                stream.close()
            except Exception as exc:  # the stream is gone either way
                self.ctx.log.debug("closing the stream failed: %s", exc)


def _rescan(sd: Any) -> None:
    """Make PortAudio enumerate devices again (it caches the list from its initialisation).

    Only safe when no stream is open in this process; the capture node closes
    its stream before calling this.
    """
    terminate, initialize = getattr(sd, "_terminate", None), getattr(sd, "_initialize", None)
    if terminate is None or initialize is None:
        return
    try:
        terminate()
        initialize()
    except Exception:  # a failed rescan just keeps the old list
        pass
