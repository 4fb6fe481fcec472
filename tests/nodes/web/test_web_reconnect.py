"""The pages' WebSocket client against a real server that dies, hangs and comes back.

The schedule is CONNECTIVITY.md's (base × 1.5 per attempt, capped, 10 attempts, ping / pong
timeout, 500-message queue) with the times scaled down through the pages' query parameters, and
it is measured from the page (``window.mcavClient``: when each attempt was scheduled and started).
What the queue delivered is checked on the server, through the effect of the commands.
"""

from __future__ import annotations

import pytest
from web_support import Demo, require_chromium, server_state, wait_js, wait_server

require_chromium()
pytestmark = pytest.mark.browser

BASE_MS, MULT, CAP_MS = 200, 1.5, 1500
FAST = dict(reconnect_base_ms=BASE_MS, reconnect_multiplier=MULT, reconnect_max_ms=CAP_MS,
            ping_ms=300, pong_timeout_ms=1500, connect_timeout_ms=1000)
# Timers never fire early; on a loaded 2-core machine they may fire late. The upper slack only
# keeps a busy CI from failing a correct schedule.
LATE_SLACK_MS = 1500


@pytest.fixture
def demo():
    d = Demo().start()
    yield d
    d.stop()


def client(page, what):
    return page.evaluate(f"window.mcavClient.{what}")


def wait_open(page, opens=1):
    wait_js(
        page,
        f"window.mcavClient.state === 'open' && window.mcavClient.opens.length >= {opens}", timeout=30000)


