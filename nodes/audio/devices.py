"""Audio input devices: loading PortAudio, listing inputs, finding one by name or index; ``mcav devices``.

The CLI imports this module at start to register ``mcav devices``, so nothing
here imports :mod:`sounddevice` at module level: that import raises ``OSError``
when the PortAudio library is missing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from types import ModuleType

__all__ = [
    "AudioUnavailable",
    "InputDevice",
    "add_arguments",
    "command",
    "find_input_device",
    "format_devices",
    "input_devices",
    "load_sounddevice",
]

INSTALL_HINT = (
    "install the PortAudio library: 'apt-get install libportaudio2' (Debian/Ubuntu), "
    "'dnf install portaudio' (Fedora) or 'brew install portaudio' (macOS)"
)


class AudioUnavailable(RuntimeError):
    """PortAudio is missing, or the wanted input device does not exist; the message says what to do."""


@dataclass(frozen=True, slots=True)
class InputDevice:
    """One capture device as PortAudio sees it.

    Attributes:
        index: PortAudio device index.
        name: Device name.
        hostapi: Host API name (ALSA, JACK, Core Audio…).
        channels: Maximum input channels.
        default_rate: Default sample rate in Hz.
        is_default: True for the default input device.
    """

    index: int
    name: str
    hostapi: str
    channels: int
    default_rate: float
    is_default: bool

    def __str__(self) -> str:
        mark = "*" if self.is_default else " "
        return f"{mark} {self.index:3d}  {self.name} ({self.hostapi}, {self.channels} in, {self.default_rate:g} Hz)"


def load_sounddevice() -> ModuleType:
    """Import :mod:`sounddevice`.

    Raises:
        AudioUnavailable: when the PortAudio library is missing, saying how to install it.
    """
    try:
        import sounddevice
    except OSError as exc:  # the wheel does not bundle PortAudio on Linux
        raise AudioUnavailable(f"PortAudio is not available ({exc}); {INSTALL_HINT}") from None
    return sounddevice


def input_devices(sd: ModuleType) -> list[InputDevice]:
    """Every device with at least one input channel."""
    try:
        default_in = sd.default.device[0]
    except Exception:  # no default device at all
        default_in = -1
    if default_in is None or default_in < 0:
        try:
            default_in = sd.query_devices(kind="input")["index"]
        except Exception:
            default_in = -1
    apis = [api["name"] for api in sd.query_hostapis()]
    return [
        InputDevice(
            index=i,
            name=d["name"],
            hostapi=apis[d["hostapi"]] if d["hostapi"] < len(apis) else "?",
            channels=int(d["max_input_channels"]),
            default_rate=float(d["default_samplerate"]),
            is_default=i == default_in,
        )
        for i, d in enumerate(sd.query_devices())
        if d["max_input_channels"] > 0
    ]


def format_devices(devices: list[InputDevice]) -> str:
    """The device list as printed by ``mcav devices`` and in errors (one per line, ``*`` = default)."""
    return "\n".join(str(d) for d in devices) if devices else "  (none)"


def find_input_device(sd: ModuleType, spec: str | int | None) -> InputDevice:
    """The input device named by ``spec``: an index, a (case-insensitive) name or part of one, or None (default).

    An exact name wins over partial matches; a part matching several devices picks the first.

    Raises:
        AudioUnavailable: when there is no input device or none matches, listing the inputs that exist.
    """
    devices = input_devices(sd)
    if not devices:
        apis = ", ".join(api["name"] for api in sd.query_hostapis()) or "none"
        raise AudioUnavailable(
            f"no audio input device found (PortAudio host APIs: {apis}); connect a sound card or start a "
            "sound server (e.g. PulseAudio with a null sink, see the README)"
        )
    if spec is None or spec == "":
        default = [d for d in devices if d.is_default]
        return default[0] if default else devices[0]
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        idx = int(spec)
        for d in devices:
            if d.index == idx:
                return d
        raise AudioUnavailable(f"audio input device {idx} does not exist; input devices:\n{format_devices(devices)}")
    want = spec.strip().lower()
    exact = [d for d in devices if d.name.lower() == want]
    partial = [d for d in devices if want in d.name.lower()]
    if exact or partial:
        return (exact or partial)[0]
    raise AudioUnavailable(f"no audio input device matches '{spec}'; input devices:\n{format_devices(devices)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``mcav devices`` (none yet: it lists every input device)."""


def command(args: argparse.Namespace) -> int:
    """List the audio input devices.

    ``mcav devices`` exits 1 with a clear message when PortAudio is missing or there is no input.
    """
    try:
        sd = load_sounddevice()
        devices = input_devices(sd)
    except AudioUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not devices:
        try:
            find_input_device(sd, None)
        except AudioUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    print("Audio input devices (* = default; use the index or a part of the name as `device:`):")
    print(format_devices(devices))
    return 0
