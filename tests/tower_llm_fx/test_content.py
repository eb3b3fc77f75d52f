"""tower_llm_fx._content: content parts, the content converters, ``text_of``, the helpers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tests.tower_llm_fx.openai._helpers import contents, parts
from tower_llm_fx._content import json_object_or_none


def test_a_string_stays_a_string_and_a_sequence_becomes_parts() -> None:
    assert fx.UserMessage(content="hi").content == "hi"
    m = fx.UserMessage(content=["look", fx.image("https://x/a.png")])
    assert m.content == (fx.TextPart(text="look"), fx.ImagePart(url="https://x/a.png"))
    assert fx.user("look", fx.image("https://x/a.png")) == m
    assert fx.user("hi").content == "hi"  # one string: not a part
    assert fx.user(fx.TextPart(text="hi")).content == (fx.TextPart(text="hi"),)


@pytest.mark.parametrize("bad", [3, b"bytes", [3], [{"type": "text", "text": "x"}]])
def test_anything_else_is_refused_with_what_to_use(bad: Any) -> None:
    with pytest.raises(TypeError, match="content"):
        fx.UserMessage(content=bad)


def test_text_of_joins_the_text_parts_only() -> None:
    content = (fx.TextPart(text="a"), fx.image("https://x/y.png"), fx.TextPart(text="b"))
    assert fx.text_of(content) == "a\nb"
    assert fx.text_of("plain") == "plain"
    assert fx.text_of(None) == ""
    assert fx.AssistantMessage(content=content).text == "a\nb"
    assert fx.AssistantMessage().text is None


def test_helpers_check_what_the_api_documents() -> None:
    with pytest.raises(ValueError, match="detail must be one of"):
        fx.image("https://x/y.png", detail="ultra")
    with pytest.raises(ValueError, match=r"file_id .* or data"):
        fx.file()
    assert fx.file(data="data:application/pdf;base64,JVBE", filename="a.pdf").filename == "a.pdf"
    assert fx.audio("UklGRg==", "wav") == fx.AudioPart(data="UklGRg==", format="wav")


def test_extra_is_a_canonical_json_object_and_empty_means_none() -> None:
    assert json_object_or_none({"b": 1, "a": 2}) == '{"a":2,"b":1}'
    assert json_object_or_none('{"b": 1}') == '{"b":1}'
    assert json_object_or_none({}) is None
    with pytest.raises(ValueError, match="JSON object"):
        json_object_or_none([1])
    part = fx.OtherPart(kind="video_url", extra={"video_url": {"url": "https://v"}})
    assert part.fields() == {"video_url": {"url": "https://v"}}
    assert fx.OtherPart(kind="x").fields() == {}


@given(parts)
def test_every_part_round_trips_through_json_and_hashes(part: fx.ContentPart) -> None:
    assert fx.from_json(fx.to_json(part)) == part
    assert hash(part) == hash(fx.from_json(fx.to_json(part)))


@given(contents, st.sampled_from([fx.UserMessage, fx.SystemMessage, fx.DeveloperMessage]))
def test_messages_of_any_content_round_trip(content: Any, cls: Any) -> None:
    message = cls(content=content)
    assert fx.from_json(fx.to_json(message)) == message
