"""`tower_llm_fx._policies`: the stock stop policies and how they combine.

Covers: what each stock policy looks at (`until_no_tool_calls`: the last message; `until_tool_called`:
the last reply; `max_steps`: the completed steps) and the reason it records (kind and detail);
`any_of` and ``|`` (the first policy in order to say stop gives the reason, nested combinations are
flattened, an empty combination never stops, plain functions combine on either side); the values
being comparable; and that the reason a policy gives is what a run records in ``state.stop``.
The reprs, flattening of ``|`` chains and argument checks already pinned in test_agent.py are not
repeated.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx import strategies as fxst
from tower_llm_fx._policies import NO_TOOL_CALLS

CALL = fx.ToolCallRequest(id="c1", name="search", arguments="{}")
ANSWER = fx.ToolMessage(tool_call_id="c1", content="found")


def state(*messages: fx.Message, steps: int = 0) -> fx.RunState:
    return fx.RunState(messages=messages, steps=steps)


def custom(s: fx.RunState) -> fx.StopReason | None:
    """A plain-function policy: stop once the user said "stop"."""
    return (
        fx.StopReason(kind="custom", detail="asked")
        if s.messages and s.messages[-1] == fx.user("stop")
        else None
    )


# ---------------------------------------------------------------- until_no_tool_calls


def test_until_no_tool_calls_stops_on_a_final_answer() -> None:
    assert fx.until_no_tool_calls()(state(fx.user("q"), fx.assistant("a"))) == NO_TOOL_CALLS
    assert fx.StopReason(kind="no_tool_calls", detail="the model replied without tool calls") == NO_TOOL_CALLS


@pytest.mark.parametrize(
    "messages",
    [
        (),
        (fx.user("q"),),
        (fx.user("q"), fx.assistant(None, CALL)),  # the call is not answered yet
        (fx.user("q"), fx.assistant(None, CALL), ANSWER),  # answered: the model speaks next
        (fx.assistant("a"), fx.user("more?")),  # an earlier answer does not count
    ],
)
def test_until_no_tool_calls_goes_on_otherwise(messages: tuple[fx.Message, ...]) -> None:
    assert fx.until_no_tool_calls()(state(*messages)) is None


# ---------------------------------------------------------------- until_tool_called


def test_until_tool_called_looks_at_the_last_reply_and_names_the_tool() -> None:
    policy = fx.until_tool_called("search")
    other = fx.ToolCallRequest(id="c0", name="add")
    reason = fx.StopReason(kind="tool_called", detail="search")
    assert policy(state(fx.user("q"), fx.assistant(None, other, CALL), ANSWER)) == reason
    assert policy(state(fx.user("q"), fx.assistant(None, other))) is None
    assert policy(state(fx.user("q"))) is None
    assert fx.until_tool_called("add")(state(fx.assistant(None, other, CALL))) == fx.StopReason(
        kind="tool_called", detail="add"
    )


def test_until_tool_called_ignores_calls_of_earlier_replies() -> None:
    earlier = (fx.user("q"), fx.assistant(None, CALL), ANSWER, fx.assistant("done"))
    assert fx.until_tool_called("search")(state(*earlier)) is None


def test_until_tool_called_needs_a_name() -> None:
    with pytest.raises(TypeError):
        fx.until_tool_called(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- max_steps


def test_max_steps_counts_completed_steps_and_says_how_many() -> None:
    policy = fx.max_steps(2)
    assert policy(state(steps=1)) is None
    assert policy(state(steps=2)) == fx.StopReason(kind="max_steps", detail="2 steps (limit 2)")
    assert policy(state(steps=5)) == fx.StopReason(kind="max_steps", detail="5 steps (limit 2)")


@pytest.mark.parametrize("n", [True, 2.0, "3", -1])
def test_max_steps_takes_only_a_positive_int(n: object) -> None:
    with pytest.raises(ValueError, match="max_steps needs a positive int"):
        fx.max_steps(n)  # type: ignore[arg-type]


# ---------------------------------------------------------------- any_of and |


def test_the_first_policy_to_say_stop_gives_the_reason() -> None:
    both = state(fx.user("q"), fx.assistant("a"), steps=3)
    assert fx.any_of(fx.max_steps(1), fx.until_no_tool_calls())(both).kind == "max_steps"  # type: ignore[union-attr]
    assert fx.any_of(fx.until_no_tool_calls(), fx.max_steps(1))(both) == NO_TOOL_CALLS
    assert (fx.max_steps(1) | fx.until_no_tool_calls())(both).kind == "max_steps"  # type: ignore[union-attr]


def test_later_policies_are_asked_when_earlier_ones_go_on() -> None:
    only_steps = state(fx.user("q"), steps=3)
    assert (fx.until_no_tool_calls() | fx.max_steps(3))(only_steps) == fx.max_steps(3)(only_steps)


def test_an_empty_combination_never_stops() -> None:
    nothing = fx.any_of()
    assert nothing(state(fx.assistant("a"), steps=99)) is None
    assert repr(nothing) == "any_of()"


def test_nested_combinations_flatten_in_order() -> None:
    a, b, c = fx.until_no_tool_calls(), fx.max_steps(2), fx.until_tool_called("x")
    assert fx.any_of(fx.any_of(a, b), c).policies == (a, b, c)
    assert fx.any_of(a, fx.any_of(b, c)).policies == (a, b, c)
    assert (a | (b | c)).policies == (a, b, c)


def test_plain_functions_combine_on_either_side_keeping_their_place() -> None:
    stop_here = state(fx.user("stop"), steps=4)
    assert (custom | fx.max_steps(1))(stop_here) == fx.StopReason(kind="custom", detail="asked")
    assert (fx.max_steps(1) | custom)(stop_here).kind == "max_steps"  # type: ignore[union-attr]
    assert (fx.max_steps(1) | custom).policies[1] is custom


def test_a_non_callable_is_refused_by_or_too() -> None:
    with pytest.raises(TypeError, match="a policy must be callable"):
        fx.max_steps(1) | "max_steps"  # type: ignore[operator]


def test_policies_are_values() -> None:
    assert fx.max_steps(3) == fx.max_steps(3)
    assert fx.max_steps(3) != fx.max_steps(4)
    assert fx.until_tool_called("a") != fx.until_tool_called("b")
    assert fx.until_no_tool_calls() | fx.max_steps(3) == fx.any_of(fx.until_no_tool_calls(), fx.max_steps(3))
    assert len({fx.max_steps(3), fx.max_steps(3), fx.until_no_tool_calls()}) == 2
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fx.max_steps(3).n = 4  # type: ignore[attr-defined]


# ---------------------------------------------------------------- reasons recorded


def test_the_reason_a_policy_gives_is_what_the_run_records() -> None:
    agent = fx.Agent(model="m", policy=fx.until_tool_called("search") | fx.max_steps(5))
    s = fx.RunState.start("q")
    s = fx.advance(s, agent.model_call(s.messages), fx.ModelReply(message=fx.assistant(None, CALL)))
    s = fx.advance(
        s,
        fx.ToolCall(id="c1", name="search"),
        fx.ToolResult.success(call_id="c1", name="search", content="r"),
    )
    done = agent.step(s)
    assert isinstance(done, fx.Done)
    finished = fx.finish(s, done)
    assert finished.stop == fx.StopReason(kind="tool_called", detail="search")
    assert agent.step(finished) == done  # a finished run stays finished, for the same reason


@given(fxst.run_states(), st.integers(1, 6), st.integers(1, 6))
def test_any_of_is_the_first_non_none_answer(s: fx.RunState, n: int, m: int) -> None:
    policies = (fx.until_no_tool_calls(), fx.max_steps(n), fx.until_tool_called("get_time"), fx.max_steps(m))
    answers = [p(s) for p in policies]
    expected = next((a for a in answers if a is not None), None)
    assert fx.any_of(*policies)(s) == expected
    assert (fx.max_steps(n)(s) is not None) == (s.steps >= n)
