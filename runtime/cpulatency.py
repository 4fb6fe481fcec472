"""How soon an idle CPU must answer a wake-up: a PM QoS request held while the show runs.

``mcav run --cpu-latency US``: while the process lives, the kernel keeps every CPU out of idle states
that take longer than ``US`` µs to leave (``/dev/cpu_dma_latency``, the request tuned's
latency-performance profile and cyclictest make). Why: on the Minecraft path each frame crosses three
threads and two sockets, and each hand-over may find the next thread's CPU idle; leaving a deep idle state
(or, in a virtual machine, a halted vCPU) costs tens to hundreds of µs each time, most of the path's p99
on a quiet machine. ``0`` = never sleep deeper than polling: the lowest wake-up latency, and idle CPUs
spin (power, heat, and a VM's host CPU) — for a show machine, not a laptop on battery.

The request is one open file: closing it (or the process ending, however it ends) withdraws it.
Refusals are not errors: the show runs without it, with one warning saying what is needed.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["DEVICE", "CpuLatencyRequest", "current", "request"]

#: The kernel's PM QoS interface for the CPU wake-up latency (µs, a native 32-bit integer).
DEVICE = Path("/dev/cpu_dma_latency")


class CpuLatencyRequest:
    """A held request (an open descriptor on :data:`DEVICE`); :meth:`close` withdraws it (idempotent)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def request(us: int, device: Path = DEVICE) -> CpuLatencyRequest | str:
    """Ask that no CPU sleeps in a state slower than ``us`` µs to leave; the held request, or a warning.

    Raises :class:`ValueError` for a negative ``us``.
    """
    if us < 0:
        raise ValueError(f"cpu latency must be at least 0 µs, got {us}")
    try:
        fd = os.open(device, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as exc:
        return (f"--cpu-latency {us} not applied: cannot open {device} ({exc.strerror}); CPUs may sleep in "
                f"deep idle states. It needs write access to {device} (root, or a udev rule granting the "
                f"show's user; systemd: a unit with that device allowed)")
    try:
        os.write(fd, struct.pack("=i", us))
    except OSError as exc:
        os.close(fd)
        return f"--cpu-latency {us} not applied: writing {device} failed ({exc.strerror})"
    return CpuLatencyRequest(fd)


def current(device: Path = DEVICE) -> int | None:
    """The latency the kernel now honours (the lowest request, µs), or None if unreadable."""
    try:
        with device.open("rb") as f:
            return int(struct.unpack("=i", f.read(4))[0])
    except (OSError, struct.error):
        return None
