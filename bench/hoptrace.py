"""Per-hop timestamps of each frame inside an ``mcav run`` process (bench only; ``fanout_redis --hops``).

``python -m bench.hoptrace OUT.json ARGS…`` runs ``mcav.runtime.cli ARGS…`` with probes around the
frame path and writes, when the process ends, ``{event: [[seq, monotonic ns], …]}`` to ``OUT.json``
(CLOCK_MONOTONIC is one clock for every process on this machine, so the bench lines them up with the
DJ's send and the browsers' receipt). Events, by frame number (the VJ's ``seq``, carried through Redis):

* ``browser_in`` — a ``browser`` node takes the Scene from its input ring (VJ and edge);
* ``fanout_first`` / ``fanout_last`` — its first / last chunk of sockets written;
* ``pub_in`` — ``redis_pub`` takes the Scene (VJ); ``pub_write`` — its writer hands the frame to Redis;
* ``sub_in`` — ``redis_sub`` has the frame from redis-py (edge).

Also ``loop_lag``: how late a 1 ms timer fires on the node loop, [[t, lag ns], …] — a loop held by work;
``gc``: each garbage collection, [[generation, start ns, duration ns], …].
The probes wrap methods of this tree's nodes (names as of issue 17); they time, they change nothing.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import json
import os
import runpy
import sys
import time
from collections import defaultdict
from typing import Any

EVENTS: dict[str, list[tuple[int, int]]] = defaultdict(list)
LAST: dict[int, int] = {}  # frame number → when its fan-out's last chunk was written
_now = time.monotonic_ns


def _mark(event: str, seq: int) -> None:
    EVENTS[event].append((seq, _now()))


def install() -> None:
    from mcav.nodes.browser import clients as bc
    from mcav.nodes.browser.server import BrowserServer
    from mcav.nodes.redis import outbox, protocol
    from mcav.nodes.redis.pub import RedisPub
    from mcav.nodes.redis.sub import RedisSub

    current = {"seq": -1}
    seqs: dict[int, int] = {}  # id(state text) → its frame number, while it goes out
    on_scene, send, fan = BrowserServer._on_scene, bc.FanOut.send, bc.fanout

    def _on_scene(self: Any, scene: Any) -> None:
        _mark("browser_in", scene.seq)
        current["seq"] = scene.seq
        on_scene(self, scene)
        if not getattr(self, "_hop_lag", False):
            self._hop_lag = True
            self.ctx.spawn(_lag(), name="hoptrace lag")

    def _send(self: Any, clients: Any, text: str) -> None:
        seqs[id(text)] = current["seq"]
        send(self, clients, text)

    def _fanout(clients: Any, text: str) -> int:  # one chunk of sockets written
        n = fan(clients, text)
        seq = seqs.get(id(text), -1)
        if seq not in LAST:
            _mark("fanout_first", seq)
        LAST[seq] = _now()
        return n

    BrowserServer._on_scene, bc.FanOut.send, bc.fanout = _on_scene, _send, _fanout

    pub_scene, take = RedisPub._on_scene, outbox.Outbox.take

    def _pub_scene(self: Any, scene: Any) -> None:
        _mark("pub_in", scene.seq)
        pub_scene(self, scene)

    def _take(self: Any) -> list[tuple[str, Any]]:
        batch = take(self)
        for _, payload in batch:
            if isinstance(payload, bytes) and payload[:4] == protocol._MAGIC:
                _mark("pub_write", protocol.unpack_state(payload).seq)
        return batch

    RedisPub._on_scene, outbox.Outbox.take = _pub_scene, _take

    on_state = RedisSub._on_state

    def _on_state(self: Any, data: bytes) -> None:
        try:
            _mark("sub_in", protocol.unpack_state(data).seq)
        except protocol.ProtocolError:
            pass
        on_state(self, data)

    RedisSub._on_state = _on_state


def _gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_start[0] = _now()
    else:
        EVENTS["gc"].append((info["generation"], _gc_start[0], _now() - _gc_start[0]))


_gc_start = [0]


async def _lag() -> None:
    while True:
        t = _now()
        await asyncio.sleep(0.001)
        EVENTS["loop_lag"].append((t, _now() - t - 1_000_000))


def main() -> None:
    out = sys.argv[1]
    sys.path[0] = os.getcwd()  # as ``python -m`` has it (a baseline tree's imports depend on it), not this file's folder
    atexit.register(lambda: open(out, "w").write(json.dumps({**EVENTS, "fanout_last": list(LAST.items())})))
    install()
    gc.callbacks.append(_gc)
    sys.argv = ["mcav", *sys.argv[2:]]
    runpy.run_module("mcav.runtime.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
