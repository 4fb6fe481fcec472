"""Reloading a running graph in place: which nodes are kept, rebuilt, added or removed, and what keeps running."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import control_kinds  # noqa: F401  (registers the test kinds)
import pytest
from conftest import build, wait_until

from mcav.runtime.engine import Runtime
from mcav.runtime.node import AsyncNode
from mcav.runtime.registry import register_kind
from mcav.runtime.reshape import NodeDiff, Reload, diff_nodes, reload

OLD = """
nodes:
  src:  {kind: counter, count: 5}
  a:    {kind: scale, in: src, factor: 2}
  b:    {kind: scale, in: a}
  web:  {kind: admin_http, port: 0, heartbeat: {interval: 1.0}}
  sink: {kind: collect, in: b}
  gone: {kind: discard, in: a}
"""
NEW = """
nodes:
  src:  {kind: counter, count: 5}
  a:    {kind: scale, in: src, factor: 2}
  b:    {kind: scale, in: src, factor: 3}
  web:  {kind: admin_http, port: 0}
  sink: {kind: discard, in: b}
  more: {kind: collect, in: b}
"""


def test_diff_compares_each_node_definition_not_its_edges() -> None:
    diff = diff_nodes(build(OLD), build(NEW))
    assert diff == NodeDiff(kept=("src", "a"),  # 'a' feeds other nodes: still kept
                            changed=("b",),  # parameters only
                            rebuilt=("web", "sink"),  # policies, kind
                            added=("more",), removed=("gone",))
    assert diff_nodes(build(OLD), build(OLD)) == NodeDiff(kept=("src", "a", "b", "web", "sink", "gone"))


def test_reload_describes_what_happened_to_each_node() -> None:
    assert Reload(kept=("web", "viz"), live=("viz",), rebuilt=("fft",), added=("osc",)).describe() == (
        "kept web; applied live to viz; rebuilt fft; added osc")
    assert Reload(kept=("web",)).describe() == "no change"


CHAIN = """
nodes:
  src:  {kind: counter, count: null, rate: 500}
  a:    {kind: scale, in: src, factor: 1}
  out:  {kind: async_collect, in: a}
  tick: {kind: ticker, count: null, interval: 0.002}
  seen: {kind: async_collect, in: tick}
"""


def values_after(node: Any, n: int) -> list[float]:
    """Wait for ``n`` more frames at ``node`` (an async_collect) and return their values."""
    start = len(node.frames)
    wait_until(lambda: len(node.frames) >= start + n, what=f"{n} more frames at '{node.ctx.name}'")
    return [f.value for f in list(node.frames)[start:start + n]]


def test_a_structural_reload_keeps_unchanged_nodes_running_and_rewires_them() -> None:
    rt = Runtime(build(CHAIN))
    rt.start()
    try:
        out, src, tick, seen = rt.node("out"), rt.node("src"), rt.node("tick"), rt.node("seen")
        inp = rt.async_input("out", "in")
        values_after(out, 5)
        last = out.frames[-1].seq
        # A sync node inserted into the fused chain; the async consumer is fed by it from now on.
        done = rt.reload(build(CHAIN.replace("out:  {kind: async_collect, in: a}",
                                             "b:    {kind: scale, in: a, factor: 1000}\n"
                                             "  out:  {kind: async_collect, in: b}")))
        assert done == Reload(kept=("src", "a", "out", "tick", "seen"), added=("b",))
        assert (rt.node("out"), rt.node("src"), rt.node("tick"), rt.node("seen")) == (out, src, tick, seen)
        assert rt.async_input("out", "in") is inp  # rebound, not replaced: the node holds it across its run
        through_b = wait_until(lambda: [f for f in list(out.frames) if f.value == 1000 * f.seq > 0], what="b's frames")
        assert through_b[0].seq > last  # the source's frames resumed where they were: no restart from 0
        values_after(seen, 5)  # the async source kept its task and feeds its kept consumer
        assert "b" in rt.snapshot().nodes and rt.snapshot().nodes["out"].frames_in > 10

        done = rt.reload(build(CHAIN))
        assert done.removed == ("b",) and "b" not in rt.snapshot().nodes
        assert {e.name for e in rt.snapshot().edges} == {"a.out->out.in", "tick.out->seen.in"}

        done = rt.reload(build(CHAIN.replace("{kind: async_collect, in: a}", "{kind: async_collect, in: a, "
                                                                             "max_frames: 10}")))
        assert done.rebuilt == ("out",) and rt.node("out") is not out and rt.node("seen") is seen
        values_after(rt.node("out"), 5)
    finally:
        rt.shutdown()
    assert rt.wait(0)


TALLIES = """
nodes:
  t:    {kind: own_loop_tally}
  user: {kind: tally_user}
"""


def loop_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("mcav-io")}


def test_a_kept_consumer_keeps_its_control_port_and_subscription_when_its_provider_is_rebuilt() -> None:
    rt = Runtime(build(TALLIES))
    rt.start()
    try:
        user = rt.node("user")
        port = rt.control_port("user", "tally")
        assert user.run_on_loop(port.add(2)) == 2 and "mcav-io-t" in loop_threads()

        done = rt.reload(build(TALLIES.replace("own_loop_tally", "async_tally")))
        assert done == Reload(kept=("user",), rebuilt=("t",))
        assert rt.node("user") is user and rt.control_port("user", "tally") is port  # the node may hold its port
        assert "mcav-io-t" not in loop_threads()  # the removed own loop ended with its node
        assert user.run_on_loop(port.add(5)) == 5  # the new provider, through the port the consumer kept
        wait_until(lambda: [e.data["total"] for e, _ in user.events] == [2, 5], what="both events at the kept consumer")

        rt.reload(build(TALLIES))
        assert "mcav-io-t" in loop_threads() and user.run_on_loop(port.add(1)) == 1
    finally:
        rt.shutdown()
    assert rt.wait(0)


class Stubborn(AsyncNode):
    """A misbehaving node: ignores being cancelled, ends only when the graph stops."""

    kind = "stubborn"

    async def run(self) -> None:
        while not self.ctx.stopping:
            try:
                await self.ctx.wait_stopping()
            except asyncio.CancelledError:
                pass


register_kind(Stubborn.kind, f"{__name__}:Stubborn")


def test_a_node_that_does_not_stop_fails_the_reload_and_the_graph_still_shuts_down() -> None:
    rest = "  t: {kind: ticker, count: null}\n  seen: {kind: async_collect, in: t}\n"
    rt = Runtime(build("nodes:\n  x: {kind: stubborn}\n" + rest))
    rt.start()
    try:
        with pytest.raises(RuntimeError, match="node 'x' did not stop within 0.2 s"):
            reload(rt, build("nodes:\n" + rest), timeout=0.2)  # mcav run then rebuilds the whole graph
    finally:
        rt.shutdown()
    assert rt.wait(0)
