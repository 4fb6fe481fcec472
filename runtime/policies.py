"""Reconnect and heartbeat policies: values, the CONNECTIVITY.md defaults, and their clocks.

A node kind that talks to the network declares its :class:`Link` — a name and
the default policy fields per preset — as ``policies = {"reconnect": LINK,
"heartbeat": LINK}``; its YAML may then say ``reconnect: lan``,
``reconnect: {initial: 2}`` (merged over the link's defaults) or nothing (the
defaults). mcav's own kinds declare CONNECTIVITY.md's tables, ``lan`` and
``wan`` being its "Network Tuning" values; this module names no link.

Policies are plain values. :class:`Backoff` and :class:`HeartbeatMonitor` are
the small state machines a node drives with its :class:`~mcav.runtime.clock.Clock`.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any, Mapping

from .clock import Clock
from .params import ParamProblem, build_params, closest, param

__all__ = [
    "Backoff",
    "HeartbeatMonitor",
    "HeartbeatPolicy",
    "Link",
    "NodePolicies",
    "ReconnectPolicy",
    "resolve_policy",
]


@dataclass(frozen=True)
class ReconnectPolicy:
    """How a connection is retried.

    The n-th delay of an outage (n = 0, 1, …) is
    ``min(max, initial · multiplier**n) · (1 + u)``, ``u`` uniform in ``[-jitter, +jitter]``.
    """

    initial: float = param(5.0, doc="first delay after a failure", unit="s", min=0)
    multiplier: float = param(1.5, doc="each further failure multiplies the delay", min=1)
    max: float = param(30.0, doc="delay cap", unit="s", min=0)
    jitter: float = param(0.0, doc="random ± fraction applied to each delay", min=0, max=1)
    max_attempts: int | None = param(None, doc="attempts for the first connection (null = forever)", min=1)
    max_reconnect_attempts: int | None = param(None, doc="attempts after a lost connection (null = forever)", min=1)
    reset_on_success: bool = param(True, doc="restart the schedule after a successful connection")
    retry_auth_failure: bool = param(False, doc="retry when the peer rejected our credentials")
    connect_timeout: float = param(10.0, doc="timeout of one connection attempt", unit="s", min=0.01)
    check_interval: float | None = param(None, doc="how often the connection health is checked", unit="s", min=0.01)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay in s before retry number ``attempt`` (0-based) of an outage."""
        base = min(self.max, self.initial * self.multiplier**attempt)
        if self.jitter:
            base *= 1.0 + (rng or random).uniform(-self.jitter, self.jitter)
        return base


@dataclass(frozen=True)
class HeartbeatPolicy:
    """How a live connection is checked.

    A peer is dead after ``failure_threshold`` consecutive missed or failed
    heartbeats, or when nothing came back for ``timeout`` s; either may be None.
    """

    interval: float = param(2.0, doc="time between heartbeats / pings", unit="s", min=0.01)
    timeout: float | None = param(None, doc="dead when no answer for this long", unit="s", min=0.01)
    failure_threshold: int | None = param(None, doc="dead after this many consecutive failures", min=1)


@dataclass(frozen=True)
class Link:
    """A kind of network link and its policy defaults, declared by the node kind that speaks it.

    Each table maps a preset name to fields: ``default`` (required when the
    table is given) holds the defaults, ``lan``/``wan`` (or any other name) the
    fields that differ from them. A YAML ``reconnect: lan`` picks a preset; a
    mapping overrides fields (and may name a ``preset``)::

        MY_LINK = Link("my_link", reconnect={"default": {"initial": 1.0, "max": 10.0}, "lan": {"initial": 0.5}})

    Attributes:
        name: The link's name (``mcav nodes KIND`` shows it).
        reconnect: Presets of :class:`ReconnectPolicy` fields, or None.
        heartbeat: Presets of :class:`HeartbeatPolicy` fields, or None.
    """

    name: str
    reconnect: Mapping[str, Mapping[str, Any]] | None = None
    heartbeat: Mapping[str, Mapping[str, Any]] | None = None

    def presets(self, policy: str) -> Mapping[str, Mapping[str, Any]]:
        """The preset table of ``policy`` ("reconnect"/"heartbeat"); empty if the link has none."""
        table = getattr(self, policy, None) if policy in _POLICY_TYPES else None
        return table or {}

    def policy(self, policy: str, preset: str = "default") -> Any:
        """The ready-made policy, e.g. ``DJ_RELAY.policy("reconnect", "lan")``.

        Raises:
            ValueError: an unknown policy or preset, or bad fields in the table.
        """
        obj, problems = resolve_policy(policy, self, preset)
        if problems:
            raise ValueError("; ".join(p.message for p in problems))
        return obj


_POLICY_TYPES: dict[str, type] = {"reconnect": ReconnectPolicy, "heartbeat": HeartbeatPolicy}


