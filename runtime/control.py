"""Control links: typed interfaces a node *provides* and another *requires*.

Data ports carry frames through rings; control links carry **calls** (plain
data in, plain data out) and **events** (a name and a plain-data payload)
between a provider and its consumers, like GStreamer's pads beside its bus.
Both kinds of edge are declared in the graph file and checked when it compiles::

    web: {kind: browser, in: viz, control: {pattern: viz, djs: djs}}

A port left out of ``control:`` binds to the only node that provides its
interface (shown as *implicit*, like implicit rings); a ``many`` port binds to
every provider. Unknown, missing and ambiguous providers are graph errors.

An interface is a class listing its calls as method stubs and its events::

    class PatternControl(Interface):
        name = "pattern_control"
        events = {"changed": "the pattern or its settings changed"}

        def state(self) -> dict[str, Any]: ...
        def set_pattern(self, key: str) -> None: ...

The provider implements methods of the same names (plain or ``async``); the
runtime marshals each call to the provider's home: the I/O loop for an async
node, or the node's own lock — held by the runtime around every ``process()``
— for a sync node, so a call never runs concurrently with a frame. Calls and
events carry plain data only (numbers, strings, lists, dicts), so an interface
can later travel over a process boundary (Redis, OSC, MIDI) unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Mapping

from .clock import Clock, wait_for
from .scope import running_loop

__all__ = [
    "ControlPort",
    "Event",
    "Interface",
    "ProviderRef",
    "Require",
    "interface_calls",
    "missing_calls",
]


class Interface:
    """Base of a control interface: method stubs are its calls, :attr:`events` its events.

    Class attributes:
        name: The interface's name in graph errors, ``mcav nodes`` and ``mcav graph``.
        events: Event name → what it means.
        timeout: Seconds a call may take before the caller gets :class:`TimeoutError`.
    """

    name: ClassVar[str] = ""
    events: ClassVar[Mapping[str, str]] = {}
    timeout: ClassVar[float] = 5.0


def interface_calls(iface: type[Interface]) -> dict[str, inspect.Signature]:
    """The calls of ``iface`` (its public methods, base classes included) and their signatures."""
    calls: dict[str, inspect.Signature] = {}
    for klass in reversed(iface.__mro__):
        if klass in (Interface, object):
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and inspect.isfunction(value):
                calls[name] = inspect.signature(value)
    return calls


def missing_calls(cls: type, iface: type[Interface]) -> list[str]:
    """Calls of ``iface`` that class ``cls`` does not implement."""
    return [name for name in interface_calls(iface) if not callable(getattr(cls, name, None))]


@dataclass(frozen=True, slots=True)
class Require:
    """A control port a node requires.

    Args:
        interface: The interface it talks to.
        many: Bind to every provider (default: exactly one).
        optional: The graph is valid without a provider (the port is then unbound).
        doc: What the node uses it for (``mcav nodes KIND``).
    """

    interface: type[Interface]
    many: bool = False
    optional: bool = False
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One event published on a control link."""

    provider: str  # the publishing node's name
    interface: str
    name: str
    data: Mapping[str, Any]


