"""Small general-purpose node kinds: counting sources, a transform, collecting sinks.

They let a graph (and the runtime's own tests) run end to end without audio
or network: ``counter`` drives a worker thread, ``ticker`` is a network-style
async source, ``scale`` is a sync transform with optional simulated work,
and ``collect``/``async_collect``/``discard`` are sinks.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import Iterator

from mcav.runtime.frames import Frame, Tick, now_ns
from mcav.runtime.node import AsyncNode, SourceNode, SyncNode
from mcav.runtime.params import param

__all__ = ["AsyncCollect", "Collect", "Counter", "Discard", "Scale", "Ticker"]


class Counter(SourceNode):
    """Counts upward: one Tick frame per step, optionally paced in real time."""

    kind = "counter"

    @dataclass
    class Params:
        count: int | None = param(10, doc="frames to produce (null = until stopped)", min=0)
        rate: float = param(0.0, doc="frames per second (0 = as fast as the graph takes them)", unit="Hz", min=0)
        start: float = param(0.0, doc="value of the first frame")
        step: float = param(1.0, doc="added to the value per frame")

    outputs = {"out": Tick}

    def frames(self) -> Iterator[Frame]:
        p = self.params
        period_ns = int(1e9 / p.rate) if p.rate > 0 else 0
        t_next = now_ns()
        seq = 0
        while p.count is None or seq < p.count:
            if period_ns:
                delay = (t_next - now_ns()) / 1e9
                if delay > 0 and self.ctx.stop_event.wait(delay):
                    return
                if now_ns() - t_next > period_ns:
                    self.ctx.metrics.xruns += 1  # the previous frame overran its period
                t_next += period_ns
            elif self.ctx.stopping:
                return
            yield Tick(seq=seq, t_capture=now_ns(), value=p.start + seq * p.step)
            seq += 1


class Ticker(AsyncNode):
    """An async source on the I/O loop: one Tick per period of the node's clock."""

    kind = "ticker"

    @dataclass
    class Params:
        count: int | None = param(10, doc="frames to produce (null = until stopped)", min=0)
        interval: float = param(0.01, doc="time between frames", unit="s", min=0)

    outputs = {"out": Tick}

    async def run(self) -> None:
        p = self.params
        seq = 0
        while (p.count is None or seq < p.count) and not self.ctx.stopping:
            self.ctx.emit(Tick(seq=seq, t_capture=now_ns(), value=float(seq)))
            seq += 1
            await self.ctx.clock.sleep(p.interval)


class Scale(SyncNode):
    """value × factor + offset, with optional simulated work per frame."""

    kind = "scale"

    @dataclass
    class Params:
        factor: float = param(1.0, doc="multiplier")
        offset: float = param(0.0, doc="added after multiplying")
        work_ms: float = param(0.0, doc="simulated processing time per frame (blocks the worker)", unit="ms", min=0)

    inputs = {"in": Tick}
    outputs = {"out": Tick}

    def process(self, frame: Frame, port: str) -> Frame:
        assert isinstance(frame, Tick)
        if self.params.work_ms:
            time.sleep(self.params.work_ms / 1000)
        return Tick(seq=frame.seq, t_capture=frame.t_capture, value=frame.value * self.params.factor + self.params.offset)


class Collect(SyncNode):
    """Keeps the most recent frames in memory (for embedding and tests)."""

    kind = "collect"

    @dataclass
    class Params:
        max_frames: int = param(100_000, doc="frames kept; older ones are discarded", min=1)

    inputs = {"in": Frame}

    def __init__(self, params: Params, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(params, ctx)
        #: The collected frames, oldest first.
        self.frames: collections.deque[Frame] = collections.deque(maxlen=params.max_frames)
        self.ports: collections.deque[str] = collections.deque(maxlen=params.max_frames)

    def process(self, frame: Frame, port: str) -> None:
        self.frames.append(frame)
        self.ports.append(port)

    def status(self) -> dict[str, int]:
        return {"collected": len(self.frames)}


class AsyncCollect(AsyncNode):
    """Like ``collect``, but on the I/O loop, reading through a ring buffer."""

    kind = "async_collect"
    reports_delivery = True

    @dataclass
    class Params:
        max_frames: int = param(100_000, doc="frames kept; older ones are discarded", min=1)
        latest: bool = param(False, doc="read only the newest frame each time (skip the backlog)")

    inputs = {"in": Frame}

    def __init__(self, params: Params, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(params, ctx)
        self.frames: collections.deque[Frame] = collections.deque(maxlen=params.max_frames)

    async def run(self) -> None:
        inp = self.ctx.input()
        from mcav.runtime.node import EndOfStream

        while True:
            try:
                frame = await (inp.latest() if self.params.latest else inp.get())
            except EndOfStream:
                return
            self.frames.append(frame)
            self.ctx.delivered(frame)


class Discard(SyncNode):
    """Discards every frame (a sink for measuring what comes before it)."""

    kind = "discard"
    inputs = {"in": Frame}

    def process(self, frame: Frame, port: str) -> None:
        return None
