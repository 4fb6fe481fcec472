"""``mcav patterns`` and its gallery, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mcav.nodes.patterns.registry import PATTERNS

MCAV = [sys.executable, "-m", "mcav.runtime.cli"]
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
