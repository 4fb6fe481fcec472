"""``admin_http`` over real sockets: static pages, MIME types, no listings, no traversal, /health, /metrics, /config.json."""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket

import pytest
from conftest import build, wait_until
from vj_support import running

from mcav.nodes.web.http import STATIC_DIR
from mcav.runtime.engine import Runtime


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "js").mkdir(parents=True)
    (root / "preview").mkdir()
    (root / "empty").mkdir()
    (root / "index.html").write_text("<h1>admin</h1>")
    (root / "js" / "admin-app.js").write_text("export const x = 1;")
    (root / "style.css").write_text("body{}")
    (root / "preview" / "index.html").write_text("<h1>preview</h1>")
    (root / ".env").write_text("SECRET=1")
    (tmp_path / "secret.txt").write_text("outside")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    return root


def admin_graph(static: str = "", extra: str = "") -> str:
    static_line = f", static_dir: '{static}'" if static else ""
    return f"""
graph: web
nodes:
  admin: {{kind: admin_http, host: 127.0.0.1, port: 0{static_line}}}
{extra}"""


def get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_static_pages_mime_types_and_redirects(site):
    with running(build(admin_graph(str(site)))) as rt:
        admin = rt.node("admin")
        assert admin.ready.wait(5)
        port = admin.status()["port"]
        status, h, body = get(port, "/")
        assert (status, h["content-type"], body) == (200, "text/html; charset=utf-8", b"<h1>admin</h1>")
        status, h, _ = get(port, "/js/admin-app.js")  # ES modules need a JavaScript MIME type
        assert status == 200 and h["content-type"].startswith("text/javascript")
        assert get(port, "/style.css")[1]["content-type"].startswith("text/css")
        status, h, _ = get(port, "/preview")
        assert status == 301 and h["location"] == "/preview/"
        assert get(port, "/preview/")[2] == b"<h1>preview</h1>"
        assert get(port, "/preview/index.html")[2] == b"<h1>preview</h1>"
        status, h, body = get(port, "/", "HEAD")
        assert status == 200 and h["content-length"] == "14" and body == b""


def test_no_listings_no_traversal_no_hidden_files(site):
    with running(build(admin_graph(str(site)))) as rt:
        admin = rt.node("admin")
        assert admin.ready.wait(5)
        port = admin.status()["port"]
        assert get(port, "/empty/")[0] == 404  # a directory without index.html: no listing
        assert get(port, "/empty")[0] == 301
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/js/..%2f..%2fsecret.txt", "/.env", "/link.txt",
                     "/js/%5c..%5csecret.txt", "/missing.js"):
            status, _, body = get(port, path)
            assert status == 404 and b"outside" not in body and b"SECRET" not in body, path
        reply = raw_request(port, b"GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 404") and b"root:" not in reply
        assert admin.status()["not_found"] >= 9


