"""``mcav run --priority / --realtime``, as a real subprocess: read back from the kernel, or refused with a warning."""

from __future__ import annotations

import ctypes
import threading
import os
import resource
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import wait_until
from watch_support import MCAV

GRAPH = """
nodes:
  tick: {kind: ticker, count: null, interval: 0.01}
  net: {kind: async_collect, in: tick}
"""
PR_CAPBSET_DROP, CAP_SYS_NICE = 24, 23  # <linux/prctl.h>, <linux/capability.h>


def _may_raise() -> bool:
    """Whether a child of this process may enter SCHED_RR (CAP_SYS_NICE or RLIMIT_RTPRIO)."""
    probe = "import os; os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(7)); os.setpriority(os.PRIO_PROCESS, 0, -3)"
    return subprocess.run([*MCAV[:1], "-c", probe], capture_output=True).returncode == 0


def _unprivileged() -> None:  # runs in the child before exec: no CAP_SYS_NICE, no rlimit allowing more
    resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))
    resource.setrlimit(resource.RLIMIT_NICE, (0, 0))
    ctypes.CDLL(None, use_errno=True).prctl(PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0)  # root: gone after exec


def _start(tmp_path: Path, *options: str, preexec=None) -> tuple[subprocess.Popen[str], list[str]]:
    """``mcav run`` of a small graph with ``options``, once it runs; and what it logged until then."""
    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH)
    proc = subprocess.Popen([*MCAV, "run", str(graph), "--no-dashboard", *options], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, preexec_fn=preexec)
    assert proc.stderr is not None
    logged = []
    for line in proc.stderr:  # the runtime's threads exist once it says it runs
        logged.append(line)
        if "running (Ctrl-C to stop)" in line:
            return proc, logged
    proc.wait(10)
    raise AssertionError(f"mcav run exited {proc.returncode} before running")


def _threads(pid: int) -> dict[int, tuple[int, int, int]]:
    """Every thread of ``pid`` still there: (scheduling policy, its priority, nice value)."""
    seen = {}
    for tid in map(int, os.listdir(f"/proc/{pid}/task")):
        try:
            seen[tid] = (os.sched_getscheduler(tid), os.sched_getparam(tid).sched_priority,
                         os.getpriority(os.PRIO_PROCESS, tid))
        except (ProcessLookupError, FileNotFoundError):  # a thread that ended meanwhile
            continue
    return seen


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    assert proc.stderr is not None
    return proc.stderr.read()


@pytest.mark.skipif(not _may_raise(), reason="this user may not raise a priority (no CAP_SYS_NICE, RLIMIT_RTPRIO 0)")
def test_every_thread_runs_realtime_at_the_nice_value_asked(tmp_path: Path) -> None:
    proc, logged = _start(tmp_path, "--realtime", "7", "--priority", "-3")
    try:
        threads = wait_until(lambda: t if len(t := _threads(proc.pid)) > 1 else None, timeout=10,
                             what="the runtime's threads")
        assert set(threads.values()) == {(os.SCHED_RR, 7, -3)}, threads
    finally:
        rest = _stop(proc)
    assert "not permitted" not in "".join(logged) + rest


def test_a_refused_priority_warns_once_naming_what_it_needs_and_the_show_runs(tmp_path: Path) -> None:
    proc, logged = _start(tmp_path, "--realtime", "--priority", "-5", preexec=_unprivileged)
    try:
        threads = _threads(proc.pid)
        assert {policy for policy, _, _ in threads.values()} == {os.SCHED_OTHER}
        assert {nice for _, _, nice in threads.values()} == {os.getpriority(os.PRIO_PROCESS, 0)}  # as inherited
    finally:
        rest = _stop(proc)
    assert "graph 'g' stopped (exit 0)" in rest
    warnings = [line for line in logged if "not permitted" in line]
    assert len(warnings) == 2, logged  # one for each part refused, before the show starts
    nice, realtime = sorted(warnings)
    assert "--priority -5" in nice and "CAP_SYS_NICE" in nice and "RLIMIT_NICE of at least 25" in nice
    assert "--realtime 10" in realtime and "CAP_SYS_NICE" in realtime and "RLIMIT_RTPRIO of at least 10" in realtime


@pytest.mark.skipif(not _may_raise(), reason="this user may not raise a priority (no CAP_SYS_NICE, RLIMIT_RTPRIO 0)")
def test_an_own_loop_runs_one_realtime_step_above_the_rest_of_a_realtime_process() -> None:
    import control_kinds  # noqa: F401  (registers own_loop_tally)
    from conftest import build

    from mcav.runtime.engine import Runtime

    graph = build("nodes:\n  tick: {kind: ticker, count: null, interval: 0.01}\n"
                  "  net: {kind: async_collect, in: tick}\n  own: {kind: own_loop_tally}\n")
    seen: dict[str, tuple[int, int]] = {}

    def show() -> None:  # a realtime thread starting the runtime: its threads inherit SCHED_RR 7
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(7))
        rt = Runtime(graph)
        rt.start()
        try:
            wait_until(lambda: rt.node("own").thread_name, what="the own loop's run()")  # type: ignore[attr-defined]
            for t in threading.enumerate():
                if t.name.startswith("mcav-") and t.native_id is not None:
                    seen[t.name] = (os.sched_getscheduler(t.native_id), os.sched_getparam(t.native_id).sched_priority)
        finally:
            rt.shutdown()

    t = threading.Thread(target=show)
    t.start()
    t.join(15)
    assert seen.pop("mcav-io-own") == (os.SCHED_RR, 8)
    assert seen and set(seen.values()) == {(os.SCHED_RR, 7)}, seen  # the shared loop, the ticker's, …
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # this thread was never raised


def test_step_up_leaves_a_time_shared_thread_as_it_is() -> None:
    from mcav.runtime.priority import step_up

    out: list[bool] = []
    t = threading.Thread(target=lambda: out.append(step_up()))
    t.start()
    t.join()
    assert out == [False] and os.sched_getscheduler(0) == os.SCHED_OTHER
