"""The DJ relay's session as a pure state machine: strings and times in, actions out, no sockets."""

from __future__ import annotations

import json

from mcav.nodes.dj import protocol as P
from mcav.nodes.dj.links import DJ_RELAY
from mcav.nodes.dj.session import RelaySession, RelayState
from mcav.runtime.session import Dead, Deliver, Established, Instant, Refused, Send, Wait

HELLO = P.dj_auth("dj_a", "A", "key")


def at(t: float) -> Instant:
    """Monotonic ``t`` s; wall clock a fixed offset ahead."""
    return Instant(t, 1_700_000_000.0 + t)


def session(threshold_mc: bool = False) -> tuple[RelaySession, list[str]]:
    logged: list[str] = []
    s = RelaySession(RelayState("dj_a"), HELLO, DJ_RELAY.policy("heartbeat"), lambda: threshold_mc,
                     lambda level, message: logged.append(message))
    return s, logged


def sent(actions: list) -> list[dict]:
    return [json.loads(a.text) for a in actions if isinstance(a, Send)]


def test_key_auth_then_clock_sync_then_streaming() -> None:
    s, logged = session()
    assert sent(s.start(at(100.0))) == [HELLO]
    assert not s.streaming
    out = s.receive(json.dumps({"type": "auth_success", "dj_id": "dj_a", "is_active": True, "current_pattern": "bars"}), at(100.1))
    assert isinstance(out[0], Established) and out[0].detail == "live"
    assert s.state.is_active and s.state.vj["current_pattern"] == "bars"
    assert not s.streaming  # nothing may precede the clock sync reply
    (reply,) = sent(s.receive(json.dumps({"type": "clock_sync_request", "server_time": 99.0}), at(100.2)))
    assert reply["type"] == "clock_sync_response" and reply["server_time"] == 99.0
    assert reply["dj_recv_time"] == at(100.2).wall
    assert s.streaming
    out = s.receive(json.dumps({"type": "status_update", "is_active": False}), at(100.3))
    assert not s.state.is_active and logged[-1] == "now on standby" and isinstance(out[-1], Deliver)


def test_connect_code_waits_without_a_deadline_and_takes_the_given_id() -> None:
    s, logged = session()
    out = s.receive(json.dumps({"type": "auth_pending", "dj_id": "dj_beat_7k3m", "message": "Waiting"}), at(1.0))
    assert any(isinstance(a, Wait) for a in out) and s.state.dj_id == "dj_beat_7k3m"
    assert "waiting for the VJ to approve dj_beat_7k3m" in logged[-1]
    assert isinstance(s.receive(json.dumps({"type": "auth_approved", "dj_id": "dj_beat_7k3m"}), at(2.0))[0], Established)


def test_refusals_are_final() -> None:
    s, _ = session()
    (r,) = s.receive(json.dumps({"type": "auth_denied", "message": "no"}), at(1.0))
    assert isinstance(r, Refused) and "denied" in r.reason
    s, _ = session()
    (r,) = s.closed(4004, "Authentication failed")
    assert r == Refused("the VJ refused dj_id 'dj_a': close 4004 Authentication failed")
    assert s.closed(1006, "") == []  # an ordinary loss: reconnect


def test_unanswered_heartbeats_are_counted_but_only_silence_means_dead() -> None:
    """A slow VJ (MCAV's stalls ~10 s when a DJ goes live) keeps the link; 20 s of nothing drops it."""
    s, logged = session(threshold_mc=True)
    s.receive(json.dumps({"type": "auth_success"}), at(0.0))
    (hb,) = sent(s.tick(at(2.0)))
    assert hb["type"] == "dj_heartbeat" and hb["ts"] == at(2.0).wall and hb["mc_connected"] is True
    s.receive(json.dumps({"type": "heartbeat_ack", "echo_ts": at(2.0).wall}), at(2.05))
    assert round(s.state.rtt_ms, 3) == 50.0
    for t in (4.0, 6.0, 8.0, 10.0, 12.0):  # no acks; a status message at 11 s shows the VJ is alive
        if t == 12.0:
            s.receive(json.dumps({"type": "status_update", "is_active": True}), at(11.0))
        assert sent(s.tick(at(t)))[0]["type"] == "dj_heartbeat"
    assert any("3 heartbeats unanswered; keeping the link" in m for m in logged)
    for t in (14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0, 28.0, 30.0):
        assert sent(s.tick(at(t)))[0]["type"] == "dj_heartbeat"  # 19 s since the VJ's last word: still alive
    (dead,) = s.tick(at(32.0))
    assert isinstance(dead, Dead) and "nothing from the VJ for 21 s" in dead.reason
    assert s.state.heartbeat_failures == 14


def test_a_malformed_message_is_logged_and_ignored() -> None:
    s, logged = session()
    assert s.receive("{not json", at(1.0)) == [] and "bad message" in logged[-1]
