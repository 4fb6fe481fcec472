"""Timing shared by the file and synth sources: real-time pacing and ``t_capture``."""

from __future__ import annotations

from typing import Literal

from mcav.runtime.frames import now_ns
from mcav.runtime.node import NodeContext, SourceNode

__all__ = ["MAX_SPEED_BURST", "Pacer", "PacedSource", "Speed"]

Speed = Literal["realtime", "max"]

#: Frames a source flat out hands on at once (:attr:`~mcav.runtime.node.SourceNode.burst`): each node of
#: the chain then runs over them in turn, which keeps its code and data in the CPU's caches.
MAX_SPEED_BURST = 32


class PacedSource(SourceNode):
    """A source with a ``speed`` parameter: its frames come in bursts at ``speed: max``."""

    @property
    def burst(self) -> int:  # type: ignore[override]
        """:data:`MAX_SPEED_BURST` at ``speed: max``; else 1 (a paced frame is sent the moment it is due)."""
        return MAX_SPEED_BURST if self.params.speed == "max" else 1


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
