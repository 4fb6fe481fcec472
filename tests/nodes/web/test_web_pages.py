"""The admin panel and the 3D preview against a real demo server, in headless Chromium.

One demo server and one browser for the whole module (the machine has 2 cores); each test gets a
fresh browser context. The server's heartbeat is sped up (ping every 0.4 s, closed after 5 missed
pongs) so "the preview stays connected across several ping cycles" takes seconds, not minutes.
The demo's minecraft node talks to the plugin stand-in (tests/plugin_standin.py), so the pages
show a connected Minecraft link and the preview gets the zone from the "plugin".
The test that runs last takes the README screenshots; they are written to bench/screens/ only
when MCAV_UPDATE_SCREENSHOTS=1, so that an ordinary test run leaves the checkout clean.
"""

from __future__ import annotations

import os

import pytest
from conftest import ROOT
from plugin_standin import PluginStandIn
from web_support import ConsoleLog, Demo, require_chromium, server_state, wait_js, wait_server

require_chromium()
pytestmark = pytest.mark.browser

SERVER_PING_S = 0.4
SCREENS = ROOT / "bench" / "screens"


@pytest.fixture(scope="module")
def demo():
    with PluginStandIn(zones=("main", "arena")) as plugin:
        # mc.rate=20: the stand-in checks every batch_update against the schemas (jsonschema, ~ms each), so at
        # the sink's default budget (every frame, ~94/s) its loop would answer get_zone late on 2 busy cores.
        # failure_threshold 5: a page starved of CPU for up to 2 s (a loaded 2-core machine renders WebGL in
        # software) is not taken for a dead one; the test still needs 8 pings answered on one connection.
        d = Demo(sets=(f"web.heartbeat.interval={SERVER_PING_S}", "web.heartbeat.failure_threshold=5",
                       f"mc.port={plugin.port}", "mc.rate=20")).start()
        yield d
        d.stop()


def open_page(context, url):
    page = context.new_page()
    log = ConsoleLog(page)
    page.goto(url)
    wait_js(page, "window.mcavClient && window.mcavClient.state === 'open'")
    return page, log


def test_admin_loads_clean_state_arrives_and_meters_move(context, demo):
    page, log = open_page(context, demo.url("/"))
    patterns = server_state(demo)["patterns"]
    # Every pattern the server offers is a button, the first eight with their number key.
    wait_js(page, f"document.querySelectorAll('#pattern-grid .pattern-btn').length === {len(patterns)}")
    assert page.locator("#pattern-grid .pattern-btn kbd").all_text_contents() == [str(i) for i in range(1, 9)]
    assert page.locator("#conn-status").get_attribute("data-state") == "open"
    assert page.locator("#conn-label").text_content() == "Connected"
    # State frames arrive and the meters follow them: the five values change over time.
    wait_js(page, "window.mcavLive.frames > 30")
    first = page.evaluate("[...document.querySelectorAll('#band-meters .meter')].map(m => m.dataset.value).join()")
    wait_js(
        page,
        "prev => [...document.querySelectorAll('#band-meters .meter')].map(m => m.dataset.value).join() !== prev", arg=first)
    # The synth plays 128 BPM: beats light the lamp, the tempo readout shows a number.
    wait_js(page, "Number(document.querySelector('#beat-indicator').dataset.beats) >= 2")
    wait_js(page, "/^\\d+$/.test(document.querySelector('#bpm').textContent)")
    assert 100 <= int(page.text_content("#bpm")) <= 160
    assert page.text_content("#now-pattern") == next(p["name"] for p in patterns if p["id"] == "spectrum")
    # Health and Minecraft status come from the server's vj_state.
    page.wait_for_selector("#mc-status[data-connected=true]")
    assert page.locator("#mc-dot").get_attribute("data-ok") == "true"
    assert int(page.text_content("[data-stat=browser_connects]")) >= 1
    assert log.errors == []


