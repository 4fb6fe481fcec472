"""The ``mcav`` command: run, validate, inspect and draw graphs.

Exit codes: 0 success (also after SIGINT/SIGTERM), 1 a node failed at run
time, 2 bad command line or invalid graph.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Sequence

from .compile import CompiledGraph, compile_graph
from .draw import FORMATS, draw
from .errors import GraphInvalid
from .model import load_graph

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2

#: Subcommands implemented by node packages: name -> "module:function(args) -> int".
PLUGGED_COMMANDS: dict[str, tuple[str, str]] = {
    "devices": ("mcav.nodes.audio.devices:command", "list audio input devices"),
    "patterns": ("mcav.nodes.patterns.cli:command", "list patterns, or render a gallery of them"),
    "dj-key": ("mcav.nodes.dj.keys_cli:command", "add, remove or list DJ keys in a keys file (stored hashed)"),
}


def _load(path: str, overrides: Sequence[str]) -> CompiledGraph:
    return compile_graph(load_graph(path, overrides))


def _report_invalid(exc: GraphInvalid) -> int:
    for err in exc.errors:
        print(f"error: {err}", file=sys.stderr)
    print(f"{len(exc.errors)} problem{'s' if len(exc.errors) != 1 else ''} found", file=sys.stderr)
    return EXIT_INVALID


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        graph = _load(args.graph, args.set)
    except GraphInvalid as exc:
        return _report_invalid(exc)
    for note in graph.notes:
        print(f"note: {note}", file=sys.stderr)
    print(graph.summary())
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    try:
        graph = _load(args.graph, args.set)
    except GraphInvalid as exc:
        return _report_invalid(exc)
    sys.stdout.write(draw(graph, args.format))
    return EXIT_OK


def cmd_nodes(args: argparse.Namespace) -> int:
    from .inspect import describe_kind, list_kinds

    if args.kind:
        text = describe_kind(args.kind)
        if text is None:
            return EXIT_INVALID
        sys.stdout.write(text)
    else:
        sys.stdout.write(list_kinds())
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .engine import Runtime
    from .monitor import start_monitor

    try:
        graph = _load(args.graph, args.set)
    except GraphInvalid as exc:
        return _report_invalid(exc)
    for note in graph.notes:
        logging.getLogger("mcav").warning("%s", note)
    # Pure-Python threads hold the GIL for up to 5 ms slices by default; shorter
    # slices keep the audio worker and the I/O loop responsive (RUNTIME-LESSONS 2).
    sys.setswitchinterval(0.001)
    runtime = Runtime(graph)
    interrupts = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            logging.getLogger("mcav").warning("second signal: exiting now")
            raise SystemExit(EXIT_FAILED)
        logging.getLogger("mcav").info("%s received, stopping", signal.Signals(signum).name)
        runtime.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    monitor = start_monitor(runtime, dashboard=not args.no_dashboard, interval=args.stats_interval)
    logging.getLogger("mcav").info("%s; running (Ctrl-C to stop)", graph.summary())
    try:
        code = runtime.run()
    finally:
        monitor.close()
    logging.getLogger("mcav").info("graph '%s' stopped (exit %d)", graph.name, code)
    return code


def _plugged(name: str) -> Callable[[argparse.Namespace], int]:
    target, _ = PLUGGED_COMMANDS[name]
    module, _, func = target.partition(":")

    def run(args: argparse.Namespace) -> int:
        try:
            fn = getattr(importlib.import_module(module), func)
        except ImportError as exc:
            print(f"error: 'mcav {name}' is not available: {exc}", file=sys.stderr)
            return EXIT_FAILED
        return int(fn(args) or 0)

    return run


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mcav`` (plugged subcommands add their own options)."""
    parser = argparse.ArgumentParser(prog="mcav", description="Real-time audio-to-visuals dataflow graphs.")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def graph_cmd(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("graph", help="graph file (YAML)")
        p.add_argument(
            "--set", action="append", default=[], metavar="NODE.KEY=VALUE", help="override a parameter (repeatable)"
        )
        return p

    p = graph_cmd("run", "run a graph until its sources end or SIGINT/SIGTERM")
    p.add_argument("--no-dashboard", action="store_true", help="log periodic status lines instead of the dashboard")
    p.add_argument(
        "--stats-interval", type=_positive_seconds, default=10.0, metavar="S",
        help="seconds between status log lines (default 10)",
    )
    p.set_defaults(func=cmd_run)
    graph_cmd("validate", "check a graph and report every problem").set_defaults(func=cmd_validate)
    p = graph_cmd("graph", "draw a graph")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.set_defaults(func=cmd_graph)
    p = sub.add_parser("nodes", help="list node kinds, or describe one")
    p.add_argument("kind", nargs="?")
    p.set_defaults(func=cmd_nodes)
    for name, (_, help_) in PLUGGED_COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        _add_plugged_options(name, p)
        p.set_defaults(func=_plugged(name))
    return parser


def _add_plugged_options(name: str, p: argparse.ArgumentParser) -> None:
    target, _ = PLUGGED_COMMANDS[name]
    module = target.partition(":")[0]
    try:
        add = getattr(importlib.import_module(module), "add_arguments", None)
    except ImportError:
        return
    if add is not None:
        add(p)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mcav`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    if hasattr(args, "graph") and not Path(args.graph).exists():
        print(f"error: {args.graph}: no such file", file=sys.stderr)
        return EXIT_INVALID
    result: Any = args.func(args)
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
