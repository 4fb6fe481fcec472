"""CPU priority for a show's process: a nice value and/or the realtime round-robin class.

``mcav run --priority N`` / ``--realtime [PRIO]`` and the benchmarks raising their own observers: :func:`apply`.
On Linux both are per thread: :func:`apply` sets every thread the process
has, and threads started later inherit the setting of the thread that starts them.

Why the whole process, not only the threads of the DJ → pattern → Minecraft path: those threads share
one GIL with the rest (the browser fan-out, the admin server). A realtime thread waiting for the GIL held
by a time-shared thread waits as long as the scheduler keeps that thread off a core, behind every other
process of the machine (priority inversion); with the whole process in one class the GIL's holder is
always as urgent as its waiter. Keep what the show's process must not wait for (a browser fan-out of
1000 sockets) in a process of its own at a lower priority (a local edge at ``nice -n 10``). Within the
process, the runtime puts the loop thread of a latency-critical node (``own_loop``) one step above the rest
(:func:`step_up`): still in the same class, so the inversion above cannot happen, but first to the GIL.

Refusals are not errors: the show runs at the priority it has, with one warning saying what is needed.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

NICE_RANGE = (-20, 19)
"""Linux nice values: -20 (most CPU) … 19 (least); 0 is the default."""
RT_RANGE = (1, 99)
"""SCHED_RR priorities: every one of them runs before any time-shared thread of the machine."""


@dataclass(frozen=True)
class Priority:
    """What to ask for; ``None`` leaves that part as inherited.

    ``nice``: the nice value (-20 … 19; below 0 needs CAP_SYS_NICE or RLIMIT_NICE ≥ 20 − nice).
    ``realtime``: SCHED_RR at this priority (1 … 99; needs CAP_SYS_NICE or RLIMIT_RTPRIO ≥ it). The kernel
    still leaves time-shared threads 5 % of each core (``/proc/sys/kernel/sched_rt_runtime_us``).
    ``inherited``: whether threads and processes started later keep ``realtime`` (False: they start
    time-shared, SCHED_RESET_ON_FORK; for an observer whose child processes must not compete with it).
    """

    nice: int | None = None
    realtime: int | None = None
    inherited: bool = True

    def __post_init__(self) -> None:
        for value, (lo, hi), what in ((self.nice, NICE_RANGE, "nice"), (self.realtime, RT_RANGE, "realtime")):
            if value is not None and not lo <= value <= hi:
                raise ValueError(f"{what} priority {value} is outside {lo} … {hi}")


def _threads(pid: int) -> list[int]:
    """The thread ids of ``pid`` (0 = this process); just ``[pid]`` where /proc is missing."""
    try:
        return [int(t) for t in os.listdir(Path("/proc") / (str(pid) if pid else "self") / "task")]
    except OSError:
        return [pid]


def _refused(exc: OSError) -> bool:
    return exc.errno in (errno.EPERM, errno.EACCES)


def _on_every(tids: list[int], main: int, set_one: Callable[[int], object]) -> None:
    """``set_one(tid)`` for each thread; a thread that ended meanwhile is skipped (the main one is not)."""
    for tid in tids:
        try:
            set_one(tid)
        except ProcessLookupError:
            if tid == main:
                raise


def apply(priority: Priority, pid: int = 0) -> list[str]:
    """Set ``priority`` on every thread of ``pid`` (0 = this process); return one warning per part refused.

    For the show's own process call it before its threads start, so that they all inherit it. Raises
    :class:`OSError` for anything but a refusal (e.g. no such process).
    """
    warnings: list[str] = []
    tids, main = _threads(pid), pid or os.getpid()
    if (nice := priority.nice) is not None:
        try:
            _on_every(tids, main, lambda tid: os.setpriority(os.PRIO_PROCESS, tid, nice))
        except OSError as exc:
            if not _refused(exc):
                raise
            warnings.append(
                f"--priority {nice} not permitted ({exc.strerror}); running at nice "
                f"{os.getpriority(os.PRIO_PROCESS, pid)}. A nice value below 0 needs the CAP_SYS_NICE capability "
                f"or an RLIMIT_NICE of at least {20 - nice} (`ulimit -e {20 - nice}`; "
                f"systemd: LimitNICE={nice})")
    if priority.realtime is not None:
        try:
            param = os.sched_param(priority.realtime)
            policy = os.SCHED_RR if priority.inherited else os.SCHED_RR | os.SCHED_RESET_ON_FORK
            _on_every(tids, main, lambda tid: os.sched_setscheduler(tid, policy, param))
        except OSError as exc:
            if not _refused(exc):
                raise
            warnings.append(
                f"--realtime {priority.realtime} not permitted ({exc.strerror}); running time-shared. SCHED_RR "
                f"needs the CAP_SYS_NICE capability or an RLIMIT_RTPRIO of at least {priority.realtime} "
                f"(`ulimit -r {priority.realtime}`; /etc/security/limits.conf `rtprio`; systemd: "
                f"LimitRTPRIO={priority.realtime})")
    return warnings


def step_up() -> bool:
    """Put the calling thread one SCHED_RR priority above the one it has, if it runs in that class (else
    nothing); True if raised. For a latency-critical thread of a realtime process (an ``own_loop`` node's):
    when it waits for the GIL or a core beside the process's other threads, it is woken first (the kernel
    wakes a futex's waiters and runs threads in priority order); it stays in the process's class, so no
    time-shared thread can hold it up (see the module's note on priority inversion). A refusal (the
    RLIMIT_RTPRIO is the process's own priority) leaves it as it was.
    """
    if not hasattr(os, "sched_getscheduler"):  # no per-thread scheduling classes here (not Linux)
        return False
    if os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK != os.SCHED_RR:
        return False
    prio = os.sched_getparam(0).sched_priority
    if prio >= RT_RANGE[1]:
        return False
    try:
        os.sched_setscheduler(0, os.sched_getscheduler(0), os.sched_param(prio + 1))  # 0: this thread (Linux)
    except OSError as exc:
        if not _refused(exc):
            raise
        return False
    return True
