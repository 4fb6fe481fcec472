"""The ``delay`` node: hold frames until a fixed time after their capture, to line visuals up with late audio.

Audio often reaches the audience later than mcav hears it (Bluetooth speakers,
a stream's buffer, a long PA chain). ``delay`` releases each frame at
``t_capture + ms`` on the monotonic clock of ``t_capture``, so everything
downstream shows the music when the audience hears it. Put it before a sink:
``viz → delay → minecraft``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass
from typing import Any

from mcav.runtime.frames import Frame, Passthrough, now_ns
from mcav.runtime.node import AsyncNode, EndOfStream
from mcav.runtime.params import param

__all__ = ["Delay"]


class Delay(AsyncNode):
    """Releases each frame ``ms`` after its capture time (aligns visuals with delayed audio)."""

    kind = "delay"

    @dataclass
    class Params:
        ms: float = param(doc="time from capture to release", unit="ms", min=0, max=10_000)
        max_frames: int = param(1024, doc="frames held at most; when full the oldest is dropped (counted)", min=1)

    inputs = {"in": Frame}
    outputs = {"out": Passthrough}

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        self._held: collections.deque[Frame] = collections.deque()
        self.dropped = 0

    def status(self) -> dict[str, Any]:
        return {"delay_ms": self.params.ms, "held": len(self._held), "dropped": self.dropped}

    async def run(self) -> None:
        inp = self.ctx.input()
        delay_ns = int(self.params.ms * 1e6)
        held = self._held
        reader: asyncio.Future[Frame] | None = asyncio.ensure_future(inp.get())
        try:
            while reader is not None or held:
                timeout = None
                if held:
                    timeout = max(0.0, (held[0].t_capture + delay_ns - now_ns()) / 1e9)
                if reader is not None:
                    done, _ = await asyncio.wait({reader}, timeout=timeout)
                    if done:
                        try:
                            frame = reader.result()
                        except EndOfStream:
                            reader = None  # release what is held, on time, then end
                        else:
                            if len(held) >= self.params.max_frames:
                                held.popleft()
                                self.dropped += 1
                            held.append(frame)
                            reader = asyncio.ensure_future(inp.get())
                else:
                    await asyncio.sleep(timeout or 0.0)
                now = now_ns()
                while held and held[0].t_capture + delay_ns <= now:
                    self.ctx.emit(held.popleft())
        finally:
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, EndOfStream):
                    await reader
