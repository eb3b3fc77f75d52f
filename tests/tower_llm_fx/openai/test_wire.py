"""The pure OpenAI wire codec: requests, messages, replies, streams and errors.

Bodies are checked against the official ``openai`` package's types
(``tests/support/openai_reference.py``) as the reference for the format.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
from tests.support.openai_reference import (
    WireMismatch,
    check_chunk,
    check_request_body,
    check_response_body,
)

# --------------------------------------------------------------------------- strategies

texts = st.text(max_size=40)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
names = st.from_regex(r"[a-zA-Z0-9_-]{1,20}", fullmatch=True)
json_args = st.dictionaries(
    st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=10), st.booleans()), max_size=3
).map(json.dumps)
tool_calls = st.builds(fx.ToolCallRequest, id=ids, name=names, arguments=json_args | texts)
messages = st.one_of(
    st.builds(fx.SystemMessage, content=texts),
    st.builds(fx.UserMessage, content=texts, name=st.none() | names),
    st.builds(
        fx.AssistantMessage,
        content=st.none() | texts,
        tool_calls=st.lists(tool_calls, max_size=3).map(tuple),
        refusal=st.none() | texts,
        name=st.none() | names,
    ),
    st.builds(fx.ToolMessage, tool_call_id=ids, content=texts),
)
schemas = st.sampled_from(
    [
        {"type": "object"},
        {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        {"type": "object", "properties": {"q": {"type": "string"}}, "additionalProperties": False},
    ]
)
specs = st.builds(fx.ToolSpec, name=names, description=texts, parameters=schemas, strict=st.booleans())
params = st.builds(
    fx.ModelParams,
    temperature=st.none() | st.floats(0, 2),
    top_p=st.none() | st.floats(0, 1),
    max_tokens=st.none() | st.integers(1, 4096),
    max_completion_tokens=st.none() | st.integers(1, 4096),
    reasoning_effort=st.none() | st.sampled_from(["low", "medium", "high"]),
    tool_choice=st.none()
    | st.sampled_from(["auto", "none", "required"])
    | names.map(lambda n: {"type": "function", "function": {"name": n}}),
    parallel_tool_calls=st.none() | st.booleans(),
    response_format=st.none() | st.just({"type": "json_object"}),
    stop=st.none() | st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4).map(tuple),
    seed=st.none() | st.integers(0, 2**31),
    presence_penalty=st.none() | st.floats(-2, 2),
    frequency_penalty=st.none() | st.floats(-2, 2),
    user=st.none() | texts,
    metadata=st.none() | st.dictionaries(names, st.text(max_size=10), max_size=3),
)
calls = st.builds(
    fx.ModelCall,
    model=names,
    messages=st.lists(messages, max_size=6).map(tuple),
    tools=st.lists(specs, max_size=3, unique_by=lambda s: s.name).map(tuple),
    params=params,
)
usages = st.builds(fx.Usage, prompt_tokens=st.integers(0, 10**6), completion_tokens=st.integers(0, 10**6))
reply_messages = st.builds(
    fx.AssistantMessage,
    content=st.none() | texts,
    tool_calls=st.lists(tool_calls, max_size=3, unique_by=lambda c: c.id).map(tuple),
    refusal=st.none() | texts,
)
replies = st.builds(
    fx.ModelReply,
    message=reply_messages,
    usage=usages,
    finish_reason=st.sampled_from(["stop", "length", "tool_calls", "content_filter"]),
    model=st.none() | names,
    id=st.none() | ids,
)


def normalised(reply: fx.ModelReply) -> fx.ModelReply:
    """The codec's one normalisation: "" next to tool calls or a refusal is no content."""
    m = reply.message
    if m.content == "" and (m.tool_calls or m.refusal is not None):
        return attrs.evolve(reply, message=attrs.evolve(m, content=None))
    return reply


def stream_decode(chunks: Any, *, step: int = 1) -> tuple[list[fx.RunEvent], fx.ModelReply]:
    stream = fx.openai.OpenAIStream(step=step)
    events: list[fx.RunEvent] = []
    for chunk in chunks:
        events.extend(stream.feed(json.dumps(chunk)))
    events.extend(stream.feed("[DONE]"))
    return events, stream.reply()


# --------------------------------------------------------------------------- messages


