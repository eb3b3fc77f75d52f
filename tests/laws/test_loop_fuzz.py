"""Fuzz the agent loop with a misbehaving model (``strategies.model_scripts``).

Driven for real: the scripted ``sequence`` interpreter, ``local_tools`` and
``run``, with the ``validate()`` layer checking every ModelCall before it is
"sent". Properties: the loop terminates under its policy, the conversation is
valid at every model call and at the end, and every tool call gets exactly
one result.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from interpreters import Interpreter, Layer, agent_interpreter, run, sequence, stack
from interpreters.layers import validate
from tower_llm_fx import strategies as fxst


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@fx.tool
def search(query: str, limit: int = 3) -> list[str]:
    """Search."""
    return [f"{query} #{i}" for i in range(limit)]


@fx.tool
async def get_time() -> str:
    """The time."""
    await anyio.lowlevel.checkpoint()
    return "12:00"


@fx.tool
def explode(reason: str = "boom") -> str:
    """Always fails."""
    raise RuntimeError(reason)


TOOLS = (add, search, get_time, explode)
SPECS = tuple(t.spec for t in TOOLS)


def counting(performed: list[fx.ToolCall]) -> Layer:
    """Record every tool call that reaches the tool interpreter (a batch's calls come one by one)."""

    def layer(inner: Interpreter) -> Interpreter:
        async def interp(effect: fx.Effect[Any]) -> Any:
            assert not isinstance(effect, fx.Parallel), "layers never see a batch"
            if isinstance(effect, fx.ToolCall):
                performed.append(effect)
            return await inner(effect)

        return interp

    return layer


def answers_per_call(messages: tuple[fx.Message, ...]) -> list[tuple[str, int]]:
    """For each tool call: (id, number of tool messages answering it before the next assistant)."""
    out: list[tuple[str, int]] = []
    for i, m in enumerate(messages):
        if isinstance(m, fx.AssistantMessage) and m.tool_calls:
            block: Counter[str] = Counter()
            for later in messages[i + 1 :]:
                if isinstance(later, fx.AssistantMessage):
                    break
                if isinstance(later, fx.ToolMessage):
                    block[later.tool_call_id] += 1
            out.extend((c.id, block[c.id]) for c in m.tool_calls)
    return out


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@given(
    script=fxst.model_scripts(tools=SPECS, max_replies=5, max_calls=10),
    limit=st.integers(1, 6),
    parallel=st.booleans(),
    join=st.sampled_from(fx.JoinPolicy),
    instructions=st.none() | st.just("You are terse."),
)
def test_the_loop_survives_a_misbehaving_model(
    backend: str,
    script: tuple[fx.ModelReply, ...],
    limit: int,
    parallel: bool,
    join: fx.JoinPolicy,
    instructions: str | None,
) -> None:
    agent = fx.Agent(
        model="fuzz",
        instructions=instructions,
        tools=TOOLS,
        policy=fx.until_no_tool_calls() | fx.max_steps(limit),
        parallel_tools=parallel,
        join_policy=join,
    )
    performed: list[fx.ToolCall] = []
    interp = stack(validate(), counting(performed))(agent_interpreter(agent, model=sequence(script)))

    final = anyio.run(run, agent, interp, "Go.", backend=backend)
    note(repr(final.messages))

    # It terminates under its policy.
    assert final.stop is not None
    assert final.stop.kind in ("no_tool_calls", "max_steps")
    assert final.steps <= limit
    assert final.model_calls <= limit
    # The conversation is valid (validate() also checked it before every model call).
    assert fx.validation.validate_conversation(final.messages) == ()
    assert fx.validation.validate_conversation(agent.prompt(final.messages)) == ()
    # Every tool call got exactly one result, and was performed exactly once.
    per_call = answers_per_call(final.messages)
    assert all(n == 1 for _, n in per_call), per_call
    assert sorted(c.id for c in performed) == sorted(i for i, _ in per_call)
    assert final.tool_invocations == len(performed)
    assert fx.pending_tool_calls(final.messages) == ()


def test_duplicate_and_empty_ids_in_one_reply_get_distinct_ids() -> None:
    state = fx.RunState.start("go")
    reply = fx.ModelReply(
        message=fx.assistant(
            None,
            fx.ToolCallRequest(id="c1", name="add", arguments="{}"),
            fx.ToolCallRequest(id="c1", name="add", arguments="{}"),
            fx.ToolCallRequest(id="", name="add", arguments="{}"),
            fx.ToolCallRequest(id="call_0_1", name="add", arguments="{}"),
        )
    )
    state = fx.advance(state, fx.ModelCall(model="m", messages=state.messages), reply)
    ids = [c.id for c in fx.pending_tool_calls(state.messages)]
    assert ids[0] == "c1"
    assert len(set(ids)) == 4
    assert "" not in ids
    # Deterministic: a replay of the same reply makes the same repair.
    again = fx.advance(fx.RunState.start("go"), fx.ModelCall(model="m", messages=state.messages[:1]), reply)
    assert again == state


def test_well_formed_replies_are_stored_as_they_are() -> None:
    message = fx.assistant("hi", fx.ToolCallRequest(id="a", name="f"), fx.ToolCallRequest(id="b", name="f"))
    state = fx.advance(
        fx.RunState.start("go"), fx.ModelCall(model="m", messages=()), fx.ModelReply(message=message)
    )
    assert state.messages[-1] is message


@pytest.mark.parametrize("message", [fx.AssistantMessage(), fx.AssistantMessage(refusal="I can't help.")])
def test_an_empty_reply_or_a_bare_refusal_is_stored_with_empty_content(message: fx.AssistantMessage) -> None:
    state = fx.advance(
        fx.RunState.start("go"), fx.ModelCall(model="m", messages=()), fx.ModelReply(message=message)
    )
    stored = state.messages[-1]
    assert isinstance(stored, fx.AssistantMessage)
    assert stored.content == ""
    assert stored.refusal == message.refusal
    # ... so the next request is one the API accepts.
    assert fx.validation.validate_conversation((*state.messages, fx.user("and now?"))) == ()
