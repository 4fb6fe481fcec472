"""The baseline of the network paths: a bare websockets relay, ``python -m bench.relay_baseline DJ_PORT WEB_PORT``.

It accepts DJs without a key, and for every ``dj_audio_frame`` broadcasts a
``state`` message of the same size as mcav's (the DJ's bands, then 64 constant
entities) to every browser with :func:`websockets.broadcast`. No graph, no
pattern, no per-client queue: what the transport alone costs on this machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

ENTITIES = json.dumps(
    [{"id": f"block_{i}", "x": 0.5, "y": 0.25, "z": 0.5, "scale": 0.3, "band": i % 5, "visible": True} for i in range(64)],
    separators=(",", ":"),
)


async def main(dj_port: int, web_port: int) -> None:
    browsers: set[ServerConnection] = set()

    async def dj(ws: ServerConnection) -> None:
        async for text in ws:
            msg: dict[str, Any] = json.loads(text)
            kind = msg.get("type")
            if kind == "dj_auth":
                await ws.send(json.dumps({"type": "auth_success", "dj_id": msg.get("dj_id"), "is_active": True}))
            elif kind == "dj_audio_frame":
                head = json.dumps({"type": "state", "bands": msg["bands"], "frame": msg["seq"]}, separators=(",", ":"))
                broadcast(browsers, head[:-1] + ',"entities":' + ENTITIES + "}")

    async def web(ws: ServerConnection) -> None:
        browsers.add(ws)
        try:
            await ws.wait_closed()
        finally:
            browsers.discard(ws)

    async with serve(dj, "127.0.0.1", dj_port, compression=None), serve(
        web, "127.0.0.1", web_port, compression=None, ping_interval=None
    ):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