@given(messages)
def test_message_round_trip(message: fx.Message) -> None:
    wire = fx.openai.to_openai_message(message)
    assert fx.openai.from_openai_message(wire) == message
    # canonical form is a fixed point in the other direction too
    assert fx.openai.to_openai_message(fx.openai.from_openai_message(wire)) == wire
    # and survives a trip through JSON text
    assert fx.openai.from_openai_message(json.loads(json.dumps(wire))) == message


@given(st.lists(messages, min_size=1, max_size=5))
def test_messages_match_the_official_request_types(batch: list[fx.Message]) -> None:
    check_request_body({"model": "m", "messages": [fx.openai.to_openai_message(m) for m in batch]})


def test_message_shapes() -> None:
    call = fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 1}')
    assert fx.openai.to_openai_message(fx.system("be brief")) == {"role": "system", "content": "be brief"}
    assert fx.openai.to_openai_message(fx.UserMessage(content="hi", name="ann")) == {
        "role": "user",
        "content": "hi",
        "name": "ann",
    }
    assert fx.openai.to_openai_message(
        fx.AssistantMessage(content="ok", tool_calls=(call,), refusal="no")
    ) == {
        "role": "assistant",
        "content": "ok",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
        ],
        "refusal": "no",
    }
    assert fx.openai.to_openai_message(fx.ToolMessage(tool_call_id="c1", content="2")) == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "2",
    }


def test_non_bijective_corners_decode_to_the_nearest_message() -> None:
    # null means absent (except an assistant's content, which is always written)
    assert fx.openai.from_openai_message({"role": "user", "content": "hi", "name": None}) == fx.user("hi")
    assert fx.openai.from_openai_message({"role": "assistant", "tool_calls": None}) == fx.AssistantMessage()
    assert fx.openai.to_openai_message(fx.AssistantMessage()) == {"role": "assistant", "content": None}
    # text parts are concatenated
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert fx.openai.from_openai_message({"role": "system", "content": parts}) == fx.system("ab")
    # an empty tool_calls list is no tool calls; a call without "type" is a function call
    assert fx.openai.from_openai_message(
        {"role": "assistant", "content": "x", "tool_calls": []}
    ) == fx.assistant("x")
    untyped = {"id": "c", "function": {"name": "f", "arguments": "{}"}}
    decoded = fx.openai.from_openai_message({"role": "assistant", "content": None, "tool_calls": [untyped]})
    assert decoded == fx.assistant(None, fx.ToolCallRequest(id="c", name="f", arguments="{}"))


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"role": "developer", "content": "x"}, "$.role", "use a system message"),
        ({"role": "function", "name": "f", "content": "x"}, "$.role", "not supported"),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]},
            "$.content[0]",
            "image_url",
        ),
        ({"role": "user", "content": "x", "audio": {"id": "a"}}, "$", "unexpected key(s) ['audio']"),
        ({"role": "system", "content": "x", "name": "n"}, "$", "unexpected key(s) ['name']"),
        ({"role": "tool", "content": "x"}, "$.tool_call_id", "missing"),
        ({"role": "user"}, "$.content", "missing"),
        ({"role": "user", "content": 3}, "$.content", "int"),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {}}]},
            "$.tool_calls[0].type",
            "function",
        ),
        ("user: hi", "$", "must be an object"),
    ],
)
def test_unrepresentable_messages_are_refused_with_a_path(data: Any, path: str, words: str) -> None:
    with pytest.raises(fx.DecodeError) as info:
        fx.openai.from_openai_message(data)
    assert info.value.path == path
    assert words in str(info.value)


# --------------------------------------------------------------------------- requests


@given(calls)
def test_request_round_trip_and_official_shape(call: fx.ModelCall) -> None:
    for stream in (False, True):
        body = fx.openai.to_openai_request(call, stream=stream)
        check_request_body(body)
        assert fx.openai.from_openai_request(json.loads(json.dumps(body))) == call


def test_nothing_the_caller_set_is_dropped() -> None:
    values: dict[str, Any] = {
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 100,
        "max_completion_tokens": 200,
        "reasoning_effort": "high",
        "tool_choice": {"type": "function", "function": {"name": "add"}},
        "parallel_tool_calls": False,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": {"type": "object"}},
        },
        "stop": ["END", "STOP"],
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "user": "user-1",
        "metadata": {"run": "42"},
    }
    fields = {f.name for f in attrs.fields(fx.ModelParams)} - {"extra"}
    assert set(values) == fields, "a ModelParams field was added: add it to this test"
    call = fx.ModelCall(
        model="gpt-4o-mini",
        messages=[fx.user("hi")],
        params=fx.ModelParams(**values, extra={"top_k": 40, "logit_bias": {"50256": -100}}),
    )
    body = fx.openai.to_openai_request(call)
    for name, value in values.items():
        assert body[name] == value, name
    assert body["top_k"] == 40
    assert body["logit_bias"] == {"50256": -100}
    check_request_body(body, extra={"top_k"})
    assert fx.openai.from_openai_request(body) == call


