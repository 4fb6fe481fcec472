"""A token bucket on an injectable clock: per-DJ frame limits (WIRE.md 2.4) and per-browser command limits."""

from __future__ import annotations

from .clock import Clock

__all__ = ["TokenBucket"]

#: A whole token, less float rounding: a refill of exactly one period (e.g. 3 × 1/60 s at 20/s) counts as one.
_ONE = 1.0 - 1e-9


class TokenBucket:
    """Allows ``rate`` events per second on average and bursts of up to ``burst``.

    Args:
        rate: Refill rate in tokens/s (MCAV: 120).
        burst: Bucket size in tokens (MCAV: 120); it starts full.
        clock: Its ``monotonic()`` drives the refill.
    """

    __slots__ = ("_last", "_tokens", "burst", "clock", "rate")

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst ≥ 1, got rate={rate}, burst={burst}")
        self.rate = float(rate)
        self.burst = float(burst)
        self.clock = clock
        self._tokens = float(burst)
        self._last = clock.monotonic()

    def allow(self) -> bool:
        """Take one token if there is one; False means the event should be dropped."""
        now = self.clock.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= _ONE:
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False

    def wait_s(self) -> float:
        """Seconds until :meth:`allow` would succeed (0.0 when a token is there now)."""
        tokens = min(self.burst, self._tokens + (self.clock.monotonic() - self._last) * self.rate)
        return 0.0 if tokens >= _ONE else (1.0 - tokens) / self.rate

    @property
    def tokens(self) -> float:
        """Tokens left at the last check."""
        return self._tokens
