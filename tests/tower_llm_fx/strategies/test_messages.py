"""Message strategies (``strategies/_messages.py``): single messages of each role,
their knobs, and the atoms (names, tool names, call ids, JSON objects) other
strategies build on, which must be what the API accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.strategies._messages import json_objects


@given(st.lists(fxst.messages(), max_size=6))
def test_messages_are_valid_values(messages: list[fx.Message]) -> None:
    assert fx.from_json(fx.to_json(messages)) == tuple(messages)


@given(
    fxst.user_messages(),
    fxst.tool_call_requests(arguments=json_objects()),
    fxst.system_messages(),
)
def test_names_tool_names_and_ids_are_what_the_api_accepts(
    user: fx.UserMessage, call: fx.ToolCallRequest, system: fx.SystemMessage
) -> None:
    """Under the default policy (the API's rules: name patterns, id length) these form a valid exchange."""
    answer = fx.ToolMessage(tool_call_id=call.id, content="ok")
    messages = (system, user, fx.AssistantMessage(tool_calls=(call,)), answer)
    strict_args = fx.validation.ValidationPolicy(check_tool_arguments=True)
    assert fx.validation.validate_conversation(messages, strict_args) == ()


@given(json_objects())
def test_json_objects_are_json_object_text(text: str) -> None:
    value = json.loads(text)
    assert isinstance(value, dict) and len(value) <= 3
    assert fx.validation.arguments_problem(text) is None


@given(fxst.assistant_messages(st.just("x"), max_tool_calls=2))
def test_assistant_messages_honour_their_knobs(m: fx.AssistantMessage) -> None:
    assert len(m.tool_calls) <= 2
    assert m.content in (None, "x") and m.refusal in (None, "x")


@given(
    st.one_of(
        fxst.system_messages(st.just("s")),
        fxst.user_messages(st.just("s")),
        fxst.tool_messages(st.just("s"), ids=st.just("call_7")),
    )
)
def test_content_and_id_strategies_are_used(m: fx.Message) -> None:
    assert m.content == "s"
    if isinstance(m, fx.ToolMessage):
        assert m.tool_call_id == "call_7"


@given(
    fxst.tool_call_requests(ids=st.just("x"), names=st.just("lookup"), arguments=st.just("{}"), extras=False)
)
def test_tool_call_requests_honour_their_knobs(call: fx.ToolCallRequest) -> None:
    assert call == fx.ToolCallRequest(id="x", name="lookup", arguments="{}")


def test_messages_draw_every_role() -> None:
    seen: set[str] = set()

    @given(fxst.messages())
    def record(m: fx.Message) -> None:
        seen.add(m.role)

    record()
    assert seen == {"system", "developer", "user", "assistant", "tool"}


# --------------------------------------------------------------------------- the widened model

_FIND = settings(database=None, max_examples=500, phases=[Phase.generate])


@given(fxst.messages())
def test_every_message_round_trips_through_json_and_the_openai_codec(message: fx.Message) -> None:
    assert fx.from_json(json.loads(json.dumps(fx.to_json(message)))) == message
    wire = json.loads(json.dumps(fx.openai.to_openai_message(message)))
    assert fx.openai.from_openai_message(wire) == message


@given(fxst.content_parts())
def test_content_parts_are_parts_the_api_accepts(part: fx.ContentPart) -> None:
    assert fx.validation.part_problem(part) is None
    assert fx.from_json(fx.to_json(part)) == part


@pytest.mark.parametrize("kind", [fx.TextPart, fx.ImagePart, fx.AudioPart, fx.FilePart, fx.OtherPart])
def test_content_parts_draw_every_kind_and_honour_types(kind: type[Any]) -> None:
    assert isinstance(find(fxst.content_parts(), lambda p: isinstance(p, kind), settings=_FIND), kind)

    @given(fxst.content_parts(types=(kind,)))
    def only(part: fx.ContentPart) -> None:
        assert type(part) is kind

    only()


def test_bad_knobs_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one part type"):
        fxst.content_parts(types=())
    with pytest.raises(ValueError, match="not a content part type"):
        fxst.content_parts(types=(fx.UserMessage,))
    with pytest.raises(ValueError, match="max_parts"):
        fxst.contents(max_parts=-1)


@given(fxst.contents(text=st.just("t"), parts=fxst.content_parts(types=(fx.ImagePart,)), max_parts=2))
def test_contents_are_text_or_one_to_max_parts(content: str | tuple[fx.ContentPart, ...]) -> None:
    if isinstance(content, str):
        assert content == "t"
    else:
        assert 1 <= len(content) <= 2 and all(isinstance(p, fx.ImagePart) for p in content)


def test_plain_text_stays_the_common_case() -> None:
    # A fixed sample of draws: most content is a string, and some is parts.
    seen: list[bool] = []

    @settings(database=None, max_examples=200, phases=[Phase.generate], derandomize=True)
    @given(fxst.user_messages())
    def record(m: fx.UserMessage) -> None:
        seen.append(isinstance(m.content, str))

    record()
    assert 0.5 < sum(seen) / len(seen) < 0.98


@given(fxst.contents(max_parts=0))
def test_contents_without_parts_are_strings(content: object) -> None:
    assert isinstance(content, str)


@given(
    st.one_of(
        fxst.system_messages(parts=False, extras=False),
        fxst.developer_messages(parts=False, extras=False),
        fxst.user_messages(parts=False, extras=False),
        fxst.assistant_messages(parts=False, extras=False, reasoning=False),
        fxst.tool_messages(parts=False, extras=False),
        fxst.messages(parts=False, extras=False),
    )
)
def test_the_opt_outs_draw_the_plain_model(m: fx.Message) -> None:
    assert m.content is None or isinstance(m.content, str)
    assert m.extra is None
    if isinstance(m, fx.AssistantMessage):
        assert m.reasoning is None and all(c.extra is None for c in m.tool_calls)


@given(fxst.reasonings())
def test_reasonings_read_as_the_openai_codec_reads_them(reasoning: fx.Reasoning) -> None:
    assert reasoning.raw is not None
    wire = {"role": "assistant", "content": "ok", **json.loads(reasoning.raw)}
    decoded = fx.openai.from_openai_message(wire)
    assert isinstance(decoded, fx.AssistantMessage) and decoded.reasoning == reasoning


@pytest.mark.parametrize(
    ("strategy", "found"),
    [
        (fxst.messages(), lambda m: isinstance(m, fx.DeveloperMessage)),
        (fxst.assistant_messages(), lambda m: m.reasoning is not None and m.reasoning.text is None),
        (fxst.assistant_messages(), lambda m: any(c.extra is not None for c in m.tool_calls)),
        (fxst.user_messages(), lambda m: m.extra is not None),
        (fxst.tool_messages(), lambda m: isinstance(m.content, tuple)),
    ],
)
def test_the_new_shapes_are_drawn(strategy: st.SearchStrategy[Any], found: Any) -> None:
    assert found(find(strategy, found, settings=_FIND))


@given(fxst.developer_messages(st.just("d")))
def test_developer_messages_honour_content(m: fx.DeveloperMessage) -> None:
    assert m.role == "developer" and m.content == "d"