def test_stream_request_asks_for_usage() -> None:
    body = fx.openai.to_openai_request(fx.ModelCall(model="m", messages=[fx.user("hi")]), stream=True)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "stream" not in fx.openai.to_openai_request(fx.ModelCall(model="m", messages=[fx.user("hi")]))


def test_tools_are_encoded_as_function_tools() -> None:
    spec = fx.ToolSpec(name="add", description="Add.", parameters={"type": "object"}, strict=True)
    body = fx.openai.to_openai_request(fx.ModelCall(model="m", messages=[fx.user("hi")], tools=[spec]))
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "add",
                "description": "Add.",
                "parameters": {"type": "object"},
                "strict": True,
            },
        }
    ]
    assert "tools" not in fx.openai.to_openai_request(fx.ModelCall(model="m", messages=[fx.user("hi")]))


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"temperature": 0.1}, "has its own ModelParams field"),
        ({"stream": True}, "the codec sets itself"),
        ({"messages": []}, "the codec sets itself"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_extra_may_not_say_a_thing_twice(extra: Any, words: str) -> None:
    call = fx.ModelCall(model="m", messages=[fx.user("hi")], params=fx.ModelParams(extra=extra))
    with pytest.raises(fx.ConfigurationError, match=words):
        fx.openai.to_openai_request(call)


def test_stop_as_one_string_decodes_as_a_tuple() -> None:
    call = fx.openai.from_openai_request({"model": "m", "messages": [], "stop": "END"})
    assert call.params.stop == ("END",)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"messages": []}, "$.model"),
        ({"model": "m"}, "$.messages"),
        (
            {"model": "m", "messages": [], "tools": [{"type": "custom", "custom": {"name": "x"}}]},
            "$.tools[0]",
        ),
        ({"model": "m", "messages": [], "temperature": "hot"}, "$"),
        ({"model": "m", "messages": [{"role": "developer", "content": "x"}]}, "$.messages[0].role"),
    ],
)
def test_from_openai_request_refuses_what_it_cannot_represent(body: Any, path: str) -> None:
    with pytest.raises(fx.DecodeError) as info:
        fx.openai.from_openai_request(body)
    assert info.value.path == path


# --------------------------------------------------------------------------- replies


@given(replies)
def test_response_round_trip_and_official_shape(reply: fx.ModelReply) -> None:
    body = fx.openai.to_openai_response(reply, created=1)
    decoded = fx.openai.from_openai_response(json.dumps(body))
    assert decoded == normalised(reply)
    # decoded values are ordinary values: they hash, re-validate and serialise alike
    assert hash(decoded) == hash(normalised(reply))
    assert attrs.evolve(decoded) == decoded
    assert fx.from_json(fx.to_json(decoded)) == decoded
    complete = attrs.evolve(reply, id=reply.id or "chatcmpl-1", model=reply.model or "m")
    parsed = check_response_body(fx.openai.to_openai_response(complete, created=1))
    assert parsed.choices[0].message.content == complete.message.content


def test_decodes_an_openai_tool_call_response() -> None:
    body = {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4.1-2025-04-14",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
                        }
                    ],
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 82,
            "completion_tokens": 17,
            "total_tokens": 99,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_1",
    }
    check_response_body(body)
    reply = fx.openai.from_openai_response(body)
    assert reply == fx.ModelReply(
        message=fx.assistant(
            None, fx.ToolCallRequest(id="call_1", name="get_weather", arguments='{"location":"Paris"}')
        ),
        usage=fx.Usage(prompt_tokens=82, completion_tokens=17),
        finish_reason="tool_calls",
        model="gpt-4.1-2025-04-14",
        id="chatcmpl-abc",
    )


