"""Operator actions as control calls, shared by the operator-input families (``osc``, ``midi``).

An input family turns what it receives (an OSC message, a MIDI note) into a
:class:`Call` without I/O, then :func:`perform` runs it through the node's
declared control ports (``pattern``, ``show``, ``midi``…). The few calls that
need the provider's state first — a pattern *by number*, a crossfade length
that keeps the current easing — are resolved here, once for every family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from mcav.runtime.control import ControlPort

__all__ = ["ActionError", "Call", "perform"]

#: What a failed call raises at the caller: bad arguments, a missing provider, a slow one.
ActionError = (ValueError, TypeError, LookupError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Call:
    """Call ``call(*args)`` on control port ``port``; ``index`` means "the pattern at this 1-based number"
    (inserted before ``args``)."""

    port: str
    call: str
    args: tuple[Any, ...] = ()
    index: int | None = None


async def perform(call: Call, control: Callable[[str], ControlPort], what: str = "") -> Any:
    """Run ``call`` through ``control(call.port)`` and return the provider's result.

    Args:
        call: The call.
        control: The node's control-port lookup (``ctx.control``).
        what: How the operator asked for it (an OSC address, a MIDI note), for the error message.

    Raises:
        ValueError: the graph has no provider for the port, a pattern number is out of range, or the
            provider refused the arguments; the other :data:`ActionError` types as the provider raised them.
    """
    port = control(call.port)
    if not port:
        raise ValueError(f"this graph has no node for {what or call.call} (needs a {port.require.interface.name})")
    args = call.args
    if call.index is not None:
        patterns = await port.patterns()
        if not 1 <= call.index <= len(patterns):
            raise ValueError(f"pattern number {call.index} is not 1-{len(patterns)}")
        args = (patterns[call.index - 1]["id"], *args)
    if call.call == "set_transition" and len(args) == 1:
        args = (args[0], (await port.state())["transition"]["easing"])
    return await port.call(call.call, *args)