def test_clicks_and_keys_change_the_servers_state(context, demo):
    page, log = open_page(context, demo.url("/"))
    patterns = [p["id"] for p in server_state(demo)["patterns"]]
    page.wait_for_selector("#pattern-grid .pattern-btn")

    # Pattern: a click, then number key 3.
    page.click(f"#pattern-grid [data-pattern={patterns[4]}]")
    wait_server(demo, lambda s: s["current_pattern"] == patterns[4])
    page.wait_for_selector(f"#pattern-grid [data-pattern={patterns[4]}].active")
    page.keyboard.press("3")
    wait_server(demo, lambda s: s["current_pattern"] == patterns[2])
    wait_js(page, f"document.querySelector('#now-pattern').dataset.pattern === '{patterns[2]}'")

    # Preset: the server applies it and the sensitivity sliders follow its band table.
    page.click("#preset-row [data-preset=edm]")
    st = wait_server(demo, lambda s: s["preset"] == "edm")
    page.wait_for_selector("#preset-row [data-preset=edm].active")
    wait_js(page, f"Number(document.querySelector('#sens-bass').value) === {st['band_sensitivity'][0]}")

    # A band sensitivity slider.
    page.fill("#sens-air", "1.6")
    page.dispatch_event("#sens-air", "change")
    wait_server(demo, lambda s: abs(s["band_sensitivity"][4] - 1.6) < 1e-6)

    # Effects: blackout by click and by key, freeze by key; the buttons show the server's state.
    page.click("#blackout-btn")
    wait_server(demo, lambda s: s["blackout"] is True)
    page.wait_for_selector("#blackout-btn[aria-pressed=true]")
    page.keyboard.press("b")
    wait_server(demo, lambda s: s["blackout"] is False)
    page.keyboard.press("f")
    wait_server(demo, lambda s: s["freeze"] is True)
    page.wait_for_selector("#freeze-btn[aria-pressed=true]")
    page.click("#freeze-btn")
    wait_server(demo, lambda s: s["freeze"] is False)

    # A one-shot effect: the server confirms it to every browser (seen here on the button).
    page.click("[data-effect=spiral]")
    page.wait_for_selector("[data-effect=spiral].fired")

    # Entity count.
    page.fill("#entity-count", "48")
    page.click("#entity-count-form button[type=submit]")
    wait_server(demo, lambda s: s["entity_count"] == 48)
    assert log.errors == []


def test_bad_input_and_server_errors_are_shown(context, demo):
    page, _ = open_page(context, demo.url("/"))
    before = server_state(demo)["entity_count"]
    page.fill("#entity-count", "999")
    page.click("#entity-count-form button[type=submit]")
    assert "1 to 256" in page.text_content("#entity-count-error")
    page.fill("#zone-name", "bad zone!")
    page.click("#zone-form button[type=submit]")
    assert "letters, digits" in page.text_content("#zone-name-error")
    assert server_state(demo)["entity_count"] == before
    assert page.locator(".toast-error").count() == 0
    # A valid zone name goes through.
    page.fill("#zone-name", "arena")
    page.click("#zone-form button[type=submit]")
    wait_server(demo, lambda s: s["zone"] == "arena")
    # The server's rate limit (10 commands/s) answers a burst of clicks with error{message}: shown.
    page.evaluate("for (let i = 0; i < 30; i++) document.querySelector('[data-effect=flash]').click()")
    toast = page.locator(".toast-error").filter(has_text="rate limited")
    toast.wait_for()
    assert "trigger_effect" in toast.text_content()
    # This demo graph has no DJ input: the DJ cards say so instead of failing silently.
    assert "no dj_server node" in page.text_content("#no-dj-server")


def test_phone_sized_admin_is_usable(browser, demo):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        page.goto(demo.url("/"))
        wait_js(page, "window.mcavClient && window.mcavClient.state === 'open'")
        page.wait_for_selector("#pattern-grid .pattern-btn")
        # Nothing wider than the screen, and controls are reachable by touch.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        patterns = [p["id"] for p in server_state(demo)["patterns"]]
        page.tap(f"#pattern-grid [data-pattern={patterns[6]}]")
        wait_server(demo, lambda s: s["current_pattern"] == patterns[6])
        page.locator("#blackout-btn").scroll_into_view_if_needed()
        page.tap("#blackout-btn")
        wait_server(demo, lambda s: s["blackout"] is True)
        page.tap("#blackout-btn")
        wait_server(demo, lambda s: s["blackout"] is False)
    finally:
        ctx.close()


