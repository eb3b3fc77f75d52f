"""tower_llm_fx.openai._messages: one message each way, its non-bijective corners, refusals.

Bodies are checked against the official ``openai`` package's types
(``tests/support/openai_reference.py``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
from tests.support.openai_reference import (
    check_request_body,
)
from tests.tower_llm_fx.openai._helpers import (
    messages,
    plain_messages,
    specs,
)


@given(messages)
def test_message_round_trip(message: fx.Message) -> None:
    wire = fx.openai.to_openai_message(message)
    assert fx.openai.from_openai_message(wire) == message
    # canonical form is a fixed point in the other direction too
    assert fx.openai.to_openai_message(fx.openai.from_openai_message(wire)) == wire
    # and survives a trip through JSON text
    assert fx.openai.from_openai_message(json.loads(json.dumps(wire))) == message


@given(st.lists(plain_messages, min_size=1, max_size=5))
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
    # text parts stay parts (not joined): a list of parts is not one string
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    decoded_parts = fx.openai.from_openai_message({"role": "system", "content": parts})
    assert decoded_parts == fx.system(fx.TextPart(text="a"), fx.TextPart(text="b"))
    assert fx.openai.to_openai_message(decoded_parts)["content"] == parts
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
        ({"role": "function", "name": "f", "content": "x"}, "$.role", "legacy function role"),
        ({"role": "wizard", "content": "x"}, "$.role", "not supported"),
        ({"role": "user", "content": [3]}, "$.content[0]", "must be an object"),
        ({"role": "user", "content": [{"text": "no type"}]}, "$.content[0].type", "string 'type'"),
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


def test_real_traffic_shapes_are_kept_whole() -> None:
    """Shapes from providers' documentation: decode, re-encode, compare."""
    shapes: list[dict[str, Any]] = [
        {"role": "developer", "content": "Be terse.", "name": "ops"},
        {"role": "system", "content": "x", "name": "n"},
        {"role": "user", "content": "x", "audio": {"id": "a"}},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
                {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "high"}},
                {
                    "type": "image_url",
                    "image_url": "https://x/bare-string.png",
                },  # some servers accept a string
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-abc"}},
                {
                    "type": "file",
                    "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
                },
                {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}},
                {"type": "document_url", "document_url": "https://x/d.pdf"},
            ],
        },
        # Mistral: a prefix message and thinking parts
        {"role": "assistant", "content": "Sure! ", "prefix": True},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": [{"type": "text", "text": "2+2..."}]},
                {"type": "text", "text": "4"},
            ],
        },
        # DeepSeek / OpenRouter / Groq reasoning fields
        {"role": "assistant", "content": "4", "reasoning_content": "2+2=4"},
        {
            "role": "assistant",
            "content": "4",
            "reasoning": "sum",
            "reasoning_details": [{"type": "reasoning.text", "text": "sum"}],
        },
        # Gemini: the thought signature rides on the tool call
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "f", "arguments": "{}"},
                    "extra_content": {"google": {"thought_signature": "c2ln"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "ok", "name": "f"},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "ok"}]},
    ]
    for shape in shapes:
        decoded = fx.openai.from_openai_message(shape)
        assert fx.openai.to_openai_message(decoded) == shape, shape
        assert fx.from_json(fx.to_json(decoded)) == decoded
    reasoning = fx.openai.from_openai_message(shapes[6])
    assert isinstance(reasoning, fx.AssistantMessage) and reasoning.reasoning == fx.Reasoning(
        text="2+2=4", raw={"reasoning_content": "2+2=4"}
    )
    parts = fx.openai.from_openai_message(shapes[3]).content
    assert isinstance(parts, tuple)
    assert [type(p).__name__ for p in parts] == [
        "TextPart", "TextPart", "ImagePart", "OtherPart", "AudioPart", "FilePart", "FilePart", "OtherPart", "OtherPart",
    ]  # fmt: skip


def test_an_extra_that_says_a_field_twice_is_refused() -> None:
    with pytest.raises(fx.ConfigurationError, match="extra sets 'content'"):
        fx.openai.to_openai_message(fx.UserMessage(content="hi", extra={"content": "again"}))
    with pytest.raises(fx.ConfigurationError, match="extra sets 'arguments'"):
        fx.openai.to_openai_message(
            fx.assistant(None, fx.ToolCallRequest(id="c", name="f", extra={"function": {"arguments": "{}"}}))
        )


def test_tool_leaves_out_what_the_api_defaults_to() -> None:
    """An empty description and ``strict=False`` are not written; set ones are."""
    bare = fx.openai.to_openai_tool(fx.ToolSpec(name="now"))
    assert bare["type"] == "function"
    assert set(bare["function"]) == {"name", "parameters"}
    full = fx.openai.to_openai_tool(fx.ToolSpec(name="now", description="Time.", strict=True))
    assert full["function"]["description"] == "Time."
    assert full["function"]["strict"] is True


@given(specs)
def test_tool_round_trips_through_a_request(spec: fx.ToolSpec) -> None:
    """A spec encoded by `to_openai_tool` decodes back to itself inside a request body."""
    body = {"model": "m", "messages": [], "tools": [fx.openai.to_openai_tool(spec)]}
    assert fx.openai.from_openai_request(json.loads(json.dumps(body))).tools == (spec,)


def test_to_openai_message_refuses_a_non_message() -> None:
    """Anything but the four message classes is a TypeError naming the type."""
    with pytest.raises(TypeError, match="got str"):
        fx.openai.to_openai_message("hi")  # type: ignore[arg-type]
