"""Fault injection: runs under injected 429s, 500s, timeouts, malformed replies and hangs
either succeed (with retry) or fail with the right typed error, and never leave a
tool call unanswered."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.resilience
from interpreters import agent_interpreter, fixed, function, local_tools, perform, run, stack
from interpreters._run import drive
from interpreters.layers import Fault, chaos, retry, timeout


@fx.tool(idempotent=True)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


AGENT = fx.Agent(model="m", tools=(add,))
CALL = fx.ToolCallRequest(id="call_1", name="add", arguments='{"a": 2, "b": 3}')


def stateless_model(call: fx.ModelCall) -> fx.ModelReply:
    """Calls `add` first; once it has a tool result, answers with it."""
    last = call.messages[-1]
    if isinstance(last, fx.ToolMessage):
        return fx.ModelReply(message=fx.assistant(f"result: {last.content}"))
    return fx.ModelReply(message=fx.assistant(None, CALL), finish_reason="tool_calls")


POLICY = fx.resilience.RetryPolicy(max_attempts=3, initial_delay=0.0)
KINDS = ["rate_limited", "server_error", "timeout", "malformed"]


def oracle(faults: dict[int, str]) -> tuple[str, str]:
    """What must happen: ("ok", final output) or ("error", fault kind)."""
    index = 0
    tool_content = "5"
    for kind in ("model", "tool", "model"):
        for attempt in range(1, POLICY.max_attempts + 1):
            fault = faults.get(index)
            index += 1
            if fault is None:
                break
            if kind == "model" and (fault == "malformed" or attempt == POLICY.max_attempts):
                return "error", fault
            if kind == "tool" and attempt == POLICY.max_attempts:
                tool_content = (
                    "error (timeout): injected fault: the tool timed out"
                    if fault == "timeout"
                    else f"error (tool_raised): injected fault: {fault}"
                )
    return "ok", f"result: {tool_content}"


def orphans(messages: tuple[fx.Message, ...]) -> set[str]:
    answered = {m.tool_call_id for m in messages if isinstance(m, fx.ToolMessage)}
    asked = {c.id for m in messages if isinstance(m, fx.AssistantMessage) for c in m.tool_calls}
    return asked - answered - {c.id for c in fx.pending_tool_calls(messages)}


async def scenario(faults: dict[int, str]) -> tuple[fx.RunState | BaseException, list[fx.RunState]]:
    seen: list[fx.RunState] = []

    class Watched:
        """AGENT, noting every state its step sees."""

        start, advance, finish = AGENT.start, AGENT.advance, AGENT.finish
        conversation, events = AGENT.conversation, AGENT.events

        def step(self, state: fx.RunState) -> Any:
            seen.append(state)
            return AGENT.step(state)

    layers = stack(retry(POLICY, tools=AGENT.tools), chaos(faults))  # type: ignore[arg-type]
    interp = layers(agent_interpreter(AGENT, model=function(stateless_model)))
    try:
        state, done = await drive(Watched(), interp, fx.RunState.start("2+3?"))
    except fx.TowerLLMFXError as exc:
        return exc, seen
    return fx.finish(state, done), seen


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@given(st.dictionaries(st.integers(0, 9), st.sampled_from(KINDS), max_size=6))
def test_runs_succeed_or_fail_typed_and_never_leave_a_tool_call_unanswered(
    backend: str, faults: dict[int, str]
) -> None:
    outcome, seen = anyio.run(scenario, faults, backend=backend)
    expected, detail = oracle(faults)
    # Whatever happened, no state the run went through has a tool call that was
    # skipped: only the calls of the current step may still be waiting.
    for state in seen:
        assert orphans(state.messages) == set()
    if expected == "ok":
        assert isinstance(outcome, fx.RunState), outcome
        assert outcome.output == detail and fx.pending_tool_calls(outcome.messages) == ()
        assert outcome.stop is not None and outcome.stop.kind == "no_tool_calls"
        return
    assert isinstance(outcome, BaseException)
    assert fx.pending_tool_calls(seen[-1].messages) == ()  # it failed at a model call, between steps
    expected_type = {
        "timeout": fx.EffectTimeout,
        "rate_limited": fx.RateLimitError,
        "server_error": fx.ServerError,
        "malformed": fx.MalformedResponse,
    }[detail]
    assert type(outcome) is expected_type
    if isinstance(outcome, fx.ProviderError):
        assert (outcome.status, outcome.code) == {
            "rate_limited": (429, "rate_limit_exceeded"),
            "server_error": (500, None),
            "malformed": (None, "malformed_reply"),
        }[detail]


@pytest.mark.anyio
async def test_hangs_are_cut_by_timeout_and_retried() -> None:
    faults = chaos({0: "hang", 2: "hang"})  # first model call and first tool call hang
    layers = stack(retry(POLICY, tools=AGENT.tools), timeout({fx.ModelCall: 0.02, fx.ToolCall: 0.02}), faults)
    final = await run(AGENT, layers(agent_interpreter(AGENT, model=function(stateless_model))), "2+3?")
    assert final.output == "result: 5"
    assert faults.injected == [(0, "ModelCall", "hang"), (2, "ToolCall", "hang")]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio-mockclock")],
)
async def test_rate_limit_hints_are_waited_out() -> None:
    """trio only: MockClock shows the Retry-After wait exactly."""
    faults = chaos({0: Fault(kind="rate_limited", retry_after=20.0)})
    interp = retry(fx.resilience.RetryPolicy(initial_delay=0.0))(faults(fixed("ok")))
    start = trio.current_time()
    reply = await interp(fx.ModelCall(model="m", messages=(fx.user("hi"),)))
    assert reply.message.content == "ok" and trio.current_time() - start == pytest.approx(20.0)


@pytest.mark.anyio
async def test_each_call_of_a_batch_counts_as_one_effect() -> None:
    layer = chaos({1: "server_error"}, effects=[fx.ToolCall])
    tools = layer(local_tools([add]))
    batch = fx.Parallel(
        calls=[fx.ToolCall(id=f"c{i}", name="add", arguments='{"a": 1, "b": 1}') for i in range(3)], limit=1
    )
    results = await perform(tools, batch)  # limit=1: the calls start in call order
    assert [r.error.kind if r.error else r.content for r in results] == ["2", "tool_raised", "2"]
    assert layer.seen == 3 and repr(layer) == "chaos({1: 'server_error'})"
    with pytest.raises(fx.UnhandledEffect, match="perform"):
        await tools(batch)  # a batch is not an effect layers see


def test_bad_configuration() -> None:
    with pytest.raises(fx.ConfigurationError):
        chaos({-1: "hang"})
    with pytest.raises(fx.ConfigurationError):
        chaos({0: "explode"})  # type: ignore[dict-item]
    with pytest.raises(fx.ConfigurationError):
        chaos({0: 3})  # type: ignore[dict-item]
    with pytest.raises(fx.ConfigurationError):
        chaos({}, effects=[int])
