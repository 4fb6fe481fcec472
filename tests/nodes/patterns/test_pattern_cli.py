"""``mcav patterns`` and its gallery, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mcav.nodes.patterns.registry import PATTERNS

MCAV = [sys.executable, "-m", "mcav"]
PNG = b"\x89PNG\r\n\x1a\n"


def mcav(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MCAV, *args], capture_output=True, text=True, timeout=60)


def test_lists_keys_names_and_descriptions_in_registry_order() -> None:
    proc = mcav("patterns")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(PATTERNS)
    for line, cls in zip(lines, PATTERNS.values()):
        assert cls.name in line and cls.description in line


def test_gallery_writes_a_png_per_pattern_and_a_contact_sheet(tmp_path: Path) -> None:
    out = tmp_path / "gallery"
    proc = mcav("patterns", "--gallery", str(out), "--only", "bars,galaxy", "--entities", "32")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["bars.png", "contact_sheet.png", "galaxy.png"]
    for p in out.iterdir():
        data = p.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000


def test_bad_options_exit_2_naming_the_problem(tmp_path: Path) -> None:
    proc = mcav("patterns", "--gallery", str(tmp_path), "--only", "bars,sparkles")
    assert proc.returncode == 2 and "sparkles" in proc.stderr
    proc = mcav("patterns", "--entities", "0")
    assert proc.returncode == 2 and "1-1024" in proc.stderr
    assert not any(tmp_path.iterdir())


def test_a_closed_pipe_is_not_an_error() -> None:
    # `head` exits after 3 lines; mcav used to die with BrokenPipeError about 1 run in 3
    for _ in range(5):
        proc = subprocess.run(["bash", "-c", 'set -o pipefail; "$@" patterns | head -3', "sh", *MCAV],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert len(proc.stdout.splitlines()) == 3 and proc.stderr == ""


def test_gallery_without_matplotlib_says_what_to_install(tmp_path: Path) -> None:
    # sys.modules[name] = None makes `import matplotlib` fail as if it were not installed
    code = "import sys; sys.modules['matplotlib'] = None; from mcav.runtime.cli import main; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-c", code, "patterns", "--gallery", str(tmp_path / "g")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "matplotlib" in proc.stderr and "pip install" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "g").exists()  # nothing started


def test_gallery_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    import pexpect

    child = pexpect.spawn(MCAV[0], [*MCAV[1:], "patterns", "--gallery", str(tmp_path), "--only", "bars,galaxy"],
                          dimensions=(24, 100), encoding="utf-8", timeout=60)
    child.expect(r"drawing (bars|galaxy)")  # the bar names the step it is on
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (tmp_path / "contact_sheet.png").exists()
