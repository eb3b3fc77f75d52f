"""`circuit_breaker`: stop calling a failing service for a while; fail fast instead.

The state machine is the pure `tower_llm_fx.resilience.BreakerPolicy`; this module reads
the clock (``anyio.current_time()``, so trio's ``MockClock`` drives it in
tests), keeps the current `tower_llm_fx.resilience.BreakerState`, and raises
`tower_llm_fx.resilience.CircuitOpen` *without calling the inner interpreter* while open.

One breaker object is one circuit: every interpreter it wraps shares it, which
is what you want for one provider used by many runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, final

import anyio
import attrs

from interpreters._types import Interpreter
from tower_llm_fx import ConfigurationError, Effect, ModelCall, ToolResult
from tower_llm_fx.resilience import BreakerPolicy, BreakerState, CircuitOpen, is_transient

__all__ = ["CircuitBreaker", "circuit_breaker"]

R = TypeVar("R")

_FAILED_TOOL_KINDS = frozenset({"timeout", "tool_raised"})


@final
@attrs.define(eq=False)
class CircuitBreaker:
    """A circuit breaker layer; see `circuit_breaker`. Call it on an interpreter to wrap it."""

    policy: BreakerPolicy
    effects: tuple[type[Any], ...]
    is_failure: Callable[[BaseException], bool]
    _state: BreakerState = attrs.field(factory=BreakerState, init=False)

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _BreakerInterpreter(inner, self)

    def statistics(self) -> BreakerState:
        """An immutable snapshot: state, consecutive failures, counters.

        ``state`` is as of the last call; an open breaker whose cool-down has
        passed reads ``"open"`` until the next call probes it (use `current_state`).
        """
        return self._state

    def current_state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"`` as of now (needs a running event loop)."""
        return self.policy.current(self._state, anyio.current_time())

    def reset(self) -> None:
        """Close the breaker and forget its history (e.g. after an operator fixed the service)."""
        self._state = BreakerState()

    def __repr__(self) -> str:
        p = self.policy
        return (
            f"circuit_breaker(failure_threshold={p.failure_threshold}, cooldown={p.cooldown}, "
            f"probes={p.probes}, effects=({', '.join(t.__name__ for t in self.effects)}))"
        )


@final
@attrs.frozen
class _BreakerInterpreter:
    inner: Interpreter
    breaker: CircuitBreaker

    async def __call__(self, effect: Effect[R], /) -> R:
        breaker = self.breaker
        if type(effect) not in breaker.effects:
            return await self.inner(effect)
        policy = breaker.policy
        now = anyio.current_time()
        state, admitted = policy.admit(breaker._state, now)
        breaker._state = state
        if not admitted:
            retry_in = policy.retry_in(state, now)
            raise CircuitOpen(
                f"the circuit breaker is open after {state.consecutive_failures} consecutive failures; "
                f"{type(effect).__name__} was not performed. "
                + (
                    f"The next probe goes through in {retry_in:.3g} s."
                    if state.state == "open"
                    else "A probe call is already in flight; try again when it finishes."
                ),
                retry_in=retry_in,
                consecutive_failures=state.consecutive_failures,
            )
        verdict = "abandoned"
        try:
            result = await self.inner(effect)
        except Exception as exc:
            verdict = "failure" if breaker.is_failure(exc) else "abandoned"
            raise
        else:
            verdict = "failure" if _is_failed_tool(result) else "success"
            return result
        finally:
            now = anyio.current_time()
            if verdict == "success":
                breaker._state = policy.on_success(breaker._state, now)
            elif verdict == "failure":
                breaker._state = policy.on_failure(breaker._state, now)
            else:  # cancelled, or an error that says nothing about the service's health
                breaker._state = policy.on_abandon(breaker._state, now)

    def __repr__(self) -> str:
        return f"{self.breaker!r}({self.inner!r})"


def _is_failed_tool(result: object) -> bool:
    return (
        isinstance(result, ToolResult)
        and result.error is not None
        and result.error.kind in _FAILED_TOOL_KINDS
    )


def circuit_breaker(
    failure_threshold: int = 5,
    cooldown: float = 30.0,
    *,
    probes: int = 1,
    effects: Iterable[type[Any]] = (ModelCall,),
    is_failure: Callable[[BaseException], bool] = is_transient,
) -> CircuitBreaker:
    """A circuit breaker layer for ``effects`` (default: model calls).

    After ``failure_threshold`` consecutive failures it opens: calls fail at once
    with `tower_llm_fx.resilience.CircuitOpen`, without reaching the inner interpreter. After
    ``cooldown`` seconds up to ``probes`` calls go through; a success closes it,
    a failure opens it again.

    Args:
        is_failure: which exceptions count against the service (default
            `tower_llm_fx.resilience.is_transient`: 429, 5xx, timeouts, connection errors;
            a 400 is your request's fault, not the service's). Other exceptions
            and cancellation leave the count as it was. For tool calls, error
            results of kind ``"timeout"`` or ``"tool_raised"`` count as failures.

    >>> breaker = circuit_breaker(failure_threshold=3, cooldown=10.0)
    >>> breaker.statistics().state
    'closed'
    """
    types = tuple(effects)
    for t in types:
        if not (isinstance(t, type) and issubclass(t, Effect)):
            raise ConfigurationError(
                f"circuit_breaker(effects=...) takes effect types such as ModelCall, got {t!r}"
            )
    if not callable(is_failure):
        raise ConfigurationError(
            f"is_failure must be callable as is_failure(exception) -> bool, got {is_failure!r}"
        )
    policy = BreakerPolicy(failure_threshold=failure_threshold, cooldown=cooldown, probes=probes)
    return CircuitBreaker(policy=policy, effects=types, is_failure=is_failure)
