"""Budget: a pure stop policy checked before the next model call, and the with_budget combinator."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.resilience
from tower_llm_fx.testing import run_sequence

PRICES = {
    "small": fx.resilience.Price(input=1.0, output=2.0),
    "big": fx.resilience.Price(input=10.0, output=30.0),
}


def state(prompt: int = 0, completion: int = 0, tools: int = 0, steps: int = 0) -> fx.RunState:
    return fx.RunState(
        usage=fx.Usage(prompt_tokens=prompt, completion_tokens=completion),
        tool_invocations=tools,
        steps=steps,
    )


@pytest.mark.parametrize(
    ("budget", "under", "at", "what"),
    [
        (
            fx.resilience.Budget(max_prompt_tokens=10),
            state(prompt=9),
            state(prompt=10),
            "prompt tokens: used 10 of 10",
        ),
        (
            fx.resilience.Budget(max_completion_tokens=5),
            state(completion=4),
            state(completion=5),
            "completion tokens: used 5 of 5",
        ),
        (fx.resilience.Budget(max_total_tokens=10), state(6, 3), state(6, 4), "total tokens: used 10 of 10"),
        (
            fx.resilience.Budget(max_tool_invocations=2),
            state(tools=1),
            state(tools=2),
            "tool invocations: used 2 of 2",
        ),
        (fx.resilience.Budget(max_steps=3), state(steps=2), state(steps=3), "steps: used 3 of 3"),
    ],
)
def test_each_limit_is_inclusive(
    budget: fx.resilience.Budget, under: fx.RunState, at: fx.RunState, what: str
) -> None:
    assert budget(under) is None
    assert budget(at) == fx.StopReason(kind="budget_exceeded", detail=what)


def test_tower_llm_prompt_budget_example() -> None:
    # tower-llm's stops_on_token_budget: max 10; 5 → continue; 5 more → stop.
    budget = fx.resilience.Budget(max_prompt_tokens=10)
    assert budget(state(prompt=5)) is None
    assert budget(state(prompt=10)) is not None


def test_cost_uses_the_price_table() -> None:
    budget = fx.resilience.Budget(max_cost=0.01, prices=PRICES, model="small")
    assert budget.cost(fx.Usage(prompt_tokens=1000, completion_tokens=1000)) == pytest.approx(0.003)
    assert budget.cost(fx.Usage(prompt_tokens=1000), model="big") == pytest.approx(0.01)
    assert budget(state(prompt=5000, completion=2000)) is None  # 0.009
    reason = budget(state(prompt=6000, completion=2000))  # 0.010
    assert reason is not None and reason.detail == "cost: spent 0.01 of 0.01"


def test_cost_needs_a_price_for_the_model() -> None:
    with pytest.raises(fx.ConfigurationError, match="needs a price"):
        fx.resilience.Budget(max_cost=1.0)
    with pytest.raises(fx.ConfigurationError, match="model="):
        fx.resilience.Budget(max_cost=1.0, prices=PRICES)  # which one?
    assert (
        fx.resilience.Budget(max_cost=1.0, prices={"only": fx.resilience.Price(input=1, output=1)}).cost(
            fx.Usage(prompt_tokens=10**6)
        )
        == 1
    )


def test_invalid_limits() -> None:
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.Budget(max_steps=-1)
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.Budget(max_total_tokens="10")  # type: ignore[arg-type]
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.Price(input=-1, output=0)
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.with_budget(fx.Agent(model="m").step, fx.max_steps(2))  # type: ignore[arg-type]


def test_budget_composes_with_other_policies_and_stops_before_the_next_model_call() -> None:
    @fx.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    budget = fx.resilience.Budget(max_total_tokens=100)
    agent = fx.Agent(model="m", tools=(add,), policy=fx.until_no_tool_calls() | budget)
    call = fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 1, "b": 2}')
    first = agent.model_call((fx.user("go"),))
    final = run_sequence(
        agent.step,
        fx.RunState.start("go"),
        [
            (
                first,
                fx.ModelReply(
                    message=fx.assistant(None, call), usage=fx.Usage(prompt_tokens=90, completion_tokens=10)
                ),
            ),
            (
                fx.ToolCall(id="c1", name="add", arguments=call.arguments, agent="assistant"),
                fx.ToolResult.success(call_id="c1", name="add", content="3"),
            ),
            # no second model call: the budget is used up
        ],
    )
    assert final.stop == fx.StopReason(kind="budget_exceeded", detail="total tokens: used 100 of 100")
    assert fx.pending_tool_calls(final.messages) == ()  # the step was not cut in half


def test_with_budget_checks_before_the_first_call_and_uses_the_estimator() -> None:
    agent = fx.Agent(model="big", instructions="x" * 400)
    start = fx.RunState.start("hello")
    assert fx.resilience.with_budget(agent.step, fx.resilience.Budget(max_prompt_tokens=50))(
        start
    ) == agent.model_call(start.messages)
    refused = fx.resilience.with_budget(
        agent.step, fx.resilience.Budget(max_prompt_tokens=50, estimator=fx.resilience.rough_token_estimate)
    )(start)
    assert isinstance(refused, fx.Done) and refused.reason.kind == "budget_exceeded"
    assert "needs about 110" in refused.reason.detail
    pricey = fx.resilience.Budget(
        max_cost=0.001, prices=PRICES, model="small", estimator=fx.resilience.rough_token_estimate
    )
    done = fx.resilience.with_budget(agent.step, pricey)(start)
    assert isinstance(done, fx.Done) and done.reason.detail.startswith(
        "cost: the next model call"
    )  # priced as "big"
    assert "with_budget(" in repr(fx.resilience.with_budget(agent.step, pricey))


def test_with_budget_never_refuses_tool_calls() -> None:
    agent = fx.Agent(model="m")
    call = fx.ToolCallRequest(id="c1", name="t")
    s = fx.RunState(messages=(fx.user("go"), fx.assistant(None, call)), tool_invocations=5)
    assert fx.resilience.with_budget(agent.step, fx.resilience.Budget(max_tool_invocations=1))(
        s
    ) == fx.ToolCall(id="c1", name="t", agent="assistant")


def test_repr_shows_only_what_is_set() -> None:
    budget = fx.resilience.Budget(
        max_steps=3, max_cost=1.0, prices={"m": fx.resilience.Price(input=1, output=2)}
    )
    assert repr(budget) == "Budget(max_steps=3, max_cost=1.0, prices={'m': Price(input=1, output=2)})"
    assert repr(fx.until_no_tool_calls() | budget).startswith("until_no_tool_calls() | Budget(")


limits = st.none() | st.integers(0, 50)


@given(
    limits,
    limits,
    limits,
    limits,
    limits,
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 60),
)
def test_stops_exactly_when_some_limit_is_reached(
    mp: int | None,
    mc: int | None,
    mt: int | None,
    mtools: int | None,
    ms: int | None,
    prompt: int,
    completion: int,
    tools: int,
    steps: int,
) -> None:
    budget = fx.resilience.Budget(
        max_prompt_tokens=mp,
        max_completion_tokens=mc,
        max_total_tokens=mt,
        max_tool_invocations=mtools,
        max_steps=ms,
    )
    s = state(prompt, completion, tools, steps)
    reached = any(
        limit is not None and used >= limit
        for used, limit in (
            (prompt, mp),
            (completion, mc),
            (prompt + completion, mt),
            (tools, mtools),
            (steps, ms),
        )
    )
    reason = budget(s)
    assert (reason is not None) == reached
    if reason is not None:
        assert reason.kind == "budget_exceeded"
    assert budget(s) == budget(s)  # pure: nothing accumulates between calls
