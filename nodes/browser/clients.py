"""One connected browser: its leaky outbox, sender task, heartbeat state, role and command budget.

Fan-out (RUNTIME-LESSONS 3): each frame is encoded once. A client whose
socket is keeping up (nothing queued, nothing being sent, transport buffer
small) gets it written at once by :func:`fanout` in one ``broadcast()`` call
with the other fast clients; a client that is behind gets it in its own small
leaky queue instead (oldest dropped and counted) and its sender task awaits
that socket's backpressure alone. So a stalled browser loses frames and never
delays the others.

:class:`FanOut` writes a frame to at most ``chunk`` sockets per turn of the
event loop: with 1000 browsers a frame's writes take ~10 ms, and everything
else on the loop (a DJ's next frame above all) waits for one chunk, not all.
A frame that comes mid-fan-out waits for the one going out (``backlog`` frames at most).
"""

from __future__ import annotations

import asyncio
import collections
import secrets
from typing import Iterable

from mcav.runtime.clock import Clock
from mcav.runtime.ratelimit import TokenBucket
from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

__all__ = ["Client", "FanOut", "fanout"]

#: Control messages (replies, events) a client may have queued; beyond that it is hopelessly behind.
CONTROL_SLOTS = 256
#: This process's part of :attr:`Client.origin` (client ids restart at 1 in every process).
_PROCESS = secrets.token_hex(6)


class Client:
    """A browser connection.

    Args:
        ws: Its WebSocket.
        state_slots: Leaky queue length for ``state`` frames (default 2).
        clock: For rate-limit timing.
        high_water: Transport bytes above which the client counts as behind.
        read_rate, read_burst: Budget of read-only commands (per s on average, back to back).
    """

    _ids = 0

    def __init__(
        self, ws: ServerConnection, state_slots: int, clock: Clock,
        rate: float, burst: float, high_water: int, read_rate: float = 50.0, read_burst: float = 100.0,
    ) -> None:
        Client._ids += 1
        self.id = Client._ids
        self.ws = ws
        self.states: collections.deque[str] = collections.deque(maxlen=state_slots)
        self.control: collections.deque[str] = collections.deque()
        self.operator = False
        self.bucket = TokenBucket(rate, max(1.0, burst), clock)
        self.reads = TokenBucket(read_rate, max(1.0, read_burst), clock)
        addr = ws.remote_address
        #: The client's IP address ("" if unknown).
        self.addr = str(addr[0]) if isinstance(addr, tuple) and addr else ""
        self.high_water = high_water
        #: state frames this client lost (leaky queue overflow).
        self.dropped = 0
        #: Tags this page's own band changes (unique across processes: the change may come back from another
        #: edge's pattern node over Redis): their ``band_sensitivity_changed`` is not echoed to it, since it moved
        #: its own sliders (an echo arriving mid-drag would pull a slider back).
        self.origin = f"{_PROCESS}-{self.id}"
        #: control messages lost because CONTROL_SLOTS were already queued (a hopelessly stalled client).
        self.control_dropped = 0
        self.sending = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def keeping_up(self) -> bool:
        """True if a frame can be written now without queueing behind older data."""
        if self.sending or self.states or self.control:
            return False
        t = self.ws.transport
        return t is not None and not t.is_closing() and t.get_write_buffer_size() <= self.high_water

    def push_state(self, text: str) -> None:
        """Queue a ``state`` frame; the oldest is dropped (and counted) when the queue is full."""
        if len(self.states) == self.states.maxlen:
            self.dropped += 1
        self.states.append(text)
        self._wake.set()

    def send(self, text: str) -> bool:
        """Queue a control message (reply or event) in order; False if the client is hopelessly behind."""
        if len(self.control) >= CONTROL_SLOTS:
            self.control_dropped += 1
            return False
        self.control.append(text)
        self._wake.set()
        return True

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._sender())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        # Not kept: the finished task holds its CancelledError, whose traceback holds _sender's frame and so
        # this client; kept, client and task were a cycle that waited for a full garbage collection (with the
        # client's connection), which under a show's browser churn read as a slow RSS climb (bench/SOAK.md).

    async def _sender(self) -> None:
        ws = self.ws
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self.control or self.states:
                    text = self.control.popleft() if self.control else self.states.popleft()
                    self.sending = True
                    await ws.send(text)  # waits for this socket only
                    self.sending = False
        except ConnectionClosed:
            pass
        finally:
            self.sending = False

    async def close(self, code: int, reason: str, timeout: float = 2.0) -> None:
        """Close with ``code``; a peer that does not answer the closing handshake is cut off."""
        try:
            await asyncio.wait_for(self.ws.close(code, reason), timeout)
        except (TimeoutError, asyncio.TimeoutError, ConnectionError):
            if self.ws.transport is not None:
                self.ws.transport.abort()


def fanout(clients: Iterable[Client], text: str) -> int:
    """Give ``text`` to every client; return how many got it written at once."""
    fast: list[ServerConnection] = []
    for c in clients:
        if c.keeping_up:
            fast.append(c.ws)
        else:
            c.push_state(text)
    if fast:
        broadcast(fast, text)  # str → bytes once; one frame write per socket
    return len(fast)


class FanOut:
    """Writes each frame to every client, ``chunk`` sockets per event-loop turn.

    Args:
        chunk: Sockets written per turn (default 32, ~0.3 ms of writes on loopback); 0 = all at once.
        backlog: Frames that may wait for the one going out (default 1).

    A frame that comes while the previous one is still going out waits for it (the clients get both,
    in order, through the cheap shared write); at most ``backlog`` frames wait: beyond that the oldest
    waiting one is replaced, and each client it would have reached counts it in :attr:`replaced`. Under
    a sustained overload the fan-out so sheds frames instead of queueing per-client work that would
    starve the loop; a backlog of a few frames lets a burst through whole (frames read back to back
    after the process was held up, e.g. an edge's from Redis), at the price of those frames' lateness.
    """

    def __init__(self, chunk: int = 32, backlog: int = 1) -> None:
        self.chunk = chunk
        self.backlog = max(1, backlog)
        #: Client frames lost because a waiting frame was replaced by a newer one (a counted drop).
        self.replaced = 0
        self._text = ""
        self._rest: list[Client] = []
        self._waiting: collections.deque[tuple[str, list[Client]]] = collections.deque()
        self._handle: asyncio.Handle | None = None

    def send(self, clients: Iterable[Client], text: str) -> None:
        """Write ``text`` to ``clients`` now, or once the frame going out is done (on the sockets' loop)."""
        if self._rest:
            if len(self._waiting) >= self.backlog:
                self.replaced += len(self._waiting.popleft()[1])
            self._waiting.append((text, list(clients)))
            return
        self._text, self._rest = text, list(clients)
        self._step()

    def cancel(self) -> None:
        """Stop writing (shutdown); clients not yet reached get nothing more."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._rest = []
        self._waiting.clear()

    def _step(self) -> None:
        self._handle = None
        n = self.chunk or len(self._rest)
        batch, self._rest = self._rest[:n], self._rest[n:]
        fanout(batch, self._text)
        if not self._rest and self._waiting:
            self._text, self._rest = self._waiting.popleft()
        if self._rest:  # the rest after the loop's other ready callbacks (socket reads among them)
            self._handle = asyncio.get_running_loop().call_soon(self._step)
