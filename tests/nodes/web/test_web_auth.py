"""Operator login on the admin panel against a server started with an operator password."""

from __future__ import annotations

import pytest
from web_support import ConsoleLog, Demo, require_chromium, server_state, wait_js, wait_server

require_chromium()
pytestmark = pytest.mark.browser

PASSWORD = "correct horse"
FAST = dict(reconnect_base_ms=150, reconnect_max_ms=600)


@pytest.fixture(scope="module")
def demo():
    d = Demo(sets=(f"web.operator_password={PASSWORD}",)).start()
    yield d
    d.stop()


def test_login_gates_commands(context, demo):
    page = context.new_page()
    log = ConsoleLog(page)
    page.goto(demo.url("/", **FAST))
    wait_js(page, "window.mcavClient && window.mcavClient.state === 'open'")
    page.wait_for_selector("#pattern-grid .pattern-btn")
    patterns = [p["id"] for p in server_state(demo)["patterns"]]
    start = server_state(demo)["current_pattern"]
    login = page.locator("#login-btn")
    assert login.is_visible() and login.text_content() == "Log in"

    # A viewer's command is refused by the server; the page says why and asks for the password.
    page.click(f"#pattern-grid [data-pattern={patterns[5]}]")
    dialog = page.locator("#login-dialog")
    dialog.wait_for(state="visible")
    assert "not allowed for viewers" in page.text_content("#login-error")
    assert server_state(demo)["current_pattern"] == start

    # Wrong password: the server's auth_error is shown, nothing changes.
    page.fill("#login-password", "wrong")
    page.click("#login-submit")
    wait_js(page, "document.querySelector('#login-error').textContent.includes('Invalid operator password')")
    assert page.evaluate("sessionStorage.getItem('mcav.operatorPassword')") is None
    # (The server closes the socket after a failed login; the client reconnects as a viewer.)
    wait_js(page, "window.mcavClient.opens.length >= 2 && window.mcavClient.state === 'open'")

    # Right password: logged in, commands work.
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    dialog.wait_for(state="hidden")
    wait_js(page, "document.querySelector('#login-btn').dataset.auth === 'yes'")
    page.click(f"#pattern-grid [data-pattern={patterns[5]}]")
    wait_server(demo, lambda s: s["current_pattern"] == patterns[5])

    # The login is re-sent first on a new connection (here: a reload), ahead of any command.
    page.reload()
    wait_js(page, "window.mcavClient && window.mcavClient.state === 'open'")
    wait_js(page, "document.querySelector('#login-btn').dataset.auth === 'yes'")
    page.keyboard.press("2")
    wait_server(demo, lambda s: s["current_pattern"] == patterns[1])
    assert dialog.is_hidden()
    assert log.errors == []
