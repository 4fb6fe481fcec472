"""Node kinds for the control-plane tests: a sync and an async provider of one interface, and consumers.

They are real node kinds (registered for the test session), written the way a
third-party package would write them; the tests drive them through real graphs.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from mcav.runtime.control import Event, Interface, Require
from mcav.runtime.frames import Frame
from mcav.runtime.node import AsyncNode, SyncNode
from mcav.runtime.registry import register_kind

__all__ = ["Tally"]


class Tally(Interface):
    """A counter others may read and add to."""

    name = "tally"
    events = {"added": "the total changed; data = {total, thread}"}
    timeout = 2.0

    def total(self) -> int:
        """The current total."""
        ...

    def add(self, n: int) -> int:
        """Add ``n`` (ValueError below 0); returns the new total."""
        ...

    async def slow(self, seconds: float) -> str:
        """Answer after ``seconds`` of the provider's clock."""
        ...


class _TallyMethods:
    value = 0
    publish: Any

    def total(self) -> int:
        return self.value

    def add(self, n: int) -> int:
        if n < 0:
            raise ValueError(f"n must be at least 0, got {n}")
        self.value += n
        self.publish(self.value)
        return self.value


class SyncTally(_TallyMethods, SyncNode):
    """Sync provider: counts frames in process() and takes calls between frames."""

    kind = "sync_tally"
    inputs = {"in": Frame}
    outputs = {"out": Frame}
    provides = {"tally": Tally}

    def __init__(self, params: Any, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.inside = threading.Lock()  # held during process(): a call that finds it held overlapped a frame
        self.overlaps = 0

    def process(self, frame: Frame, port: str) -> Frame:
        with self.inside:
            self.value += 0
            return frame

    def add(self, n: int) -> int:
        if not self.inside.acquire(blocking=False):
            self.overlaps += 1
        else:
            self.inside.release()
        return super().add(n)

    def publish(self, total: int) -> None:
        self.ctx.publish("tally", "added", {"total": total, "thread": threading.get_ident()})

    async def slow(self, seconds: float) -> str:
        return "never awaited on a sync provider"


class AsyncTally(_TallyMethods, AsyncNode):
    """Async provider on the I/O loop; ``slow`` sleeps on the graph's clock."""

    kind = "async_tally"
    provides = {"tally": Tally}

    async def run(self) -> None:
        await self.ctx.wait_stopping()

    def publish(self, total: int) -> None:
        self.ctx.publish("tally", "added", {"total": total, "thread": threading.get_ident()})

    async def slow(self, seconds: float) -> str:
        await self.ctx.clock.sleep(seconds)
        return "done"


class OwnLoopTally(AsyncTally):
    """The async provider on a loop thread of its own (``own_loop``); notes where calls and its run happen."""

    kind = "own_loop_tally"
    own_loop = True

    def __init__(self, params: Any, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.thread_name = ""
        self.loop_thread = 0
        self.call_threads: set[int] = set()
        self.stopped = threading.Event()

    async def run(self) -> None:
        self.loop_thread = threading.get_ident()
        self.thread_name = threading.current_thread().name
        await self.ctx.wait_stopping()
        self.stopped.set()

    def add(self, n: int) -> int:
        self.call_threads.add(threading.get_ident())
        return super().add(n)


class TallyUser(AsyncNode):
    """Consumer of one tally (``tally``) and, optionally, of every tally (``all``); records events."""

    kind = "tally_user"
    requires = {
        "tally": Require(Tally, doc="the one it adds to"),
        "all": Require(Tally, many=True, optional=True, doc="every tally of the graph"),
    }

    def __init__(self, params: Any, ctx: Any) -> None:
        super().__init__(params, ctx)
        self.events: list[tuple[Event, int]] = []
        self.loop_thread = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.ctx.control("tally").subscribe(lambda e: self.events.append((e, threading.get_ident())), ("added",))
        self.ready.set()
        await self.ctx.wait_stopping()

    def run_on_loop(self, coro: Any, timeout: float = 5.0) -> Any:
        """Run ``coro`` on the graph's I/O loop (from the test thread) and return its result."""
        assert self.ready.wait(timeout) and self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class LoneUser(AsyncNode):
    """Needs a tally but says nothing else (for binding errors)."""

    kind = "lone_user"
    requires = {"tally": Require(Tally)}

    async def run(self) -> None:
        await self.ctx.wait_stopping()


for _cls in (SyncTally, AsyncTally, OwnLoopTally, TallyUser, LoneUser):
    register_kind(_cls.kind, f"control_kinds:{_cls.__name__}")

