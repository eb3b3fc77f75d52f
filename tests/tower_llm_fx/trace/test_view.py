"""Reading traces: one-line summaries, statistics, and the conversation a run started from."""

from __future__ import annotations

import pytest

import tower_llm_fx as fx
import tower_llm_fx.trace

KEY = "sk-abcdefghijklmnopqrstuvwxyz"
ADD = fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 2, "b": 3}')
MUL = fx.ToolCallRequest(id="c2", name="mul", arguments='{"a": 4, "b": 5}')


def call(messages: tuple[fx.Message, ...], model: str = "m") -> fx.ModelCall:
    return fx.ModelCall(model=model, messages=messages)


def test_describe_effect() -> None:
    assert (
        fx.trace.describe_effect(fx.ToolCall(id="c1", name="add", arguments='{"a": 2}'))
        == 'ToolCall add({"a": 2}) [c1]'
    )
    batch = fx.Parallel(calls=(fx.ToolCall(id="c1", name="add"), fx.ToolCall(id="c2", name="mul")))
    assert fx.trace.describe_effect(batch) == "Parallel of 2: add({}) [c1], mul({}) [c2]"
    text = fx.trace.describe_effect(call((fx.system("Be brief."), fx.user("What is 2 + 3?"))))
    assert text == "ModelCall 'm', 2 message(s), 0 tool(s); last user: 'What is 2 + 3?'"
    assert fx.trace.describe_effect(call(())).endswith("last no messages")


def test_describe_result() -> None:
    reply = fx.ModelReply(
        message=fx.assistant(None, ADD), usage=fx.Usage(prompt_tokens=7, completion_tokens=2)
    )
    assert fx.trace.describe_result(reply) == 'ModelReply assistant: add({"a": 2, "b": 3}) (7+2 tokens)'
    bad = fx.ToolResult.failure(call_id="c1", name="add", kind="tool_raised", message="boom")
    assert fx.trace.describe_result(bad) == "ToolResult [c1] 'error (tool_raised): boom'"
    pair = (fx.ToolResult.success(call_id="c1", name="add", content="5"), bad)
    assert fx.trace.describe_result(pair) == "([c1] '5', [c1] 'error (tool_raised): boom')"
    assert (
        fx.trace.describe_result(fx.ModelReply(message=fx.AssistantMessage()))
        == "ModelReply assistant: (empty) (0+0 tokens)"
    )
    refusal = fx.ModelReply(message=fx.AssistantMessage(refusal="no"))
    assert "refusal 'no'" in fx.trace.describe_result(refusal)


def test_summaries_are_one_line_short_and_scrubbed() -> None:
    long = fx.user("word " * 200 + KEY)
    text = fx.trace.describe_effect(call((long,)))
    assert "\n" not in text
    assert len(text) <= 160
    assert KEY not in fx.trace.describe_result(
        fx.ToolResult.success(call_id="c", name="t", content=f"k={KEY}")
    )
    assert KEY not in fx.trace.describe_effect(fx.ToolCall(id="c", name="t", arguments=f'{{"k": "{KEY}"}}'))


def test_trace_stats_counts_calls_tools_errors_and_tokens() -> None:
    reply = fx.ModelReply(
        message=fx.assistant(None, ADD, MUL), usage=fx.Usage(prompt_tokens=10, completion_tokens=3)
    )
    batch = fx.Parallel(calls=(fx.ToolCall(id="c1", name="add"), fx.ToolCall(id="c2", name="mul")))
    results = (
        fx.ToolResult.success(call_id="c1", name="add", content="5"),
        fx.ToolResult.failure(call_id="c2", name="mul", kind="tool_raised", message="boom"),
    )
    trace = fx.trace.Trace(
        exchanges=(
            fx.trace.Exchange(effect=call((fx.user("q"),)), result=reply),
            fx.trace.Exchange(effect=batch, result=results),
            fx.trace.Exchange(
                effect=fx.ToolCall(id="c3", name="add"),
                result=fx.ToolResult.success(call_id="c3", name="add", content="1"),
            ),
            fx.trace.Exchange(
                effect=call((fx.user("q"),), model="other"),
                result=fx.ModelReply(message=fx.assistant("done"), usage=fx.Usage(prompt_tokens=5)),
            ),
        )
    )
    stats = fx.trace.trace_stats(trace)
    assert stats == fx.trace.TraceStats(
        traces=1,
        exchanges=4,
        model_calls=2,
        tool_calls=3,
        tool_errors=1,
        prompt_tokens=15,
        completion_tokens=3,
        tools=(("add", 2), ("mul", 1)),
        models=(("m", 1), ("other", 1)),
    )
    total = stats + fx.trace.trace_stats(fx.trace.Trace())
    assert total.traces == 2
    assert total.tools == stats.tools
    assert (stats + stats).tools == (("add", 4), ("mul", 2))


def test_start_messages_drops_the_agents_instructions() -> None:
    first = call((fx.system("You add."), fx.user("2+3?")))
    trace = fx.trace.Trace(
        exchanges=(fx.trace.Exchange(effect=first, result=fx.ModelReply(message=fx.assistant("5"))),)
    )
    assert fx.trace.start_messages(trace, "You add.") == (fx.user("2+3?"),)
    assert fx.trace.start_messages(trace, "A changed prompt") == (fx.user("2+3?"),)
    assert fx.trace.start_messages(trace, None) == first.messages


def test_start_messages_needs_a_model_call_first() -> None:
    tool = fx.trace.Exchange(
        effect=fx.ToolCall(id="c", name="t"), result=fx.ToolResult.success(call_id="c", name="t", content="")
    )
    with pytest.raises(ValueError, match="starts with ToolCall, not a ModelCall"):
        fx.trace.start_messages(fx.trace.Trace(exchanges=(tool,)), None)
    with pytest.raises(ValueError, match="starts with nothing"):
        fx.trace.start_messages(fx.trace.Trace(), None)
