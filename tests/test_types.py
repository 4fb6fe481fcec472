"""The package passes mypy with the settings of pyproject.toml's ``[tool.mypy]`` (mypy is pinned in the dev extra).

mypy runs as a real subprocess of this interpreter, from the checkout's root (where its config and the ``mcav``
folder are), with a cache of its own under the test's tmp_path, so the checkout is never written. A cold run
takes about 15 s here; the timeout leaves a slow machine room, above the suite's 120 s per test.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
def test_the_package_passes_mypy(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[dev]')")
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
           "--cache-dir", str(tmp_path / "mypy_cache")]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, f"mypy {version('mypy')} exited with {r.returncode}:\n{r.stdout}{r.stderr}"
