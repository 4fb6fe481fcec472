"""Opening a MIDI input with mido and handing its messages to a callback.

mido (with python-rtmidi, its default backend) is imported here only, and only
when a port is opened, so graphs validate without the ``midi`` extra. The
MIDI port is local by nature: rtmidi reaches this machine's ALSA sequencer (or
a JACK server), never the network.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["MidiUnavailable", "attach", "find_port", "open_input"]

Handler = Callable[[Any], None]


class MidiUnavailable(RuntimeError):
    """mido/rtmidi is missing, or the MIDI system (ALSA sequencer, JACK) cannot be reached; says which."""


def _backend(api: str) -> Any:
    try:
        import mido
    except ImportError:
        raise MidiUnavailable("the midi node needs mido and python-rtmidi: pip install 'mcav[midi]'") from None
    return mido.Backend(f"mido.backends.rtmidi/{'UNIX_JACK' if api == 'jack' else 'LINUX_ALSA'}")


def find_port(wanted: str, names: list[str]) -> str | None:
    """The input named ``wanted`` exactly, else the first whose name contains it (case-insensitive; ALSA
    names carry client numbers that change between boots), else None. ``""`` picks the first input."""
    if not wanted:
        return names[0] if names else None
    if wanted in names:
        return wanted
    return next((n for n in names if wanted.lower() in n.lower()), None)


def open_input(port: str, api: str = "alsa", virtual: bool = False, client: str = "mcav") -> Any:
    """Open a mido input port (rtmidi on ``api``: ``"alsa"`` or ``"jack"``).

    Args:
        port: The port's name, part of it, or ``""`` (the first); with ``virtual``, the name of a port
            mcav creates for a controller or a DAW to connect to.
        client: The MIDI client name other programs see (of a virtual port; rtmidi's own otherwise).

    Returns:
        The open port, or None when no input matches ``port`` (yet: a controller may be plugged in later).

    Raises:
        MidiUnavailable: mido is missing or the MIDI system cannot be reached.
    """
    backend = _backend(api)
    try:
        if virtual:
            return backend.open_input(port or "mcav", virtual=True, client_name=client)
        name = find_port(port, backend.get_input_names())
        return None if name is None else backend.open_input(name)  # (a client_name would make mido open a virtual one)
    except (OSError, SystemError, RuntimeError) as exc:  # rtmidi raises SystemError when ALSA/JACK is absent
        raise MidiUnavailable(f"MIDI ({api}) is not available: {exc}") from None


def attach(port: Any, handler: Handler) -> threading.Thread | None:
    """Call ``handler(message)`` for every message ``port`` receives, until it is closed.

    rtmidi ports (and any mido port with a settable ``callback``) call it from
    their own thread; other mido input ports get a reader thread, returned
    (daemon; it ends when the port closes). ``handler`` must not block.
    """
    if hasattr(port, "callback"):
        port.callback = handler
        return None

    def read() -> None:
        for message in port:  # ends when the port is closed
            handler(message)

    thread = threading.Thread(target=read, name=f"midi-in {getattr(port, 'name', '')}", daemon=True)
    thread.start()
    return thread
