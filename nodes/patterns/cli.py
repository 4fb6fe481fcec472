"""``mcav patterns``: list the patterns, or render a gallery of them.

Imported by every ``mcav`` invocation (for :func:`add_arguments`), so the
top level imports nothing heavy; numpy and matplotlib load only when used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "command"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``mcav patterns``."""
    parser.add_argument("--gallery", metavar="OUT_DIR", type=Path, help="write <key>.png per pattern and contact_sheet.png")
    parser.add_argument("--only", metavar="KEY,KEY", help="only these patterns (comma-separated keys)")
    parser.add_argument("--entities", type=int, default=64, metavar="N", help="entities per pattern (1-1024, default 64)")


def command(args: argparse.Namespace) -> int:
    """List the patterns, or render a gallery of them as PNGs.

    Returns 0, or 2 on a bad option (unknown key, entity count out of range,
    matplotlib missing for ``--gallery``).
    """
    from .registry import PATTERNS

    keys = list(PATTERNS)
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        unknown = [k for k in keys if k not in PATTERNS]
        if unknown:
            print(f"error: unknown pattern {', '.join(unknown)}; patterns: {', '.join(PATTERNS)}", file=sys.stderr)
            return 2
    if not 1 <= args.entities <= 1024:
        print(f"error: --entities {args.entities} is out of range 1-1024", file=sys.stderr)
        return 2
    if args.gallery is None:
        width = max(len(k) for k in keys)
        name_w = max(len(PATTERNS[k].name) for k in keys)
        for k in keys:
            cls = PATTERNS[k]
            print(f"{k:<{width}}  {cls.name:<{name_w}}  {cls.description}")
        return 0
    try:
        import matplotlib  # noqa: F401  (only to say what is missing before any work starts)
    except ImportError:
        print("error: --gallery draws with matplotlib, which is not installed: pip install matplotlib "
              "(or pip install 'mcav[bench]')", file=sys.stderr)
        return 2
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .gallery import render_gallery

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("gallery", total=None)

        def step(what: str, done: int, total: int) -> None:
            # refresh now: a step can end before the 10 Hz refresh thread would draw it
            progress.update(task, description=what, completed=done, total=total, refresh=True)

        written = render_gallery(args.gallery, keys, args.entities, progress=step)
    for path in written:
        print(path)
    return 0
