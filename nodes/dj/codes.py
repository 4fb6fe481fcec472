"""Connect codes: ``WORD-XXXX``, single use, with a time to live (WIRE.md 2.1).

A VJ hands a code to a guest DJ; the DJ sends it in ``code_auth`` and waits
for the VJ's approval. Codes are matched upper-cased, marked used when first
accepted, and expire after their TTL (default 30 min). Time comes from the
node's clock (``time()``), so tests can expire a code without waiting.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from mcav.runtime.clock import Clock

__all__ = ["CODE_ALPHABET", "CODE_WORDS", "CodeBook", "CodeRejected", "ConnectCode", "dj_id_for_code"]

#: The 24 words of MCAV connect codes.
CODE_WORDS = ("BEAT BASS DROP WAVE KICK SYNC LOOP VIBE RAVE FUNK JAZZ ROCK "
              "FLOW PEAK PUMP TUNE PLAY SPIN FADE RISE BOOM DRUM HIGH DEEP").split()
#: Suffix characters (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class CodeRejected(Exception):
    """A ``code_auth`` code was refused; ``str(exc)`` is MCAV's ``auth_error`` text."""


@dataclass(slots=True)
class ConnectCode:
    """One code: the text, wall-clock creation and expiry (s since the epoch), and whether it was used."""

    code: str
    created_at: float
    expires_at: float
    used: bool = False

    def to_wire(self) -> dict[str, Any]:
        """The ``connect_codes`` entry ``{code, created_at, expires_at, used}``."""
        return {"code": self.code, "created_at": self.created_at, "expires_at": self.expires_at, "used": self.used}


def dj_id_for_code(code: str) -> str:
    """The DJ id MCAV derives from a code: ``BEAT-7K3M`` → ``dj_beat_7k3m``."""
    return "dj_" + code.lower().replace("-", "_")


class CodeBook:
    """The codes one VJ server has handed out.

    Args:
        clock: Its ``time()`` dates and expires codes.
        max_codes: Live codes kept at most (older ones are dropped first). Default 100.
    """

    def __init__(self, clock: Clock, max_codes: int = 100) -> None:
        self.clock = clock
        self.max_codes = max_codes
        self._codes: dict[str, ConnectCode] = {}

    def generate(self, ttl_minutes: float = 30.0) -> ConnectCode:
        """A new unused code valid for ``ttl_minutes`` (ValueError unless 0 < ttl ≤ 1440)."""
        if not isinstance(ttl_minutes, (int, float)) or isinstance(ttl_minutes, bool) or not 0 < ttl_minutes <= 1440:
            raise ValueError(f"ttl_minutes must be a number in (0, 1440], got {ttl_minutes!r}")
        self.cleanup()
        while True:
            text = f"{secrets.choice(CODE_WORDS)}-{''.join(secrets.choice(CODE_ALPHABET) for _ in range(4))}"
            if text not in self._codes:
                break
        now = self.clock.time()
        code = ConnectCode(text, now, now + ttl_minutes * 60.0)
        self._codes[text] = code
        while len(self._codes) > self.max_codes:
            del self._codes[next(iter(self._codes))]
        return code

    def redeem(self, text: Any) -> ConnectCode:
        """Accept ``text`` once and mark it used.

        Raises:
            CodeRejected: "Invalid connect code" (unknown, used, or not a string)
                or "Connect code has expired".
        """
        code = self._codes.get(text.strip().upper()) if isinstance(text, str) else None
        if code is None or code.used:
            raise CodeRejected("Invalid connect code")
        if self.clock.time() >= code.expires_at:
            raise CodeRejected("Connect code has expired")
        code.used = True
        return code

    def revoke(self, text: str) -> None:
        """Forget a code (ValueError naming it if unknown)."""
        key = text.strip().upper() if isinstance(text, str) else text
        if key not in self._codes:
            raise ValueError(f"unknown connect code {text!r}")
        del self._codes[key]

    def valid(self) -> list[ConnectCode]:
        """Codes neither used nor expired, oldest first."""
        now = self.clock.time()
        return [c for c in self._codes.values() if not c.used and now < c.expires_at]

    def cleanup(self) -> None:
        """Drop expired and used codes."""
        keep = {c.code for c in self.valid()}
        self._codes = {k: v for k, v in self._codes.items() if k in keep}