def resolve_policy(policy: str, link: Link, raw: Any) -> tuple[Any, list[ParamProblem]]:
    """Build the ``policy`` ("reconnect"/"heartbeat") of ``link`` from YAML ``raw``.

    ``raw`` is None (the link's defaults), a preset name (``default``, ``lan``,
    ``wan``) or a mapping, which may name a ``preset`` and override any field.
    """
    cls = _POLICY_TYPES.get(policy)
    if cls is None:
        return None, [ParamProblem(policy, f"unknown policy '{policy}'; policies: {', '.join(_POLICY_TYPES)}")]
    presets = {"default": {}, **link.presets(policy)}
    preset = "default"
    overrides: Mapping[str, Any] = {}
    if isinstance(raw, str):
        preset = raw
    elif isinstance(raw, Mapping):
        overrides = dict(raw)
        preset = overrides.pop("preset", "default")  # type: ignore[attr-defined]
    elif raw is not None:
        return None, [ParamProblem(policy, f"expected a preset name ({', '.join(presets)}) or a mapping, got {raw!r}")]
    if preset not in presets:
        hint = closest(str(preset), presets)
        extra = f" (did you mean '{hint}'?)" if hint else ""
        return None, [ParamProblem(policy, f"unknown {policy} preset '{preset}' of link {link.name}; "
                                           f"presets: {', '.join(presets)}{extra}")]
    values = {**presets["default"], **presets[preset], **overrides}
    return build_params(cls, values, prefix=f"{policy}.")


class NodePolicies:
    """A node's resolved policies, as its :class:`~mcav.runtime.node.NodeContext` holds them.

    ``reconnect`` and ``heartbeat`` are None where the node's kind declares no such policy. The
    runtime resolves every policy a kind declares, so the kind reads its own with
    :meth:`reconnect_policy` and :meth:`heartbeat_policy`, which are never None.
    """

    name: str
    reconnect: ReconnectPolicy | None
    heartbeat: HeartbeatPolicy | None

    def reconnect_policy(self) -> ReconnectPolicy:
        """The reconnect policy; LookupError if the node's kind declares none."""
        if self.reconnect is None:
            raise LookupError(f"node '{self.name}': its kind declares no reconnect policy (in its `policies`)")
        return self.reconnect

    def heartbeat_policy(self) -> HeartbeatPolicy:
        """The heartbeat policy; LookupError if the node's kind declares none."""
        if self.heartbeat is None:
            raise LookupError(f"node '{self.name}': its kind declares no heartbeat policy (in its `policies`)")
        return self.heartbeat


class Backoff:
    """The retry schedule of one connection, driven by the node that owns it.

    The node attempts at once, and after each failure calls :meth:`failed` and
    sleeps the delay it returns (None: give up). Once connected it calls
    :meth:`connected`; when that connection drops, :meth:`lost` gives the delay
    before the first reconnection attempt. With the DJ relay defaults a
    first connection makes 3 attempts with 2 sleeps (5, 7.5 s), and an outage
    sleeps 5, 7.5, 11.25, 16.875, 25.3125, 30, 30 … s (each ±10 %).

    Args:
        policy: The reconnect policy.
        rng: Random source for jitter (inject a seeded one in tests).
    """

    def __init__(self, policy: ReconnectPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or random.Random()
        self._step = 0  # delays handed out since the schedule was last reset
        #: Failed attempts in the current outage.
        self.attempts = 0
        #: True once any connection succeeded (switches to ``max_reconnect_attempts``).
        self.ever_connected = False

    @property
    def attempt_limit(self) -> int | None:
        """Attempts allowed in the current outage (None = unlimited)."""
        p = self.policy
        return p.max_reconnect_attempts if self.ever_connected else p.max_attempts

    def failed(self) -> float | None:
        """Record a failed attempt; return the delay in s before the next one, or None to give up."""
        self.attempts += 1
        limit = self.attempt_limit
        if limit is not None and self.attempts >= limit:
            return None
        return self._next()

    def connected(self) -> None:
        """A connection was established."""
        self.ever_connected = True
        self.attempts = 0
        if self.policy.reset_on_success:
            self._step = 0

    def lost(self) -> float:
        """An established connection dropped; return the delay in s before reconnecting."""
        self.attempts = 0
        return self._next()

    def _next(self) -> float:
        delay = self.policy.delay(self._step, self._rng)
        self._step += 1
        return delay


class HeartbeatMonitor:
    """Tracks answers to heartbeats and says when a peer is dead.

    Args:
        policy: The heartbeat policy.
        clock: Time source (inject a :class:`~mcav.runtime.clock.ManualClock` in tests).
    """

    def __init__(self, policy: HeartbeatPolicy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock
        self.last_answer = clock.monotonic()
        self.failures = 0

    def answered(self) -> None:
        """The peer answered (pong, ack, or any sign of life that counts)."""
        self.last_answer = self.clock.monotonic()
        self.failures = 0

    def missed(self) -> None:
        """A heartbeat went unanswered or could not be sent."""
        self.failures += 1

    @property
    def silence(self) -> float:
        """Seconds since the last answer."""
        return self.clock.monotonic() - self.last_answer

    @property
    def dead(self) -> bool:
        """True when the policy's threshold or timeout has been passed."""
        p = self.policy
        if p.failure_threshold is not None and self.failures >= p.failure_threshold:
            return True
        return p.timeout is not None and self.silence > p.timeout


def policy_fields(policy: str) -> list[str]:
    """Field names of a policy type (for ``mcav nodes``)."""
    return [f.name for f in dataclasses.fields(_POLICY_TYPES[policy])]
