"""tower_llm_fx.openai._stream: chunks both ways and the OpenAIStream state machine.

Bodies are checked against the official ``openai`` package's types
(``tests/support/openai_reference.py``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
from tests.support.openai_reference import (
    check_chunk,
)
from tests.tower_llm_fx.openai._helpers import (
    normalised,
    replies,
    rich_replies,
)


def stream_decode(chunks: Any, *, step: int = 1) -> tuple[list[fx.RunEvent], fx.ModelReply]:
    stream = fx.openai.OpenAIStream(step=step)
    events: list[fx.RunEvent] = []
    for chunk in chunks:
        events.extend(stream.feed(json.dumps(chunk)))
    events.extend(stream.feed("[DONE]"))
    return events, stream.reply()


@given(replies | rich_replies, st.integers(1, 12), st.booleans())
def test_stream_decodes_to_the_same_reply_as_the_response(
    reply: fx.ModelReply, size: int, interleave: bool
) -> None:
    chunks = fx.openai.to_openai_chunks(reply, size=size, interleave=interleave)
    events, streamed = stream_decode(chunks, step=3)
    expected = normalised(reply, streamed=True)
    assert streamed == expected
    assert fx.openai.from_openai_response(fx.openai.to_openai_response(expected)) == expected
    assert hash(streamed) == hash(expected)
    assert [fx.from_json(fx.to_json(e)) for e in events] == events
    # the deltas add up to the reply, and every event is stamped with the step
    text = "".join(e.text for e in events if isinstance(e, fx.TokenDelta))
    content = reply.message.content
    if isinstance(content, tuple):
        assert text == "".join(p.text for p in content if isinstance(p, fx.TextPart))
    else:
        assert text == (content or "")
    thought = "".join(e.text for e in events if isinstance(e, fx.ReasoningDelta))
    reasoning = reply.message.reasoning
    raw = {} if reasoning is None or reasoning.raw is None else json.loads(reasoning.raw)
    assert thought == "".join(
        v if isinstance(v, str) else fx.openai._messages.reasoning_text({k: v}) or "" for k, v in raw.items()
    )
    refusal = "".join(e.text for e in events if isinstance(e, fx.RefusalDelta))
    assert refusal == (reply.message.refusal or "")
    assert all(getattr(e, "step", 3) == 3 for e in events)
    for i, call in enumerate(reply.message.tool_calls):
        started = [e for e in events if isinstance(e, fx.ToolCallStarted) and e.index == i]
        assert started == [fx.ToolCallStarted(step=3, index=i, id=call.id, name=call.name)]
        fragments = [e for e in events if isinstance(e, fx.ToolCallArgumentsDelta) and e.index == i]
        assert "".join(f.text for f in fragments) == call.arguments
        assert all(events.index(started[0]) < events.index(f) for f in fragments)


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-9",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
        **extra,
    }


def test_parallel_tool_calls_interleaved_by_index() -> None:
    chunks = [
        {"choices": [], "prompt_filter_results": []},  # Azure sends this first
        _chunk({"role": "assistant", "content": None}),
        _chunk(
            {
                "tool_calls": [
                    {"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": ""}}
                ]
            }
        ),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "a",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"x"'},
                    }
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"y":'}}]}),
        _chunk(
            {
                "tool_calls": [
                    {"index": 0, "function": {"arguments": ":1}"}},
                    {"index": 1, "function": {"arguments": "2}"}},
                ]
            }
        ),
        _chunk({}, "tool_calls"),
        _chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}),
    ]
    for c in chunks[1:]:
        check_chunk(c)
    events, reply = stream_decode(chunks)
    assert reply == fx.ModelReply(
        message=fx.assistant(
            None,
            fx.ToolCallRequest(id="a", name="f", arguments='{"x":1}'),
            fx.ToolCallRequest(id="b", name="g", arguments='{"y":2}'),
        ),
        usage=fx.Usage(prompt_tokens=9, completion_tokens=4),
        finish_reason="tool_calls",
        model="m",
        id="chatcmpl-9",
        extra={"created": 1, "prompt_filter_results": []},
    )
    assert events == [
        fx.ToolCallStarted(step=1, index=1, id="b", name="g"),
        fx.ToolCallStarted(step=1, index=0, id="a", name="f"),
        fx.ToolCallArgumentsDelta(step=1, index=0, id="a", text='{"x"'),
        fx.ToolCallArgumentsDelta(step=1, index=1, id="b", text='{"y":'),
        fx.ToolCallArgumentsDelta(step=1, index=0, id="a", text=":1}"),
        fx.ToolCallArgumentsDelta(step=1, index=1, id="b", text="2}"),
    ]


def test_tool_calls_without_index_or_id() -> None:
    chunks = [
        _chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{"}}]}),
        _chunk({"tool_calls": [{"function": {"arguments": "}"}}]}),
        _chunk({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": "{}"}}]}),
        _chunk({"tool_calls": [{"index": 2, "function": {"name": "h", "arguments": "[]"}}]}),
        _chunk({}, "tool_calls"),
    ]
    _, reply = stream_decode(chunks)
    assert reply.message.tool_calls == (
        fx.ToolCallRequest(id="a", name="f", arguments="{}"),
        fx.ToolCallRequest(id="b", name="g", arguments="{}"),
        fx.ToolCallRequest(id="call_2", name="h", arguments="[]"),
    )


def test_refusal_and_content_filter() -> None:
    chunks = [
        _chunk({"role": "assistant", "content": "", "refusal": None}),
        _chunk({"refusal": "I can't"}),
        _chunk({"refusal": " help."}),
        _chunk({}, "content_filter"),
    ]
    events, reply = stream_decode(chunks)
    assert reply.message == fx.AssistantMessage(content=None, refusal="I can't help.")
    assert reply.finish_reason == "content_filter"
    assert events == [fx.RefusalDelta(step=1, text="I can't"), fx.RefusalDelta(step=1, text=" help.")]


def test_empty_text_reply_streams_as_empty_text() -> None:
    _, reply = stream_decode([_chunk({"role": "assistant", "content": ""}), _chunk({}, "stop")])
    assert reply.message.content == ""
    _, reply = stream_decode([_chunk({"role": "assistant"}), _chunk({}, "length")])
    assert reply.message.content is None
    assert reply.finish_reason == "length"


def test_other_choices_are_refused_and_data_after_done_is_ignored() -> None:
    # n > 1 would need one message per choice: refused by name, never dropped
    with pytest.raises(fx.MalformedResponse, match=r"holds choice 1.*drop 'n'"):
        fx.openai.OpenAIStream().feed(json.dumps({"choices": [{"index": 1, "delta": {"content": "other"}}]}))
    stream = fx.openai.OpenAIStream()
    # a numeric string index is read as its number (some servers send "0")
    stream.feed(json.dumps({"choices": [{"index": "0", "delta": {"content": "mi"}}]}))
    stream.feed(json.dumps(_chunk({"content": "ne"}, "stop")))
    assert stream.feed("[DONE]") == ()
    assert stream.feed("not even json") == ()
    assert stream.reply().message.content == "mine"
    assert stream.done


def test_cut_stream_is_interrupted() -> None:
    stream = fx.openai.OpenAIStream()
    stream.feed(json.dumps(_chunk({"content": "Hello, wor"})))
    with pytest.raises(
        fx.StreamInterrupted, match=r"1 chunk.*without 'data: \[DONE\]'.*10 characters"
    ) as info:
        stream.reply()
    assert info.value.retryable


def test_invalid_json_chunk() -> None:
    stream = fx.openai.OpenAIStream()
    stream.feed(json.dumps(_chunk({"content": "ok"})))
    with pytest.raises(fx.MalformedResponse, match="chunk #2 is not valid JSON") as info:
        stream.feed('{"choices": [')
    assert "'{\"choices\": ['" in str(info.value)
    with pytest.raises(fx.MalformedResponse, match="not an object"):
        fx.openai.OpenAIStream().feed("[1, 2]")


@pytest.mark.parametrize(
    ("error", "cls", "retryable"),
    [
        ({"message": "The server had an error", "type": "server_error"}, fx.ServerError, True),
        (
            {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"},
            fx.RateLimitError,
            True,
        ),
        ({"message": "Bad", "type": "invalid_request_error"}, fx.BadRequestError, False),
        ("overloaded", fx.ServerError, True),
    ],
)
def test_error_object_in_the_middle_of_a_stream(
    error: Any, cls: type[fx.ProviderError], retryable: bool
) -> None:
    stream = fx.openai.OpenAIStream()
    stream.feed(json.dumps(_chunk({"content": "Hi"})))
    with pytest.raises(cls, match="in the middle of the stream") as info:
        stream.feed(json.dumps({"error": error}))
    assert info.value.retryable is retryable
    assert info.value.status is None


def test_error_event_type() -> None:
    with pytest.raises(fx.ServerError, match="busy"):
        fx.openai.OpenAIStream().feed(json.dumps({"message": "busy"}), event="error")


def test_chunk_size_and_step_must_be_positive() -> None:
    """``size < 1`` and ``step < 1`` are refused, not looped on or stamped."""
    with pytest.raises(ValueError, match="size must be at least 1"):
        fx.openai.to_openai_chunks(fx.ModelReply(message=fx.assistant("x")), size=0)
    with pytest.raises(ValueError, match="step must be a positive int"):
        fx.openai.OpenAIStream(step=0)


def test_chunks_without_usage_decode_to_zero_usage() -> None:
    """With ``include_usage=False`` no chunk lacks choices and the usage decodes as zero."""
    reply = fx.ModelReply(message=fx.assistant("hello"), usage=fx.Usage(prompt_tokens=3, completion_tokens=2))
    chunks = fx.openai.to_openai_chunks(reply, include_usage=False)
    assert all(c["choices"] for c in chunks)
    _, streamed = stream_decode(chunks)
    assert streamed.usage == fx.Usage()
    assert streamed.message == reply.message


@pytest.mark.parametrize(
    ("delta", "field"),
    [
        ({"name": 3}, "'delta.name'"),
        ({"tool_calls": [{"index": 0, "id": 5, "function": {"name": "f"}}]}, "'delta.tool_calls[].id'"),
        (
            {"tool_calls": [{"index": 0, "id": "c", "function": {"name": ["f"]}}]},
            "'delta.tool_calls[].function.name'",
        ),
        ({"tool_calls": [{"index": 0, "id": "c", "type": "custom", "custom": {}}]}, "type 'custom'"),
    ],
)
def test_a_streamed_field_of_the_wrong_type_is_refused_by_name(delta: dict[str, Any], field: str) -> None:
    with pytest.raises(fx.MalformedResponse, match=re.escape(field)):
        fx.openai.OpenAIStream().feed(json.dumps(_chunk(delta)))


def test_a_numeric_string_fragment_index_is_read_as_its_number() -> None:
    chunks = [
        _chunk({"tool_calls": [{"index": "0", "id": "a", "function": {"name": "f", "arguments": '{"x"'}}]}),
        _chunk({"tool_calls": [{"index": "0", "function": {"arguments": ":1}"}}]}, "tool_calls"),
    ]
    _, reply = stream_decode(chunks)
    assert reply.message.tool_calls == (fx.ToolCallRequest(id="a", name="f", arguments='{"x":1}'),)
