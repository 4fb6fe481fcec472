"""``mcav show validate FILE``: check a cue list, with every problem's file and line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "command"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``mcav show``."""
    parser.add_argument("action", choices=("validate",), help="what to do with the cue list")
    parser.add_argument("file", help="the cue list (YAML)")


def command(args: argparse.Namespace) -> int:
    """Check a show's cue list (mcav show validate FILE).

    Returns 0 with a one-line summary, or 2 with one line per problem naming file and line.
    """
    from .cues import load_cues

    cues, errors = load_cues(args.file)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found", file=sys.stderr)
        return 2
    triggers = sorted({c.trigger[0] for c in cues.cues})
    print(f"{args.file}: cue list is valid: {len(cues.cues)} cues (triggers: {', '.join(triggers) or 'none'})")
    return 0
