"""The ``mcav`` command: run, validate, inspect and draw graphs.

Exit codes: 0 success (also after SIGINT/SIGTERM), 1 a node failed at run
time, 2 bad command line or invalid graph.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any, Sequence

from .argtypes import int_in, positive
from .budget import raise_fd_limit
from .catalog import builtin_graphs, resolve_graph
from .compile import CompiledGraph, compile_graph, describe_keys
from .cpulatency import request as cpu_latency
from .draw import FORMATS, draw
from .errors import GraphInvalid
from .hints import port_hint
from .logsetup import LEVELS, configure, parse_spec, warn_unmatched
from .model import load_graph
from .plugins import PluggedCommand, plugged_commands
from .priority import NICE_RANGE, RT_RANGE, Priority
from .priority import apply as apply_priority

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


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


class _FailureWatch(logging.Filter):
    """Remembers the first node failure the runtime logs, and hushes INFO lines after it.

    Once a node failed the graph is stopping: a "listening on …" line from a
    node that started a moment later would read as if the show were up.
    """

    def __init__(self) -> None:
        super().__init__()
        self.node: str | None = None
        self.message = ""

    def filter(self, record: logging.LogRecord) -> bool:
        if self.node is None and record.name == "mcav.runtime" and record.levelno >= logging.ERROR:
            if isinstance(record.args, tuple) and len(record.args) == 2:
                self.node, self.message = str(record.args[0]), str(record.args[1])
        return self.node is None or record.levelno >= logging.WARNING or record.name == "mcav"


def _load_for_run(args: argparse.Namespace) -> CompiledGraph:
    graph = _load(args.graph, args.set)
    if args.fresh:  # every kind with a `fresh` parameter, whatever it is called: the runtime names none
        fresh = [f"{n}.fresh=true" for n, cn in graph.nodes.items() if "fresh" in describe_keys(cn.cls.Params)]
        graph = _load(args.graph, [*args.set, *fresh])
    return graph


def cmd_run(args: argparse.Namespace) -> int:
    from .engine import Runtime
    from .monitor import start_monitor

    try:
        graph = _load_for_run(args)
    except GraphInvalid as exc:
        return _report_invalid(exc)
    log = logging.getLogger("mcav")
    for note in graph.notes:
        log.warning("%s", note)
    warn_unmatched(args.log_spec, graph.nodes, log)
    # Pure-Python threads hold the GIL for up to 5 ms slices by default; shorter
    # slices keep the audio worker and the loop threads responsive (RUNTIME-LESSONS 2): a thread
    # woken by I/O waits at most one slice for a thread busy with pure Python (e.g. a browser fan-out).
    sys.setswitchinterval(args.switch_interval / 1000)
    # Before Runtime starts a thread: each inherits the priority of the thread that starts it.
    for refused in apply_priority(Priority(args.priority, args.realtime)):
        log.warning("%s", refused)
    held = cpu_latency(args.cpu_latency) if args.cpu_latency is not None else None  # withdrawn at exit
    if isinstance(held, str):
        log.warning("%s", held)
    before, after = raise_fd_limit()  # soft 1024 would cap a VJ below 1000 browsers
    if after != before:
        log.debug("file-handle limit %d -> %d", before, after)
    runtime = Runtime(graph)
    running = [runtime]  # the graph now running (--watch may rebuild it)
    watch = _FailureWatch()
    for handler in logging.getLogger().handlers:
        handler.addFilter(watch)
    interrupts = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            log.warning("second signal: exiting now")
            raise SystemExit(EXIT_FAILED)
        log.info("%s received, stopping", signal.Signals(signum).name)
        running[0].stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    monitor = start_monitor(runtime, dashboard=not args.no_dashboard, interval=args.stats_interval)
    log.info("%s; running (Ctrl-C to stop)", graph.summary())
    if args.watch:
        graph, code = _run_watching(args, running, monitor, graph, log)
        return _finish(args, graph, watch, code, log)
    try:
        code = runtime.run()
    finally:
        monitor.close()
    return _finish(args, graph, watch, code, log)


def _run_watching(args: argparse.Namespace, running: list[Any], monitor: Any, graph: CompiledGraph,
                  log: logging.Logger) -> tuple[CompiledGraph, int]:
    """Run ``running[0]`` and follow the graph file's saves until the graph stops (``--watch``)."""
    from .engine import Runtime
    from .monitor import start_monitor
    from .watch import FileWatch

    path = args.graph
    files = FileWatch(path)
    log.info("watching %s: saves are applied while it runs", path)
    runtime = running[0]
    runtime.start()
    try:
        while not runtime.stop_event.wait(0.25):
            if not files.changed():
                continue
            try:
                new = _load_for_run(args)
            except GraphInvalid as exc:
                log.error("%s changed but is invalid; still running the previous graph:\n%s", path,
                          "\n".join(f"  {e}" for e in exc.errors))
                continue
            try:
                done = runtime.reload(new)
            except Exception as exc:  # whatever went wrong, a graph of the new file runs
                log.warning("reloaded %s: could not rewire the running graph (%s); rebuilding all of it (clients "
                            "reconnect)", path, exc, exc_info=not isinstance(exc, RuntimeError))
            else:
                graph = new
                log.info("reloaded %s: %s", path, done.describe())
                continue
            old, runtime, graph = runtime, Runtime(new), new
            running[0] = runtime  # a signal from now on stops the new graph (even before it starts)
            monitor.close()
            old.shutdown()
            monitor = start_monitor(runtime, dashboard=not args.no_dashboard, interval=args.stats_interval)
            runtime.start()
            log.info("rebuilt: %s; running", graph.summary())
    finally:
        runtime.shutdown()
        monitor.close()
    return graph, runtime.exit_code


