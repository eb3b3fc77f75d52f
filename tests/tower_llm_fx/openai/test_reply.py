"""tower_llm_fx.openai._reply: ``chat.completion`` bodies both ways, leniency, malformed bodies.

Bodies are checked against the official ``openai`` package's types
(``tests/support/openai_reference.py``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import pytest
from hypothesis import given

import tower_llm_fx as fx
import tower_llm_fx.openai
from tests.support.openai_reference import (
    check_response_body,
)
from tests.tower_llm_fx.openai._helpers import (
    normalised,
    replies,
    rich_replies,
)


@given(replies | rich_replies)
def test_response_round_trip_and_official_shape(reply: fx.ModelReply) -> None:
    body = fx.openai.to_openai_response(reply)
    decoded = fx.openai.from_openai_response(json.dumps(body))
    assert decoded == normalised(reply)
    # decoded values are ordinary values: they hash, re-validate and serialise alike
    assert hash(decoded) == hash(normalised(reply))
    assert attrs.evolve(decoded) == decoded
    assert fx.from_json(fx.to_json(decoded)) == decoded
    # with created= the body is a complete one, and the server's created is kept
    created = fx.openai.from_openai_response(fx.openai.to_openai_response(reply, created=7))
    assert json.loads(created.extra or "{}")["created"] == json.loads(reply.extra or '{"created": 7}').get(
        "created", 7
    )


@given(replies)
def test_openai_shaped_replies_match_the_official_type(reply: fx.ModelReply) -> None:
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
        message=fx.AssistantMessage(
            tool_calls=(
                fx.ToolCallRequest(id="call_1", name="get_weather", arguments='{"location":"Paris"}'),
            ),
            extra={"annotations": []},
        ),
        usage=fx.Usage(prompt_tokens=82, completion_tokens=17, cached_tokens=0, prompt_audio_tokens=0),
        finish_reason="tool_calls",
        model="gpt-4.1-2025-04-14",
        id="chatcmpl-abc",
        extra={"created": 1741569952, "service_tier": "default", "system_fingerprint": "fp_1"},
    )
    # and nothing is lost: encoding it again gives the body back (nulls are "absent")
    again = fx.openai.to_openai_response(reply)
    choices: Any = body["choices"]
    assert again["choices"][0]["message"] == {**choices[0]["message"], "refusal": None}
    assert again["usage"] == body["usage"]
    assert {k: again[k] for k in body} == body


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


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": 7}, "'id' must be a string"),
        ({"model": ["m"]}, "'model' must be a string"),
        ({"choices": [{"message": {"role": "assistant", "content": "x", "name": 3}}]}, "'message.name'"),
        ({"choices": [{"message": {"content": "x"}, "finish_reason": 1}]}, "'choices[0].finish_reason'"),
        (
            {
                "choices": [
                    {"message": {"tool_calls": [{"id": 1, "function": {"name": "f", "arguments": "{}"}}]}}
                ]
            },
            "'message.tool_calls[0].id'",
        ),
        (
            {"choices": [{"message": {"tool_calls": [{"type": "custom", "function": {"name": "f"}}]}}]},
            "'message.tool_calls[0].type' is 'custom'",
        ),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_by_name_never_dropped(
    change: dict[str, Any], field: str
) -> None:
    body: dict[str, Any] = {"choices": [{"message": {"role": "assistant", "content": "hi"}}], **change}
    with pytest.raises(fx.MalformedResponse, match=re.escape(field)):
        fx.openai.from_openai_response(body)
