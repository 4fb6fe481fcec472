"""``mcav dj-key`` without a terminal or with an empty standard input: a clear error, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MCAV = [sys.executable, "-m", "mcav"]


def mcav(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MCAV, *args], stdin=stdin, capture_output=True, text=True, timeout=60)


def test_verify_with_stdin_closed_says_how_to_give_the_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys.yaml"
    assert mcav("dj-key", "add", str(keys), "dj_alice").returncode == 0
    r = mcav("dj-key", "verify", str(keys), "dj_alice")  # </dev/null: no terminal to prompt on
    assert r.returncode == 2
    assert "--key-stdin" in r.stderr and "Traceback" not in r.stderr and "GetPassWarning" not in r.stderr
    r = mcav("dj-key", "verify", str(keys), "dj_alice", "--key-stdin")  # an empty stdin: no key at all
    assert r.returncode == 2 and "no key given" in r.stderr and "Traceback" not in r.stderr
    r = mcav("dj-key", "add", str(keys), "dj_bob", "--prompt")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "dj_bob" not in keys.read_text()  # nothing half-written


def test_eof_at_the_prompt_is_a_clear_error(tmp_path: Path) -> None:
    import pexpect

    keys = tmp_path / "keys.yaml"
    assert mcav("dj-key", "add", str(keys), "dj_alice").returncode == 0
    child = pexpect.spawn(MCAV[0], [*MCAV[1:], "dj-key", "verify", str(keys), "dj_alice"], encoding="utf-8", timeout=30)
    child.expect("DJ key: ")
    child.sendeof()  # Ctrl-D
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "no key given" in child.before and "Traceback" not in child.before
