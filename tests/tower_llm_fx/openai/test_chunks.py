"""tower_llm_fx.openai._chunks: a reply as the chunks a server streams (checked against the official types)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
from tests.support.openai_reference import check_chunk
from tests.tower_llm_fx.openai._helpers import replies


@given(replies.filter(lambda r: r.id is not None and r.model is not None), st.integers(1, 12))
def test_chunks_match_the_official_chunk_type(reply: fx.ModelReply, size: int) -> None:
    for chunk in fx.openai.to_openai_chunks(reply, size=size, created=1):
        check_chunk(chunk)


def test_the_shape_is_openais_and_usage_comes_last() -> None:
    reply = fx.ModelReply(
        message=fx.assistant("Hello!"), usage=fx.Usage(prompt_tokens=3, completion_tokens=2)
    )
    chunks = fx.openai.to_openai_chunks(reply, size=3)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["Hel", "lo!"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 5
    assert "usage" not in fx.openai.to_openai_chunks(reply, include_usage=False)[-1]
    with pytest.raises(ValueError, match="size must be at least 1"):
        fx.openai.to_openai_chunks(reply, size=0)


def test_parts_reasoning_and_extras_are_streamed_as_servers_do() -> None:
    message = fx.AssistantMessage(
        content=(fx.TextPart(text="ab"), fx.OtherPart(kind="x_note", extra={"n": 1})),
        reasoning=fx.Reasoning(text="hm", raw={"reasoning_content": "hm"}),
        extra={"annotations": []},
    )
    chunks = fx.openai.to_openai_chunks(fx.ModelReply(message=message, extra={"created": 5}), size=1)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": [], "annotations": []}
    assert [d.get("reasoning_content") for d in deltas[1:3]] == ["h", "m"]
    assert deltas[3:6] == [
        {"content": [{"type": "text", "text": "a"}]},
        {"content": [{"type": "text", "text": "b"}]},
        {"content": [{"type": "x_note", "n": 1}]},
    ]
    assert all(c["created"] == 5 for c in chunks)
    stream = fx.openai.OpenAIStream()
    for c in chunks:
        stream.feed(json.dumps(c))
    stream.feed("[DONE]")
    assert stream.reply().message == message
