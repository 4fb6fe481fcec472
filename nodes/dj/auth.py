"""DJ keys: a keys file holding only salted, slow hashes, and constant-time checks.

The file (YAML; JSON is valid YAML, so MCAV's ``configs/dj_auth.json`` loads
as is) has MCAV's shape::

    djs:
      dj_alice: {name: DJ Alice, priority: 10, key_hash: "scrypt:16384:8:1:<salt hex>:<hash hex>"}

``key_hash`` schemes: ``scrypt:n:r:p:salt:hash`` (what mcav writes; stdlib
:func:`hashlib.scrypt`), and for compatibility MCAV's ``sha256:<salt>:<hash>``,
legacy ``sha256:<hash>`` and ``bcrypt:…`` (only if the ``bcrypt`` package is
installed). Plaintext keys are refused when the file is loaded. Keys are never
logged; comparisons use :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DJKey", "KeyStore", "KeysFileError", "generate_key", "hash_key", "verify_key"]

#: scrypt cost: n=2**14, r=8, p=1 uses 16 MiB and ~50 ms per check on the project's machines.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32
#: Priority of DJs without one (lower = earlier in the queue), as in MCAV.
DEFAULT_PRIORITY = 10


class KeysFileError(ValueError):
    """The keys file is missing, unreadable or malformed (the message names file and entry)."""


@dataclass(frozen=True, slots=True)
class DJKey:
    """One DJ allowed in: id, display name, queue priority (lower first) and stored hash."""

    dj_id: str
    name: str
    priority: int
    key_hash: str


def generate_key() -> str:
    """A new random key (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    """The salted scrypt hash of ``key`` in the ``scrypt:n:r:p:salt:hash`` form."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(key.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN)
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}:{salt.hex()}:{digest.hex()}"


def _scheme_problem(stored: str) -> str | None:
    """Why ``stored`` is not a usable hash, or None."""
    parts = stored.split(":")
    if parts[0] == "scrypt":
        if len(parts) != 6 or not all(p.isdigit() for p in parts[1:4]):
            return "malformed scrypt hash (expected scrypt:n:r:p:salt:hash)"
        try:
            bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
        except ValueError:
            return "scrypt salt/hash must be hex"
        return None
    if parts[0] == "sha256":
        return None if len(parts) in (2, 3) else "malformed sha256 hash (expected sha256:salt:hash)"
    if parts[0] == "bcrypt":
        try:
            import bcrypt  # noqa: F401
        except ImportError:
            return "bcrypt hash needs the 'bcrypt' package (pip install bcrypt) or re-add the key with `mcav dj-key add`"
        return None
    return "not a recognised hash (scrypt:…, sha256:…, bcrypt:…); plaintext keys are refused, use `mcav dj-key add`"


def verify_key(key: str, stored: str) -> bool:
    """True if ``key`` matches the stored hash (constant-time comparison)."""
    parts = stored.split(":")
    if parts[0] == "scrypt" and len(parts) == 6:
        n, r, p = (int(x) for x in parts[1:4])
        expected = bytes.fromhex(parts[5])
        got = hashlib.scrypt(key.encode(), salt=bytes.fromhex(parts[4]), n=n, r=r, p=p,
                             dklen=len(expected), maxmem=256 * n * r + 2**20)
        return hmac.compare_digest(got, expected)
    if parts[0] == "sha256" and len(parts) == 3:
        got_hex = hashlib.sha256(f"{parts[1]}:{key}".encode()).hexdigest()
        return hmac.compare_digest(got_hex, parts[2])
    if parts[0] == "sha256" and len(parts) == 2:
        return hmac.compare_digest(hashlib.sha256(key.encode()).hexdigest(), parts[1])
    if parts[0] == "bcrypt":
        import bcrypt

        try:
            return bool(bcrypt.checkpw(key.encode(), stored[len("bcrypt:"):].encode()))
        except ValueError:
            return False
    return False


_DUMMY_HASH = f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}:{'00' * 16}:{'00' * SCRYPT_LEN}"


class KeyStore:
    """The DJs of one keys file.

    Args:
        djs: The entries by id.
        path: The file they came from (None for an in-memory store).
    """

    def __init__(self, djs: dict[str, DJKey] | None = None, path: Path | None = None) -> None:
        self.djs: dict[str, DJKey] = dict(djs or {})
        self.path = path
        self._mtime = _mtime(path) if path else None

    @classmethod
    def load(cls, path: str | Path, missing_ok: bool = False) -> KeyStore:
        """Read a keys file.

        Raises:
            KeysFileError: unreadable, not YAML/JSON, wrong shape, or an unusable hash
                (the message names the file and the DJ id, never a key).
        """
        path = Path(path)
        if missing_ok and not path.exists():
            return cls({}, path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise KeysFileError(f"keys file {path}: cannot read it ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise KeysFileError(f"keys file {path}: not valid YAML/JSON{where}") from None
        raw = raw or {}
        if not isinstance(raw, dict) or not isinstance(raw.get("djs", {}), dict):
            raise KeysFileError(f"keys file {path}: expected a mapping with a 'djs' mapping of dj_id → entry")
        djs = {}
        for dj_id, entry in (raw.get("djs") or {}).items():
            djs[str(dj_id)] = _entry(path, str(dj_id), entry)
        return cls(djs, path)

    def save(self, path: str | Path | None = None) -> None:
        """Write the file atomically (mode 0600); only hashes are written."""
        target = Path(path or self.path or "")
        body = {"djs": {d.dj_id: {"name": d.name, "priority": d.priority, "key_hash": d.key_hash}
                        for d in self.djs.values()}}
        tmp = target.with_name(target.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# mcav DJ keys: salted scrypt hashes only. Manage with `mcav dj-key`.\n")
            yaml.safe_dump(body, f, sort_keys=True, allow_unicode=True)
        os.replace(tmp, target)
        self._mtime = _mtime(target)

    def add(self, dj_id: str, name: str, key: str, priority: int = DEFAULT_PRIORITY) -> DJKey:
        """Add or replace a DJ, storing only the hash of ``key``."""
        entry = DJKey(dj_id, name, priority, hash_key(key))
        self.djs[dj_id] = entry
        return entry

    def remove(self, dj_id: str) -> None:
        """Remove a DJ (KeyError naming the known ids if absent)."""
        if dj_id not in self.djs:
            known = ", ".join(sorted(self.djs)) or "none"
            raise KeyError(f"no DJ '{dj_id}' in the keys file (known: {known})")
        del self.djs[dj_id]

    def verify(self, dj_id: str, key: str) -> DJKey | None:
        """The DJ's entry if ``key`` is right, else None (an unknown id costs the same work)."""
        entry = self.djs.get(dj_id)
        ok = verify_key(key if isinstance(key, str) else "", entry.key_hash if entry else _DUMMY_HASH)
        return entry if ok and entry is not None else None

    def reload_if_changed(self) -> bool:
        """Re-read the file if its mtime changed; True if reloaded (KeysFileError if now invalid)."""
        if self.path is None or _mtime(self.path) == self._mtime:
            return False
        fresh = KeyStore.load(self.path)
        self.djs, self._mtime = fresh.djs, fresh._mtime
        return True


def _entry(path: Path, dj_id: str, entry: Any) -> DJKey:
    where = f"keys file {path}: DJ '{dj_id}'"
    if not isinstance(entry, dict):
        raise KeysFileError(f"{where}: expected a mapping with name, key_hash, priority")
    stored = entry.get("key_hash")
    if not isinstance(stored, str) or not stored:
        raise KeysFileError(f"{where}: missing key_hash")
    problem = _scheme_problem(stored)
    if problem:
        raise KeysFileError(f"{where}: key_hash is {problem}")
    priority = entry.get("priority", DEFAULT_PRIORITY)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise KeysFileError(f"{where}: priority must be an integer, got {priority!r}")
    name = entry.get("name", dj_id)
    return DJKey(dj_id, str(name), priority, stored)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
