"""Control links: declared and checked at compile time, drawn, marshalled across threads, events delivered."""

from __future__ import annotations

import threading

import pytest
from conftest import build, wait_until

import control_kinds  # noqa: F401  (registers the test kinds)
from mcav.runtime.clock import ManualClock
from mcav.runtime.draw import draw
from mcav.runtime.engine import Runtime
from mcav.runtime.errors import GraphInvalid

TWO = """
nodes:
  src: {kind: counter, count: null, rate: 200}
  a: {kind: sync_tally, in: src}
  out: {kind: discard, in: a}
  b: {kind: async_tally}
  user: {kind: tally_user, control: {tally: a}}
"""


def errors_of(text: str) -> str:
    with pytest.raises(GraphInvalid) as exc:
        build(text)
    return str(exc.value)


def test_a_single_provider_binds_implicitly_and_is_shown_as_implicit() -> None:
    g = build("nodes:\n  b: {kind: async_tally}\n  user: {kind: lone_user}\n")
    (link,) = g.controls
    assert (link.provider, link.provider_port, link.consumer, link.port, link.implicit) == ("b", "tally", "user", "tally", True)
    assert "1 control links (1 implicit)" in g.summary()
    text, dot, mermaid = (draw(g, f) for f in ("text", "dot", "mermaid"))
    assert "control tally⇢tally tally (implicit) ⇢ user" in text
    assert '"b" -> "user"' in dot and "style=dashed" in dot
    assert "b -.->" in mermaid and "tally (implicit)" in mermaid


def test_written_links_and_many_ports() -> None:
    g = build(TWO)
    links = {(c.consumer, c.port): [] for c in g.controls}
    for c in g.controls:
        links[(c.consumer, c.port)].append((c.provider, c.implicit))
    assert links[("user", "tally")] == [("a", False)]
    assert sorted(links[("user", "all")]) == [("a", True), ("b", True)]  # a many port takes every provider


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nodes:\n  user: {kind: lone_user}\n",
         "test.yaml:2: node 'user': key 'control.tally': control port 'tally' needs a node that provides tally; none in this graph"),
        ("nodes:\n  a: {kind: async_tally}\n  b: {kind: async_tally}\n  user: {kind: lone_user}\n",
         "needs one tally but 2 nodes provide it (a, b); write control: {tally: NODE}"),
        ("nodes:\n  a: {kind: async_tally}\n  user: {kind: lone_user, control: {tally: nope}}\n",
         "test.yaml:3: node 'user': key 'control.tally': control port 'tally': unknown node 'nope'"),
        ("nodes:\n  a: {kind: async_tally}\n  s: {kind: counter}\n  user: {kind: lone_user, control: {tally: s}}\n",
         "control port 'tally' needs tally but 's' (counter) provides nothing"),
        ("nodes:\n  a: {kind: async_tally}\n  user: {kind: lone_user, control: {taly: a}}\n",
         "node kind 'lone_user' has no control port 'taly'; did you mean 'tally'?"),
        ("nodes:\n  a: {kind: async_tally}\n  b: {kind: async_tally}\n  user: {kind: lone_user, control: {tally: [a, b]}}\n",
         "control port 'tally' takes one provider, got 2"),
        ("nodes:\n  a: {kind: async_tally}\n  user: {kind: lone_user, control: 3}\n",
         "'control' must map control ports to provider nodes"),
    ],
)
def test_binding_problems_are_graph_errors_with_file_and_line(text: str, message: str) -> None:
    assert message in errors_of(text)


def run_two(clock: ManualClock | None = None) -> Runtime:
    rt = Runtime(build(TWO), clock=clock)
    rt.start()
    return rt


