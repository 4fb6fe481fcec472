"""Placeholder until the browser node lands."""
from __future__ import annotations

from .common import Result, Unavailable


def _unavailable(quick: bool) -> Result:
    raise Unavailable("the browser node kind is not installed yet")


dj_to_browser = fanout = many_djs = _unavailable
