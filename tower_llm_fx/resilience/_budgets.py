"""Budgets: pure limits on what a run may spend, checked *before* spending it.

Theory of operation: a `Budget` is a stop policy (``(RunState) -> StopReason |
None``), so it composes with the others: ``until_no_tool_calls() | budget``.
Policies are asked at every step boundary, i.e. before the next ``ModelCall``
is made, so a run whose budget is used up makes no further call, and the
final state says why: ``StopReason(kind="budget_exceeded", detail=...)``.

Everything is computed from the state (usage totals, step and tool counts),
so nothing accumulates across runs and nothing depends on construction time
(both were bugs in tower-llm). Limits are inclusive: reaching a limit stops
the run. A step is never cut in half: once the model asked for tools, every
call is answered, so the conversation stays valid (the tool budget can be
overshot by the calls of the last step; the model budget never is).

`with_budget` wraps any step to check the budget against each actual
``ModelCall`` too; with an ``estimator`` it refuses a call whose prompt
*would* take the run over its token or cost limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, final

import attrs
from attrs import validators as v

from tower_llm_fx._effects import Done, Effect, ModelCall, StopReason
from tower_llm_fx._errors import ConfigurationError
from tower_llm_fx._policies import Combinable
from tower_llm_fx._results import Usage
from tower_llm_fx._state import RunState

__all__ = ["Budget", "Price", "rough_token_estimate", "with_budget"]


def _money(_inst: object, attr: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"{attr.name} must be a price >= 0 per million tokens, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class Price:
    """What a model costs, per **million** tokens (as price pages quote it).

    >>> from tower_llm_fx import Usage
    >>> Price(input=0.15, output=0.60).cost(Usage(prompt_tokens=1_000_000, completion_tokens=500_000))
    0.45
    """

    input: float = attrs.field(validator=_money)
    output: float = attrs.field(validator=_money)

    def cost(self, usage: Usage) -> float:
        """The cost of ``usage`` at this price."""
        return (usage.prompt_tokens * self.input + usage.completion_tokens * self.output) / 1_000_000


def _prices(value: Mapping[str, Price] | tuple[tuple[str, Price], ...]) -> tuple[tuple[str, Price], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    out = []
    for model, price in items:
        if not isinstance(model, str) or not isinstance(price, Price):
            raise ConfigurationError(
                f"prices maps model names to Price(input=..., output=...), got {model!r}: {price!r}"
            )
        out.append((model, price))
    return tuple(sorted(out, key=lambda kv: kv[0]))


def _limit(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"{attr.name} must be a number >= 0 or None (no limit), got {value!r}")


def rough_token_estimate(call: ModelCall) -> int:
    """A rough, conservative-ish prompt size: one token per 4 characters of the
    messages and tool specs, plus 4 per message. Pure; no tokenizer needed.

    >>> from tower_llm_fx import ModelCall, user
    >>> rough_token_estimate(ModelCall(model="m", messages=(user("x" * 40),)))
    14
    """
    chars = 0
    for m in call.messages:
        content = getattr(m, "content", None)
        chars += len(content) if isinstance(content, str) else 0
        for c in getattr(m, "tool_calls", ()):
            chars += len(c.name) + len(c.arguments)
    for spec in call.tools:
        chars += len(spec.name) + len(spec.description) + len(spec.parameters)
    return math.ceil(chars / 4) + 4 * len(call.messages)


@final
@attrs.frozen(kw_only=True)
class Budget(Combinable):
    """Limits on a run; a stop policy that says ``budget_exceeded`` once one is reached.

    Every limit is optional (``None``: no limit) and inclusive.

    Args:
        max_prompt_tokens: prompt (input) tokens over all model calls.
        max_completion_tokens: completion (output) tokens over all model calls.
        max_total_tokens: both together.
        max_tool_invocations: tool results received.
        max_steps: completed steps.
        max_cost: money, at ``prices``.
        prices: model name → `Price`; needed with ``max_cost``.
        model: which entry of ``prices`` prices the run (optional if there is one entry).
        estimator: ``(ModelCall) -> int`` predicting a call's prompt tokens, e.g.
            `rough_token_estimate`; used by `with_budget` to refuse a call that
            would go over.

    >>> from tower_llm_fx import RunState, Usage
    >>> budget = Budget(max_total_tokens=100)
    >>> budget(RunState(usage=Usage(prompt_tokens=60, completion_tokens=30))) is None
    True
    >>> budget(RunState(usage=Usage(prompt_tokens=70, completion_tokens=30)))
    StopReason(kind='budget_exceeded', detail='total tokens: used 100 of 100')
    """

    max_prompt_tokens: int | None = attrs.field(default=None, validator=_limit)
    max_completion_tokens: int | None = attrs.field(default=None, validator=_limit)
    max_total_tokens: int | None = attrs.field(default=None, validator=_limit)
    max_tool_invocations: int | None = attrs.field(default=None, validator=_limit)
    max_steps: int | None = attrs.field(default=None, validator=_limit)
    max_cost: float | None = attrs.field(default=None, validator=_limit)
    prices: tuple[tuple[str, Price], ...] = attrs.field(default=(), converter=_prices)
    model: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    estimator: Callable[[ModelCall], int] | None = attrs.field(
        default=None, validator=v.optional(v.is_callable()), eq=False
    )

    def __attrs_post_init__(self) -> None:
        if self.max_cost is not None and self._price(None) is None:
            known = ", ".join(m for m, _ in self.prices) or "none"
            raise ConfigurationError(
                f"max_cost needs a price for the run's model; prices has: {known}. Pass "
                "prices={'gpt-4o-mini': Price(input=0.15, output=0.60)} and, with several, model=..."
            )

    def _price(self, model: str | None) -> Price | None:
        table = dict(self.prices)
        for name in (model, self.model):
            if name is not None and name in table:
                return table[name]
        if len(table) == 1 and self.model is None:
            return next(iter(table.values()))
        return None

    def cost(self, usage: Usage, model: str | None = None) -> float:
        """The cost of ``usage`` at ``model``'s price (default: the budget's model)."""
        price = self._price(model)
        return 0.0 if price is None else price.cost(usage)

    def __call__(self, state: RunState) -> StopReason | None:
        return self.check(state)

    def check(self, state: RunState, call: Effect[Any] | None = None) -> StopReason | None:
        """Why ``state`` may not go on (with ``call`` next, if given), or ``None``."""
        usage = state.usage
        counts = (
            ("steps", state.steps, self.max_steps),
            ("tool invocations", state.tool_invocations, self.max_tool_invocations),
            ("prompt tokens", usage.prompt_tokens, self.max_prompt_tokens),
            ("completion tokens", usage.completion_tokens, self.max_completion_tokens),
            ("total tokens", usage.total_tokens, self.max_total_tokens),
        )
        for what, used, limit in counts:
            if limit is not None and used >= limit:
                return _exceeded(f"{what}: used {used} of {limit}")
        model = call.model if isinstance(call, ModelCall) else None
        if self.max_cost is not None:
            spent = self.cost(usage, model)
            if spent >= self.max_cost:
                return _exceeded(f"cost: spent {spent:.6g} of {self.max_cost:.6g}")
        if isinstance(call, ModelCall) and self.estimator is not None:
            return self._would_exceed(usage, call)
        return None

    def _would_exceed(self, usage: Usage, call: ModelCall) -> StopReason | None:
        assert self.estimator is not None
        estimate = int(self.estimator(call))
        for what, used, limit in (
            ("prompt tokens", usage.prompt_tokens, self.max_prompt_tokens),
            ("total tokens", usage.total_tokens, self.max_total_tokens),
        ):
            if limit is not None and used + estimate > limit:
                return _exceeded(
                    f"{what}: the next model call needs about {estimate}, and {used} of {limit} are used"
                )
        if self.max_cost is not None:
            after = self.cost(usage + Usage(prompt_tokens=estimate), call.model)
            if after > self.max_cost:
                return _exceeded(
                    f"cost: the next model call would bring the run to about {after:.6g} "
                    f"of {self.max_cost:.6g}"
                )
        return None

    def __repr__(self) -> str:
        parts = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in attrs.fields(Budget)
            if f.name not in ("prices", "estimator") and getattr(self, f.name) is not None
        ]
        if self.prices:
            parts.append("prices={" + ", ".join(f"{m!r}: {p!r}" for m, p in self.prices) + "}")
        if self.estimator is not None:
            parts.append(f"estimator={getattr(self.estimator, '__name__', self.estimator)}")
        return f"Budget({', '.join(parts)})"


def _exceeded(detail: str) -> StopReason:
    return StopReason(kind="budget_exceeded", detail=detail)


@final
@attrs.frozen
class _WithBudget:
    step: Callable[[RunState], Effect[Any] | Done]
    budget: Budget

    def __call__(self, state: RunState) -> Effect[Any] | Done:
        out = self.step(state)
        if isinstance(out, ModelCall):
            reason = self.budget.check(state, out)
            if reason is not None:
                return Done(reason=reason)
        return out

    def __repr__(self) -> str:
        return f"with_budget({getattr(self.step, '__qualname__', self.step)}, {self.budget!r})"


def with_budget(step: Callable[[RunState], Effect[Any] | Done], budget: Budget) -> _WithBudget:
    """Wrap ``step`` so that no ``ModelCall`` is emitted once ``budget`` forbids it.

    Unlike the policy, this also checks before the *first* call and, with an
    ``estimator``, refuses a call that would go over. Tool calls are never
    refused (a step is never cut in half).

    >>> from tower_llm_fx import Agent, RunState
    >>> step = with_budget(Agent(model="m").step, Budget(max_cost=0.0, prices={"m": Price(input=1, output=1)}))
    >>> step(RunState.start("hi"))
    Done(reason=StopReason(kind='budget_exceeded', detail='cost: spent 0 of 0'))
    """
    if not isinstance(budget, Budget):
        raise ConfigurationError(f"with_budget() needs a Budget(...), got {budget!r}")
    return _WithBudget(step, budget)
