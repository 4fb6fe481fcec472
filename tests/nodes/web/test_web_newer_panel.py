"""The newer MCAV admin panel (its own repository's ``admin_panel/``) against mcav, in headless Chromium.

That panel asks for scenes, stages and the LED wall's bitmap lists; mcav answers every one, so the panel
connects and no request of its gets an error. The panel is not part of mcav: a fixture exports it from a
checkout of the MCAV project (``$MCAV_NEWER_PANEL_REPO``, or a fetched copy beside this checkout) and the
test skips when there is none.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from conftest import ROOT
from web_support import Demo, require_chromium, wait_js

require_chromium()
pytestmark = pytest.mark.browser

CANDIDATES = [os.environ.get("MCAV_NEWER_PANEL_REPO", ""),
              str(ROOT.parent / ".mirror" / "ryanthemcpherson+minecraft-audio-viz" / "repo")]


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for repo in filter(None, CANDIDATES):
        if not Path(repo).exists():
            continue
        out = tmp_path_factory.mktemp("newer-panel")
        archive = out / "panel.tar"
        r = subprocess.run(["git", f"--git-dir={repo}" if Path(repo, "HEAD").exists() else f"-C{repo}",
                            "archive", "-o", str(archive), "HEAD", "admin_panel"], capture_output=True)
        if r.returncode == 0:
            with tarfile.open(archive) as tar:
                tar.extractall(out, filter="data")
            return out / "admin_panel"
    pytest.skip("no copy of the MCAV project's admin panel (set MCAV_NEWER_PANEL_REPO to a checkout)")


def test_the_newer_admin_panel_connects_and_gets_an_answer_to_everything_it_asks(context, panel_dir: Path) -> None:
    server = Demo(graph=ROOT / "pipelines" / "vj.yaml", listeners=("djs",),
                  sets=("osc.port=0", f"admin.static_dir={panel_dir}")).start()
    try:
        page = context.new_page()
        frames: list[dict] = []
        sent: list[dict] = []

        def on_socket(ws) -> None:  # type: ignore[no-untyped-def]
            ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))
            ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

        page.on("websocket", on_socket)
        page.goto(server.url(f"/index.html?port={server.ws_port}"))
        wait_js(page, "document.getElementById('connection-status') && "
                      "/connected/i.test(document.getElementById('connection-status').textContent)")
        wanted = {"list_scenes": "scenes_list", "get_stages": "stages", "get_bitmap_patterns": "bitmap_patterns",
                  "get_bitmap_transitions": "bitmap_transitions", "get_bitmap_palettes": "bitmap_palettes"}

        def answered() -> bool:
            got = {f.get("type") for f in frames}
            return all(req in {m.get("type") for m in sent} and rep in got for req, rep in wanted.items())

        deadline = time.monotonic() + 20
        while not answered():  # Playwright delivers the socket events while the page is being waited on
            assert time.monotonic() < deadline, f"asked {[m.get('type') for m in sent]}, got {[f.get('type') for f in frames]}"
            page.wait_for_timeout(100)
        assert [f for f in frames if f.get("type") == "error"] == []  # the panel turns to ERROR on any
        assert "connected" in page.locator("#connection-status").text_content().lower()
    finally:
        server.stop()
