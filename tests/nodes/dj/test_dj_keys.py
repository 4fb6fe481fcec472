"""Keys file and ``mcav dj-key``: hashes only, old MCAV formats, clear errors, a bad file stops dj_server."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build

from mcav.nodes.dj.auth import KeysFileError, KeyStore, hash_key, verify_key
from mcav.runtime.engine import Runtime

MCAV = str(Path(sys.executable).with_name("mcav"))


def dj_key(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MCAV, "dj-key", *args], input=stdin, capture_output=True, text=True, timeout=30)


def test_hash_is_salted_scrypt_and_verifies_in_constant_time_helpers():
    h1, h2 = hash_key("correct horse"), hash_key("correct horse")
    assert h1.startswith("scrypt:16384:8:1:") and h1 != h2  # salted
    assert "correct horse" not in h1
    assert verify_key("correct horse", h1) and not verify_key("wrong", h1)
    legacy = "sha256:" + hashlib.sha256(b"pw").hexdigest()
    salted = "sha256:ab12:" + hashlib.sha256(b"ab12:pw").hexdigest()
    assert verify_key("pw", legacy) and verify_key("pw", salted) and not verify_key("px", salted)
    store = KeyStore()
    store.add("a", "A", "pw-123456")
    assert store.verify("a", "pw-123456").name == "A"
    assert store.verify("a", "nope") is None and store.verify("ghost", "pw-123456") is None


@pytest.mark.parametrize("content, match", [
    ("djs: [1, 2]", "expected a mapping with a 'djs' mapping"),
    ("djs:\n  a: {name: A}", "DJ 'a': missing key_hash"),
    ("djs:\n  a: {key_hash: hunter2}", "DJ 'a': key_hash is not a recognised hash.*plaintext keys are refused"),
    ("djs:\n  a: {key_hash: 'scrypt:1:2'}", "DJ 'a': key_hash is malformed scrypt"),
    ("djs:\n  a: {key_hash: 'sha256:abc', priority: high}", "DJ 'a': priority must be an integer"),
    ("djs: {a: [", "not valid YAML/JSON at line"),
])
def test_bad_keys_files_name_file_and_entry(tmp_path, content, match):
    path = tmp_path / "keys.yaml"
    path.write_text(content)
    with pytest.raises(KeysFileError, match=match) as info:
        KeyStore.load(path)
    assert str(path) in str(info.value)
    with pytest.raises(KeysFileError, match="cannot read it"):
        KeyStore.load(tmp_path / "missing.yaml")


def test_bcrypt_entries_need_the_bcrypt_package(tmp_path):
    try:
        import bcrypt  # noqa: F401

        pytest.skip("bcrypt is installed here")
    except ImportError:
        pass
    (tmp_path / "k.json").write_text(json.dumps({"djs": {"a": {"key_hash": "bcrypt:$2b$12$abc"}}}))
    with pytest.raises(KeysFileError, match="needs the 'bcrypt' package"):
        KeyStore.load(tmp_path / "k.json")


def test_keys_file_is_reloaded_when_it_changes(tmp_path):
    path = tmp_path / "keys.yaml"
    store = KeyStore()
    store.add("a", "A", "first-key")
    store.save(path)
    live = KeyStore.load(path)
    other = KeyStore.load(path)
    other.add("b", "B", "second-key")
    other.save(path)
    assert live.reload_if_changed() and live.verify("b", "second-key") is not None
    assert not live.reload_if_changed()


def test_cli_add_prints_the_key_once_and_stores_only_its_hash(tmp_path):
    path = tmp_path / "keys.yaml"
    out = dj_key("add", str(path), "dj_alice", "--name", "DJ Alice", "--priority", "3")
    assert out.returncode == 0, out.stderr
    key = re.search(r"shown once; give it to the DJ\): (\S+)", out.stdout).group(1)
    text = path.read_text()
    assert key not in text and "scrypt:" in text and oct(path.stat().st_mode & 0o777) == "0o600"
    assert KeyStore.load(path).verify("dj_alice", key).priority == 3
    assert dj_key("verify", str(path), "dj_alice", "--key-stdin", stdin=key + "\n").returncode == 0
    bad = dj_key("verify", str(path), "dj_alice", "--key-stdin", stdin="wrong\n")
    assert bad.returncode == 1 and "does NOT match" in bad.stdout
    again = dj_key("add", str(path), "dj_alice")
    assert again.returncode == 2 and "--replace" in again.stderr
    chosen = dj_key("add", str(path), "dj_bob", "--key-stdin", stdin="my-own-key-42\n")
    assert chosen.returncode == 0 and "my-own-key-42" not in chosen.stdout + path.read_text()
    listing = dj_key("list", str(path))
    assert listing.returncode == 0 and "dj_alice\tDJ Alice\tpriority 3\tscrypt" in listing.stdout
    assert key not in listing.stdout
    short = dj_key("add", str(path), "dj_c", "--key-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    assert dj_key("remove", str(path), "dj_bob").returncode == 0
    gone = dj_key("remove", str(path), "dj_bob")
    assert gone.returncode == 2 and "no DJ 'dj_bob'" in gone.stderr and "dj_alice" in gone.stderr
    assert "dj_bob" not in KeyStore.load(path).djs


def test_dj_server_with_a_bad_keys_file_stops_the_graph_with_exit_2(tmp_path):
    (tmp_path / "keys.yaml").write_text("djs:\n  a: {key_hash: plaintext-secret}\n")
    rt = Runtime(build(f"""
graph: vj
nodes:
  djs: {{kind: dj_server, host: 127.0.0.1, port: 0, auth: {{keys: {tmp_path / 'keys.yaml'}}}}}
  sink: {{kind: discard, in: djs}}
"""))
    code = rt.run()
    assert code == 2
