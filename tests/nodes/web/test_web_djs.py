"""DJ management on the admin panel: roster, go live, reorder, kick, connect codes, approve/deny.

Real processes all the way: ``pipelines/vj.yaml`` as the server and ``pipelines/dj-synth.yaml``
as each remote DJ (by id, or by a connect code the test generates with the page).
"""

from __future__ import annotations

import pytest
from conftest import ROOT
from web_support import DJ, Demo, require_chromium, server_ask, server_state, wait_js, wait_server

require_chromium()
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def vj():
    d = Demo(graph=ROOT / "pipelines" / "vj.yaml", listeners=("djs",), sets=("osc.port=0",)).start()
    yield d
    d.stop()


@pytest.fixture
def djs():
    started: list[DJ] = []
    yield started
    for d in started:
        d.stop()


def roster_ids(state):
    return [d["dj_id"] for d in sorted(state["dj_roster"], key=lambda d: d["queue_position"])]


def test_dj_roster_codes_and_approval(context, vj, djs):
    page = context.new_page()
    page.goto(vj.url("/"))
    wait_js(page, "window.mcavClient && window.mcavClient.state === 'open'")
    assert "No DJs connected" in page.text_content("#dj-roster")

    djs.append(DJ(vj, "dj_a", "DJ A"))
    wait_server(vj, lambda s: roster_ids(s) == ["dj_a"], timeout=30)
    djs.append(DJ(vj, "dj_b", "DJ B"))
    wait_server(vj, lambda s: roster_ids(s) == ["dj_a", "dj_b"], timeout=30)

    # The roster shows both, the live one marked, with fps and latency.
    page.wait_for_selector("#dj-roster [data-dj=dj_b]")
    row_a = page.locator("#dj-roster [data-dj=dj_a]")
    assert "LIVE" in row_a.text_content()
    wait_js(page, "/\\d+ fps/.test(document.querySelector('#dj-roster [data-dj=dj_a] .dj-stats').textContent)")
    assert " ms" in row_a.locator(".dj-stats").text_content()
    wait_js(page, "document.querySelector('#now-dj').textContent === 'DJ A'")

    # Go live with B.
    page.click("#dj-roster [data-dj=dj_b] [data-action=switch]")
    wait_server(vj, lambda s: s["active_dj"] == "dj_b")
    page.wait_for_selector("#dj-roster [data-dj=dj_b].active")

    # Reorder: B up to first place.
    page.click("#dj-roster [data-dj=dj_b] [data-action=up]")
    wait_server(vj, lambda s: roster_ids(s) == ["dj_b", "dj_a"])
    wait_js(page, "document.querySelector('#dj-roster .dj-row').dataset.dj === 'dj_b'")

    # Connect codes: generate with a TTL, see it listed, revoke it.
    page.fill("#code-ttl", "5")
    page.click("#code-generate")
    page.wait_for_selector("#code-latest .code-big")
    code = page.text_content("#code-latest .code-big")
    page.wait_for_selector(f"#code-list [data-code='{code}']")
    codes = server_ask(vj, "connect_codes", {"type": "get_connect_codes"})["codes"]
    assert [c["code"] for c in codes] == [code]
    page.click(f"#code-list [data-code='{code}'] [data-action=revoke]")
    page.wait_for_selector(f"#code-list [data-code='{code}']", state="detached")
    assert server_ask(vj, "connect_codes", {"type": "get_connect_codes"})["codes"] == []

    # A DJ with a fresh code waits for approval; approve. Another one; deny.
    for name, action in (("Code DJ", "approve"), ("Denied DJ", "deny")):
        page.click("#code-generate")
        wait_js(page, "c => document.querySelector('#code-latest .code-big').textContent !== c", arg=code)
        code = page.text_content("#code-latest .code-big")
        dj_id = "dj_" + code.lower().replace("-", "_")
        djs.append(DJ(vj, "unused", name, code=code))
        row = page.locator(f"#dj-pending [data-pending={dj_id}]")
        row.wait_for(timeout=30000)
        assert name in row.text_content()
        row.locator(f"[data-action={action}]").click()
        row.wait_for(state="detached")
        if action == "approve":
            wait_server(vj, lambda s, i=dj_id: i in roster_ids(s), timeout=20)
        else:
            wait_server(vj, lambda s, i=dj_id: i not in roster_ids(s) and not s["pending_djs"])

    # Kick asks for confirmation first, then the DJ is gone.
    kick = page.locator("#dj-roster [data-dj=dj_a] [data-action=kick]")
    kick.click()
    assert kick.text_content() == "Confirm kick"
    assert "dj_a" in roster_ids(server_state(vj))
    kick.click()
    page.wait_for_selector("#dj-roster [data-dj=dj_a]", state="detached")
    assert "dj_a" not in roster_ids(server_state(vj))