def test_reconnect_schedule_queue_order_and_eviction(context, demo):
    page = context.new_page()
    page.goto(demo.url("/", max_attempts=10, queue_max=3, **FAST))
    wait_open(page)
    patterns = [p["id"] for p in server_state(demo)["patterns"]]
    page.wait_for_selector("#pattern-grid .pattern-btn")
    entities_before = server_state(demo)["entity_count"]
    # On a loaded machine the first connect may itself have timed out and been retried: look only at
    # what happens from the kill on.
    a0, c0 = len(client(page, "attempts")), len(client(page, "closes"))

    demo.kill()
    wait_js(page, "window.mcavClient.state !== 'open'")
    page.wait_for_selector("#conn-status[data-state=waiting], #conn-status[data-state=connecting]")

    # While the server is gone the operator keeps working: four commands, a queue of three.
    page.fill("#entity-count", str(entities_before // 2))
    page.click("#entity-count-form button[type=submit]")
    for i in (3, 5, 7):
        page.click(f"#pattern-grid [data-pattern={patterns[i]}]")
    assert client(page, "queued") == [
        {"type": "set_pattern", "pattern": patterns[3]},
        {"type": "set_pattern", "pattern": patterns[5]},
        {"type": "set_pattern", "pattern": patterns[7]},
    ]
    assert client(page, "stats.evicted") == 1
    assert "3 queued" in page.text_content("#conn-detail")

    # Let a few attempts fail, then bring the server back on the same ports.
    wait_js(page, f"window.mcavClient.attempts.slice({a0}).filter(a => a.startedAt !== null).length >= 4")
    demo.start()
    wait_open(page, opens=2)

    attempts = client(page, "attempts")[a0:]
    closes = client(page, "closes")[c0:]
    assert len(attempts) >= 4
    print("measured reconnect schedule (attempt, delay ms, start - schedule ms):",
          [(a["n"], a["delay"], round(a["startedAt"] - a["scheduledAt"], 1)) for a in attempts])
    for i, a in enumerate(attempts):
        expected = min(BASE_MS * MULT**i, CAP_MS)
        assert a["n"] == i + 1
        assert a["delay"] == pytest.approx(expected, abs=0.5)
        # Each attempt is scheduled the moment the previous connection closes...
        assert a["scheduledAt"] == pytest.approx(closes[i]["at"], abs=5)
        # ...and starts after its delay, measured in the page.
        gap = a["startedAt"] - a["scheduledAt"]
        assert a["delay"] - 1 <= gap <= a["delay"] + LATE_SLACK_MS, (i, gap, expected)
    assert closes[0]["wasOpen"] is True and not any(c["wasOpen"] for c in closes[1:])

    # The queue went out in order (the last pattern wins) and the evicted command never arrived.
    st = wait_server(demo, lambda s: s["current_pattern"] == patterns[7])
    assert st["entity_count"] == entities_before
    assert client(page, "queueLength") == 0
    # A good connection resets the schedule.
    wait_js(page, "window.mcavClient.failures === 0")
    page.wait_for_selector("#conn-status[data-state=open]")


def test_attempt_limit_shows_the_reconnect_button(context, demo):
    page = context.new_page()
    page.goto(demo.url("/", reconnect_base_ms=100, reconnect_multiplier=1.5, reconnect_max_ms=300, max_attempts=3))
    wait_open(page)
    assert page.locator("#reconnect-btn").is_hidden()
    a0 = len(client(page, "attempts"))  # a first connect that timed out on a loaded machine is not counted

    demo.kill()
    button = page.locator("#reconnect-btn")
    button.wait_for(state="visible")
    assert client(page, "state") == "failed"
    assert client(page, "nextAttemptAt") is None  # no timer left: it really stopped
    assert [a["delay"] for a in client(page, "attempts")[a0:]] == [100, 150, 225]
    assert page.text_content("#conn-label") == "Disconnected"
    assert "gave up after 3 attempts" in page.text_content("#conn-detail")

    demo.start()
    button.click()
    wait_open(page, opens=2)
    button.wait_for(state="hidden")
    assert page.text_content("#conn-label") == "Connected"


def test_no_pong_closes_and_reconnects_the_preview(context, demo):
    """A hung server (SIGSTOP: sockets open, nobody answering) is detected by the pong timeout."""
    page = context.new_page()
    page.goto(demo.url("/preview/", **FAST))
    wait_open(page)
    wait_js(page, "window.mcavClient.stats.pongsReceived >= 2")

    demo.freeze()
    wait_js(page, "window.mcavClient.stats.pongTimeouts >= 1")
    # (a first connect may have timed out on a loaded machine: find the pong timeout's close)
    last = next(c for c in client(page, "closes") if c["reason"] == "pong timeout")
    assert last["wasOpen"] is True
    # No pong for pong_timeout_ms: measured from the last pong to the close.
    assert last["at"] - client(page, "lastPongAt") >= FAST["pong_timeout_ms"] - 2
    demo.thaw()
    wait_open(page, opens=2)
    wait_js(page, "window.mcavPreview.stateFrames > 0 && window.mcavClient.stats.received > 5")


def test_long_queue_is_paced_under_the_servers_rate_limit(context, demo):
    """14 queued commands against a server that refuses more than 10 a second: all arrive, in order.

    (With ``flush_per_s=1000`` the tail is refused as rate limited and this test fails.)
    """
    page = context.new_page()
    page.goto(demo.url("/", **FAST))  # the default flush pace
    wait_open(page)
    patterns = [p["id"] for p in server_state(demo)["patterns"]]
    page.wait_for_selector("#pattern-grid .pattern-btn")

    demo.kill()
    wait_js(page, "window.mcavClient.state !== 'open'")
    order = [patterns[i] for i in (*range(1, 14), 0)]  # ends on the first pattern
    for p in order:
        page.click(f"#pattern-grid [data-pattern={p}]")
    assert [m["pattern"] for m in client(page, "queued")] == order

    demo.start()
    wait_open(page, opens=2)
    wait_js(page, "window.mcavClient.queueLength === 0")
    wait_server(demo, lambda s: s["current_pattern"] == order[-1])
    assert page.locator(".toast-error").count() == 0  # nothing was refused as rate limited
