"""The installed ``mcav`` as a new user meets it: version, built-in graphs, the wheel, completion, logging,
errors that say what to do. Everything runs as a real subprocess."""

from __future__ import annotations

import ast
import re
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import networkx as nx

import mcav

ROOT = Path(__file__).resolve().parent.parent
MCAV = [sys.executable, "-m", "mcav"]
BUILTIN = ["analyze", "demo", "dj", "dj-link", "dj-synth", "edge", "vj", "vj-fanout", "vj-link"]


def mcav_run(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MCAV, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_version_three_ways(tmp_path: Path) -> None:
    for args in (["--version"], ["-V"]):
        r = mcav_run(*args, cwd=tmp_path)
        assert r.returncode == 0 and r.stdout.startswith(f"mcav {mcav.__version__} "), r.stderr
    r = subprocess.run([str(Path(sys.executable).parent / "mcav"), "-V"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and mcav.__version__ in r.stdout
    assert f"## {mcav.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_builtin_graphs_resolve_by_name_from_any_folder(tmp_path: Path) -> None:
    r = mcav_run("pipelines", cwd=tmp_path)
    assert r.returncode == 0 and [line.split()[0] for line in r.stdout.splitlines()] == BUILTIN
    for name in ("vj", "demo", "dj", "dj-synth.yaml", "pipelines/analyze.yaml"):
        r = mcav_run("validate", name, cwd=tmp_path)
        assert r.returncode == 0 and "is valid" in r.stdout, (name, r.stderr)
    # a file of that name wins over the built-in graph
    (tmp_path / "vj.yaml").write_text("graph: mine\nnodes:\n  a: {kind: counter}\n  b: {kind: discard, in: a}\n")
    r = mcav_run("validate", "vj.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "graph 'mine'" in r.stdout
    r = mcav_run("validate", "vjj", cwd=tmp_path)
    assert r.returncode == 2 and "no built-in graph" in r.stderr and "vj" in r.stderr


def test_pipelines_describes_each_graph_by_a_whole_sentence(tmp_path: Path) -> None:
    # Headers whose first sentence wraps ("…publishes the show to Redis for" / "edge processes…") were cut
    # at the line's end, mid-sentence.
    r = mcav_run("pipelines", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summaries = dict(line.split(None, 1) for line in r.stdout.splitlines())
    for name in BUILTIN:
        header = []
        for line in (ROOT / "pipelines" / f"{name}.yaml").read_text().splitlines():
            if not line.startswith("# ") or line.startswith("#  "):
                break
            header.append(line[2:])
        paragraph = " ".join(header)
        assert paragraph.startswith(summaries[name]), (name, summaries[name])
        assert paragraph[len(summaries[name])] in ".;", (name, summaries[name])
    assert summaries["vj-fanout"].endswith("for edge processes (pipelines/edge.yaml) that serve the viewers")


def test_the_wheel_holds_every_package_and_the_graphs(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
                            str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("mcav-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    # every folder of Python code in the clone is a package in the wheel (none forgotten)
    sources = {p.parent.relative_to(ROOT).as_posix() for d in ("runtime", "nodes", "bench")
               for p in (ROOT / d).rglob("*.py")}
    shipped = {n.rsplit("/", 1)[0].removeprefix("mcav/") for n in names if n.endswith(".py")}
    assert sources <= shipped, sources - shipped
    assert {f"mcav/pipelines/{g}.yaml" for g in BUILTIN} <= set(names)
    # used from an empty folder, with only the wheel's files on the path (not the clone)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    r = mcav_run("validate", "vj", cwd=empty, env=env)
    assert r.returncode == 0 and str(site) in r.stdout, r.stderr  # the graph came from the wheel
    r = subprocess.run([sys.executable, "-c", "import mcav.runtime.cli, mcav.nodes.dj.server as m; print(m.__file__)"],
                       cwd=empty, env=env, capture_output=True, text=True, timeout=60)
    assert r.stdout.startswith(str(site)), r.stderr
    assert not any(empty.iterdir())
    # `pip install '.[bench]'` brings what `mcav bench` runs: its figures and its micro-benchmarks (pytest
    # with pytest-benchmark, in a subprocess); without those the report said "pytest-benchmark failed".
    (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    bench_extra = {re.split(r"[<>=;\s]", line.removeprefix("Requires-Dist: "))[0]
                   for line in zipfile.ZipFile(wheel).read(meta).decode().splitlines()
                   if line.startswith("Requires-Dist: ") and "extra == \"bench\"" in line}
    assert {"matplotlib", "pytest", "pytest-benchmark"} <= bench_extra, bench_extra


def test_an_unknown_option_is_named_before_anything_else(tmp_path: Path) -> None:
    r = mcav_run("run", "--bogus", cwd=tmp_path)
    assert r.returncode == 2 and "unrecognized argument: --bogus" in r.stderr and "required" not in r.stderr
    r = mcav_run("run", "demo", "--no-dashbord", cwd=tmp_path)
    assert r.returncode == 2 and "did you mean --no-dashboard?" in r.stderr
    r = mcav_run("run", cwd=tmp_path)
    assert r.returncode == 2 and "a graph is required" in r.stderr and "demo" in r.stderr


def _complete(script: str, *words: str) -> list[str]:
    """What the completion function offers after ``mcav WORDS`` (the last word being typed)."""
    words_q = " ".join(f"'{w}'" for w in ("mcav", *words))
    shell = f'{script}\nCOMP_WORDS=({words_q}); COMP_CWORD={len(words)}; _mcav; printf "%s\\n" "${{COMPREPLY[@]}}"'
    r = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_readmes_test_commands_run_from_a_fresh_shell_as_ci_runs_them() -> None:
    # Copied into a new shell on Debian, `python -m pytest -q` said "python: command not found" (or ran the
    # system's python3, without pytest): the venv must be active first, as .ci/run has it.
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Tests", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    assert lines.index("source .venv/bin/activate") < lines.index("python -m pytest -q"), lines
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert ci[-2:] == ["source .venv/bin/activate", "python -m pytest -q"], ci[-2:]


def test_bash_completion_follows_the_parser(tmp_path: Path) -> None:
    script = mcav_run("completion", "bash", cwd=tmp_path).stdout
    assert "complete -o filenames -F _mcav mcav" in script
    assert {"run", "validate", "pipelines", "devices", "patterns", "dj-key", "bench", "completion"} <= set(
        _complete(script, ""))
    assert _complete(script, "run", "d") == ["demo", "dj", "dj-link", "dj-synth"]  # built-in graphs
    assert _complete(script, "graph", "vj", "--format", "") == ["text", "dot", "mermaid"]
    assert _complete(script, "--log-level", "") == ["debug", "info", "warning", "error", "critical"]
    assert _complete(script, "dj-key", "") == ["add", "remove", "list", "verify"]
    assert _complete(script, "completion", "") == ["bash", "zsh"]  # a positional's choices
    assert _complete(script, "show", "") == ["validate"]
    assert _complete(script, "completion", "bash", "") == []  # not offered again once typed
    assert "--no-dashboard" in _complete(script, "run", "vj", "--")
    zsh = mcav_run("completion", "zsh", cwd=tmp_path).stdout
    assert zsh.startswith("#compdef mcav") and "bashcompinit" in zsh and "_mcav()" in zsh
    assert subprocess.run(["bash", "-n"], input=zsh, text=True).returncode == 0


def _graph(tmp_path: Path) -> Path:
    path = tmp_path / "g.yaml"
    path.write_text("graph: g\nnodes:\n  src: {kind: counter, count: 20, rate: 100}\n  out: {kind: discard, in: src}\n")
    return path


def test_log_levels_per_subsystem_and_a_log_file(tmp_path: Path) -> None:
    g = _graph(tmp_path)
    r = mcav_run("--log-level", "warning", "run", str(g), "--no-dashboard", cwd=tmp_path)
    assert r.returncode == 0 and "INFO" not in r.stderr
    log = tmp_path / "show.log"
    r = mcav_run("--log-level", "warning,runtime=debug", "-v", "mcav=info", "-v", "status=error", "--log-file", str(log),
                 "run", str(g), "--no-dashboard", "--stats-interval", "0.05", cwd=tmp_path)
    assert r.returncode == 0
    assert re.search(r"INFO\s+mcav: graph 'g' stopped", r.stderr)  # mcav=info
    assert "mcav.status" not in r.stderr  # the more specific category wins over its parent
    assert log.read_text() == r.stderr  # the file gets the same lines
    r = mcav_run("--log-level", "loud", "validate", str(g), cwd=tmp_path)
    assert r.returncode == 2 and "'loud'" in r.stderr and "debug, info" in r.stderr
    r = mcav_run("--log-file", str(tmp_path / "no" / "such" / "dir.log"), "validate", str(g), cwd=tmp_path)
    assert r.returncode == 2 and "--log-file" in r.stderr and "Traceback" not in r.stderr


def test_a_log_category_that_names_nothing_is_warned_about(tmp_path: Path) -> None:
    # `-v djz=debug` (a typo) set the level of a logger nothing writes to, and said nothing
    g = _graph(tmp_path)
    r = mcav_run("-v", "srcc=debug", "-v", "out.x=debug", "-v", "runtime=debug", "run", str(g), "--no-dashboard",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    warned = [line for line in r.stderr.splitlines() if "log category" in line]
    assert len(warned) == 1 and "'mcav.srcc' names no node of this graph" in warned[0], warned
    assert "nodes: out, src" in warned[0]


def test_a_port_clash_names_the_node_and_how_to_move_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = mcav_run("run", "vj", "--no-dashboard", "--set", "djs.host=127.0.0.1", "--set", f"djs.port={port}",
                     "--set", "web.port=0", "--set", "admin.port=0", "--set", "mc.port=1", "--set", "osc.port=0",
                     cwd=tmp_path)  # osc too: another mcav on this machine may hold 7700
    assert r.returncode == 1
    assert re.search(rf"hint: node 'djs' .*--set djs\.port={port + 1} \(0 = any free port\)", r.stderr), r.stderr
    after = r.stderr[r.stderr.index("Address already in use"):]
    assert "listening on" not in after and "browsers on" not in after and "admin panel on" not in after, after


def test_two_nodes_of_one_graph_on_one_port_are_named_in_the_hint(tmp_path: Path) -> None:
    # `--set web.port=8080` beside the admin page: the hint blamed "another program (another mcav?)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    r = mcav_run("run", "vj", "--no-dashboard", "--set", "djs.port=0", "--set", f"web.port={port}",
                 "--set", f"admin.port={port}", "--set", "mc.port=1", "--set", "osc.port=0", cwd=tmp_path)
    assert r.returncode == 1
    hint = re.search(rf"hint: node '(web|admin)' cannot have its port: node '(web|admin)' of this graph has port "
                     rf"{port} too; move one: mcav run vj --set \1\.port={port + 1}", r.stderr)
    assert hint and hint[1] != hint[2], r.stderr
    assert "another program" not in r.stderr


def test_benchmarks_run_from_anywhere_into_the_folder_given_or_the_current_one(tmp_path: Path) -> None:
    args = ["--quick", "--only", "chain_overhead", "--no-micro"]
    r = subprocess.run([sys.executable, "-m", "mcav.bench", *args], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report.md").exists() and "Quick mode" in (tmp_path / "report.md").read_text()
    r = mcav_run("bench", *args, "--out", "elsewhere", cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and (tmp_path / "elsewhere" / "report.md").exists(), r.stderr


def test_runtime_names_no_node_package_and_has_no_import_cycle() -> None:
    graph = nx.DiGraph()
    for path in (ROOT / "runtime").glob("*.py"):
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for block in ast.walk(tree)  # `if TYPE_CHECKING:` imports never run
                       if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
                       for n in ast.walk(block)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                graph.add_edge(path.stem, node.module.split(".")[0])
            imported = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            # the kind registry loads the built-in kinds' list; nothing else in runtime/ knows a node package
            if path.name != "registry.py":
                assert not any(m.startswith("mcav.nodes") for m in imported), (path, imported)
    assert "mcav.nodes" not in (ROOT / "runtime" / "cli.py").read_text()  # subcommands come from entry points
    assert list(nx.simple_cycles(graph)) == []
