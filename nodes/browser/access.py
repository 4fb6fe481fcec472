"""Who may change the show from a browser: operators and viewers, and the operator password.

* A browser is an **operator** when it sent the right operator password
  (``vj_auth``), or when no password is set and it connects from a trusted
  network (default: this machine, 127.0.0.0/8 and ::1). Everyone else is a
  **viewer**: state and events, never a command that changes anything, never
  a connect code.
* Wrong passwords are throttled per address (:class:`~mcav.runtime.throttle.AuthThrottle`):
  after 5 failures the address is locked out for 1 s, doubling up to 60 s; a
  locked-out ``vj_auth`` is refused without a comparison and closed 4029.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Iterable

from mcav.runtime.budget import LogTally
from mcav.runtime.clock import Clock
from mcav.runtime.throttle import AuthThrottle
from mcav.runtime.trust import TrustedNetworks

__all__ = ["OPERATOR_EVENTS", "Access", "Login"]

#: Events only operators receive (a viewer could redeem a code and take the live slot).
OPERATOR_EVENTS = frozenset({"connect_codes", "connect_code_generated"})


@dataclass(frozen=True, slots=True)
class Login:
    """The outcome of a ``vj_auth``: operator or not, the ``auth_error`` text, and the close code (None = stay)."""

    operator: bool
    message: str = ""
    close_code: int | None = None


class Access:
    """Roles and password checks of one ``browser`` node.

    Args:
        password: The operator password ("" = none set).
        trusted: Networks whose browsers are operators while no password is set.
        clock: Times password lockouts.
        log: Where lockouts are reported (once per 10 s with a count).
    """

    def __init__(self, password: str, trusted: Iterable[str], clock: Clock, log: logging.Logger) -> None:
        self.password = password
        self.trusted = TrustedNetworks(trusted)
        self.throttle = AuthThrottle(clock)
        self.tally = LogTally(log)

    def operator_on_connect(self, addr: str) -> bool:
        """A new browser from ``addr`` starts as operator only without a password and from a trusted network."""
        return not self.password and addr in self.trusted

    def login(self, addr: str, password: str) -> Login:
        """Check a ``vj_auth`` from ``addr`` (throttled per address)."""
        if not self.password:
            if addr in self.trusted:
                return Login(True)
            return Login(False, "No operator password is set on this VJ server, so browsers from other hosts are "
                                "viewers; set operator_password (MCAV_VJ_PASSWORD) to operate remotely")
        verdict = self.throttle.check(addr)
        if not verdict:
            self.tally.note("throttle", "operator login from %s throttled: too many wrong passwords", addr)
            return Login(False, f"Too many failed attempts; retry in {max(1, round(verdict.retry_after))} s", 4029)
        if hmac.compare_digest(password.encode(), self.password.encode()):
            self.throttle.succeeded(addr)
            return Login(True)
        lockout = self.throttle.failed(addr)
        if lockout:
            self.tally.note("lockout", "operator login from %s failed again; locked out for %.0f s", addr, lockout)
        return Login(False, "Invalid operator password", 4004)
