"""Shared pieces of the web page tests: headless Chromium via Playwright and a real demo server.

* :func:`launch_browser` — Debian's Chromium (``$MCAV_CHROMIUM`` or ``/usr/bin/chromium``) driven by
  the PyPI ``playwright`` package, with the flags of ENVIRONMENT.md section 3 plus SwiftShader so the
  3D preview has WebGL without a GPU. Tests skip cleanly when either is missing.
* :class:`Demo` — ``mcav run pipelines/demo.yaml`` as a subprocess on free ports, which a test can
  kill (SIGKILL, like a crash), freeze (SIGSTOP), thaw and restart on the same ports.
* :func:`server_state` — the server's own view (``vj_state``) read over a separate WebSocket, so a
  test checks what the server did, not what the page believes.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import pytest
from conftest import ROOT, accepts, free_port

CHROMIUM = os.environ.get("MCAV_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # WebGL on the CPU (the preview's three.js renderer); without these headless Chromium may have none.
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    # Timers in a background tab must not be throttled: the reconnect schedule is measured in the page.
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
]
DEMO = ROOT / "pipelines" / "demo.yaml"
BROWSER_NODE = "web"
HTTP_NODE = "admin"


def require_chromium() -> None:
    """Skip the calling test module unless Chromium and the playwright package are both present."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM} (set MCAV_CHROMIUM)", allow_module_level=True)
    import importlib.util

    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright package is not installed", allow_module_level=True)
    if not DEMO.is_file():
        pytest.skip("pipelines/demo.yaml is not there yet", allow_module_level=True)


def launch_browser():
    """Start Playwright and one headless Chromium; returns (playwright, browser)."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    return pw, browser


def _mcav() -> list[str]:
    exe = Path(sys.executable).with_name("mcav")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("mcav")
    return [found] if found else [sys.executable, "-m", "mcav.runtime.cli"]


class Demo:
    """The demo graph as a real server process on free ports.

    Args:
        sets: Extra ``--set NODE.KEY=VALUE`` overrides (e.g. a faster server heartbeat).
        graph: The graph file (default the demo; ``pipelines/vj.yaml`` for DJ tests).
        listeners: More listening nodes to move to free ports (e.g. ``("djs",)``), in ``ports``.
        minecraft: The graph has a ``mc`` node (pointed at a port where nobody listens unless ``sets`` says).
    """

    def __init__(self, sets: tuple[str, ...] = (), graph: Path = DEMO, listeners: tuple[str, ...] = (),
                 minecraft: bool = True) -> None:
        self.ws_port = free_port()
        self.http_port = free_port()
        self.ports = {name: free_port() for name in listeners}
        self.graph = graph
        # No Minecraft plugin in tests: point the minecraft node at a port where nobody listens.
        self.sets = (f"mc.port={free_port()}", *sets) if minecraft else tuple(sets)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="mcav-demo-", suffix=".log", delete=False)
        # Show files in a folder of this server's own (kept across its restarts), never the user's: a
        # module-scoped server starts before the per-test XDG_DATA_HOME of conftest is set.
        self.data_dir = tempfile.mkdtemp(prefix="mcav-demo-data-")
        self.starts = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> "Demo":
        args = [
            *_mcav(), "run", str(self.graph), "--no-dashboard",
            "--set", f"{BROWSER_NODE}.port={self.ws_port}", "--set", f"{BROWSER_NODE}.host=127.0.0.1",
            "--set", f"{HTTP_NODE}.port={self.http_port}", "--set", f"{HTTP_NODE}.host=127.0.0.1",
        ]
        for name, port in self.ports.items():
            args += ["--set", f"{name}.port={port}", "--set", f"{name}.host=127.0.0.1"]
        for s in self.sets:
            args += ["--set", s]
        self.log.write(f"\n--- start {self.starts}: {' '.join(args)}\n".encode())
        self.log.flush()
        env = {**os.environ, "XDG_DATA_HOME": self.data_dir}
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.starts += 1
        self._wait_listening(timeout)
        return self

    def _wait_listening(self, timeout: float) -> None:
        """Until both ports accept connections (or the process dies, with its log in the failure)."""
        deadline = time.monotonic() + timeout
        pending = {self.ws_port, self.http_port, *self.ports.values()}
        while pending:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"mcav run exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"server not listening on {sorted(pending)} after {timeout} s:\n{self.output()[-4000:]}")
            pending = {port for port in pending if not accepts(port)}
            if pending:
                # Only a retry interval for the port check; nothing is assumed about timing.
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, like a crash: no closing handshake, the browser just sees the socket drop."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def freeze(self) -> None:
        """SIGSTOP: the sockets stay open but nothing answers (a hung server)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    # -- addresses ----------------------------------------------------------------------------

    def url(self, path: str = "/", **query: Any) -> str:
        q = f"?{urlencode(query)}" if query else ""
        return f"http://127.0.0.1:{self.http_port}{path}{q}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/"


