"""Reply matching for the plugin link, without sockets."""

from __future__ import annotations

from mcav.nodes.minecraft.replies import Match, ReplyMatcher


def test_a_reply_answers_the_oldest_request_expecting_its_type() -> None:
    m: ReplyMatcher[str] = ReplyMatcher()
    m.expect("zones", "get_zones#1")
    m.expect("pool", "init_pool")
    m.expect("zones", "get_zones#2")
    assert m.match("zones") == Match("get_zones#1", [])
    assert m.match("zones") == Match("get_zones#2", ["init_pool"])  # the plugin skipped init_pool
    assert len(m) == 0


def test_error_answers_the_oldest_of_any_type_and_unsolicited_messages_match_nothing() -> None:
    m: ReplyMatcher[str | None] = ReplyMatcher(limit=2)
    m.expect("pool", "init_pool")
    m.expect("zones", None)  # sent with send(): nobody awaits it, but its reply must be consumed
    assert m.full
    assert m.match("voice_status") is None
    assert m.match("error") == Match("init_pool", [])
    assert m.match("zones") == Match(None, [])
    m.expect("zones", "x")
    assert m.clear() == ["x"] and not m.full