def test_lenient_where_servers_differ() -> None:
    body = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}],
                },
                "finish_reason": None,
            }
        ]
    }
    reply = fx.openai.from_openai_response(body)
    assert reply.message == fx.assistant(
        None, fx.ToolCallRequest(id="call_0", name="f", arguments='{"x": 1}')
    )
    assert reply.finish_reason == "unknown"
    assert reply.usage == fx.Usage()
    assert reply.model is None
    assert reply.id is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b"[]", "not a JSON object"),
        ({"object": "list", "data": []}, "no 'choices' list"),
        ({"choices": []}, "'choices' is empty"),
        ({"choices": [{"index": 0}]}, "no 'message'"),
        ({"choices": [{"message": {"content": 3}}]}, "content"),
        ({"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": -1}}, "non-negative"),
    ],
)
def test_malformed_responses(body: Any, words: str) -> None:
    with pytest.raises(fx.MalformedResponse, match=words) as info:
        fx.openai.from_openai_response(body)
    assert isinstance(info.value, fx.ProviderError)
    assert not info.value.retryable


# --------------------------------------------------------------------------- streams


@given(replies, st.integers(1, 12), st.booleans())
def test_stream_decodes_to_the_same_reply_as_the_response(
    reply: fx.ModelReply, size: int, interleave: bool
) -> None:
    chunks = fx.openai.to_openai_chunks(reply, size=size, interleave=interleave, created=1)
    events, streamed = stream_decode(chunks, step=3)
    assert (
        streamed == fx.openai.from_openai_response(fx.openai.to_openai_response(reply)) == normalised(reply)
    )
    assert hash(streamed) == hash(normalised(reply))
    assert [fx.from_json(fx.to_json(e)) for e in events] == events
    # the deltas add up to the reply, and every event is stamped with the step
    text = "".join(e.text for e in events if isinstance(e, fx.TokenDelta))
    assert text == (reply.message.content or "")
    refusal = "".join(e.text for e in events if isinstance(e, fx.RefusalDelta))
    assert refusal == (reply.message.refusal or "")
    assert all(getattr(e, "step", 3) == 3 for e in events)
    for i, call in enumerate(reply.message.tool_calls):
        started = [e for e in events if isinstance(e, fx.ToolCallStarted) and e.index == i]
        assert started == [fx.ToolCallStarted(step=3, index=i, id=call.id, name=call.name)]
        fragments = [e for e in events if isinstance(e, fx.ToolCallArgumentsDelta) and e.index == i]
        assert "".join(f.text for f in fragments) == call.arguments
        assert all(events.index(started[0]) < events.index(f) for f in fragments)


@given(replies.filter(lambda r: r.id is not None and r.model is not None), st.integers(1, 12))
def test_chunks_match_the_official_chunk_type(reply: fx.ModelReply, size: int) -> None:
    for chunk in fx.openai.to_openai_chunks(reply, size=size, created=1):
        check_chunk(chunk)


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


def test_other_choices_and_data_after_done_are_ignored() -> None:
    stream = fx.openai.OpenAIStream()
    stream.feed(json.dumps({"choices": [{"index": 1, "delta": {"content": "other"}}]}))
    stream.feed(json.dumps(_chunk({"content": "mine"}, "stop")))
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


# --------------------------------------------------------------------------- errors


def _body(
    message: str, *, type: str = "invalid_request_error", code: str | None = None, param: str | None = None
) -> bytes:
    return json.dumps({"error": {"message": message, "type": type, "param": param, "code": code}}).encode()


@pytest.mark.parametrize(
    ("status", "cls", "retryable", "words"),
    [
        (400, fx.BadRequestError, False, "rejected the request for model 'gpt-x' (HTTP 400"),
        (422, fx.BadRequestError, False, "HTTP 422"),
        (413, fx.BadRequestError, False, "HTTP 413"),
        (401, fx.AuthenticationError, False, "check the API key"),
        (403, fx.AuthenticationError, False, "permission denied"),
        (404, fx.NotFoundError, False, "model 'gpt-x' does not exist"),
        (408, fx.ProviderTimeoutError, True, "HTTP 408"),
        (409, fx.ConflictError, True, "HTTP 409"),
        (429, fx.RateLimitError, True, "rate limited"),
        (500, fx.ServerError, True, "HTTP 500"),
        (503, fx.ServerError, True, "HTTP 503"),
        (302, fx.ProviderError, False, "unexpected HTTP status 302"),
    ],
)
def test_status_mapping(status: int, cls: type[fx.ProviderError], retryable: bool, words: str) -> None:
    err = fx.openai.from_openai_error(
        status, {"X-Request-Id": "req_123"}, _body("the reason", code="some_code"), model="gpt-x"
    )
    assert type(err) is cls
    assert err.status == status
    assert err.retryable is retryable
    assert err.code == "some_code"
    assert err.request_id == "req_123"
    assert err.provider_message == "the reason"
    assert words in str(err)
    assert "The server said: the reason" in str(err)
    assert str(err).endswith("[request id req_123]")