class DJ:
    """A real remote DJ: ``pipelines/dj-synth.yaml`` streaming to the server's ``djs`` port."""

    def __init__(self, demo: Demo, dj_id: str, name: str, code: str | None = None) -> None:
        args = [
            *_mcav(), "run", str(ROOT / "pipelines" / "dj-synth.yaml"), "--no-dashboard",
            "--set", f"relay.vj_server_url=ws://127.0.0.1:{demo.ports['djs']}",
            "--set", f"relay.dj_id={dj_id}", "--set", f"relay.dj_name={name}",
        ]
        if code:
            args += ["--set", f"relay.connect_code={code}"]
        demo.log.write(f"\n--- DJ {dj_id}: {' '.join(args)}\n".encode())
        demo.log.flush()
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=demo.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def server_ask(demo: Demo, reply_type: str, message: dict[str, Any] | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """Over a fresh connection, send ``message`` (if any) and return the first ``reply_type`` message."""
    from websockets.sync.client import connect

    with connect(demo.ws_url, open_timeout=timeout, close_timeout=1) as ws:
        if message is not None:
            ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if msg.get("type") == reply_type:
                return msg


def server_state(demo: Demo, timeout: float = 5.0) -> dict[str, Any]:
    """The server's ``vj_state`` as a fresh connection sees it."""
    return server_ask(demo, "vj_state", timeout=timeout)


def wait_server(demo: Demo, check: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
    """Read ``vj_state`` until ``check`` holds; fails with the last state seen."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = server_state(demo)
        if check(state):
            return state
    pytest.fail(f"server state never matched; last vj_state: {json.dumps(state)[:2000]}")


def open_admin(context: Any, demo: Demo) -> Any:
    """A new page on the admin panel, once its WebSocket is open; ``page.errors`` collects uncaught errors."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(demo.url("/"))
    wait_js(page, "window.mcavClient && window.mcavClient.state === 'open'")
    page.errors = errors
    return page


class ConsoleLog:
    """Collects a page's console errors and uncaught exceptions."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


_ARROW = re.compile(r"^\s*(\(\s*\w*\s*\)|\w+)\s*=>")


def wait_js(page, predicate: str, arg: Any = None, timeout: float | None = None) -> Any:
    """``page.wait_for_function`` robust to "not there yet": a predicate that throws counts as false.

    A predicate such as ``window.mcavClient.state === 'open'`` throws while the page's script has
    not defined ``mcavClient`` yet, and Playwright fails the wait at once on a throw: a race. Here
    the predicate (an expression, or an arrow function of ``arg``) is retried until it holds or
    ``timeout`` ms pass; the failure names it and the last error it raised.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    fn = predicate if _ARROW.match(predicate) else f"() => ({predicate})"
    wrapped = (f"(arg) => {{ try {{ return ({fn})(arg); }} "
               f"catch (e) {{ window.__mcavWaitError = String(e); return false; }} }}")
    try:
        return page.wait_for_function(wrapped, arg=arg, timeout=timeout)
    except PlaywrightTimeout:
        last = page.evaluate("window.__mcavWaitError || null")
        raise AssertionError(f"timed out waiting for {predicate!r} (last error in the predicate: {last})") from None
