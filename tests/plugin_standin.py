"""A stand-in for the MCAV Minecraft plugin's WebSocket server (:8765), for tests.

It behaves as WIRE.md section 1 describes the real plugin (which needs a Paper
server): a ``connected`` welcome, fast-path messages (first 60 characters
contain ``"type":"batch_update"``, ``audio_state`` or ``voice_audio``) are
applied with no reply, every other message gets its synchronous reply or
``{"type":"error"}``, a ``ping`` every 15 s and a close (1000, "Heartbeat
timeout") after 45 s without pong, both on an injectable clock; messages over
262 144 characters are dropped unseen.

Every message received is checked: ``type`` must be the first key, and when
``../shared`` is present it is validated against ``spec/mcav-protocol`` with the
plugin/schema differences of WIRE.md 1.6 allowed. Problems go to
:attr:`PluginStandIn.violations`; tests assert it stays empty.

It runs its own thread and event loop, so it is independent of the runtime
under test, just like the real plugin.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any, Callable

import websockets
from websockets.asyncio.server import ServerConnection, serve

from conftest import SHARED

from mcav.runtime.clock import Clock, SystemClock

MAX_CHARS = 262_144
_FAST = re.compile(r'"type": ?"(batch_update|audio_state|voice_audio)"')
_PONG = re.compile(r'"type": ?"pong"')
_ZONE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class SchemaCheck:
    """Validates outbound-to-plugin messages against ``mcav-protocol`` (None when ../shared is absent)."""

    BASE = "https://mcav.invalid/"

    def __init__(self, protocol_dir: Path) -> None:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource

        index = json.loads((protocol_dir / "index.json").read_text())
        resources = []
        for rel in list(index["messages"].values()) + list(index["types"].values()):
            schema = json.loads((protocol_dir / rel).read_text())
            schema["$id"] = self.BASE + rel  # absolute ids so "../types/x" refs resolve
            resources.append((schema["$id"], Resource.from_contents(schema)))
        registry = Registry().with_resources(resources)
        self.validators = {
            name: Draft202012Validator(registry[self.BASE + rel].contents, registry=registry)
            for name, rel in index["messages"].items()
        }

    def problems(self, msg: dict[str, Any]) -> list[str]:
        """Schema violations of ``msg`` after allowing the documented plugin/schema differences."""
        m = json.loads(json.dumps(msg))
        t = m.get("type")
        if t == "init_pool":  # WIRE 1.6: the plugin reads `material`, not `block_type`
            if not isinstance(m.pop("material", ""), str):
                return ["init_pool.material must be a string"]
        if t == "batch_update":  # WIRE 1.4/1.6: the plugin reads these audio fields too
            for k in ("bpm", "tempo_confidence", "tempo_conf", "beat_phase", "frame"):
                m.pop(k, None)
            for e in m.get("entities", []):
                for k in ("glow", "brightness", "interpolation"):  # read by the plugin (NEW schema)
                    e.pop(k, None) if isinstance(e, dict) else None
        if t == "renderer_capabilities":  # WIRE 1.2: also accepted as a request (alias of get_renderer_capabilities)
            t = m["type"] = "get_renderer_capabilities"
        v = self.validators.get(t)
        if v is None:
            return []  # no schema for this type (dj_info, cleanup_zone…): shape checked by the plugin stand-in
        return [f"{t}: {e.message} at {list(e.absolute_path)}" for e in v.iter_errors(m)]


def zone_obj(name: str) -> dict[str, Any]:
    """The plugin's zoneToJson shape (WIRE.md 1.2)."""
    return {
        "name": name, "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), "world": "world",
        "origin": {"x": 0, "y": 64, "z": 0}, "size": {"x": 10, "y": 10, "z": 10},
        "rotation": 0, "glow_on_beat": False, "dynamic_brightness": False,
    }


