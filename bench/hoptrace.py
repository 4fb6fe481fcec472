"""Per-hop timestamps of each frame inside an ``mcav run`` process (bench only; ``fanout_redis --hops``).

``python -m bench.hoptrace OUT.json ARGS…`` (with ``MCAV_HOPTRACE=minecraft``: only the Minecraft path's probes) runs ``mcav.runtime.cli ARGS…`` with probes around the
frame path and writes, when the process ends, ``{event: [[seq, monotonic ns], …]}`` to ``OUT.json``
(CLOCK_MONOTONIC is one clock for every process on this machine, so the bench lines them up with the
DJ's send and the browsers' receipt). Events, by frame number (the VJ's ``seq``, carried through Redis):

* ``browser_in`` — a ``browser`` node takes the Scene from its input ring (VJ and edge);
* ``fanout_first`` / ``fanout_last`` — its first / last chunk of sockets written;
* ``pub_in`` — ``redis_pub`` takes the Scene (VJ); ``pub_write`` — its writer hands the frame to Redis;
* ``sub_in`` — ``redis_sub`` has the frame from redis-py (edge).

The Minecraft path (``vj_minecraft --hops``), by the VJ's frame number:

* ``dj_in`` — the DJ server's hub takes a decoded ``dj_audio_frame``; ``dj_sig`` — [number, the frame's
  signature in its first two bands] (how the bench finds the DJ's send and the plugin's receipt);
* ``pat_in`` / ``pat_out`` — the ``pattern`` node's ``process()`` begins / returns;
* ``mc_in`` — the ``minecraft`` sink begins to deliver the Scene (its loop has it);
  ``mc_enc`` — its ``batch_update`` text is encoded (on the producer's thread, by the sink's ``prepare``, where
  the tree has it); ``mc_out`` — written to the plugin's socket (stamped once this thread has the GIL back).

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

EVENTS: dict[str, list[tuple[int, ...]]] = defaultdict(list)  # event → its tuples (pairs; gc's are triples)
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
    install_minecraft_path()


def install_minecraft_path() -> None:
    """Only the Minecraft path's probes (no loop-lag timer: a 1 ms timer on the I/O loop would move it)."""
    from mcav.nodes.dj.hub import DJHub
    from mcav.nodes.minecraft import protocol as mcp
    from mcav.nodes.minecraft.sink import MinecraftSink
    from mcav.nodes.patterns.node import PatternNode

    on_frame, process, deliver, encode = DJHub.on_frame, PatternNode.process, MinecraftSink._deliver, mcp.BatchEncoder.encode

    def _on_frame(self: Any, session: Any, msg: Any) -> None:
        seq = self._seq
        _mark("dj_in", seq)
        on_frame(self, session, msg)
        if self._seq != seq:  # emitted: the signature lines it up with the DJ's send and the plugin's receipt
            b = msg["bands"]
            EVENTS["dj_sig"].append((seq, round(b[0] * 1000) + 1000 * round(b[1] * 1000)))

    def _process(self: Any, frame: Any, port: str) -> Any:
        _mark("pat_in", frame.seq)
        out = process(self, frame, port)
        _mark("pat_out", frame.seq)
        return out

    async def _deliver(self: Any, frame: Any) -> None:
        _mark("mc_in", frame.seq)
        await deliver(self, frame)
        _mark("mc_out", frame.seq)

    def _encode(self: Any, scene: Any, zone: str, frame: int) -> list[str]:
        out = encode(self, scene, zone, frame)
        _mark("mc_enc", scene.seq)
        return out

    DJHub.on_frame, PatternNode.process, MinecraftSink._deliver = _on_frame, _process, _deliver
    mcp.BatchEncoder.encode = _encode


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
    if os.environ.get("MCAV_HOPTRACE") == "minecraft":
        install_minecraft_path()
    else:
        install()
    gc.callbacks.append(_gc)
    sys.argv = ["mcav", *sys.argv[2:]]
    runpy.run_module("mcav.runtime.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
