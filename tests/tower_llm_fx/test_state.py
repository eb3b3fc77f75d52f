"""`tower_llm_fx._state`: the run state and the pure fold ``advance`` that is the only way to change it.

Covers: `RunState` construction, validation, ``start``, ``last_reply`` and ``output``; what
`pending_tool_calls` and `step_completed` derive from the messages alone (Rule 2); `advance` for
each effect (counts, usage, steps, the two repairs of a model reply, results that do not answer the
effect) and `finish`; and the loop invariants as properties: messages are only appended, every
fast-built state equals the validated constructor's, ``stop`` is carried through, a step completes
exactly when its last call is answered, and answering calls one by one or as one `Parallel` gives
the same state. Driving the stock agent loop end to end is in test_agent.py and tests/laws/.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx import strategies as fxst

CALL = fx.ModelCall(model="m", messages=(fx.user("q"),))


def req(id: str, name: str = "add") -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name=name, arguments="{}")


def reply(*calls: fx.ToolCallRequest, content: str | None = None, prompt: int = 0) -> fx.ModelReply:
    return fx.ModelReply(message=fx.assistant(content, *calls), usage=fx.Usage(prompt_tokens=prompt))


def ok(call_id: str, name: str = "add", content: str = "3") -> fx.ToolResult:
    return fx.ToolResult.success(call_id=call_id, name=name, content=content)


def answer(state: fx.RunState, call: fx.ToolCallRequest) -> fx.RunState:
    effect = fx.ToolCall(id=call.id, name=call.name, arguments=call.arguments)
    return fx.advance(state, effect, ok(call.id, call.name, f"result of {call.id}"))


def validated(state: fx.RunState) -> fx.RunState:
    """The same state through the validating constructor."""
    return fx.RunState(**{f.name: getattr(state, f.name) for f in attrs.fields(fx.RunState)})


# ---------------------------------------------------------------- RunState


def test_start_from_text_or_messages() -> None:
    assert fx.RunState.start("hi") == fx.RunState(messages=(fx.user("hi"),))
    history: list[fx.Message] = [fx.system("s"), fx.user("q")]
    started = fx.RunState.start(history)
    assert started.messages == tuple(history)
    assert (started.steps, started.usage, started.model_calls, started.tool_invocations, started.stop) == (
        0,
        fx.Usage(),
        0,
        0,
        None,
    )


def test_start_from_text_equals_the_validated_constructor() -> None:
    fast = fx.RunState.start("hi")
    assert validated(fast) == fast
    assert hash(validated(fast)) == hash(fast)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"steps": -1}, ValueError),
        ({"model_calls": -1}, ValueError),
        ({"tool_invocations": -1}, ValueError),
        ({"steps": 1.0}, TypeError),
        ({"usage": 3}, TypeError),
        ({"stop": "done"}, TypeError),
    ],
)
def test_run_state_fields_are_checked(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        fx.RunState(**kwargs)


def test_messages_are_stored_as_a_tuple() -> None:
    state = fx.RunState(messages=[fx.user("a")])
    assert state.messages == (fx.user("a"),)
    assert hash(state) == hash(fx.RunState(messages=(fx.user("a"),)))


def test_last_reply_and_output_skip_later_tool_messages() -> None:
    state = fx.RunState(
        messages=(
            fx.user("q"),
            fx.assistant("first"),
            fx.assistant("thinking", req("c1")),
            fx.ToolMessage(tool_call_id="c1", content="3"),
        )
    )
    assert state.last_reply == fx.assistant("thinking", req("c1"))
    assert state.output == "thinking"


def test_no_reply_means_no_output() -> None:
    assert fx.RunState.start("q").last_reply is None
    assert fx.RunState.start("q").output is None
    assert fx.RunState(messages=(fx.assistant(None, req("c1")),)).output is None


# ---------------------------------------------------------------- pending_tool_calls, step_completed

A, B, C = req("a"), req("b"), req("c")


def tool(call_id: str) -> fx.ToolMessage:
    return fx.ToolMessage(tool_call_id=call_id, content="r")


@pytest.mark.parametrize(
    ("messages", "pending", "completed"),
    [
        ((), (), False),
        ((fx.user("q"),), (), False),
        ((fx.user("q"), fx.assistant("a")), (), True),
        ((fx.user("q"), fx.assistant(None, A, B, C)), (A, B, C), False),
        ((fx.assistant(None, A, B, C), tool("a")), (B, C), False),
        ((fx.assistant(None, A, B, C), tool("c"), tool("a")), (B,), False),  # any order
        ((fx.assistant(None, A, B), tool("b"), tool("a")), (), True),
        ((fx.assistant(None, A, B), tool("zzz")), (A, B), False),  # a stray answer answers nothing
        ((fx.assistant(None, A), tool("a"), fx.user("more")), (), False),  # the user spoke after
        (
            (fx.assistant(None, A), tool("a"), fx.assistant(None, B)),
            (B,),
            False,
        ),  # only the last reply counts
    ],
)
def test_pending_calls_and_completion_follow_from_the_messages(
    messages: tuple[fx.Message, ...], pending: tuple[fx.ToolCallRequest, ...], completed: bool
) -> None:
    assert fx.pending_tool_calls(messages) == pending
    assert fx.pending_tool_calls(list(messages)) == pending
    assert fx.step_completed(messages) is completed


def test_stray_tool_messages_leave_nothing_pending() -> None:
    # invalid conversations (tower_llm_fx.validation reports them); pending is still well defined
    assert fx.pending_tool_calls((fx.assistant(None, A), fx.user("q"), tool("a"))) == ()
    assert fx.pending_tool_calls((fx.assistant("a"), tool("a"))) == ()


# ---------------------------------------------------------------- advance: model calls


def test_a_model_reply_is_appended_and_counted() -> None:
    start = fx.RunState.start("q")
    state = fx.advance(start, CALL, reply(content="a", prompt=4))
    assert state.messages == (fx.user("q"), fx.assistant("a"))
    assert (state.steps, state.model_calls, state.tool_invocations) == (1, 1, 0)
    assert state.usage == fx.Usage(prompt_tokens=4)
    with_calls = fx.advance(state, CALL, reply(A, prompt=1))
    assert (with_calls.steps, with_calls.model_calls, with_calls.usage) == (1, 2, fx.Usage(prompt_tokens=5))


def test_an_empty_reply_gets_empty_content_so_it_can_be_sent_back() -> None:
    state = fx.advance(fx.RunState.start("q"), CALL, fx.ModelReply(message=fx.AssistantMessage(refusal="no")))
    assert state.messages[-1] == fx.AssistantMessage(content="", refusal="no")
    assert state.steps == 1


def test_empty_and_repeated_call_ids_get_unique_ones() -> None:
    state = fx.advance(fx.RunState.start("q"), CALL, reply(req(""), req("x"), req("x"), req("")))
    stored = state.last_reply
    assert stored is not None
    assert [c.id for c in stored.tool_calls] == ["call_0_0", "x", "call_0_2", "call_0_3"]
    assert [c.name for c in stored.tool_calls] == ["add"] * 4


def test_a_lone_call_with_an_empty_id_is_repaired_too() -> None:
    state = fx.advance(fx.RunState(model_calls=7), CALL, reply(req("")))
    assert state.last_reply is not None
    assert state.last_reply.tool_calls[0].id == "call_7_0"  # numbered by the model call


def test_fresh_ids_never_take_an_id_the_reply_uses() -> None:
    state = fx.advance(fx.RunState.start("q"), CALL, reply(req(""), req("call_0_0"), req("call_0_0_")))
    assert state.last_reply is not None
    assert [c.id for c in state.last_reply.tool_calls] == ["call_0_0__", "call_0_0", "call_0_0_"]


def test_a_well_formed_reply_is_stored_as_received() -> None:
    message = fx.assistant("thinking", A, B)
    state = fx.advance(fx.RunState.start("q"), CALL, fx.ModelReply(message=message))
    assert state.messages[-1] is message


# ---------------------------------------------------------------- advance: tool calls


def test_a_step_completes_when_its_last_call_is_answered() -> None:
    state = fx.advance(fx.RunState.start("q"), CALL, reply(A, B))
    assert state.steps == 0
    state = answer(state, A)
    assert (state.steps, state.tool_invocations, fx.step_completed(state.messages)) == (0, 1, False)
    state = answer(state, B)
    assert (state.steps, state.tool_invocations, fx.step_completed(state.messages)) == (1, 2, True)
    assert state.messages[-2:] == (
        fx.ToolMessage(tool_call_id="a", content="result of a"),
        fx.ToolMessage(tool_call_id="b", content="result of b"),
    )


def test_a_failed_tool_is_an_answer_too() -> None:
    state = fx.advance(fx.RunState.start("q"), CALL, reply(A))
    failed = fx.ToolResult.failure(call_id="a", name="add", kind="tool_raised", message="boom")
    state = fx.advance(state, fx.ToolCall(id="a", name="add"), failed)
    assert state.messages[-1] == fx.ToolMessage(tool_call_id="a", content="error (tool_raised): boom")
    assert (state.steps, state.tool_invocations) == (1, 1)


def test_a_parallel_batch_is_answered_in_call_order() -> None:
    state = fx.advance(fx.RunState.start("q"), CALL, reply(A, B))
    batch = fx.Parallel(calls=(fx.ToolCall(id="a", name="add"), fx.ToolCall(id="b", name="add")))
    state = fx.advance(state, batch, (ok("a", content="1"), ok("b", content="2")))
    assert [m.content for m in state.messages[-2:]] == ["1", "2"]
    assert (state.steps, state.tool_invocations) == (1, 2)


@pytest.mark.parametrize(
    ("effect", "result", "words"),
    [
        (fx.ToolCall(id="a", name="add"), reply(content="x"), "returned ModelReply for ToolCall"),
        (fx.ToolCall(id="a", name="add"), ok("b"), "interpreters must copy the call id"),
        (CALL, ok("a"), "returned ToolResult for a ModelCall"),
        (
            fx.Parallel(calls=(fx.ToolCall(id="a", name="add"),)),
            [ok("a")],
            r"returned list for a Parallel of 1",
        ),
        (
            fx.Parallel(calls=(fx.ToolCall(id="a", name="add"), fx.ToolCall(id="b", name="add"))),
            (ok("a"),),
            "returned tuple of length 1 for a Parallel of 2 calls",
        ),
        (fx.Parallel(calls=(fx.ToolCall(id="a", name="add"),)), ("3",), "returned str for ToolCall"),
        (fx.Parallel(calls=(fx.ToolCall(id="a", name="add"),)), (ok("b"),), "answers call id 'b'"),
    ],
)
def test_results_that_do_not_answer_the_effect_are_interpreter_bugs(
    effect: fx.Effect[Any], result: object, words: str
) -> None:
    state = fx.advance(fx.RunState.start("q"), CALL, reply(A, B))
    with pytest.raises(fx.WrongResultType, match=words):
        fx.advance(state, effect, result)


def test_only_agent_effects_can_be_applied() -> None:
    with pytest.raises(TypeError, match="advance\\(\\) does not know how to apply a Done"):
        fx.advance(fx.RunState(), fx.Done(reason=fx.StopReason(kind="custom")), None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- finish


def test_finish_records_the_reason_and_nothing_else() -> None:
    state = fx.advance(fx.RunState.start("q"), CALL, reply(content="a", prompt=2))
    done = fx.finish(state, fx.Done(reason=fx.StopReason(kind="custom", detail="why")))
    assert done.stop == fx.StopReason(kind="custom", detail="why")
    assert attrs.evolve(done, stop=None) == state
    assert validated(done) == done


# ---------------------------------------------------------------- properties


@given(fxst.run_states(), fxst.model_replies())
def test_advancing_a_model_reply(state: fx.RunState, result: fx.ModelReply) -> None:
    new = fx.advance(state, CALL, result)
    assert new.messages[:-1] == state.messages  # nothing dropped or reordered
    stored = new.messages[-1]
    assert isinstance(stored, fx.AssistantMessage)
    assert (new.model_calls, new.tool_invocations, new.stop) == (
        state.model_calls + 1,
        state.tool_invocations,
        state.stop,
    )
    assert new.usage == state.usage + result.usage
    assert new.steps == state.steps + (0 if stored.tool_calls else 1)
    ids = [c.id for c in stored.tool_calls]
    assert "" not in ids and len(set(ids)) == len(ids)
    assert [attrs.evolve(c, id="") for c in stored.tool_calls] == [
        attrs.evolve(c, id="") for c in result.message.tool_calls
    ]  # only ids are repaired
    assert stored.content is not None or stored.tool_calls
    assert fx.pending_tool_calls(new.messages) == stored.tool_calls
    assert fx.step_completed(new.messages) is (not stored.tool_calls)
    assert validated(new) == new and hash(validated(new)) == hash(new)
    assert fx.advance(state, CALL, result) == new  # pure: same repairs every time


@given(
    fxst.run_states(finished=False),
    fxst.model_replies(fxst.assistant_messages(max_tool_calls=5)),
    st.randoms(),
)
def test_answering_calls_one_by_one_in_any_order(state: fx.RunState, result: fx.ModelReply, rnd: Any) -> None:
    state = fx.advance(state, CALL, result)
    calls = list(fx.pending_tool_calls(state.messages))
    invocations = state.tool_invocations
    rnd.shuffle(calls)
    for i, call in enumerate(calls):
        before = state
        state = answer(state, call)
        assert state.messages[:-1] == before.messages
        last = i == len(calls) - 1
        assert state.steps == before.steps + (1 if last else 0)
        assert fx.step_completed(state.messages) is last
        assert set(fx.pending_tool_calls(state.messages)) == set(calls[i + 1 :])
        assert validated(state) == state
    assert fx.pending_tool_calls(state.messages) == ()
    assert state.tool_invocations == invocations + len(calls)


@given(fxst.run_states(finished=False), fxst.model_replies(fxst.assistant_messages(max_tool_calls=5)))
def test_a_parallel_batch_equals_answering_one_by_one(state: fx.RunState, result: fx.ModelReply) -> None:
    state = fx.advance(state, CALL, result)
    calls = fx.pending_tool_calls(state.messages)
    if not calls:
        return
    one_by_one = state
    for call in calls:
        one_by_one = answer(one_by_one, call)
    batch = fx.Parallel(calls=tuple(fx.ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in calls))
    results = tuple(ok(c.id, c.name, f"result of {c.id}") for c in calls)
    together = fx.advance(state, batch, results)
    assert together == one_by_one
    assert together.tool_invocations == state.tool_invocations + len(calls)
    assert together.steps == state.steps + 1


@given(fxst.run_states(finished=True), fxst.model_replies())
def test_stop_is_carried_through_advance(state: fx.RunState, result: fx.ModelReply) -> None:
    assert fx.advance(state, CALL, result).stop == state.stop
