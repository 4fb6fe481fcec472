"""The three wire modules (minecraft, dj, browser) frame their text with the one shared runtime.jsonwire."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mcav.nodes.browser import protocol as browser_wire
from mcav.nodes.dj import protocol as dj_wire
from mcav.nodes.minecraft import protocol as mc_wire
from mcav.runtime import jsonwire

WIRES = (mc_wire, dj_wire, browser_wire)


@pytest.mark.parametrize("wire", WIRES, ids=lambda w: w.__name__.split(".")[-2])
def test_each_wire_encodes_type_first_and_raises_its_own_wire_error(wire) -> None:
    assert issubclass(wire.ProtocolError, jsonwire.WireError) and issubclass(wire.ProtocolError, ValueError)
    assert wire.encode({"zone": "main", "type": "x"}) == jsonwire.encode({"type": "x", "zone": "main"})
    for bad in ("{nope", "[1]", '{"type": 3}'):
        with pytest.raises(wire.ProtocolError):
            wire.decode(bad)
    with pytest.raises(jsonwire.WireError):
        wire.encode({"type": "x", "v": math.nan})


def test_the_clamps_keep_their_defaults() -> None:
    # the plugin's audio fields: clamped, rounded to 4 decimals, 0 when not finite (numpy scalars too)
    assert mc_wire._num(np.float32(0.123456), 0.0, 1.0) == 0.1235
    assert mc_wire._num(float("nan"), 0.0, 300.0) == 0.0 and mc_wire._num(900, 0.0, 300.0) == 300.0
    # the DJ wire re-exports the shared clamp (WIRE.md 2.4: strings, None, NaN → default)
    assert dj_wire.clamp_finite is jsonwire.clamp_finite
    assert dj_wire.sanitize_audio_frame({"bpm": "fast", "peak": math.inf})["bpm"] == 120.0