def test_bad_request_names_the_parameter() -> None:
    err = fx.openai.from_openai_error(400, {}, _body("Invalid value for 'temperature'.", param="temperature"))
    assert "Invalid value for 'temperature'. (parameter 'temperature')" in str(err)


def test_insufficient_quota_is_not_retryable() -> None:
    err = fx.openai.from_openai_error(
        429, {}, _body("You exceeded your current quota", code="insufficient_quota")
    )
    assert isinstance(err, fx.RateLimitError)
    assert not err.retryable
    assert "retrying will not help" in str(err)


def test_keys_are_redacted() -> None:
    body = _body(
        "Incorrect API key provided: sk-proj-abc1********************wxyz. You can find your key at ..."
    )
    err = fx.openai.from_openai_error(401, {}, body, redact=["topsecret-token"])
    assert "sk-proj" not in str(err)
    assert "wxyz" not in str(err)
    assert "sk-***" in str(err)
    err = fx.openai.from_openai_error(
        401, {}, b"bad header Authorization: Bearer abc.def and topsecret-token", redact=["topsecret-token"]
    )
    assert "abc.def" not in str(err) and "topsecret" not in str(err)
    assert err.provider_message is not None and "topsecret" not in err.provider_message


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (
            b'{"object": "error", "message": "vllm says no", "type": "BadRequestError", "code": 400}',
            "vllm says no",
            "BadRequestError",
        ),
        (b'{"error": "plain string error"}', "plain string error", None),
        (
            b'{"detail": [{"loc": ["body", "model"], "msg": "field required"}]}',
            '[{"loc": ["body", "model"], "msg": "field required"}]',
            None,
        ),
        (b"Service Unavailable", "Service Unavailable", None),
        (b"", None, None),
    ],
)
def test_error_bodies_of_other_servers(body: bytes, message: str | None, code: str | None) -> None:
    err = fx.openai.from_openai_error(400, {}, body)
    assert err.provider_message == message
    assert err.code == code


@pytest.mark.parametrize(
    ("headers", "now", "expected"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, None, 1.5),
        ({"Retry-After": "7"}, None, 7.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 1445412480.0, 30.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1445412500.0, 0.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, None, None),
        ({"retry-after": "soon"}, 0.0, None),
        ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}, None, 1.0),
        (
            {
                "x-ratelimit-reset-requests": "1s",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "6m0s",
            },
            None,
            360.0,
        ),
        ({"x-ratelimit-reset-tokens": "20ms"}, None, 0.02),
        ({"x-ratelimit-reset-tokens": "1h2m3.5s"}, None, 3723.5),
        ({"x-ratelimit-reset-tokens": "later"}, None, None),
        ({}, None, None),
    ],
)
def test_retry_after_from_headers(headers: dict[str, str], now: float | None, expected: float | None) -> None:
    assert fx.openai.retry_after_from_headers(headers, now=now) == pytest.approx(expected)


def test_retry_hint_reaches_the_error() -> None:
    err = fx.openai.from_openai_error(
        429, {"retry-after": "2"}, _body("slow down", code="rate_limit_exceeded")
    )
    assert err.retry_after == 2.0
    assert "wait 2s" in str(err)


@given(st.integers(0, 10**6), st.integers(0, 59), st.integers(0, 999))
def test_duration_headers(minutes: int, seconds: int, millis: int) -> None:
    text = f"{minutes}m{seconds}s" if millis == 0 else f"{minutes}m{seconds}.{millis:03d}s"
    got = fx.openai.retry_after_from_headers({"x-ratelimit-reset-requests": text})
    assert got == pytest.approx(minutes * 60 + seconds + millis / 1000)


def test_reference_checker_catches_mistakes() -> None:
    # The reference check must be able to fail, or the tests above prove nothing.
    with pytest.raises(WireMismatch, match="no key"):
        check_request_body({"model": "m", "messages": [{"role": "user", "content": "x", "nickname": "y"}]})
    with pytest.raises(WireMismatch, match="requires"):
        check_request_body({"messages": []})
    with pytest.raises(WireMismatch):
        check_request_body({"model": "m", "messages": [], "temperature": "hot"})
