"""argparse types of the command line: numbers checked with an error naming the unit or range."""

from __future__ import annotations

import argparse
from typing import Callable


def positive(unit: str) -> Callable[[str], float]:
    """An argparse type: a positive finite number of ``unit``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of {unit}, got {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a positive number of {unit}, got {text!r}")
        return value

    return parse


def int_in(lo: int, hi: int, not_int: str = "") -> Callable[[str], int]:
    """An argparse type: an integer from ``lo`` to ``hi``; ``not_int`` is added when the text is no integer."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}{not_int}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo} to {hi}, got {text!r}")
        return value

    return parse