def test_calls_reach_the_provider_between_frames_and_errors_come_back() -> None:
    rt = run_two()
    try:
        user, a = rt.node("user"), rt.node("a")
        port = rt.control_port("user", "tally")
        wait_until(lambda: rt.snapshot().nodes["a"].frames_in > 20, what="frames through the sync provider")
        totals = [user.run_on_loop(port.add(1)) for _ in range(50)]
        assert totals == list(range(1, 51))
        assert a.overlaps == 0  # the runtime held a's lock: no call ran during process()
        assert user.run_on_loop(port.total()) == 50
        with pytest.raises(ValueError, match="n must be at least 0"):
            user.run_on_loop(port.add(-1))
        with pytest.raises(AttributeError, match="tally has no call 'subtract'"):
            port.subtract  # noqa: B018
        everyone = rt.control_port("user", "all")
        assert sorted(p.node for p in everyone) == ["a", "b"]
        assert sorted(user.run_on_loop(everyone.call_all("add", 2))) == [2, 52]
    finally:
        rt.shutdown()


def test_events_reach_async_consumers_on_the_io_loop() -> None:
    rt = run_two()
    try:
        user = rt.node("user")
        port = rt.control_port("user", "tally")
        user.run_on_loop(port.add(3))
        assert port.provider.call_blocking("add", 4) == 7  # from a thread outside the loop
        rt.node("a").publish(99)  # published on this (non-loop) thread, as a worker would
        wait_until(lambda: len(user.events) == 3, what="three events")
        (first, t1), (_, t2), (third, t3) = user.events
        assert (first.provider, first.interface, first.name, first.data["total"]) == ("a", "tally", "added", 3)
        assert third.data["total"] == 99 and third.data["thread"] != user.loop_thread
        assert t1 == t2 == t3 == user.loop_thread  # delivered at the consumer's home either way
        with pytest.raises(ValueError, match="tally has no event removed"):
            port.subscribe(lambda e: None, ("removed",))
        with pytest.raises(ValueError, match="tally has no event 'gone'"):
            rt.node("a").ctx.publish("tally", "gone", {})
    finally:
        rt.shutdown()


def test_a_call_that_takes_too_long_times_out_on_the_graph_clock() -> None:
    clock = ManualClock()
    rt = Runtime(build("nodes:\n  b: {kind: async_tally}\n  user: {kind: tally_user}\n"), clock=clock)
    rt.start()
    try:
        user = rt.node("user")
        port = rt.control_port("user", "tally")
        done = threading.Event()
        result: list[object] = []

        def ask() -> None:
            try:
                result.append(user.run_on_loop(port.slow(10.0)))
            except TimeoutError as exc:
                result.append(exc)
            done.set()

        threading.Thread(target=ask, daemon=True).start()
        assert clock.wait_for_sleepers(2)  # the provider's sleep and the call's timeout
        clock.advance(2.5)  # the interface's timeout is 2 s
        assert done.wait(5)
        assert isinstance(result[0], TimeoutError) and "tally.slow at 'b' took over 2 s" in str(result[0])
    finally:
        rt.shutdown()


def test_a_kind_with_its_own_loop_runs_on_its_own_thread_and_its_calls_events_and_stop_work() -> None:
    rt = Runtime(build("nodes:\n  o: {kind: own_loop_tally}\n  user: {kind: tally_user, control: {tally: o}}\n"))
    rt.start()
    try:
        o, user = rt.node("o"), rt.node("user")
        assert user.ready.wait(5)
        wait_until(lambda: o.loop_thread != 0)
        assert o.thread_name == "mcav-io-o" and o.loop_thread != user.loop_thread
        assert rt.loop_of("o") is not rt.loop_of("user")
        port = user.ctx.control("tally")
        assert user.run_on_loop(port.add(2)) == 2  # called from the shared I/O loop, run on o's own loop
        assert o.call_threads == {o.loop_thread}
        wait_until(lambda: len(user.events) == 1)
        event, thread = user.events[0]
        assert event.data == {"total": 2, "thread": o.loop_thread} and thread == user.loop_thread
        with pytest.raises(ValueError, match="at least 0"):
            user.run_on_loop(port.add(-1))
    finally:
        rt.shutdown()
    assert o.stopped.is_set() and rt.wait(0)  # wait_stopping ended on its loop; nothing was aborted