def test_preview_draws_the_scene_and_stays_connected_across_server_pings(context, demo):
    page, log = open_page(context, demo.url("/preview/"))
    wait_js(page, "window.mcavPreview && window.mcavPreview.webgl && window.mcavPreview.entities > 0")
    st = server_state(demo)
    assert page.evaluate("window.mcavPreview.entities") == st["entity_count"]
    wait_js(page, "window.mcavPreview.framesRendered > 10")
    name = next(p["name"] for p in st["patterns"] if p["id"] == st["current_pattern"])
    wait_js(page, f"document.querySelector('#info-pattern').textContent === {name!r}")
    assert page.text_content("#info-dj") == "no DJ"
    # The zone comes from the plugin (get_zone relayed by the server) and sizes the box.
    wait_js(page, "z => window.mcavPreview.zoneInfo && window.mcavPreview.zoneInfo.name === z", arg=st["zone"])
    assert page.evaluate("window.mcavPreview.zoneSize") == [10, 10, 10]

    # Orbit (drag) and zoom (wheel) move the camera.
    cam0 = page.evaluate("window.mcavPreview.camera")
    box = page.locator("#viewport canvas").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 200, cy + 40, steps=8)
    page.mouse.up()
    wait_js(page, "p => window.mcavPreview.camera.position[0] !== p[0]", arg=cam0["position"])
    page.mouse.wheel(0, 600)
    wait_js(page, "d => window.mcavPreview.camera.distance > d + 0.5", arg=cam0["distance"])

    # Several server ping cycles (the server closes a page after 5 unanswered pings here, 4100): the
    # page answers every ping, so it keeps its first and only connection.
    wait_js(page, "window.mcavClient.stats.serverPings >= 8", timeout=20000)
    client = page.evaluate("({opens: window.mcavClient.opens.length, closes: window.mcavClient.closes.length})")
    assert client == {"opens": 1, "closes": 0}
    assert log.errors == []


def test_preview_without_webgl_says_so(browser, demo):
    # A context whose canvases have no WebGL, like a machine without a GPU or with WebGL disabled.
    ctx = browser.new_context()
    ctx.add_init_script("HTMLCanvasElement.prototype.getContext = function () { return null; };")
    try:
        page = ctx.new_page()
        log = ConsoleLog(page)
        page.goto(demo.url("/preview/"))
        page.wait_for_selector("#no-webgl:not([hidden])")
        assert "WebGL" in page.text_content("#no-webgl")
        # The rest of the page still works live.
        wait_js(page, "window.mcavPreview && window.mcavPreview.stateFrames > 5")
        assert page.evaluate("window.mcavPreview.webgl") is False
        assert log.errors == []
    finally:
        ctx.close()


def test_screenshots_for_the_readme(context, demo, tmp_path):
    """Not a check of looks: takes the README's screenshots from the running demo."""
    screens = SCREENS if os.environ.get("MCAV_UPDATE_SCREENSHOTS") == "1" else tmp_path
    screens.mkdir(parents=True, exist_ok=True)
    page, _ = open_page(context, demo.url("/"))
    page.wait_for_selector("#pattern-grid .pattern-btn")
    # Back to the demo's opening look (earlier tests changed it), through the page itself.
    page.click("#pattern-grid [data-pattern=spectrum]")
    page.click("#preset-row [data-preset=auto]")
    page.fill("#entity-count", "64")
    page.click("#entity-count-form button[type=submit]")
    page.fill("#zone-name", "main")
    page.click("#zone-form button[type=submit]")
    wait_server(demo, lambda s: (s["current_pattern"], s["preset"], s["entity_count"], s["zone"]) == ("spectrum", "auto", 64, "main"))
    wait_js(page, "/^\\d+$/.test(document.querySelector('#bpm').textContent)")
    wait_js(page, "[...document.querySelectorAll('#band-meters .meter')].some(m => Number(m.dataset.value) > 20)")
    wait_js(page, "!document.querySelector('.toast')")  # info toasts fade after 4 s
    page.evaluate("document.querySelector('.content').scrollTo(0, 0); document.activeElement.blur()")
    page.screenshot(path=str(screens / "admin.png"))
    page, _ = open_page(context, demo.url("/preview/"))
    wait_js(page, "window.mcavPreview.visibleEntities > 8 && window.mcavPreview.framesRendered > 30")
    page.screenshot(path=str(screens / "preview.png"))
    assert (screens / "admin.png").stat().st_size > 10_000
    assert (screens / "preview.png").stat().st_size > 10_000
