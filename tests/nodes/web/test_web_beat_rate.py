"""The admin panel's beat rate control (½× 1× 2×) in headless Chromium, against a real demo server.

Every check reads the server's own state over a separate WebSocket (``wait_server``) or waits on what the
page shows; nothing waits on time.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from web_support import ConsoleLog, Demo, require_chromium, server_ask, wait_js, wait_server

require_chromium()
pytestmark = pytest.mark.browser

ACTIVE = "#beat-rate [data-rate='{}'].active[aria-pressed=true]"


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    d = Demo().start()
    yield d
    d.stop()


def open_page(context: Any, demo: Demo) -> tuple[Any, ConsoleLog]:
    page = context.new_page()
    log = ConsoleLog(page)  # before the page loads, so an error while it starts is seen
    page.goto(demo.url("/"))
    wait_js(page, "window.mcavClient && window.mcavClient.state === 'open'")
    return page, log


def active_rates(page: Any) -> list[str]:
    return page.eval_on_selector_all("#beat-rate .seg-btn.active", "bs => bs.map(b => b.dataset.rate)")


def test_clicks_and_keys_set_the_beat_rate_and_the_buttons_follow_the_server(context: Any, demo: Demo) -> None:
    page, log = open_page(context, demo)
    page.wait_for_selector(ACTIVE.format(1))  # from vj_state: the server's rate lit, the only one
    assert active_rates(page) == ["1"] and page.text_content("#beat-rate-bpm") == ""

    page.click("#beat-rate [data-rate='2']")
    wait_server(demo, lambda s: s.get("beat_rate") == 2)
    page.wait_for_selector(ACTIVE.format(2))
    assert active_rates(page) == ["2"]
    # The synth plays 128 BPM: the readout shows the visuals' tempo, twice it, and the tracker's own beside it.
    wait_js(page, "Number(document.querySelector('#bpm').textContent) > 200")
    assert int(page.text_content("#bpm") or 0) <= 320
    wait_js(page, "/^tracker \\d+ BPM$/.test(document.querySelector('#beat-rate-bpm').textContent)")
    assert 100 <= int((page.text_content("#beat-rate-bpm") or "").split()[1]) <= 160

    # Another operator (a second connection) halves it: this page follows the server's event.
    server_ask(demo, "beat_rate_changed", {"type": "set_beat_rate", "rate": 0.5})
    page.wait_for_selector(ACTIVE.format(0.5))
    assert active_rates(page) == ["0.5"]

    # Keys: ] one step up, [ one step down.
    page.keyboard.press("BracketRight")
    wait_server(demo, lambda s: s.get("beat_rate") == 1)
    page.wait_for_selector(ACTIVE.format(1))
    page.keyboard.press("BracketLeft")
    wait_server(demo, lambda s: s.get("beat_rate") == 0.5)
    page.wait_for_selector(ACTIVE.format(0.5))
    # Back to the demo's rate for whoever uses this server next.
    page.click("#beat-rate [data-rate='1']")
    wait_server(demo, lambda s: s.get("beat_rate") == 1)
    page.wait_for_selector(ACTIVE.format(1))
    assert log.errors == []


def test_the_beat_rate_fits_and_works_at_phone_width(browser: Any, demo: Demo) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(20000)
    try:
        page, log = open_page(ctx, demo)
        page.wait_for_selector(ACTIVE.format(1))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        box = page.locator("#beat-rate [data-rate='2']").bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 30  # a thumb can hit it
        page.tap("#beat-rate [data-rate='2']")
        wait_server(demo, lambda s: s.get("beat_rate") == 2)
        page.wait_for_selector(ACTIVE.format(2))
        page.tap("#beat-rate [data-rate='1']")
        wait_server(demo, lambda s: s.get("beat_rate") == 1)
        assert log.errors == []
    finally:
        ctx.close()
