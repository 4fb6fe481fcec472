"""Task scopes: every background task of a node has an owner and a lifetime.

The runtime gives each async node one :class:`TaskScope` (``ctx.spawn``),
in the spirit of trio's nurseries and :class:`asyncio.TaskGroup`: tasks
started in it end when the node's ``run()`` ends — they are cancelled and
awaited in one place, by the runtime — and none outlives its node. Unlike a
TaskGroup, a failing background task does not cancel its siblings: it is
logged with its traceback and counted as an error of the node, or, when
started with ``critical=True``, fails the node (and so the graph).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Coroutine

__all__ = ["TaskScope", "running_loop"]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or None (a plain thread: a sync node, a test)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class TaskScope:
    """The background tasks of one owner.

    Args:
        owner: Name used in log messages and task names.
        log: Where failures are logged.
        on_error: Called once per failed task (e.g. to count it).
        on_critical: Called with the exception of a failed critical task (e.g. to fail the node).
    """

    def __init__(
        self,
        owner: str,
        log: logging.Logger,
        on_error: Callable[[], None] = lambda: None,
        on_critical: Callable[[BaseException], None] = lambda exc: None,
    ) -> None:
        self.owner = owner
        self._log = log
        self._on_error = on_error
        self._on_critical = on_critical
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str = "", critical: bool = False) -> asyncio.Task[Any]:
        """Start ``coro`` as a task of this scope (on the running loop).

        Raises:
            RuntimeError: the scope is closed (its owner has ended).
        """
        if self._closed:
            coro.close()
            raise RuntimeError(f"{self.owner}: cannot start a task after the node ended")
        # a coroutine object names its function; any other Coroutine is named by its class
        default = getattr(coro, "__qualname__", type(coro).__qualname__)
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}:{name or default}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, critical))
        return task

    def _done(self, task: asyncio.Task[Any], critical: bool) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        self._on_error()
        self._log.error("task %s failed", task.get_name(), exc_info=(type(exc), exc, exc.__traceback__))
        if critical:
            self._on_critical(exc)

    async def aclose(self, timeout: float = 1.0) -> None:
        """Cancel every task and wait (at most ``timeout`` s) for them to finish; no task starts after."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
