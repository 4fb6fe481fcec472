"""The DJ relay's session as a pure state machine: strings and times in, actions out, no sockets."""

from __future__ import annotations

import json

from mcav.nodes.dj import protocol as P
from mcav.nodes.dj.links import DJ_RELAY
from mcav.nodes.dj.session import RelaySession, RelayState
from mcav.runtime.link import Dead, Deliver, Established, Refused, Send, Wait

HELLO = P.dj_auth("dj_a", "A", "key")


def session(threshold_mc: bool = False) -> tuple[RelaySession, list[str]]:
    logged: list[str] = []
    s = RelaySession(RelayState("dj_a"), HELLO, DJ_RELAY.policy("heartbeat"), lambda: threshold_mc, logged.append)
    return s, logged


def sent(actions: list) -> list[dict]:
    return [json.loads(a.text) for a in actions if isinstance(a, Send)]


def test_key_auth_then_clock_sync_then_streaming() -> None:
    s, logged = session()
    assert sent(s.start(100.0)) == [HELLO]
    assert not s.streaming
    out = s.receive(json.dumps({"type": "auth_success", "dj_id": "dj_a", "is_active": True, "current_pattern": "bars"}), 100.1)
    assert isinstance(out[0], Established) and out[0].detail == "live"
    assert s.state.is_active and s.state.vj["current_pattern"] == "bars"
    assert not s.streaming  # nothing may precede the clock sync reply
    (reply,) = sent(s.receive(json.dumps({"type": "clock_sync_request", "server_time": 99.0}), 100.2))
    assert reply["type"] == "clock_sync_response" and reply["server_time"] == 99.0 and reply["dj_recv_time"] == 100.2
    assert s.streaming
    out = s.receive(json.dumps({"type": "status_update", "is_active": False}), 100.3)
    assert not s.state.is_active and logged[-1] == "now on standby" and isinstance(out[-1], Deliver)


def test_connect_code_waits_without_a_deadline_and_takes_the_given_id() -> None:
    s, logged = session()
    out = s.receive(json.dumps({"type": "auth_pending", "dj_id": "dj_beat_7k3m", "message": "Waiting"}), 1.0)
    assert any(isinstance(a, Wait) for a in out) and s.state.dj_id == "dj_beat_7k3m"
    assert "waiting for the VJ to approve dj_beat_7k3m" in logged[-1]
    assert isinstance(s.receive(json.dumps({"type": "auth_approved", "dj_id": "dj_beat_7k3m"}), 2.0)[0], Established)


def test_refusals_are_final() -> None:
    s, _ = session()
    (r,) = s.receive(json.dumps({"type": "auth_denied", "message": "no"}), 1.0)
    assert isinstance(r, Refused) and "denied" in r.reason
    s, _ = session()
    (r,) = s.closed(4004, "Authentication failed")
    assert r == Refused("the VJ refused dj_id 'dj_a': close 4004 Authentication failed")
    assert s.closed(1006, "") == []  # an ordinary loss: reconnect


def test_three_unanswered_heartbeats_mean_dead_and_an_ack_resets_the_count() -> None:
    s, _ = session(threshold_mc=True)
    s.receive(json.dumps({"type": "auth_success"}), 0.0)
    (hb,) = sent(s.tick(2.0))
    assert hb["type"] == "dj_heartbeat" and hb["ts"] == 2.0 and hb["mc_connected"] is True
    s.tick(4.0)  # the first is unanswered
    s.receive(json.dumps({"type": "heartbeat_ack", "echo_ts": 4.0}), 4.05)
    assert round(s.state.rtt_ms, 3) == 50.0
    for t in (6.0, 8.0, 10.0):
        assert sent(s.tick(t))[0]["type"] == "dj_heartbeat"
    (dead,) = s.tick(12.0)
    assert isinstance(dead, Dead) and "3 consecutive" in dead.reason
    assert s.state.heartbeat_failures == 4


def test_a_malformed_message_is_logged_and_ignored() -> None:
    s, logged = session()
    assert s.receive("{not json", 1.0) == [] and "bad message" in logged[-1]