def test_bad_requests_get_clear_errors_and_the_server_stays_up(site):
    with running(build(admin_graph(str(site)))) as rt:
        admin = rt.node("admin")
        assert admin.ready.wait(5)
        port = admin.status()["port"]
        assert raw_request(port, b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert raw_request(port, b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").startswith(b"HTTP/1.1 405")
        huge = b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n"
        assert raw_request(port, huge).startswith(b"HTTP/1.1 431")
        # keep-alive: two requests on one connection, then the server is still serving others
        two = raw_request(port, b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\nGET /style.css HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
        assert two.count(b"HTTP/1.1 200 OK") == 2
        assert get(port, "/")[0] == 200
        assert admin.status()["bad_requests"] == 1


def test_health_metrics_and_config(site):
    with running(build(admin_graph(str(site)))) as rt:
        admin = rt.node("admin")
        assert admin.ready.wait(5)
        port = admin.status()["port"]
        status, h, body = get(port, "/health")
        health = json.loads(body)
        assert status == 200 and h["content-type"] == "application/json"
        assert list(health) == ["status", "uptime_seconds", "graph", "dj_connects", "dj_disconnects",
                                "browser_connects", "browser_disconnects", "mc_reconnect_count", "current_djs",
                                "current_browsers", "mc_connected", "security"]
        assert health["status"] == "ok" and health["uptime_seconds"] >= 0 and health["mc_connected"] is False
        assert health["security"] == {"connections_evicted": 0, "connections_open": 1, "connections_refused": 0,
                                      "invalid_messages": 0}  # this very request holds the one open connection
        status, h, body = get(port, "/metrics")
        text = body.decode()
        assert status == 200 and h["content-type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE mcav_uptime_seconds gauge" in text and 'mcav_connected_browsers{graph="web"} 0' in text
        assert 'mcav_node_frames_in_total{node="admin",kind="admin_http"} 0' in text
        cfg = json.loads(get(port, "/config.json")[2])
        assert cfg["ws_port"] == 8766  # no browser node in this graph: the MCAV default
        assert cfg["timing"]["reconnect_base_ms"] == 2000 and cfg["timing"]["ping_ms"] == 5000
        assert cfg["timing"]["pong_timeout_ms"] == 20000 and cfg["timing"]["max_attempts"] == 10


def test_default_static_dir_serves_the_shipped_pages_or_a_minimal_page():
    with running(build(admin_graph())) as rt:
        admin = rt.node("admin")
        assert admin.ready.wait(5)
        status, h, body = get(admin.status()["port"], "/")
        assert status == 200 and h["content-type"] == "text/html; charset=utf-8"
        if (STATIC_DIR / "index.html").exists():
            assert body == (STATIC_DIR / "index.html").read_bytes()
        else:
            assert b"mcav VJ server" in body
        assert get(admin.status()["port"], "/preview/")[0] == 200


def test_port_in_use_is_a_clear_failure_not_a_crash(caplog):
    with socket.socket() as taken, caplog.at_level(logging.INFO, logger="mcav"):
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rt = Runtime(build(admin_graph().replace("port: 0", f"port: {port}")))
        assert rt.run() == 1
    admin = rt.node("admin")
    assert admin.ready.is_set() and admin.port is None
    assert f"admin_http 'admin': cannot listen on 127.0.0.1:{port}: Address already in use" in caplog.text
    assert "crashed" not in caplog.text and "Traceback" not in caplog.text


def test_static_files_are_read_once_then_served_from_memory_until_they_change(site):
    with running(build(admin_graph(str(site)))) as rt:
        admin = rt.node("admin")
        assert admin.ready.wait(5)
        port = admin.status()["port"]
        for method in ("GET", "HEAD", "GET"):
            assert get(port, "/style.css", method)[0] == 200
        assert get(port, "/style.css")[2] == b"body{}" and admin.status()["file_reads"] == 1
        css = site / "style.css"
        css.write_text("body{color:red}")
        st = css.stat()
        os.utime(css, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a later mtime, whatever the fs resolution
        assert get(port, "/style.css")[2] == b"body{color:red}" and admin.status()["file_reads"] == 2
        assert get(port, "/style.css")[2] == b"body{color:red}" and admin.status()["file_reads"] == 2
        assert get(port, "/js/admin-app.js")[0] == 200 and admin.status()["file_reads"] == 3


def test_metrics_name_the_pattern_shown_and_its_tempo():
    g = build(
        "graph: show\nnodes:\n"
        "  src: {kind: synth, bpm: 128}\n  fft: {kind: fft, in: src}\n  beat: {kind: beat, in: fft}\n"
        "  viz: {kind: pattern, in: beat, pattern: ring}\n"
        "  admin: {kind: admin_http, host: 127.0.0.1, port: 0}\n"
    )
    with running(g) as rt:
        admin = rt.node("admin")
        assert admin.ready.wait(5)
        wait_until(lambda: rt.node("viz").status().get("bpm"), what="the pattern node to see a tempo")
        text = get(admin.status()["port"], "/metrics")[2].decode()
        assert 'mcav_active_pattern{graph="show",pattern="ring"} 1' in text
        assert 'mcav_current_bpm{graph="show"}' in text


def test_long_names_long_targets_and_line_breaks_get_plain_answers(site, caplog):
    caplog.set_level(logging.INFO)
    with running(build(admin_graph(str(site)))) as rt:
        admin = rt.node("admin")
        assert admin.ready.wait(5)
        port = admin.status()["port"]
        status, _, body = get(port, "/" + "a" * 300)  # longer than any file name: 404, not an OSError
        assert status == 404 and b"aaaa" not in body
        status, _, body = get(port, "/js/" + "b" * 255 + "/" + "c" * 256 + ".js")
        assert status == 404
        status, _, body = get(port, "/" + "d/" * 2100)
        assert status == 414 and body == b"request target too long\n"
        for evil in (b"\n", b"\r"):
            reply = raw_request(port, b"GET /preview?a" + evil + b"Set-Cookie:x=1 HTTP/1.1\r\nHost: x\r\n"
                                      b"Connection: close\r\n\r\n")
            head = reply.split(b"\r\n\r\n")[0]
            assert head.startswith(b"HTTP/1.1 301") and b"Location: /preview/?a%0" in head, head
            assert evil + b"Set-Cookie" not in head
        reply = raw_request(port, b"GET /empty?q=\n1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"Location: /empty/?q=%0A1\r\n" in reply
        assert get(port, "/health")[0] == 200
    assert "Traceback" not in caplog.text and "aaaa" not in caplog.text and "error answering" not in caplog.text


def test_idle_connections_make_room_and_health_stays_answerable(site):
    with running(build(admin_graph(str(site)).replace("port: 0", "port: 0, max_connections: 3, header_timeout: 0.3"))) as rt:
        admin = rt.node("admin")
        assert admin.ready.wait(5)
        port = admin.status()["port"]
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow.sendall(b"GET / HT")  # a head that never ends: cut after header_timeout
        assert slow.recv(100) == b""
        slow.close()
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]  # never send anything
        try:
            wait_until(lambda: admin.budget.open == 3 and admin.budget.evicted >= 2, what="idle sockets cut")
            for _ in range(3):
                status, _, body = get(port, "/health")
                assert status == 200
            health = json.loads(body)
            assert health["security"]["connections_evicted"] >= 3 and health["security"]["connections_refused"] == 0
        finally:
            for s in idle:
                s.close()


def test_metrics_publish_each_listeners_security_counters():
    g = build("graph: web\nnodes:\n"
              "  feed: {kind: scene_feed}\n"
              "  web: {kind: browser, in: feed, host: 127.0.0.1, port: 0, trusted_networks: ['127.0.0.2/32']}\n"
              "  admin: {kind: admin_http, host: 127.0.0.1, port: 0}\n")
    with running(g) as rt:
        web, admin = rt.node("web"), rt.node("admin")
        assert web.ready.wait(5) and admin.ready.wait(5)
        from websockets.sync.client import connect

        with connect(f"ws://127.0.0.1:{web.port}", proxy=None) as b:  # a remote viewer tries to change the show
            json.loads(b.recv(5))
            b.send(json.dumps({"type": "set_blackout", "enabled": True}))
            assert "not allowed for viewers" in json.loads(b.recv(5))["message"]
            b.send("{not json")
            assert json.loads(b.recv(5))["type"] == "error"
        text = get(admin.status()["port"], "/metrics")[2].decode()
        assert 'mcav_security_events{node="web",kind="browser",event="refused_viewer_commands"} 1' in text
        assert 'mcav_security_events{node="web",kind="browser",event="invalid_messages"} 1' in text
        assert 'mcav_security_events{node="admin",kind="admin_http",event="connections_refused"} 0' in text
        sec = json.loads(get(admin.status()["port"], "/health")[2])["security"]
        assert sec["refused_viewer_commands"] == 1 and sec["auth_failures"] == 0
