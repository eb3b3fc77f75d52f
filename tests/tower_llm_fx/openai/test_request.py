"""tower_llm_fx.openai._request: request bodies, Rule 1 (nothing set is dropped), refusals.

Bodies are checked against the official ``openai`` package's types
(``tests/support/openai_reference.py``).
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given

import tower_llm_fx as fx
import tower_llm_fx.openai
from tests.support.openai_reference import (
    check_request_body,
)
from tests.tower_llm_fx.openai._helpers import (
    calls,
    plain_calls,
)


@given(plain_calls)
def test_request_round_trip_and_official_shape(call: fx.ModelCall) -> None:
    for stream in (False, True):
        body = fx.openai.to_openai_request(call, stream=stream)
        check_request_body(body)
        assert fx.openai.from_openai_request(json.loads(json.dumps(body))) == call


@given(calls)
def test_every_request_round_trips_both_ways(call: fx.ModelCall) -> None:
    for stream in (False, True):
        body = fx.openai.to_openai_request(call, stream=stream)
        decoded = fx.openai.from_openai_request(json.loads(json.dumps(body)))
        assert decoded == call
        assert fx.openai.to_openai_request(decoded, stream=stream) == body


def test_stream_options_are_the_callers_when_set() -> None:
    mine = {"include_usage": False, "include_obfuscation": False}
    call = fx.ModelCall(
        model="m", messages=[fx.user("hi")], params=fx.ModelParams(extra={"stream_options": mine})
    )
    body = fx.openai.to_openai_request(call, stream=True)
    assert body["stream_options"] == mine
    assert fx.openai.from_openai_request(body) == call
    # without stream_options the codec asks for usage (or not, with stream_usage=False)
    plain = attrs.evolve(call, params=fx.ModelParams())
    assert fx.openai.to_openai_request(plain, stream=True)["stream_options"] == {"include_usage": True}
    assert "stream_options" not in fx.openai.to_openai_request(plain, stream=True, stream_usage=False)
    # the codec's own default is recognised on decode; without "stream" it is the caller's
    assert fx.openai.from_openai_request(fx.openai.to_openai_request(plain, stream=True)) == plain
    kept = fx.openai.from_openai_request(
        {"model": "m", "messages": [], "stream_options": {"include_usage": True}}
    )
    assert kept.params.extra == '{"stream_options":{"include_usage":true}}'


def test_tools_of_every_kind_are_kept() -> None:
    body = {
        "model": "mistral-large-latest",
        "messages": [{"role": "user", "content": "weather?"}],
        "tools": [
            # Mistral sends function tools without "type"; Anthropic-style keys ride along
            {"function": {"name": "weather", "parameters": {"type": "object"}}},
            {
                "type": "function",
                "function": {
                    "name": "now",
                    "description": "",
                    "parameters": {"type": "object"},
                    "strict": False,
                },
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "openrouter:web_search", "parameters": {"max_results": 3}},
        ],
        "tool_choice": "any",
    }
    call = fx.openai.from_openai_request(body)
    assert [t.name for t in call.tools] == ["weather", "now"]
    assert call.provider_tools == ('{"parameters":{"max_results":3},"type":"openrouter:web_search"}',)
    assert call.params.tool_choice == fx.ToolChoice(mode="any")
    again = fx.openai.to_openai_request(call)
    assert again["tools"][1:] == body["tools"][1:]
    tools: Any = body["tools"]
    first: dict[str, Any] = tools[0]
    assert again["tools"][0] == {"type": "function", **first}  # the one normalisation


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
            {
                "model": "m",
                "messages": [],
                "tools": [{"type": "web_search"}, {"type": "function", "function": {"name": "f"}}],
            },
            "$.tools[1]",
        ),
        ({"model": "m", "messages": [], "tools": [{"type": 3}]}, "$.tools[0].type"),
        ({"model": "m", "messages": [], "temperature": "hot"}, "$"),
        ({"model": "m", "messages": [{"role": "function", "content": "x"}]}, "$.messages[0].role"),
    ],
)
def test_from_openai_request_refuses_what_it_cannot_represent(body: Any, path: str) -> None:
    with pytest.raises(fx.DecodeError) as info:
        fx.openai.from_openai_request(body)
    assert info.value.path == path
