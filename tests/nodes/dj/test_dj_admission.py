"""The VJ side of the DJ handshake without sockets: first message, credential checks, clock sync."""

from __future__ import annotations

import json

from mcav.nodes.dj.admission import Auth, ClockSync, Refusal, credentials, first_message


def test_the_first_message_is_an_auth_request_or_a_refusal_with_mcav_close_codes() -> None:
    auth = first_message(json.dumps({"type": "dj_auth", "dj_id": "a"}))
    assert isinstance(auth, Auth) and auth.kind == "dj_auth"
    assert isinstance(first_message('{"type":"code_auth","code":"BEAT-7K3M"}'), Auth)
    bad = first_message("{nope")
    assert isinstance(bad, Refusal) and (bad.code, bad.reason) == (4002, "Invalid JSON")
    other = first_message('{"type":"dj_audio_frame"}')
    assert isinstance(other, Refusal) and other.code == 4003 and "dj_audio_frame" in other.log


def test_credentials_check_the_id_then_presence_then_room() -> None:
    assert credentials({"dj_id": "dj_a", "dj_name": " DJ\\x00 A "}, False, False) == ("dj_a", "DJ\\x00 A")
    assert credentials({"dj_id": "dj_a"}, False, False) == ("dj_a", "dj_a")
    r = credentials({"dj_id": " dj_a"}, False, False)  # not the id it claims once cleaned
    assert isinstance(r, Refusal) and r.code == 4004
    r = credentials({"dj_id": "dj_a"}, True, False)
    assert isinstance(r, Refusal) and (r.code, r.reason) == (4005, "Already connected")
    r = credentials({"dj_id": "dj_a"}, False, True)
    assert isinstance(r, Refusal) and (r.code, r.reason) == (4003, "Server full")


def test_clock_sync_gives_the_offset_or_says_why_not() -> None:
    sync = ClockSync(100.0)
    assert sync.request() == {"type": "clock_sync_request", "server_time": 100.0}
    ok = sync.reply(json.dumps({"type": "clock_sync_response", "dj_recv_time": 150.01, "dj_send_time": 150.02}), 100.05)
    assert ok.offset is not None and ok.rtt is not None
    assert round(ok.offset, 3) == 49.99 and round(ok.rtt, 3) == 0.04
    other = sync.reply('{"type":"dj_heartbeat","ts":1}', 100.1)
    assert other.unexpected == {"type": "dj_heartbeat", "ts": 1}  # handled, not dropped
    wild = sync.reply(json.dumps({"type": "clock_sync_response", "dj_recv_time": 1e9, "dj_send_time": 1e9}), 100.1)
    assert wild.offset is None and "implausible" in wild.problem
    assert sync.reply(b"\\xff", 100.1).invalid
