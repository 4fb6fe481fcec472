"""AuthThrottle and TrustedNetworks on their own: the lockout schedule, bounds, and address matching."""

from __future__ import annotations

import pytest

from mcav.runtime.clock import ManualClock
from mcav.runtime.throttle import AuthThrottle
from mcav.runtime.trust import TrustedNetworks, binds_beyond_loopback


def fail(t: AuthThrottle, addr: str) -> float:
    assert t.check(addr)
    return t.failed(addr)


def test_five_free_failures_then_lockouts_doubling_up_to_a_minute():
    clock = ManualClock()
    t = AuthThrottle(clock)
    assert [fail(t, "10.0.0.1") for _ in range(5)] == [0.0] * 5
    lockouts = []
    for _ in range(8):
        lockouts.append(fail(t, "10.0.0.1"))
        verdict = t.check("10.0.0.1")
        assert not verdict and verdict.retry_after == pytest.approx(lockouts[-1])
        assert t.refuse_early("10.0.0.1")  # told once: later connections are held at accept
        clock.advance(lockouts[-1])
    assert lockouts == [1, 2, 4, 8, 16, 32, 60, 60]
    assert t.check("10.0.0.2")  # other addresses are not affected
    t.succeeded("10.0.0.2")
    assert t.counters()["auth_lockouts"] == 8 and t.counters()["auth_failures"] == 13


def test_a_success_forgives_and_a_quiet_address_starts_afresh():
    clock = ManualClock()
    t = AuthThrottle(clock, forget_after=600)
    for _ in range(5):
        fail(t, "a")
    assert t.check("a")
    t.succeeded("a")
    assert [fail(t, "a") for _ in range(5)] == [0.0] * 5
    assert fail(t, "a") == 1.0
    clock.advance(601)
    assert fail(t, "a") == 0.0  # forgotten after 10 quiet minutes


def test_concurrent_checks_per_address_and_the_table_are_bounded():
    t = AuthThrottle(ManualClock(), max_in_flight=2, max_sources=3)
    assert t.check("a") and t.check("a") and not t.check("a")
    t.released("a")
    assert t.check("a")
    for addr in ("b", "c", "d"):
        assert t.check(addr)
    assert len(t._sources) == 3 and "a" not in t._sources


def test_trusted_networks_match_addresses_and_name_bad_entries():
    nets = TrustedNetworks(["127.0.0.2/32", "192.168.1.0/24", "::1"])
    assert "127.0.0.2" in nets and "192.168.1.77" in nets and "::1" in nets and "::ffff:192.168.1.5" in nets
    assert "127.0.0.1" not in nets and "10.0.0.1" not in nets and "not-an-ip" not in nets
    with pytest.raises(ValueError, match="'lan' is not an address or CIDR network"):
        TrustedNetworks(["lan"])
    assert [binds_beyond_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.2", "vj.local", "127.0.0.1",
                                               "localhost", "::1")] == [True, True, True, True, False, False, False]