class PluginStandIn:
    """The plugin stand-in. Use as a context manager; ``port=0`` picks a free port.

    Args:
        port: TCP port to listen on (0 = any free one; see :attr:`port`).
        clock: Clock of its own ping/timeout timers. Default system clock.
        zones: Zone names it has.
        shared_dir: ``../shared`` (default: conftest's); None or absent = skip schema validation.
        max_entities: ``performance.max_entities_per_zone`` (shipped config: 100).
    """

    def __init__(
        self, port: int = 0, clock: Clock | None = None, zones: tuple[str, ...] = ("main",),
        shared_dir: Path | None = SHARED, max_entities: int = 100,
    ) -> None:
        self.port = port
        self.clock = clock or SystemClock()
        self.zones = list(zones)
        self.max_entities = max_entities
        proto = shared_dir / "spec" / "mcav-protocol" if shared_dir else None
        self.schema = SchemaCheck(proto) if proto and proto.is_dir() else None
        self.answer_pings = True  # False: ignore our pings (a hung client-side peer)
        self.reply_to_sync = True  # False: read sync messages but never reply (a stalled server)
        self.replies: dict[str, dict[str, Any]] = {}  # request type → the reply to send instead (a broken plugin)
        self.messages: list[dict[str, Any]] = []  # every parsed message, in arrival order
        self.arrivals: list[float] = []  # clock.monotonic() of each message
        self.violations: list[str] = []
        self.dropped_oversize = 0
        self.total_connections = 0
        self.pools: dict[str, dict[str, Any]] = {}
        self.visible: dict[str, bool] = {}
        self.entities: dict[str, dict[str, dict[str, Any]]] = {}
        self.close_codes: list[int | None] = []
        self._conns: set[ServerConnection] = set()
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="plugin-standin", daemon=True)
        self._server: Any = None

    # -- lifecycle (test thread) ------------------------------------------------------------

    def __enter__(self) -> PluginStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> PluginStandIn:
        self._thread.start()
        self._call(self._start())
        return self

    async def _start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", self.port, compression=None, max_size=None)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._stop(), timeout=15)  # generous: on a loaded machine closing takes a while
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(2)

    async def _stop(self) -> None:
        self._server.close()
        await asyncio.wait_for(self._server.wait_closed(), 10)

    def restart(self) -> None:
        """A plugin/server restart: every connection closed (1001), pools forgotten."""
        self._call(self._close_all(1001, "Server restarting"))
        with self._cond:
            self.pools.clear()
            self.entities.clear()

    async def _close_all(self, code: int, reason: str) -> None:
        await asyncio.gather(*(c.close(code, reason) for c in list(self._conns)), return_exceptions=True)

    def _call(self, coro: Any, timeout: float = 5.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- observation (test thread) ----------------------------------------------------------

    @property
    def connections(self) -> int:
        return len(self._conns)

    def of_type(self, mtype: str) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.messages if m.get("type") == mtype]

    def wait_for(self, pred: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until ``pred()`` (evaluated under the stand-in's lock) is true; False on timeout."""
        with self._cond:
            return self._cond.wait_for(pred, timeout)

    def wait_messages(self, mtype: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until ``count`` messages of ``mtype`` arrived; return them (AssertionError on timeout)."""
        ok = self.wait_for(lambda: sum(m.get("type") == mtype for m in self.messages) >= count, timeout)
        assert ok, f"expected {count} '{mtype}' messages, got {len(self.of_type(mtype))}"
        return self.of_type(mtype)

    # -- the plugin side (its loop) ---------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        self._conns.add(ws)
        with self._cond:
            self.total_connections += 1
            self._cond.notify_all()
        state = {"last_pong": self.clock.monotonic()}
        await ws.send(json.dumps({"type": "connected", "message": "Connected to AudioViz server", "version": "standin-1.0"}))
        beat = asyncio.ensure_future(self._heartbeat(ws, state))
        try:
            async for raw in ws:
                text = raw if isinstance(raw, str) else raw.decode()
                if len(text) > MAX_CHARS:
                    with self._cond:
                        self.dropped_oversize += 1
                        self._cond.notify_all()
                    continue
                if _PONG.search(text):
                    state["last_pong"] = self.clock.monotonic()
                    self._record(text)
                    continue
                fast = bool(_FAST.search(text[:60]))
                msg = self._record(text)
                reply = self._apply(msg, fast) if msg is not None else {"type": "error", "message": "Invalid JSON"}
                if reply is not None and not fast and self.reply_to_sync:
                    if reply.get("type") == "pong" and not self.answer_pings:
                        continue
                    await ws.send(json.dumps(reply))
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            beat.cancel()
            self._conns.discard(ws)
            with self._cond:
                self.close_codes.append(ws.close_code)
                self._cond.notify_all()

    async def _heartbeat(self, ws: ServerConnection, state: dict[str, float]) -> None:
        while True:
            await self.clock.sleep(15.0)  # 300 ticks
            if self.clock.monotonic() - state["last_pong"] >= 45.0:
                await ws.close(1000, "Heartbeat timeout")
                return
            await ws.send(json.dumps({"type": "ping", "timestamp": int(self.clock.time() * 1000)}))

    def _record(self, text: str) -> dict[str, Any] | None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        with self._cond:
            if not isinstance(msg, dict):
                self.violations.append(f"not a JSON object: {text[:80]!r}")
                self._cond.notify_all()
                return None
            if next(iter(msg), None) != "type":
                self.violations.append(f"'type' is not the first key: {text[:80]!r}")
            if self.schema is not None:
                self.violations.extend(self.schema.problems(msg))
            self.messages.append(msg)
            self.arrivals.append(self.clock.monotonic())
            self._cond.notify_all()
        return msg

    def _apply(self, msg: dict[str, Any], fast: bool) -> dict[str, Any] | None:
        """Update the stand-in's world and return the synchronous reply (MessageHandler)."""
        t = msg.get("type")
        zone = msg.get("zone", "main")
        if "zone" in msg and not (isinstance(zone, str) and _ZONE.match(zone)):
            return {"type": "error", "message": "Invalid zone name"}
        with self._cond:
            try:
                if t in self.replies and not fast:
                    return self.replies[t]
                return self._reply(t, zone, msg, fast)
            finally:
                self._cond.notify_all()

    def _reply(self, t: Any, zone: str, msg: dict[str, Any], fast: bool) -> dict[str, Any] | None:
        ms = int(self.clock.time() * 1000)
        if t == "ping":
            return {"type": "pong", "timestamp": ms}
        if t == "get_zones":
            return {"type": "zones", "zones": [zone_obj(z) for z in self.zones]}
        if t == "get_zone":
            if zone not in self.zones:
                return {"type": "error", "message": f"Zone not found: {zone}"}
            return {"type": "zone", "zone": zone_obj(zone), "entity_count": self.pools.get(zone, {}).get("count", 0)}
        if t == "init_pool":
            count = min(int(msg.get("count", 16)), self.max_entities)
            material = msg.get("material", "GLOWSTONE")
            self.pools[zone] = {"count": count, "material": material}
            ents = self.entities.setdefault(zone, {})
            for k in [k for k in ents if int(k.split("_")[1]) >= count]:
                del ents[k]
            return {"type": "pool_initialized", "zone": zone, "count": count, "material": material}
        if t == "batch_update":
            pool = self.pools.get(zone, {}).get("count", 0)
            ents = self.entities.setdefault(zone, {})
            updated = 0
            for e in msg.get("entities", []):
                eid = e.get("id", "")
                if eid.startswith("block_") and eid[6:].isdigit() and int(eid[6:]) < pool:
                    ents[eid] = {k: e[k] for k in ("x", "y", "z", "scale") if k in e}
                    updated += 1
            return None if fast else {"type": "batch_updated", "zone": zone, "updated": updated}
        if t in ("audio_state", "voice_audio"):
            return None if fast else {"type": "ok"}
        if t == "set_visible":
            self.visible[zone] = bool(msg.get("visible"))
            return {"type": "visibility_updated", "zone": zone, "visible": self.visible[zone]}
        if t == "cleanup_zone":
            self.pools.pop(zone, None)
            self.entities.pop(zone, None)
            return {"type": "zone_cleaned", "zone": zone}
        if t == "dj_info":
            return {"type": "dj_info_received", "dj_name": msg.get("dj_name")}
        if t == "set_render_mode":
            if msg.get("mode") not in ("entities", "particles", "hybrid"):
                return {"type": "error", "message": f"Invalid render mode: {msg.get('mode')}"}
            return {"type": "render_mode_updated", "zone": zone, "mode": msg["mode"],
                    "active_backend": "display_entities", "fallback_backend": "particles"}
        if t in ("voice_config", "get_voice_status"):
            return {"type": "voice_status", "available": False, "streaming": False, "channel_type": "static",
                    "connected_players": 0}
        simple = {
            "set_zone_config": "zone_config_updated", "set_entity_glow": "glow_updated",
            "set_entity_brightness": "brightness_updated", "set_renderer_backend": "renderer_backend_updated",
            "get_renderer_capabilities": "renderer_capabilities", "renderer_capabilities": "renderer_capabilities",
            "set_hologram_config": "hologram_config_updated", "set_particle_viz_config": "particle_viz_config_updated",
            "set_particle_effect": "particle_effect_updated", "set_particle_config": "particle_config_updated",
            "banner_config": "banner_config_received", "update_entity": "entity_updated",
        }
        if t in simple:
            reply: dict[str, Any] = {"type": simple[t], "zone": zone}
            if "config" in msg:
                reply["config"] = msg["config"]
            return reply
        return {"type": "error", "message": f"Unknown message type: {t}"}
