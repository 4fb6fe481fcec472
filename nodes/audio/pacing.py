"""Timing shared by the file and synth sources: real-time pacing and ``t_capture``."""

from __future__ import annotations

from typing import Literal

from mcav.runtime.frames import now_ns
from mcav.runtime.node import NodeContext

__all__ = ["Pacer", "Speed"]

Speed = Literal["realtime", "max"]


class Pacer:
    """Emits blocks on an audio-time schedule (``realtime``) or as fast as possible (``max``).

    In both modes a block's ``t_capture`` is the moment its last sample would
    have been captured live: the paced emission time in ``realtime`` mode, and
    ``start + audio time`` in ``max`` mode, so latency figures still relate to
    the audio.

    Args:
        ctx: The source's context (stop event, xrun counter).
        speed: ``"realtime"`` or ``"max"``.
    """

    def __init__(self, ctx: NodeContext, speed: Speed) -> None:
        self.ctx = ctx
        self.realtime = speed == "realtime"
        self.start_ns = now_ns()

    def wait(self, t_end: float, block_s: float) -> int | None:
        """Wait until audio time ``t_end`` (s from start) is due; return its ``t_capture`` in ns.

        Returns None when the graph is stopping. A realtime source that is more
        than one block (``block_s`` s) behind its schedule counts an xrun
        and shifts its schedule instead of bursting.
        """
        due = self.start_ns + int(t_end * 1e9)
        if not self.realtime:
            return None if self.ctx.stopping else due
        delay = (due - now_ns()) / 1e9
        if delay > 0:
            if self.ctx.stop_event.wait(delay):
                return None
        elif -delay > block_s:
            # The graph did not keep up: count it and move the schedule, so the
            # source does not burst to catch up (that would only grow the lag).
            self.ctx.metrics.xruns += 1
            self.start_ns += int(-delay * 1e9)
        elif self.ctx.stopping:
            return None
        return now_ns()
