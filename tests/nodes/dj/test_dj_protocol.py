"""The DJ wire module: framing, builders vs the MCAV schemas, every sanitiser rule, BPM stabiliser, clock sync,
rate limit (unit and over a socket)."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from dj_support import RawDJ, running, vj_graph, wait_until

from mcav.nodes.dj import protocol as P
from mcav.runtime.ratelimit import TokenBucket
from mcav.nodes.dj.sanitize import PhaseBeatAssist
from mcav.runtime.clock import ManualClock
from mcav.runtime.frames import Features

NAN, INF = float("nan"), float("inf")


# -- framing --------------------------------------------------------------------------------------


def test_encode_puts_type_first_is_compact_and_refuses_nan():
    text = P.encode({"b": 1, "type": "x", "a": [1.5]})
    assert text.startswith('{"type":"x"') and " " not in text
    with pytest.raises(ValueError):
        P.encode({"type": "x", "v": NAN})
    with pytest.raises(ValueError, match="no string 'type'"):
        P.encode({"a": 1})


@pytest.mark.parametrize("raw, code, match", [
    ("{nope", 4002, "invalid JSON.*line 1"),
    (b"\xff", 4002, "not UTF-8"),
    ("[1]", 4003, "expected a JSON object"),
    ('{"type": 3}', 4003, "string field 'type'"),
])
def test_decode_errors_name_the_problem(raw, code, match):
    with pytest.raises(P.ProtocolError, match=match) as info:
        P.decode(raw)
    assert info.value.close_code == code


def test_every_builder_starts_with_type_and_round_trips():
    f = Features(seq=0, t_capture=0, bpm=128.0)
    built = [
        P.dj_auth("a", "A", "k"), P.code_auth("beat-7k3m", "A"), P.dj_audio_frame(3, 1.5, f), P.dj_heartbeat(2.0, True),
        P.clock_sync_response(1.0, 2.0, 3.0), P.going_offline(), P.ping(),
        P.auth_success("a", "A", True, "spectrum", P.DEFAULT_PATTERN_CONFIG), P.auth_pending("a"),
        P.auth_approved("a", "A", False, "spectrum", {}), P.auth_denied(), P.auth_error("x"),
        P.clock_sync_request(1.0), P.stream_route(True, True, "spectrum", {}), P.status_update(True),
        P.heartbeat_ack(1.0, 2.0), P.pattern_sync("bars"), P.config_sync(16, "main"), P.preset_sync("edm"),
        P.effect_triggered("flash"), P.pong(),
    ]
    for msg in built:
        assert list(msg)[0] == "type"
        assert P.decode(P.encode(msg)) == msg
    assert P.code_auth(" beat-7k3m ", "A")["code"] == "BEAT-7K3M"
    route = P.stream_route(True, True, "spectrum", {})
    assert route["route_mode"] == "dual" and route["reason"] == "active_direct_dj"
    assert P.stream_route(False, True, "spectrum", {})["route_mode"] == "relay"
    assert set(P.preset_sync("edm")["preset"]) == {"attack", "release", "beat_threshold", "agc_max_gain",
                                                    "beat_sensitivity", "bass_weight", "band_sensitivity",
                                                    "auto_calibrate"}


def test_dj_to_vj_builders_match_the_mcav_schemas(shared_dir):
    jsonschema = pytest.importorskip("jsonschema")
    schemas = shared_dir / "spec" / "mcav-protocol" / "messages"
    f = Features(seq=0, t_capture=0, bpm=128.0, tempo_confidence=0.5, beat_phase=0.25, instant_kick=True)
    cases = {
        "dj-auth": P.dj_auth("dj_alice", "DJ Alice", "key", True),
        "code-auth": P.code_auth("beat-7k3m", "DJ Spark"),
        "dj-audio-frame": P.dj_audio_frame(42, 1707234567.891, f),
        "dj-heartbeat": P.dj_heartbeat(1706889600.123, True),
    }
    for name, msg in cases.items():
        schema = json.loads((schemas / f"{name}.schema.json").read_text())
        wire = json.loads(P.encode(msg))
        if name == "code-auth":
            wire.pop("direct_mode")  # MCAV's DJ client sends it; the OLD schema predates it
        jsonschema.validate(wire, schema)


def test_preset_name_recognises_names_and_audio_config_dicts():
    assert P.preset_name("EDM") == "edm"
    assert P.preset_name(P.preset_sync("chill")["preset"]) == "chill"
    assert P.preset_name({"attack": 0.123}) is None
    assert P.preset_name("nope") is None and P.preset_name(7) is None


# -- sanitiser (WIRE.md 2.4) --------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (0.5, 0.5), (-0.5, 0.0), (2.5, 1.0), (1, 1.0), (True, 1.0),
    (NAN, 0.25), (INF, 0.25), (-INF, 0.25), ("0.5", 0.25), (None, 0.25), ([1], 0.25),
])
def test_clamp_finite(value, expected):
    out = P.clamp_finite(value, 0.0, 1.0, 0.25)
    assert out == expected and isinstance(out, float)


def test_sanitize_defaults_for_an_empty_frame():
    assert P.sanitize_audio_frame({}) == {
        "seq": 0, "ts": None, "bands": [0.0] * 5, "peak": 0.0, "beat": False, "beat_i": 0.0, "bpm": 120.0,
        "tempo_conf": 0.0, "beat_phase": 0.0, "i_bass": 0.0, "i_kick": False,
    }


@pytest.mark.parametrize("field, value, expected", [
    ("bands", [NAN, 0.5, INF, -0.1, 1.5], [0.0, 0.5, 0.0, 0.0, 1.0]),
    ("bands", [0.5, 0.3], [0.5, 0.3, 0.0, 0.0, 0.0]),
    ("bands", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], [0.1, 0.2, 0.3, 0.4, 0.5]),
    ("bands", "invalid", [0.0] * 5),
    ("bands", ["a", None, {}, [], 0.5], [0.0, 0.0, 0.0, 0.0, 0.5]),
    ("peak", 10.0, 5.0), ("peak", -1.0, 0.0), ("peak", NAN, 0.0),
    ("beat_i", 7, 5.0), ("i_bass", -3, 0.0), ("i_bass", "x", 0.0),
    ("bpm", 500.0, 300.0), ("bpm", -10.0, 0.0), ("bpm", NAN, 120.0), ("bpm", "fast", 120.0),
    ("tempo_conf", 5.0, 1.0), ("beat_phase", -0.5, 0.0), ("beat_phase", INF, 0.0),
    ("seq", -5, 0), ("seq", "bad", 0), ("seq", 3.0, 0), ("seq", True, 0), ("seq", 42, 42),
    ("beat", "yes", True), ("beat", 0, False), ("i_kick", 1, True),
    ("ts", 1700000000.123, 1700000000.123), ("ts", NAN, None), ("ts", "now", None),
])
def test_sanitize_rules(field, value, expected):
    out = P.sanitize_audio_frame({field: value})[field]
    assert out == expected and type(out) is type(expected)


def test_bpm_stabiliser_octaves_smoothing_and_bounds():
    s = P.BpmStabilizer()
    assert s.update(128.0) == pytest.approx(120 * 0.6 + 128 * 0.4)  # |Δ| = 8: α = 0.4
    s = P.BpmStabilizer(128.0)
    assert s.update(64.0) == pytest.approx(128.0)  # half-time read as 128
    assert s.update(256.0) == pytest.approx(128.0)  # double-time too
    s = P.BpmStabilizer(100.0)
    assert s.update(115.0) == pytest.approx(100 * 0.75 + 115 * 0.25)  # |Δ| > 8: α = 0.25
    assert P.BpmStabilizer(100.0).update(140.0) == pytest.approx(100 * 0.75 + 70 * 0.25)  # 70 is closer
    s = P.BpmStabilizer(300.0)  # previous out of [40, 240] counts as 120
    assert s.update(120.0) == pytest.approx(120.0)
    assert P.BpmStabilizer(200.0).update(250.0) == pytest.approx(200 * 0.75 + 125 * 0.25)
    assert P.BpmStabilizer(60.0).update(35.0) == pytest.approx(60 * 0.75 + 70 * 0.25)
    assert P.BpmStabilizer(120.0).update(1000.0) == pytest.approx(120 * 0.75 + 200 * 0.25)  # clamped to 200
    s = P.BpmStabilizer(130.0)
    assert s.update(0.0) == 130.0 and s.update(NAN) == 130.0  # unknown tempo keeps the last value
    assert P.BpmStabilizer().update(0.0) == 120.0


def test_clock_offset_math_and_rejections():
    offset, rtt = P.clock_offset(100.0, 100.6, 100.6, 100.2)  # DJ 0.5 s ahead, 0.2 s round trip
    assert offset == pytest.approx(0.5) and rtt == pytest.approx(0.2)
    assert P.clock_offset(100.0, NAN, 100.0, 100.1) is None
    assert P.clock_offset(100.0, "x", 100.0, 100.1) is None
    assert P.clock_offset(100.0, 5000.0, 5000.0, 100.1) is None  # > 1 h apart
    assert P.clock_offset(100.0, 100.0, 100.0, 140.0) is None  # rtt > 30 s
    assert P.clock_offset(100.0, 100.0, 100.5, 100.1) is None  # negative rtt


def test_phase_beat_assist_fills_a_missed_beat_once_per_period():
    a = PhaseBeatAssist()
    assert a.apply(False, 0.1, 120.0, 0.8, 0.95, now=10.0) == (True, pytest.approx(0.7))
    assert a.apply(False, 0.1, 120.0, 0.8, 0.02, now=10.1) == (False, 0.1)  # < 0.6 period later
    assert a.apply(False, 0.1, 120.0, 0.8, 0.02, now=10.4)[0] is True
    assert a.apply(False, 0.1, 120.0, 0.5, 0.0, now=20.0) == (False, 0.1)  # low confidence
    assert a.apply(False, 0.1, 120.0, 0.9, 0.5, now=30.0) == (False, 0.1)  # mid-beat


def test_token_bucket_allows_burst_then_refills_on_the_clock():
    clock = ManualClock()
    b = TokenBucket(120, 120, clock)
    assert sum(b.allow() for _ in range(130)) == 120
    assert b.allow() is False
    clock.advance(0.5)
    assert sum(b.allow() for _ in range(100)) == 60
    clock.advance(100.0)
    assert sum(b.allow() for _ in range(500)) == 120  # never more than the burst


# -- over a socket ------------------------------------------------------------------------------------


def test_rate_limit_and_sanitising_over_the_wire():
    clock = ManualClock()
    with running(vj_graph(", beat_assist: false") + "    \n", clock=clock) as rt:
        djs, sink = rt.node("djs"), rt.node("sink")

        async def scenario():
            dj = await RawDJ.connect(djs.port)
            await dj.auth("dj_flood")
            await dj.expect("status_update", "stream_route")
            # Python's json writes NaN/Infinity literals; MCAV's server parses them too
            await dj.send('{"type":"dj_audio_frame","seq":-1,"ts":NaN,"bands":[NaN,2,-1],"peak":Infinity,'
                          '"beat":"yes","beat_i":9,"bpm":"x","tempo_conf":3,"beat_phase":-2,"i_bass":null}')
            for i in range(129):
                await dj.frame(seq=i + 1)
            await dj.heartbeat()  # every frame before it has been handled
            clock.advance(0.5)  # 60 tokens come back
            for i in range(70):
                await dj.frame(seq=1000 + i)
            await dj.heartbeat()
            await dj.close()

        asyncio.run(scenario())
        frames = wait_until(lambda: len(sink.frames) >= 180 and list(sink.frames), what="180 frames")
        st = djs.status()
        assert len(frames) == 180 and st["dropped_rate_limit"] == 10 + 10
        first = frames[0]
        assert first.bands.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
        assert first.peak == 0.0 and first.beat is True and first.beat_intensity == 5.0
        assert first.tempo_confidence == 1.0 and first.beat_phase == 0.0 and first.instant_bass == 0.0
        assert first.bpm == pytest.approx(120.0)  # default 120 from "x", stabilised from 120
        assert all(math.isfinite(f.peak) for f in frames)
        assert [f.seq for f in frames] == list(range(180))  # emitted frames are numbered by the server
