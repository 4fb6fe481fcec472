"""The ``admin_http`` node: the VJ server's web pages and status endpoints on :8080.

A small HTTP/1.1 server on the I/O loop (no thread): ``GET``/``HEAD`` only,
keep-alive, static files from ``static_dir`` (``/`` = admin panel,
``/preview/`` = 3D preview) with explicit MIME types, never a directory
listing, never a path outside ``static_dir``. A file is read off the loop
(``asyncio.to_thread``) the first time and then served from memory until its
modification time or size changes; plus

* ``/health`` — ``{"status":"ok","uptime_seconds":…}`` and CONNECTIVITY.md's health stats;
* ``/metrics`` — Prometheus text: health stats, per-node and per-edge metrics;
* ``/config.json`` — the browser node's WebSocket port and the pages' timing
  (this node's ``reconnect``/``heartbeat`` policies, link ``admin_panel``).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from mcav.nodes.health import VJ_HEALTH
from mcav.nodes.interfaces import BrowserEndpoint, PatternControl
from mcav.runtime.budget import ListenerBudget, quiet_accept_errors
from mcav.runtime.control import Require
from mcav.runtime.health import health_stats
from mcav.runtime.node import AsyncNode
from mcav.runtime.params import param

from .health import prometheus
from .links import ADMIN_PANEL
from .security import security_totals

__all__ = ["AdminHttp", "STATIC_DIR"]

#: The pages shipped with mcav (``static/`` admin, ``static/preview/`` preview).
STATIC_DIR = Path(__file__).resolve().parent / "static"

MIME = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".json": "application/json", ".map": "application/json",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".ico": "image/x-icon", ".webp": "image/webp", ".wasm": "application/wasm", ".txt": "text/plain; charset=utf-8",
    ".woff": "font/woff", ".woff2": "font/woff2", ".glb": "model/gltf-binary", ".gltf": "model/gltf+json",
}
REASONS = {200: "OK", 301: "Moved Permanently", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 414: "URI Too Long", 431: "Request Header Fields Too Large",
           500: "Internal Server Error"}
#: Longest request target (bytes) and path component (a file name cannot be longer) answered normally.
MAX_TARGET, MAX_NAME = 4096, 255
#: Characters kept as they are in a redirect's Location; everything else (CR, LF, spaces…) is %-encoded.
_LOCATION_SAFE = "/?=&;:@!$'()*+,~-._%"

Response = tuple[int, dict[str, str], bytes]
#: Static files kept in memory (bytes in all; a file larger than a quarter of it is read each time).
CACHE_BYTES = 32 * 1024 * 1024

# Served at / and /preview/ when static_dir has no index.html there (pages not installed yet).
FALLBACK_PAGE = b"""<!doctype html><meta charset="utf-8"><title>mcav</title>
<h1>mcav VJ server</h1><p>The web pages are not installed in this static directory.</p>
<p><a href="/health">/health</a> &middot; <a href="/metrics">/metrics</a> &middot; <a href="/config.json">/config.json</a></p>
"""


class AdminHttp(AsyncNode):
    """Serves the admin panel (/), the 3D preview (/preview/), /health, /metrics and /config.json."""

    kind = "admin_http"
    # The policies of the pages' own WebSocket link; published to them in /config.json.
    policies = {"reconnect": ADMIN_PANEL, "heartbeat": ADMIN_PANEL}
    requires = {
        "browser": Require(BrowserEndpoint, optional=True, doc="the pages' WebSocket, told in /config.json"),
        "pattern": Require(PatternControl, optional=True, doc="/metrics reports its pattern and tempo"),
    }
    health_schema = VJ_HEALTH

    @dataclass
    class Params:
        host: str = param("0.0.0.0", doc="address to listen on")
        port: int = param(8080, doc="TCP port (0 = any free port, see status())", min=0, max=65535)
        static_dir: str = param("", doc="directory of the pages (empty = the ones shipped with mcav)")
        max_header_bytes: int = param(16384, doc="largest request head accepted", unit="B", min=1024)
        idle_timeout: float = param(15.0, doc="close a keep-alive connection idle this long", unit="s", min=0.1)
        header_timeout: float = param(5.0, doc="time for a request head to arrive once it began", unit="s", min=0.1)
        max_connections: int = param(64, doc="connections open at once (when full, the longest idle one is "
                                     "closed to make room)", min=1)

    def __init__(self, params: Params, ctx: Any) -> None:
        super().__init__(params, ctx)
        root = Path(params.static_dir) if params.static_dir else STATIC_DIR
        self.root = (root if root.is_absolute() else ctx.base_dir / root).resolve()
        self.port: int | None = None
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.counters = dict.fromkeys(("requests", "not_found", "bad_requests", "file_reads"), 0)
        self._writers: set[asyncio.StreamWriter] = set()
        self._files: dict[Path, tuple[tuple[int, int], bytes]] = {}  # path → ((mtime_ns, size), content)
        self._cached = 0  # bytes in _files
        # The smallest file-handle reserve of all listeners: /health stays answerable when the others refuse.
        self.budget = ListenerBudget(f"admin_http '{ctx.name}'", params.max_connections, ctx.log, fd_reserve=16,
                                     backlog=8)

    def status(self) -> dict[str, Any]:
        return {"port": self.port, "static_dir": str(self.root), **self.counters,
                "security": {"invalid_messages": self.counters["bad_requests"], **self.budget.counters()}}

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        p = self.params
        if not self.root.is_dir():
            self.ctx.log.warning("static_dir %s does not exist: pages will answer 404", self.root)
        quiet_accept_errors(self.loop, self.ctx.log)
        try:
            server = await asyncio.start_server(self._serve, p.host, p.port, limit=p.max_header_bytes,
                                                backlog=self.budget.backlog)
        except OSError as exc:  # e.g. the port is taken: say so, no traceback (port stays None)
            self.ready.set()
            self.ctx.fail(f"admin_http '{self.ctx.name}': cannot listen on {p.host}:{p.port}: {os.strerror(exc.errno) if exc.errno else exc}")
            return
        self.port = server.sockets[0].getsockname()[1]
        self.ctx.log.info("admin panel on http://%s:%d/ (preview: /preview/, health: /health)",
                          "localhost" if p.host in ("0.0.0.0", "::") else p.host, self.port)
        self.ready.set()
        try:
            await self.ctx.wait_stopping()
        finally:
            server.close()
            for w in list(self._writers):
                w.close()
            await server.wait_closed()

    # -- connection handling ------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ticket = self.budget.admit(writer.transport.abort)
        if ticket is None:
            writer.transport.abort()
            return
        self._writers.add(writer)
        p = self.params
        try:
            while True:
                ticket.idle()  # waiting for the client: the first to go when the port is full
                try:
                    # The first byte may take the keep-alive idle time; the rest of the head only header_timeout.
                    first = await asyncio.wait_for(reader.readexactly(1), p.idle_timeout)
                    head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), p.header_timeout)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    await self._send(writer, (431, {}, b"request head too large\n"), False, head_only=False)
                    return
                ticket.ready()
                keep = await self._handle(head, writer)
                if not keep:
                    return
        finally:
            ticket.release()
            self._writers.discard(writer)
            writer.close()

    async def _handle(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        self.counters["requests"] += 1
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
            headers = dict((k.strip().lower(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:] if ln))
            if not version.startswith("HTTP/1.") or not target.startswith("/"):
                raise ValueError(lines[0])
        except ValueError:
            self.counters["bad_requests"] += 1
            await self._send(writer, (400, {}, b"bad request\n"), False, head_only=False)
            return False
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if method not in ("GET", "HEAD"):
            # A body may follow that we will not read: answer and close.
            await self._send(writer, (405, {"Allow": "GET, HEAD"}, b"only GET and HEAD\n"), False, head_only=False)
            return False
        try:
            resp = await self._route(target)
        except Exception:  # a bug: logged, but never with the client's (possibly huge or hostile) path
            self.ctx.log.exception("error answering a %s request (%d-byte target)", method, len(target))
            resp = (500, {}, b"internal error\n")
        if resp[0] == 404:
            self.counters["not_found"] += 1
        await self._send(writer, resp, keep, head_only=method == "HEAD")
        return keep

    async def _send(self, writer: asyncio.StreamWriter, resp: Response, keep: bool, head_only: bool) -> None:
        status, headers, body = resp
        headers = {
            "Content-Type": "text/plain; charset=utf-8", **headers, "Content-Length": str(len(body)),
            "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Server": "mcav",
            "Connection": "keep-alive" if keep else "close",
        }
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, '')}"] + [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body))
        try:
            await writer.drain()
        except ConnectionError:
            pass

    # -- routes ---------------------------------------------------------------------------------

    async def _route(self, target: str) -> Response:
        if len(target) > MAX_TARGET:
            return 414, {}, b"request target too long\n"
        raw_path, _, query = target.partition("?")
        path = unquote(raw_path)
        if path == "/health":
            return _json(self._health())
        if path == "/metrics":
            return 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}, self._metrics().encode()
        if path == "/config.json":
            return _json(await self._config())
        if path == "/preview":
            return 301, {"Location": _location("/preview/", query)}, b""
        return await self._static(path, raw_path, query)

    async def _static(self, path: str, raw_path: str, query: str) -> Response:
        parts = path.split("/")[1:]
        # No traversal, no hidden files, no NUL or backslash tricks, no name longer than any file can have:
        # refuse before touching the disk.
        if any(p in ("..", ".") or p.startswith(".") or "\\" in p or "\0" in p or len(p.encode()) > MAX_NAME
               for p in parts):
            return 404, {}, b"not found\n"
        try:
            file = (self.root / "/".join(p for p in parts if p)).resolve()
            if not file.is_relative_to(self.root):  # a symlink pointing outside
                return 404, {}, b"not found\n"
            if file.is_dir():
                if not path.endswith("/"):
                    return 301, {"Location": _location(raw_path + "/", query)}, b""
                file = file / "index.html"  # never a listing
            found = file.is_file()
        except OSError:  # e.g. a path too long for the file system as a whole
            return 404, {}, b"not found\n"
        if not found:
            if path in ("/", "/preview/"):
                return 200, {"Content-Type": MIME[".html"]}, FALLBACK_PAGE
            return 404, {}, b"not found\n"
        mime = MIME.get(file.suffix.lower(), "application/octet-stream")
        return 200, {"Content-Type": mime}, await self._read(file)

    async def _read(self, file: Path) -> bytes:
        """``file``'s bytes: from memory while its mtime and size are unchanged, else read in a thread."""
        st = file.stat()
        version = (st.st_mtime_ns, st.st_size)
        hit = self._files.get(file)
        if hit is not None and hit[0] == version:
            return hit[1]
        data = await asyncio.to_thread(file.read_bytes)
        self.counters["file_reads"] += 1
        old = self._files.pop(file, None)
        self._cached -= len(old[1]) if old is not None else 0
        if len(data) <= CACHE_BYTES // 4:
            if self._cached + len(data) > CACHE_BYTES:  # full: start over (the pages are a few MB)
                self._files.clear()
                self._cached = 0
            self._files[file] = (version, data)
            self._cached += len(data)
        return data

    def _health(self) -> dict[str, Any]:
        snap = self.ctx.metrics_snapshot()
        return {"status": "ok", "uptime_seconds": round(snap.uptime_s, 3), "graph": snap.graph, **health_stats(snap),
                "security": security_totals(snap)}

    def _metrics(self) -> str:
        snap = self.ctx.metrics_snapshot()
        info: dict[str, Any] = {}
        pattern = self.ctx.control("pattern")
        if pattern:  # the pattern node's status says what is shown and at what tempo
            extra = snap.nodes[pattern.provider.node].extra
            info["active_pattern"] = extra.get("pattern")
            info["bpm"] = extra.get("bpm")
        return prometheus(snap, health_stats(snap), info)

    async def _config(self) -> dict[str, Any]:
        browser = self.ctx.control("browser")
        b = await browser.endpoint() if browser else {}
        rc, hb = self.ctx.reconnect_policy(), self.ctx.heartbeat_policy()
        return {
            "ws_port": b.get("ws_port", 8766),
            "operator_auth": bool(b.get("operator_auth", False)),
            "graph": self.ctx.metrics_snapshot().graph,
            "timing": {
                "reconnect_base_ms": int(rc.initial * 1000), "reconnect_multiplier": rc.multiplier,
                "reconnect_max_ms": int(rc.max * 1000), "max_attempts": rc.max_reconnect_attempts or 0,
                "ping_ms": int(hb.interval * 1000), "pong_timeout_ms": int((hb.timeout or 20.0) * 1000),
                "queue_max": 500, "connect_timeout_ms": int(rc.connect_timeout * 1000),
                "commands_per_s": b.get("commands_per_s", 10.0),
            },
        }


def _location(path: str, query: str) -> str:
    """A redirect target with anything unsafe in a header (CR, LF, spaces, non-ASCII) %-encoded."""
    return quote(path, safe=_LOCATION_SAFE) + (f"?{quote(query, safe=_LOCATION_SAFE)}" if query else "")


def _json(obj: Any) -> Response:
    return 200, {"Content-Type": "application/json"}, json.dumps(obj).encode()