class ProviderRef:
    """One provider of an interface, as a consumer sees it: calls are marshalled to the provider's home.

    Args:
        node: The provider node's name.
        target: The provider node instance (its methods implement the interface).
        iface: The interface.
        loop: The provider's home loop (async providers: the runtime's I/O loop, or a loop of its own);
            a call from another loop or thread is run there.
        lock: The provider's processing lock (home of sync providers); None for async providers.
        clock: Clock for call timeouts.
    """

    def __init__(
        self,
        node: str,
        target: Any,
        iface: type[Interface],
        loop: asyncio.AbstractEventLoop,
        lock: threading.RLock | None,
        clock: Clock,
    ) -> None:
        self.node = node
        self.interface = iface
        self._target = target
        self._calls = interface_calls(iface)
        self._loop = loop
        self._lock = lock
        self._clock = clock

    def __repr__(self) -> str:
        return f"<{self.interface.name} of '{self.node}'>"

    def _method(self, call: str) -> Callable[..., Any]:
        if call not in self._calls:
            raise AttributeError(f"interface {self.interface.name} has no call '{call}'")
        return getattr(self._target, call)

    async def call(self, call: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run ``call(*args, **kwargs)`` at the provider and return its (plain-data) result.

        Must be awaited on the runtime's I/O loop (async nodes). The provider's
        exceptions (e.g. ``ValueError`` for bad arguments) reach the caller.

        Raises:
            TimeoutError: the provider did not answer within ``timeout`` (default: the interface's).
        """
        method = self._method(call)
        limit = self.interface.timeout if timeout is None else timeout
        if self._lock is None:
            if running_loop() is not self._loop:  # a provider with a loop of its own: run the call there
                fut = asyncio.run_coroutine_threadsafe(_invoke(method, args, kwargs), self._loop)
                result = asyncio.wrap_future(fut)
            else:
                result = method(*args, **kwargs)
            if inspect.isawaitable(result):
                try:
                    return await wait_for(result, limit, self._clock)
                except TimeoutError:
                    raise TimeoutError(f"{self.interface.name}.{call} at '{self.node}' took over {limit:g} s") from None
            return result
        # A sync provider: serialised with its process() by its lock, held at most one frame's work.
        if not self._lock.acquire(timeout=limit):
            raise TimeoutError(f"{self.interface.name}.{call} at '{self.node}': node busy for over {limit:g} s")
        try:
            return method(*args, **kwargs)
        finally:
            self._lock.release()

    def call_blocking(self, call: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Like :meth:`call`, from a worker thread (sync nodes): blocks until the provider answers."""
        limit = self.interface.timeout if timeout is None else timeout
        fut = asyncio.run_coroutine_threadsafe(self.call(call, *args, timeout=limit, **kwargs), self._loop)
        try:
            return fut.result(limit + 0.5)
        except TimeoutError:
            fut.cancel()
            raise TimeoutError(f"{self.interface.name}.{call} at '{self.node}' took over {limit:g} s") from None

    def __getattr__(self, call: str) -> Callable[..., Any]:
        """``ref.set_pattern("x")`` is ``ref.call("set_pattern", "x")`` (a coroutine to await)."""
        if call.startswith("_"):
            raise AttributeError(call)
        self._method(call)
        return lambda *args, **kwargs: self.call(call, *args, **kwargs)


Subscriber = Callable[[Event], None]


class ControlPort:
    """A consumer's end of a control link: its providers (zero or more) and their events.

    ``if port:`` is true when a provider is bound. For a single port,
    ``await port.call(...)`` (or ``await port.set_pattern(...)``) reaches it;
    for a ``many`` port iterate it or use :meth:`call_all`.
    """

    def __init__(self, consumer: str, port: str, require: Require, providers: list[ProviderRef]) -> None:
        self.consumer = consumer
        self.name = port
        self.require = require
        self.providers = providers
        self._subscribers: list[tuple[Subscriber, frozenset[str] | None, asyncio.AbstractEventLoop | None]] = []

    def __bool__(self) -> bool:
        return bool(self.providers)

    def __iter__(self) -> Iterator[ProviderRef]:
        return iter(self.providers)

    def __len__(self) -> int:
        return len(self.providers)

    def __repr__(self) -> str:
        return f"<control port {self.consumer}.{self.name} → {', '.join(p.node for p in self.providers) or 'unbound'}>"

    @property
    def provider(self) -> ProviderRef:
        """The bound provider of a single port.

        Raises:
            LookupError: the (optional) port is unbound: the message says which interface is missing.
        """
        if not self.providers:
            raise LookupError(f"no node provides {self.require.interface.name} to '{self.consumer}' (control port '{self.name}')")
        return self.providers[0]

    async def call(self, call: str, *args: Any, **kwargs: Any) -> Any:
        """Call the bound provider (see :meth:`ProviderRef.call`)."""
        return await self.provider.call(call, *args, **kwargs)

    async def call_all(self, call: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Call every provider in turn; their results in binding order."""
        return [await p.call(call, *args, **kwargs) for p in self.providers]

    def __getattr__(self, call: str) -> Callable[..., Any]:
        if call.startswith("_"):
            raise AttributeError(call)
        return getattr(self.provider, call)

    def subscribe(self, callback: Subscriber, events: tuple[str, ...] | None = None) -> None:
        """Have ``callback(event)`` called for the providers' events (all, or those named).

        The callback runs on the thread that subscribed if that thread runs the
        I/O loop (async nodes), else on the publisher's thread. It must not block.

        Raises:
            ValueError: an event name the interface does not declare.
        """
        iface = self.require.interface
        unknown = [e for e in events or () if e not in iface.events]
        if unknown:
            raise ValueError(f"{iface.name} has no event {', '.join(unknown)}; events: {', '.join(iface.events) or 'none'}")
        self._subscribers.append((callback, frozenset(events) if events else None, running_loop()))

    def deliver(self, event: Event) -> None:
        """Hand ``event`` to every subscriber at its home (called by the runtime)."""
        for callback, wanted, loop in list(self._subscribers):
            if wanted is not None and event.name not in wanted:
                continue
            if loop is None or running_loop() is loop:
                callback(event)  # same thread: in order with whatever the publisher does next
            elif not loop.is_closed():
                loop.call_soon_threadsafe(callback, event)


async def _invoke(method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = method(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result
