"""The items codec: messages <-> run items, exact round trips and the documented corners."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst

CALL = fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 1, "b": 2}')


def test_assistant_tool_calls_become_items_after_the_assistant_item() -> None:
    # tower-llm's maps_assistant_tool_calls_to_items
    items = fx.messages_to_items(
        [fx.user("hi"), fx.assistant(None, CALL), fx.ToolMessage(tool_call_id="c1", content="3")]
    )
    assert items == (
        fx.MessageItem(role="user", content="hi"),
        fx.MessageItem(role="assistant", content=None),
        fx.ToolCallItem(id="c1", name="add", arguments='{"a": 1, "b": 2}'),
        fx.ToolOutputItem(tool_call_id="c1", output="3"),
    )


def test_every_message_field_survives() -> None:
    messages = (
        fx.system("sys"),
        fx.UserMessage(content="hi", name="ada"),
        fx.AssistantMessage(content="", tool_calls=(CALL,), refusal=None, name="bot"),
        fx.ToolMessage(tool_call_id="c1", content="not json at all"),
        fx.AssistantMessage(content=None, refusal="No."),
        fx.AssistantMessage(content="text"),
    )
    assert fx.items_to_messages(fx.messages_to_items(messages)) == messages


def test_arguments_and_outputs_are_kept_as_text_not_reserialised() -> None:
    # tower-llm parsed them as JSON values: key order, spacing and quoting changed.
    call = fx.ToolCallRequest(id="c1", name="f", arguments='{"b": 1,   "a": 2}')
    items = fx.messages_to_items(
        [fx.assistant(None, call), fx.ToolMessage(tool_call_id="c1", content="hello world")]
    )
    assert items[1] == fx.ToolCallItem(id="c1", name="f", arguments='{"b": 1,   "a": 2}')
    assert items[2] == fx.ToolOutputItem(tool_call_id="c1", output="hello world")


def test_conversion_is_deterministic() -> None:
    # tower-llm stamped a fresh UUID and the clock on every item.
    messages = (fx.user("hi"), fx.assistant("hello"))
    assert fx.messages_to_items(messages) == fx.messages_to_items(messages)


def test_an_empty_tool_call_id_is_data_not_an_error() -> None:
    items = fx.messages_to_items([fx.ToolMessage(tool_call_id="", content="x")])
    assert items == (fx.ToolOutputItem(tool_call_id="", output="x"),)


def test_handoff_items_have_no_message_form() -> None:
    items = (
        fx.MessageItem(role="user", content="hi"),
        fx.HandoffItem(from_agent="triage", to_agent="billing"),
    )
    assert fx.items_to_messages(items) == (fx.user("hi"),)
    assert not fx.items_are_canonical(items)


def test_stray_tool_calls_get_an_assistant_message_instead_of_vanishing() -> None:
    items = (
        fx.MessageItem(role="user", content="hi"),
        fx.ToolCallItem(id="c1", name="add"),
        fx.ToolCallItem(id="c2", name="add"),
        fx.ToolOutputItem(tool_call_id="c1", output="1"),
        fx.ToolCallItem(id="c3", name="add"),
    )
    messages = fx.items_to_messages(items)
    assert [type(m).__name__ for m in messages] == [
        "UserMessage",
        "AssistantMessage",
        "ToolMessage",
        "AssistantMessage",
    ]
    assert [c.id for c in messages[1].tool_calls] == ["c1", "c2"]  # type: ignore[union-attr]
    assert not fx.items_are_canonical(items)


def test_output_errors_are_dropped_by_a_trip_through_messages() -> None:
    items = (fx.ToolOutputItem(tool_call_id="c1", output="error (tool_raised): boom", error="boom"),)
    assert fx.items_to_messages(items) == (
        fx.ToolMessage(tool_call_id="c1", content="error (tool_raised): boom"),
    )
    assert fx.messages_to_items(fx.items_to_messages(items)) == (
        fx.ToolOutputItem(tool_call_id="c1", output="error (tool_raised): boom"),
    )


def test_message_items_are_validated() -> None:
    with pytest.raises(ValueError, match="needs content"):
        fx.MessageItem(role="user")
    with pytest.raises(ValueError, match="refusal"):
        fx.MessageItem(role="user", content="x", refusal="no")
    with pytest.raises(ValueError, match="only assistant MessageItems carry reasoning"):
        fx.MessageItem(role="user", content="x", reasoning=fx.Reasoning(text="hmm"))
    # system and developer messages may carry a name (OpenAI documents one)
    assert fx.MessageItem(role="developer", content="x", name="n").name == "n"
    with pytest.raises(ValueError):
        fx.MessageItem(role="tool", content="x")  # type: ignore[arg-type]


def test_non_messages_are_rejected_with_a_hint() -> None:
    with pytest.raises(TypeError, match="takes messages"):
        fx.messages_to_items([{"role": "user", "content": "hi"}])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="takes run items"):
        fx.items_to_messages([fx.user("hi")])  # type: ignore[list-item]


# --------------------------------------------------------------------------- properties


@given(st.lists(fxst.messages(), max_size=10).map(tuple))
def test_messages_to_items_and_back_is_the_identity_for_any_messages(
    messages: tuple[fx.Message, ...],
) -> None:
    items = fx.messages_to_items(messages)
    assert fx.items_are_canonical(items)
    assert fx.items_to_messages(items) == messages


@given(fxst.conversations(policy=fx.validation.ValidationPolicy.strict()))
def test_items_from_messages_round_trip_exactly(messages: tuple[fx.Message, ...]) -> None:
    items = fx.messages_to_items(messages)
    assert fx.messages_to_items(fx.items_to_messages(items)) == items
    assert len(items) == len(messages) + sum(
        len(m.tool_calls) for m in messages if isinstance(m, fx.AssistantMessage)
    )


@given(fxst.run_items())
def test_canonical_items_round_trip_and_every_other_sequence_is_normalised_once(
    items: tuple[fx.RunItem, ...],
) -> None:
    once = fx.messages_to_items(fx.items_to_messages(items))
    assert (once == items) == fx.items_are_canonical(items)
    assert fx.items_are_canonical(once)
    assert fx.messages_to_items(fx.items_to_messages(once)) == once


@given(fxst.run_items())
def test_only_the_documented_corners_change(items: tuple[fx.RunItem, ...]) -> None:
    # Reference normalisation: drop handoffs, drop output errors, give stray calls an assistant.
    expected: list[fx.RunItem] = []
    in_assistant = False
    for item in items:
        if isinstance(item, fx.HandoffItem):
            continue
        if isinstance(item, fx.ToolCallItem) and not in_assistant:
            expected.append(fx.MessageItem(role="assistant", content=None))
        if isinstance(item, fx.ToolOutputItem):
            item = fx.ToolOutputItem(tool_call_id=item.tool_call_id, output=item.output, extra=item.extra)
        if isinstance(item, fx.MessageItem):
            in_assistant = item.role == "assistant"
        elif isinstance(item, fx.ToolOutputItem):
            in_assistant = False
        elif isinstance(item, fx.ToolCallItem):
            in_assistant = True
        expected.append(item)
    assert fx.messages_to_items(fx.items_to_messages(items)) == tuple(expected)


@given(st.data())
def test_validity_is_preserved_through_items(data: st.DataObject) -> None:
    policy = data.draw(fxst.validation_policies())
    tools = (fx.ToolSpec(name="get_time"),)
    messages = data.draw(fxst.conversations(policy=policy, tools=tools))
    back = fx.items_to_messages(fx.messages_to_items(messages))
    assert fx.validation.validate_conversation(back, policy, tools=tools) == ()


@given(fxst.run_items())
def test_items_round_trip_through_json(items: tuple[fx.RunItem, ...]) -> None:
    assert fx.from_json(json.loads(json.dumps(fx.to_json(items)))) == items
