"""The stock agent step, the builder, policies and advance — pure, no event loop."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx.testing import run_sequence


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def call(id: str, name: str = "add", arguments: str = '{"a": 1, "b": 2}') -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name=name, arguments=arguments)


def reply(content: str | None = None, *calls: fx.ToolCallRequest, prompt: int = 0) -> fx.ModelReply:
    return fx.ModelReply(message=fx.assistant(content, *calls), usage=fx.Usage(prompt_tokens=prompt))


AGENT = fx.Agent(model="m", instructions="INSTR", tools=(add,))


def test_first_effect_is_a_model_call_with_instructions_first() -> None:
    effect = AGENT.step(fx.RunState.start("hi"))
    assert isinstance(effect, fx.ModelCall)
    assert effect.model == "m"
    assert effect.messages == (fx.SystemMessage(content="INSTR"), fx.UserMessage(content="hi"))
    assert effect.tools == (add.spec,)


def test_user_system_message_is_kept_not_replaced() -> None:
    state = fx.RunState.start([fx.system("user's own"), fx.user("hi")])
    effect = AGENT.step(state)
    assert isinstance(effect, fx.ModelCall)
    assert [m.content for m in effect.messages] == ["INSTR", "user's own", "hi"]


def test_full_run_with_sequential_tools() -> None:
    start = fx.RunState.start("1+2 and 3+4?")
    first = AGENT.model_call(start.messages)
    turn = reply(None, call("c1"), call("c2", arguments='{"a": 3, "b": 4}'), prompt=10)
    after_tools = (
        *start.messages,
        turn.message,
        fx.ToolMessage(tool_call_id="c1", content="3"),
        fx.ToolMessage(tool_call_id="c2", content="7"),
    )
    final = run_sequence(
        AGENT.step,
        start,
        [
            (first, turn),
            (
                fx.ToolCall(id="c1", name="add", arguments='{"a": 1, "b": 2}', agent="assistant"),
                fx.ToolResult.success(call_id="c1", name="add", content="3"),
            ),
            (
                fx.ToolCall(id="c2", name="add", arguments='{"a": 3, "b": 4}', agent="assistant"),
                fx.ToolResult.success(call_id="c2", name="add", content="7"),
            ),
            (AGENT.model_call(after_tools), reply("3 and 7", prompt=5)),
        ],
    )
    assert final.output == "3 and 7"
    assert final.steps == 2
    assert final.model_calls == 2
    assert final.tool_invocations == 2
    assert final.usage == fx.Usage(prompt_tokens=15)
    assert final.stop == fx.StopReason(kind="no_tool_calls", detail="the model replied without tool calls")


def test_parallel_tools_emit_one_parallel_effect() -> None:
    agent = attrs.evolve(
        AGENT, parallel_tools=True, tool_concurrency_limit=2, join_policy=fx.JoinPolicy.FAIL_FAST
    )
    state = fx.advance(fx.RunState.start("x"), agent.model_call(()), reply(None, call("c1"), call("c2")))
    effect = agent.step(state)
    assert effect == fx.Parallel(
        calls=(
            fx.ToolCall(id="c1", name="add", arguments='{"a": 1, "b": 2}', agent="assistant"),
            fx.ToolCall(id="c2", name="add", arguments='{"a": 1, "b": 2}', agent="assistant"),
        ),
        join=fx.JoinPolicy.FAIL_FAST,
        limit=2,
        agent="assistant",
    )
    results = (
        fx.ToolResult.success(call_id="c1", name="add", content="3"),
        fx.ToolResult.success(call_id="c2", name="add", content="3"),
    )
    state = fx.advance(state, effect, results)
    assert [m.tool_call_id for m in state.messages[2:]] == ["c1", "c2"]  # type: ignore[union-attr]
    assert state.steps == 1


def test_single_call_with_parallel_tools_is_a_plain_tool_call() -> None:
    agent = attrs.evolve(AGENT, parallel_tools=True)
    state = fx.advance(fx.RunState.start("x"), agent.model_call(()), reply(None, call("c1")))
    assert isinstance(agent.step(state), fx.ToolCall)


def test_until_tool_called_stops_after_the_tool_result() -> None:
    agent = attrs.evolve(AGENT, policy=fx.until_tool_called("add"))
    state = fx.advance(fx.RunState.start("x"), agent.model_call(()), reply(None, call("c1")))
    assert isinstance(agent.step(state), fx.ToolCall)  # the call is answered before stopping
    state = fx.advance(
        state, fx.ToolCall(id="c1", name="add"), fx.ToolResult.success(call_id="c1", name="add", content="3")
    )
    assert agent.step(state) == fx.Done(reason=fx.StopReason(kind="tool_called", detail="add"))


def test_max_steps_stops_a_tool_storm() -> None:
    agent = attrs.evolve(AGENT, policy=fx.max_steps(2))
    state = fx.RunState.start("x")
    for i in range(2):
        state = fx.advance(state, agent.model_call(()), reply(None, call(f"c{i}")))
        state = fx.advance(
            state,
            fx.ToolCall(id=f"c{i}", name="add"),
            fx.ToolResult.success(call_id=f"c{i}", name="add", content="3"),
        )
    out = agent.step(state)
    assert isinstance(out, fx.Done)
    assert out.reason.kind == "max_steps"


def test_stopped_state_stays_done() -> None:
    state = fx.finish(fx.RunState.start("x"), fx.Done(reason=fx.StopReason(kind="custom")))
    assert AGENT.step(state) == fx.Done(reason=fx.StopReason(kind="custom"))


def test_nothing_to_send_is_a_configuration_error() -> None:
    with pytest.raises(fx.ConfigurationError, match=r"RunState.start"):
        fx.Agent(model="m").step(fx.RunState())


def test_advance_rejects_results_of_the_wrong_shape() -> None:
    state = fx.RunState.start("x")
    with pytest.raises(fx.WrongResultType, match="ModelReply"):
        fx.advance(state, AGENT.model_call(()), "text")
    tc = fx.ToolCall(id="c1", name="add")
    with pytest.raises(fx.WrongResultType, match="call id"):
        fx.advance(state, tc, fx.ToolResult.success(call_id="other", name="add", content=""))
    batch = fx.Parallel(calls=(tc,))
    with pytest.raises(fx.WrongResultType, match="one ToolResult per call"):
        fx.advance(state, batch, ())
    with pytest.raises(TypeError, match="does not know"):
        fx.advance(state, fx.Effect(), None)


def test_builder_sets_everything_and_requires_a_model() -> None:
    agent = (
        fx.Agent.builder()
        .model("gpt-4o")
        .name("calc")
        .instructions("I")
        .tool(add)
        .temperature(0.5)
        .max_tokens(100)
        .max_completion_tokens(200)
        .reasoning_effort("low")
        .params(seed=7, stop=["END"])
        .parallel_tools()
        .tool_concurrency_limit(3)
        .tool_join_policy(fx.JoinPolicy.FAIL_FAST)
        .policy(fx.max_steps(4))
        .build()
    )
    assert agent.name == "calc"
    assert agent.params == fx.ModelParams(
        temperature=0.5,
        max_tokens=100,
        max_completion_tokens=200,
        reasoning_effort="low",
        seed=7,
        stop=("END",),
    )
    assert (agent.parallel_tools, agent.tool_concurrency_limit, agent.join_policy) == (
        True,
        3,
        fx.JoinPolicy.FAIL_FAST,
    )
    effect = agent.step(fx.RunState.start("x"))
    assert isinstance(effect, fx.ModelCall)
    assert effect.params is agent.params  # the agent's model and params reach the call
    with pytest.raises(fx.ConfigurationError, match="no model"):
        fx.Agent.builder().build()


def test_agent_validation_errors() -> None:
    with pytest.raises(fx.ConfigurationError, match="unique"):
        fx.Agent(model="m", tools=(add, add))
    with pytest.raises(fx.ConfigurationError, match="not a Tool"):
        fx.Agent(model="m", tools=(lambda: 1,))  # type: ignore[arg-type]
    with pytest.raises(fx.ConfigurationError, match="model must be"):
        fx.Agent(model="")
    with pytest.raises(fx.ConfigurationError, match="tool_concurrency_limit"):
        fx.Agent(model="m", tool_concurrency_limit=0)


def test_policy_composition_and_reprs() -> None:
    p = fx.until_no_tool_calls() | fx.until_tool_called("x") | fx.max_steps(3)
    assert repr(p) == "until_no_tool_calls() | until_tool_called('x') | max_steps(3)"
    assert len(p.policies) == 3  # flattened

    def custom(state: fx.RunState) -> fx.StopReason | None:
        return fx.StopReason(kind="custom") if state.steps >= 1 else None

    q = custom | fx.max_steps(5)
    assert q(fx.RunState(steps=1)) == fx.StopReason(kind="custom")
    assert q(fx.RunState(steps=0)) is None
    with pytest.raises(ValueError, match="positive"):
        fx.max_steps(0)
    with pytest.raises(TypeError, match="callable"):
        fx.any_of(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------- properties


@st.composite
def model_turns(draw: st.DrawFn) -> list[list[str]]:
    """A script: each turn is the list of tool names the model calls (empty = final answer)."""
    n = draw(st.integers(min_value=0, max_value=6))
    turns = [draw(st.lists(st.sampled_from(["add", "missing"]), min_size=1, max_size=4)) for _ in range(n)]
    return [*turns, []]


@given(model_turns(), st.booleans(), st.integers(min_value=1, max_value=8))
def test_pure_loop_invariants(turns: list[list[str]], parallel: bool, limit: int) -> None:
    """Driving the pure step by hand: messages only grow, every call gets exactly one
    result before the next model call, the loop ends, and counts add up."""
    agent = attrs.evolve(
        AGENT, parallel_tools=parallel, policy=fx.until_no_tool_calls() | fx.max_steps(limit)
    )
    state = fx.RunState.start("go")
    script = iter(turns)
    counter = 0
    for _ in range(200):
        out = agent.step(state)
        if isinstance(out, fx.Done):
            break
        before = state.messages
        if isinstance(out, fx.ModelCall):
            assert not fx.pending_tool_calls(state.messages)
            names = next(script)
            calls = []
            for name in names:
                counter += 1
                calls.append(call(f"id{counter}", name))
            result: object = reply("done" if not names else None, *calls)
        elif isinstance(out, fx.ToolCall):
            result = fx.ToolResult.success(call_id=out.id, name=out.name, content="ok")
        else:
            assert isinstance(out, fx.Parallel)
            result = tuple(fx.ToolResult.success(call_id=c.id, name=c.name, content="ok") for c in out.calls)
        state = fx.advance(state, out, result)
        assert state.messages[: len(before)] == before
    else:
        pytest.fail("the loop did not end")
    assert isinstance(out, fx.Done)
    asked = [c.id for m in state.messages if isinstance(m, fx.AssistantMessage) for c in m.tool_calls]
    answered = [m.tool_call_id for m in state.messages if isinstance(m, fx.ToolMessage)]
    assert asked == answered
    assert state.steps <= limit
    assert state.tool_invocations == len(answered)
    assert fx.from_json(fx.to_json(state)) == state
