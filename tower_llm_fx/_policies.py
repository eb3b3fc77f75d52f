"""Stop policies: pure decisions on whether a run should stop.

Theory of operation: a policy is any callable ``(RunState) -> StopReason | None``
and is asked after every *completed* step (so tool calls are always answered
before a run stops). The stock policies are small frozen values with readable
reprs; combine them with ``|`` or `any_of` (the first that says stop wins).
A run whose model replies without tool calls stops anyway, with kind
``"no_tool_calls"``: there is nothing left to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeAlias, cast, final

import attrs
from attrs import validators as v

from ._effects import StopReason
from ._messages import AssistantMessage
from ._state import RunState

__all__ = ["AnyOf", "Policy", "StopPolicy", "any_of", "max_steps", "until_no_tool_calls", "until_tool_called"]

Policy: TypeAlias = Callable[[RunState], StopReason | None]
"""A stop policy: returns a reason to stop, or ``None`` to go on."""


class StopPolicy(Protocol):
    """A stock policy: callable on a state, and combinable with ``|``."""

    def __call__(self, state: RunState, /) -> StopReason | None: ...
    def __or__(self, other: Policy, /) -> AnyOf: ...
    def __ror__(self, other: Policy, /) -> AnyOf: ...


NO_TOOL_CALLS = StopReason(kind="no_tool_calls", detail="the model replied without tool calls")
"""The stop reason of a run whose model replied without calling a tool (a shared constant)."""


class Combinable:
    __slots__ = ()

    def __or__(self, other: Policy) -> AnyOf:
        return any_of(cast("Policy", self), other)

    def __ror__(self, other: Policy) -> AnyOf:
        return any_of(other, cast("Policy", self))


@final
@attrs.frozen
class _UntilNoToolCalls(Combinable):
    def __call__(self, state: RunState) -> StopReason | None:
        messages = state.messages
        if messages:
            last = messages[-1]
            if type(last) is AssistantMessage and not last.tool_calls:
                return NO_TOOL_CALLS
        return None

    def __repr__(self) -> str:
        return "until_no_tool_calls()"


@final
@attrs.frozen
class _UntilToolCalled(Combinable):
    name: str = attrs.field(validator=v.instance_of(str))

    def __call__(self, state: RunState) -> StopReason | None:
        last = state.last_reply
        if last is not None and any(c.name == self.name for c in last.tool_calls):
            return StopReason(kind="tool_called", detail=self.name)
        return None

    def __repr__(self) -> str:
        return f"until_tool_called({self.name!r})"


def _positive(_inst: object, _attr: object, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"max_steps needs a positive int (at least one step always runs), got {value!r}")


@final
@attrs.frozen
class _MaxSteps(Combinable):
    n: int = attrs.field(validator=_positive)

    def __call__(self, state: RunState) -> StopReason | None:
        if state.steps >= self.n:
            return StopReason(kind="max_steps", detail=f"{state.steps} steps (limit {self.n})")
        return None

    def __repr__(self) -> str:
        return f"max_steps({self.n})"


@final
@attrs.frozen
class AnyOf(Combinable):
    """Stop when any policy says so; the first one (in order) gives the reason."""

    policies: tuple[Policy, ...]

    def __call__(self, state: RunState) -> StopReason | None:
        for policy in self.policies:
            reason = policy(state)
            if reason is not None:
                return reason
        return None

    def __repr__(self) -> str:
        return " | ".join(repr(p) for p in self.policies) if self.policies else "any_of()"


def until_no_tool_calls() -> StopPolicy:
    """Stop once the model replies without calling a tool.

    >>> from tower_llm_fx import RunState, AssistantMessage
    >>> until_no_tool_calls()(RunState(messages=(AssistantMessage(content="done"),)))
    StopReason(kind='no_tool_calls', detail='the model replied without tool calls')
    """
    return _UntilNoToolCalls()


def until_tool_called(name: str) -> StopPolicy:
    """Stop after the step in which the model called tool ``name`` (its result included)."""
    return _UntilToolCalled(name)


def max_steps(n: int) -> StopPolicy:
    """Stop after ``n`` completed steps.

    >>> max_steps(2)(RunState(steps=2))
    StopReason(kind='max_steps', detail='2 steps (limit 2)')
    """
    return _MaxSteps(n)


def any_of(*policies: Policy) -> AnyOf:
    """Stop when any of ``policies`` says so (the first to say so wins).

    >>> any_of(until_no_tool_calls(), max_steps(3))
    until_no_tool_calls() | max_steps(3)
    """
    flat: list[Policy] = []
    for p in policies:
        if not callable(p):
            raise TypeError(f"a policy must be callable as policy(state), got {p!r}")
        flat.extend(p.policies if isinstance(p, AnyOf) else (p,))
    return AnyOf(tuple(flat))
