"""The shared JSON-wire text helpers: type first, strict decoding, finite clamping."""

from __future__ import annotations

import math

import pytest

from mcav.runtime.jsonwire import WireError, clamp_finite, decode, encode


def test_type_comes_first_and_text_is_compact() -> None:
    text = encode({"zone": "main", "entities": [], "type": "batch_update"})
    assert text.startswith('{"type":"batch_update",') and " " not in text


@pytest.mark.parametrize("bad", [{}, {"type": ""}, {"type": 3}, {"type": "x", "v": math.nan}])
def test_encode_rejects_untyped_or_non_finite(bad: dict) -> None:
    with pytest.raises(WireError):
        encode(bad)


def test_encode_enforces_the_size_limit() -> None:
    with pytest.raises(WireError, match="over the limit of 20"):
        encode({"type": "x", "pad": "y" * 40}, max_chars=20)


@pytest.mark.parametrize(
    "data,why", [(b"{}", "binary"), ("{nope", "invalid JSON"), ("[1]", "JSON object"), ('{"a": 1}', "'type'")]
)
def test_decode_names_what_is_wrong(data: str | bytes, why: str) -> None:
    with pytest.raises(WireError, match=why):
        decode(data)
    assert decode('{"type": "ping"}') == {"type": "ping"}


@pytest.mark.parametrize(
    "value,expected", [(0.5, 0.5), (-1, 0.0), (9, 5.0), (True, 1.0), ("3", 2.0), (None, 2.0), (math.inf, 2.0), (math.nan, 2.0)]
)
def test_clamp_finite(value: object, expected: float) -> None:
    assert clamp_finite(value, 0.0, 5.0, 2.0) == expected
