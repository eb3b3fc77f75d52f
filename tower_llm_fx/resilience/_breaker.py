"""The circuit breaker as a pure state machine.

Theory of operation: a breaker is *closed* (calls go through) until
``failure_threshold`` consecutive failures open it. While *open*, calls are
rejected without being made. Once ``cooldown`` seconds have passed, the breaker
is *half-open*: at most ``probes`` calls go through at a time; one success
closes it, one failure opens it again for another cool-down.

Every transition is a pure function ``(BreakerState, now) -> BreakerState``; the
clock is read by the shell (``interpreters.layers.circuit_breaker``) and passed
in as a number. The state is a frozen record, so ``statistics()`` can hand it
out as is. Unlike tower-llm, a rejected call is never started, and half-open
lets a bounded number of probes through, not everyone.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, final

import attrs
from attrs import validators as v

from tower_llm_fx._errors import ConfigurationError

__all__ = ["BreakerPolicy", "BreakerState", "CircuitState"]

CircuitState: TypeAlias = Literal["closed", "open", "half_open"]

_nonneg = [v.instance_of(int), v.ge(0)]


@final
@attrs.frozen(kw_only=True)
class BreakerState:
    """A snapshot of a circuit breaker: where it is, and what it has seen.

    Attributes:
        state: ``"closed"``, ``"open"`` or ``"half_open"``.
        consecutive_failures: failures since the last success.
        opened_at: clock time the breaker last opened, or ``None``.
        probes_in_flight: half-open calls that have not finished yet.
        calls: calls let through, in total.
        successes: calls that succeeded.
        failures: calls that failed (counted as failures by the layer).
        rejected: calls refused while open or while the probes were busy.
    """

    state: CircuitState = attrs.field(default="closed", validator=v.in_(("closed", "open", "half_open")))
    consecutive_failures: int = attrs.field(default=0, validator=_nonneg)
    opened_at: float | None = attrs.field(default=None, validator=v.optional(v.instance_of((int, float))))
    probes_in_flight: int = attrs.field(default=0, validator=_nonneg)
    calls: int = attrs.field(default=0, validator=_nonneg)
    successes: int = attrs.field(default=0, validator=_nonneg)
    failures: int = attrs.field(default=0, validator=_nonneg)
    rejected: int = attrs.field(default=0, validator=_nonneg)


def _positive_int(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{attr.name} must be a positive int, got {value!r}")


def _seconds(_inst: object, attr: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"{attr.name} must be a number of seconds >= 0, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class BreakerPolicy:
    """The breaker's settings, and its transitions as pure methods.

    >>> policy = BreakerPolicy(failure_threshold=2, cooldown=10.0)
    >>> s = BreakerState()
    >>> s, ok = policy.admit(s, now=0.0); s = policy.on_failure(s, now=0.0)
    >>> s, ok = policy.admit(s, now=1.0); s = policy.on_failure(s, now=1.0)
    >>> s.state, policy.admit(s, now=5.0)[1]          # open: rejected
    ('open', False)
    >>> s, ok = policy.admit(s, now=11.0)              # cool-down over: one probe
    >>> s.state, ok
    ('half_open', True)
    >>> policy.on_success(s, now=11.5).state
    'closed'
    """

    failure_threshold: int = attrs.field(default=5, validator=_positive_int)
    cooldown: float = attrs.field(default=30.0, validator=_seconds)
    probes: int = attrs.field(default=1, validator=_positive_int)

    def current(self, state: BreakerState, now: float) -> CircuitState:
        """The state as of ``now``: an open breaker whose cool-down is over reads ``"half_open"``."""
        if state.state == "open" and self.retry_in(state, now) == 0:
            return "half_open"
        return state.state

    def retry_in(self, state: BreakerState, now: float) -> float:
        """Seconds until an open breaker lets a probe through (0 if it would now)."""
        if state.state != "open" or state.opened_at is None:
            return 0.0
        return max(0.0, state.opened_at + self.cooldown - now)

    def admit(self, state: BreakerState, now: float) -> tuple[BreakerState, bool]:
        """Ask to make a call at ``now``: the new state, and whether the call may go ahead."""
        if state.state == "open":
            if self.retry_in(state, now) > 0:
                return attrs.evolve(state, rejected=state.rejected + 1), False
            state = attrs.evolve(state, state="half_open", probes_in_flight=0)
        if state.state == "half_open":
            if state.probes_in_flight >= self.probes:
                return attrs.evolve(state, rejected=state.rejected + 1), False
            return attrs.evolve(
                state, probes_in_flight=state.probes_in_flight + 1, calls=state.calls + 1
            ), True
        return attrs.evolve(state, calls=state.calls + 1), True

    def on_success(self, state: BreakerState, now: float) -> BreakerState:
        """An admitted call succeeded: reset the failure count and close.

        A call let through before the breaker opened that succeeds late does not
        close an open breaker; only a probe does.
        """
        if state.state == "open":
            return attrs.evolve(state, successes=state.successes + 1)
        return attrs.evolve(
            state,
            state="closed",
            consecutive_failures=0,
            probes_in_flight=0,
            successes=state.successes + 1,
        )

    def on_failure(self, state: BreakerState, now: float) -> BreakerState:
        """An admitted call failed: count it; open at the threshold, or at once when half-open.

        A late failure while already open is counted but does not extend the cool-down.
        """
        if state.state == "open":
            return attrs.evolve(state, failures=state.failures + 1)
        failures = state.consecutive_failures + 1
        if state.state == "half_open" or failures >= self.failure_threshold:
            return attrs.evolve(
                state,
                state="open",
                consecutive_failures=failures,
                opened_at=now,
                probes_in_flight=0,
                failures=state.failures + 1,
            )
        return attrs.evolve(state, consecutive_failures=failures, failures=state.failures + 1)

    def on_abandon(self, state: BreakerState, now: float) -> BreakerState:
        """An admitted call ended without a verdict (cancelled, or an error that does
        not count): free its probe slot, change nothing else."""
        if state.state == "half_open" and state.probes_in_flight > 0:
            return attrs.evolve(state, probes_in_flight=state.probes_in_flight - 1)
        return state
