"""Every OpenAI decoder is total: any JSON in gives a value or a typed error, never another exception.

A held-out corpus of real traffic is run against main; what we cannot foresee there
must still fail typed (``DecodeError``, ``MalformedResponse`` or another
``ProviderError``) and name where. Hypothesis feeds the decoders wire-shaped JSON:
objects with the keys the codec reads, holding any JSON at all.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx.openai import OpenAIStream, from_openai_message, from_openai_request, from_openai_response

scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=6)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
KEYS = [
    "role", "content", "name", "tool_calls", "tool_call_id", "refusal", "reasoning", "reasoning_content",
    "reasoning_details", "type", "text", "image_url", "url", "detail", "input_audio", "file", "function",
    "arguments", "id", "index", "extra_content", "prefix",
]  # fmt: skip


def shaped(keys: list[str]) -> st.SearchStrategy[Any]:
    """Objects using the codec's own keys (so decoding gets deep), with any values."""
    return st.recursive(
        st.dictionaries(st.sampled_from(keys), anything, max_size=5),
        lambda inner: st.dictionaries(
            st.sampled_from(keys), inner | st.lists(inner, max_size=3) | anything, max_size=5
        ),
        max_leaves=12,
    )


messages = shaped(KEYS)
bodies = st.fixed_dictionaries(
    {"model": st.text(max_size=4) | anything, "messages": st.lists(messages, max_size=3) | anything},
    optional={
        "tools": st.lists(
            shaped(["type", "function", "name", "parameters", "strict", "description"]), max_size=2
        )
        | anything,
        "tool_choice": anything,
        "stop": anything,
        "temperature": anything,
        "stream_options": anything,
    },
)
replies = st.fixed_dictionaries(
    {},
    optional={
        "choices": st.lists(shaped([*KEYS, "message", "delta", "finish_reason", "logprobs"]), max_size=2)
        | anything,
        "usage": shaped(
            ["prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "cached_tokens"]
        )
        | anything,
        "id": anything,
        "model": anything,
        "error": anything,
        "x_groq": shaped(["usage", "id"]) | anything,
        "object": anything,
    },
)


@given(messages)
def test_any_message_decodes_or_fails_typed(data: Any) -> None:
    try:
        message = from_openai_message(data)
    except fx.DecodeError:
        return
    assert fx.from_json(fx.to_json(message)) == message


@given(bodies)
def test_any_request_body_decodes_or_fails_typed(body: Any) -> None:
    try:
        call = from_openai_request(body)
    except fx.DecodeError:
        return
    assert fx.openai.from_openai_request(fx.openai.to_openai_request(call)) == call


@given(replies)
def test_any_reply_body_decodes_or_fails_typed(body: Any) -> None:
    try:
        reply = from_openai_response(json.dumps(body))
    except fx.ProviderError:  # MalformedResponse, StreamInterrupted, or the error the body holds
        return
    assert fx.from_json(fx.to_json(reply)) == reply


@given(st.lists(replies, max_size=4))
def test_any_stream_folds_or_fails_typed(chunks: list[Any]) -> None:
    stream = OpenAIStream()
    try:
        for chunk in chunks:
            stream.feed(json.dumps(chunk))
        stream.feed("[DONE]")
        reply = stream.reply()
    except fx.ProviderError:
        return
    assert fx.from_json(fx.to_json(reply)) == reply