def _finish(args: argparse.Namespace, graph: CompiledGraph, watch: Any, code: int, log: logging.Logger) -> int:
    hint = port_hint(graph, args.graph_arg, watch.node, watch.message)
    if hint:
        print(hint, file=sys.stderr)
    log.info("graph '%s' stopped (exit %d)", graph.name, code)
    return code


def cmd_pipelines(args: argparse.Namespace) -> int:
    graphs = builtin_graphs()
    width = max((len(g.name) for g in graphs), default=0)
    for g in graphs:
        print(f"{g.name:<{width}}  {g.summary}" + (f"\n{'':<{width}}  {g.path}" if args.paths else ""))
    return EXIT_OK


def cmd_completion(args: argparse.Namespace) -> int:
    from .completion import completion_script

    sys.stdout.write(completion_script(args.shell, build_parser(), [g.name for g in builtin_graphs()]))
    return EXIT_OK


def _run_plugged(args: argparse.Namespace) -> int:
    cmd: PluggedCommand = args.plugged
    if cmd.module is None:
        print(f"error: 'mcav {cmd.name}' is {cmd.help.strip('()')}", file=sys.stderr)
        return EXIT_FAILED
    return int(cmd.command()(args) or 0)


def _version() -> str:
    from mcav import __version__

    return f"mcav {__version__} (Python {sys.version.split()[0]})"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mcav``, plugged subcommands (entry points ``mcav.commands``) included."""
    parser = argparse.ArgumentParser(
        prog="mcav", description="Real-time audio-to-visuals dataflow graphs.",
        epilog="Built-in graphs: " + ", ".join(g.name for g in builtin_graphs()) + " (mcav pipelines lists them).",
    )
    parser.add_argument("-V", "--version", action="version", version=_version())
    level = parser.add_argument(
        "--log-level", default="info", metavar="SPEC",
        help=f"LEVEL ({', '.join(LEVELS)}) and/or CATEGORY=LEVEL items, comma-separated, "
             "e.g. warning,mcav.djs=debug (default info)",
    )
    level.completions = LEVELS  # type: ignore[attr-defined]  # argparse has no field for it; read by completion.py
    parser.add_argument(
        "-v", dest="log_categories", action="append", default=[], metavar="CATEGORY=LEVEL",
        help="a level for one subsystem: mcav.NODE (a node of the graph), mcav.runtime, mcav.status… (repeatable)",
    )
    parser.add_argument("--log-file", type=Path, metavar="PATH", help="also append the log to this file")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def graph_cmd(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("graph", nargs="?", help="graph file (YAML) or the name of a built-in graph (mcav pipelines)")
        p.add_argument(
            "--set", action="append", default=[], metavar="NODE.KEY=VALUE", help="override a parameter (repeatable)"
        )
        return p

    p = graph_cmd("run", "run a graph until its sources end or SIGINT/SIGTERM")
    p.add_argument("--no-dashboard", action="store_true", help="log periodic status lines instead of the dashboard")
    p.add_argument("--watch", action="store_true",
                   help="reload the graph file on every save (parameters live where a node can, else a rebuild)")
    p.add_argument("--fresh", action="store_true",
                   help="ignore saved show state (sets fresh=true on every node that has that parameter)")
    p.add_argument(
        "--stats-interval", type=positive("seconds"), default=10.0, metavar="S",
        help="seconds between status log lines (default 10)",
    )
    p.add_argument(
        "--switch-interval", type=positive("milliseconds"), default=1.0, metavar="MS",
        help="the GIL's switch interval in ms (default 1; CPython's own is 5): the longest a thread waits "
        "for one that runs pure Python",
    )
    p.add_argument(
        "--priority", type=int_in(*NICE_RANGE), metavar="NICE",
        help="run at this nice value (-20 most CPU … 19 least; below 0 needs CAP_SYS_NICE or RLIMIT_NICE)",
    )
    p.add_argument(
        "--realtime", nargs="?", const=10, metavar="PRIO",  # `run --realtime vj` reads 'vj' as PRIO: say so
        type=int_in(*RT_RANGE, "; PRIO is optional: put the graph first or give PRIO (--realtime 10 GRAPH)"),
        help="run every thread in the SCHED_RR realtime class at PRIO (1-99, default 10; needs CAP_SYS_NICE "
        "or RLIMIT_RTPRIO); serve many browsers from a local edge, not from this process",
    )
    p.add_argument(
        "--cpu-latency", type=int_in(0, 10**6), metavar="US",
        help="keep idle CPUs able to wake within US µs while the show runs (PM QoS; 0 = they spin: lowest "
        "latency, more power; needs write access to /dev/cpu_dma_latency)",
    )
    p.set_defaults(func=cmd_run)
    graph_cmd("validate", "check a graph and report every problem").set_defaults(func=cmd_validate)
    p = graph_cmd("graph", "draw a graph")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.set_defaults(func=cmd_graph)
    p = sub.add_parser("nodes", help="list node kinds, or describe one")
    p.add_argument("kind", nargs="?")
    p.set_defaults(func=cmd_nodes)
    p = sub.add_parser("pipelines", help="list the built-in graphs (mcav run NAME runs one)")
    p.add_argument("--paths", action="store_true", help="also print where each file is")
    p.set_defaults(func=cmd_pipelines)
    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)")
    p.add_argument("shell", choices=("bash", "zsh"))
    p.set_defaults(func=cmd_completion)
    for cmd in plugged_commands():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(func=_run_plugged, plugged=cmd)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return action.choices[name]
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, naming an unknown option (and the closest known one) before any missing argument."""
    args, extra = parser.parse_known_args(argv)
    target = _subparser(parser, getattr(args, "command", None))
    if extra:
        known = [o for a in target._actions for o in a.option_strings]
        first = extra[0].split("=", 1)[0]
        close = difflib.get_close_matches(first, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else (f"; options: {', '.join(known)}" if known else "")
        target.error(f"unrecognized argument{'s' if len(extra) > 1 else ''}: {' '.join(extra)}{hint}")
    if hasattr(args, "graph"):
        if args.graph is None:
            names = ", ".join(g.name for g in builtin_graphs())
            target.error(f"a graph is required: a YAML file or a built-in name ({names})")
        args.graph_arg = args.graph
        try:
            args.graph = str(resolve_graph(args.graph))
        except FileNotFoundError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(EXIT_INVALID) from None
    try:
        args.log_spec = parse_spec(args.log_level, *args.log_categories)
    except ValueError as exc:
        parser.error(f"--log-level/-v: {exc}")
    return args


def _main(argv: Sequence[str] | None) -> int:
    args = _parse(build_parser(), argv)
    try:
        configure(args.log_spec, args.log_file)
    except OSError as exc:
        print(f"error: --log-file {args.log_file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    result: Any = args.func(args)
    sys.stdout.flush()  # inside the try of main(): a closed pipe is reported here, not at exit
    return int(result)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mcav`` command (and of ``python -m mcav``)."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (`mcav patterns | head -3`): that is its choice, not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:  # Ctrl-C outside `run` (e.g. at a prompt): stop quietly
        print(file=sys.stderr)
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
