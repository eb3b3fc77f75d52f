"""The scripted model interpreters `fixed`, `sequence` and `function`, and the `Reply` forms they accept.

Covers: each accepted reply form (text, assistant message, full ``ModelReply``) and the finish reason
it implies, ``ScriptExhausted`` and ``assert_consumed``, sync and async ``function`` models, rejection
of other effects and of values that are not replies, and the reprs. Trio and asyncio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from interpreters import Reply, agent_interpreter, fixed, function, run, sequence
from tower_llm_fx import strategies as fxst


@fx.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


AGENT = fx.Agent(model="m", instructions="calc", tools=(add,))
CALL = fx.ModelCall(model="m", messages=(fx.user("hi"),))


def tool_turn(*calls: tuple[str, str, str]) -> fx.AssistantMessage:
    return fx.assistant(None, *(fx.ToolCallRequest(id=i, name=n, arguments=a) for i, n, a in calls))


def answering(reply: Reply) -> Callable[[fx.ModelCall], Reply]:
    """A `function` model that always answers ``reply``."""
    return lambda call: reply


# --- moved verbatim from tests/interpreters/test_run.py ---


@pytest.mark.anyio
async def test_sequence_exhausted_is_a_clear_error() -> None:
    script = sequence([tool_turn(("c1", "add", '{"a": 1, "b": 2}'))])
    with pytest.raises(fx.ScriptExhausted, match=r"holds 1 replies and all were used; model call #2"):
        await run(AGENT, agent_interpreter(AGENT, model=script), "go")
    leftover = sequence(["a", "b"])
    await run(fx.Agent(model="m"), agent_interpreter(fx.Agent(model="m"), model=leftover), "x")
    with pytest.raises(AssertionError, match="1 unused replies"):
        leftover.assert_consumed()


@pytest.mark.anyio
async def test_function_model_sees_the_call_sync_and_async() -> None:
    seen: list[fx.ModelCall] = []

    def echo(call: fx.ModelCall) -> str:
        seen.append(call)
        return f"echo: {call.messages[-1].content}"

    async def aecho(call: fx.ModelCall) -> fx.ModelReply:
        return fx.ModelReply(message=fx.assistant("async"), usage=fx.Usage(prompt_tokens=7))

    final = await run(AGENT, agent_interpreter(AGENT, model=function(echo)), "ping")
    assert final.output == "echo: ping"
    assert seen[0].messages[0] == fx.SystemMessage(content="calc")
    final = await run(AGENT, agent_interpreter(AGENT, model=function(aecho)), "ping")
    assert final.usage.prompt_tokens == 7


@pytest.mark.anyio
async def test_scripted_interpreters_reject_other_effects_and_bad_replies() -> None:
    with pytest.raises(fx.UnhandledEffect, match="only answers ModelCall"):
        await fixed("x")(fx.ToolCall(id="1", name="t"))
    with pytest.raises(TypeError, match="is not a reply"):
        sequence([3])  # type: ignore[list-item]


# --- Reply forms ---


@pytest.mark.anyio
async def test_text_and_messages_become_replies_with_the_right_finish_reason() -> None:
    text = await fixed("hello")(CALL)
    assert text == fx.ModelReply(message=fx.assistant("hello"), finish_reason="stop")
    req = fx.ToolCallRequest(id="c1", name="add", arguments="{}")
    tools = await fixed(fx.assistant(None, req))(CALL)
    assert tools.finish_reason == "tool_calls"
    assert tools.message.tool_calls == (req,)
    plain = await fixed(fx.assistant("done"))(CALL)
    assert plain.finish_reason == "stop"


@pytest.mark.anyio
async def test_a_full_model_reply_is_handed_back_as_is() -> None:
    reply = fx.ModelReply(
        message=fx.assistant("x"),
        usage=fx.Usage(prompt_tokens=3),
        finish_reason="length",
        model="m-1",
        id="r1",
    )
    assert await fixed(reply)(CALL) is reply
    assert await sequence([reply])(CALL) is reply
    assert await function(lambda call: reply)(CALL) is reply


@given(text=st.text(max_size=20))
def test_every_reply_form_of_the_same_text_answers_the_same(text: str) -> None:
    """``"t"``, ``assistant("t")`` and ``ModelReply(message=assistant("t"))`` are one reply."""
    forms: list[Reply] = [text, fx.assistant(text), fx.ModelReply(message=fx.assistant(text))]
    interps = [interp for f in forms for interp in (fixed(f), sequence([f]), function(answering(f)))]

    async def main() -> list[fx.ModelReply]:
        return [await interp(CALL) for interp in interps]

    replies = trio.run(main)
    assert replies == [fx.ModelReply(message=fx.AssistantMessage(content=text))] * 9


# --- fixed ---


@pytest.mark.anyio
async def test_fixed_answers_every_call_the_same_and_never_runs_out() -> None:
    interp = fixed("same")
    calls = [CALL, fx.ModelCall(model="other", messages=(fx.user("a"), fx.assistant("b"), fx.user("c")))]
    replies = [await interp(c) for c in calls * 5]
    assert {r.message.content for r in replies} == {"same"}
    assert len(replies) == 10


def test_fixed_repr_shows_the_text() -> None:
    assert repr(fixed("hello")) == "fixed('hello')"
    assert (
        repr(fixed(fx.assistant(None, fx.ToolCallRequest(id="c", name="t", arguments="{}")))) == "fixed(None)"
    )


def test_fixed_rejects_a_value_that_is_not_a_reply() -> None:
    with pytest.raises(TypeError, match=r"fixed\(\): 3 is not a reply; use a str"):
        fixed(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is not a reply"):
        fixed(fx.user("a user message is not a reply"))  # type: ignore[arg-type]


# --- sequence ---


@pytest.mark.anyio
async def test_sequence_hands_out_replies_in_order_and_counts_them() -> None:
    script = sequence(["one", fx.assistant("two"), fx.ModelReply(message=fx.assistant("three"))])
    assert (script.remaining, repr(script)) == (3, "sequence(<3 replies, 0 used>)")
    with pytest.raises(AssertionError, match=r"3 unused replies; the run made 0 model calls"):
        script.assert_consumed()
    got = []
    for left in (2, 1, 0):
        got.append((await script(CALL)).message.content)
        assert script.remaining == left
    assert got == ["one", "two", "three"]
    assert repr(script) == "sequence(<3 replies, 3 used>)"
    script.assert_consumed()  # all used: no error


@pytest.mark.anyio
async def test_sequence_exhaustion_names_the_call_and_its_last_message() -> None:
    script = sequence(["only"])
    await script(CALL)
    with pytest.raises(fx.ScriptExhausted, match=r"model call #2 \(last message: UserMessage\(content='hi'"):
        await script(CALL)
    with pytest.raises(fx.ScriptExhausted, match=r"last message: None"):
        await script(fx.ModelCall(model="m", messages=()))
    assert script.remaining == 0  # a refused call uses nothing
    assert isinstance(fx.ScriptExhausted("x"), fx.InterpreterError)


@pytest.mark.anyio
async def test_an_empty_sequence_is_exhausted_at_once() -> None:
    script = sequence([])
    script.assert_consumed()
    with pytest.raises(fx.ScriptExhausted, match=r"holds 0 replies .* model call #1"):
        await script(CALL)


@pytest.mark.anyio
async def test_assert_consumed_names_the_next_unused_reply() -> None:
    script = sequence(["a", "b", "c"])
    await script(CALL)
    with pytest.raises(AssertionError, match=r"2 unused replies; the run made 1 model calls, .*content='b'"):
        script.assert_consumed()


@pytest.mark.anyio
async def test_sequence_takes_any_iterable_once() -> None:
    def replies() -> Iterator[str]:
        yield "x"
        yield "y"

    script = sequence(replies())
    assert [(await script(CALL)).message.content for _ in range(2)] == ["x", "y"]


def test_sequence_says_which_reply_is_bad() -> None:
    with pytest.raises(TypeError, match=r"sequence\(\) reply #1: None is not a reply"):
        sequence(["fine", None])  # type: ignore[list-item]


@pytest.mark.anyio
async def test_a_rejected_effect_does_not_use_a_scripted_reply() -> None:
    script = sequence(["a"])
    with pytest.raises(fx.UnhandledEffect, match=r"sequence\(\) only answers ModelCall, got ToolCall"):
        await script(fx.ToolCall(id="1", name="t"))
    assert script.remaining == 1
    assert (await script(CALL)).message.content == "a"


@given(replies=st.lists(fxst.model_replies(), max_size=5))
def test_sequence_replays_any_script_exactly_then_runs_out(replies: list[fx.ModelReply]) -> None:
    script = sequence(replies)

    async def main() -> list[fx.ModelReply]:
        return [await script(CALL) for _ in replies]

    assert trio.run(main) == replies
    script.assert_consumed()
    with pytest.raises(fx.ScriptExhausted):
        trio.run(script, CALL)


# --- function ---


@pytest.mark.anyio
async def test_function_accepts_every_reply_form_sync_and_async() -> None:
    req = fx.ToolCallRequest(id="c1", name="add", arguments="{}")

    async def tools(call: fx.ModelCall) -> fx.AssistantMessage:
        return fx.assistant(None, req)

    reply = await function(tools)(CALL)
    assert (reply.finish_reason, reply.message.tool_calls) == ("tool_calls", (req,))
    assert (await function(lambda call: fx.assistant("m"))(CALL)).message.content == "m"


@pytest.mark.anyio
async def test_function_reports_a_bad_return_value_with_its_name() -> None:
    def broken(call: fx.ModelCall) -> Reply:
        return 42  # type: ignore[return-value]

    async def abroken(call: fx.ModelCall) -> Reply:
        return [1]  # type: ignore[return-value]

    with pytest.raises(TypeError, match=r"function\('broken'\): 42 is not a reply"):
        await function(broken)(CALL)
    with pytest.raises(TypeError, match=r"function\('abroken'\): \[1\] is not a reply"):
        await function(abroken)(CALL)


@pytest.mark.anyio
async def test_function_rejects_other_effects_without_calling_fn() -> None:
    called: list[fx.ModelCall] = []

    def fn(call: fx.ModelCall) -> str:
        called.append(call)
        return "x"

    with pytest.raises(fx.UnhandledEffect, match=r"function\(\) only answers ModelCall, got ToolCall"):
        await function(fn)(fx.ToolCall(id="1", name="t"))
    assert called == []


def test_function_needs_a_callable_and_shows_its_name() -> None:
    with pytest.raises(TypeError, match="function\\(\\) needs a callable taking a ModelCall, got 'text'"):
        function("text")  # type: ignore[arg-type]

    def echo(call: fx.ModelCall) -> str:
        return "e"

    assert repr(function(echo)) == "function(echo)"
