"""`tower_llm_fx._messages`: the message values and the tool call requests inside them.

Covers: each message's fixed ``role`` (not settable), validation of every field, ``tool_calls``
normalised to a tuple, value equality and hashing, the ``system``/``user``/``assistant`` shorthands,
raw tool-call arguments kept verbatim and `ToolCallRequest.parsed_arguments`.
JSON round trips of messages are in test_serde.py; the OpenAI wire form in openai/test_wire.py.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx import strategies as fxst


def test_tool_call_arguments_parsing() -> None:
    assert fx.ToolCallRequest(id="1", name="t", arguments="").parsed_arguments() == {}
    with pytest.raises(ValueError, match="JSON object"):
        fx.ToolCallRequest(id="1", name="t", arguments="[1]").parsed_arguments()


@pytest.mark.parametrize(
    ("message", "role"),
    [
        (fx.SystemMessage(content="s"), "system"),
        (fx.UserMessage(content="u"), "user"),
        (fx.AssistantMessage(content="a"), "assistant"),
        (fx.ToolMessage(tool_call_id="c1", content="t"), "tool"),
    ],
)
def test_each_message_has_its_fixed_role(message: fx.Message, role: str) -> None:
    assert message.role == role
    assert "role" not in repr(message)


@pytest.mark.parametrize("cls", [fx.SystemMessage, fx.UserMessage, fx.ToolMessage])
def test_role_cannot_be_passed(cls: type[Any]) -> None:
    kwargs: dict[str, Any] = {"content": "x", "role": "assistant"}
    if cls is fx.ToolMessage:
        kwargs["tool_call_id"] = "c1"
    with pytest.raises(TypeError, match="role"):
        cls(**kwargs)


@pytest.mark.parametrize(
    "build",
    [
        lambda: fx.SystemMessage(content=None),  # type: ignore[arg-type]
        lambda: fx.UserMessage(content=b"bytes"),  # type: ignore[arg-type]
        lambda: fx.UserMessage(content="x", name=3),  # type: ignore[arg-type]
        lambda: fx.AssistantMessage(content=1),  # type: ignore[arg-type]
        lambda: fx.AssistantMessage(refusal=1),  # type: ignore[arg-type]
        lambda: fx.AssistantMessage(name=1),  # type: ignore[arg-type]
        lambda: fx.ToolMessage(tool_call_id=1, content="x"),  # type: ignore[arg-type]
        lambda: fx.ToolMessage(tool_call_id="c1", content=None),  # type: ignore[arg-type]
        lambda: fx.ToolCallRequest(id=None, name="t"),  # type: ignore[arg-type]
        lambda: fx.ToolCallRequest(id="c1", name=None),  # type: ignore[arg-type]
        lambda: fx.ToolCallRequest(id="c1", name="t", arguments={"a": 1}),  # type: ignore[arg-type]
    ],
)
def test_fields_are_type_checked(build: Any) -> None:
    with pytest.raises(TypeError):
        build()


def test_tool_calls_must_be_a_list_or_tuple_of_requests() -> None:
    call = fx.ToolCallRequest(id="c1", name="t")
    assert fx.AssistantMessage(tool_calls=[call]).tool_calls == (call,)
    with pytest.raises(TypeError, match="tuple of ToolCallRequest, got generator"):
        fx.AssistantMessage(tool_calls=(c for c in [call]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got dict"):
        fx.AssistantMessage(tool_calls=({"id": "c1", "name": "t"},))  # type: ignore[arg-type]


def test_messages_are_frozen() -> None:
    message = fx.UserMessage(content="hi")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.content = "changed"  # type: ignore[misc]


def test_equal_messages_hash_alike_whatever_the_container_of_their_calls() -> None:
    call = fx.ToolCallRequest(id="c1", name="t", arguments='{"a": 1}')
    from_list = fx.AssistantMessage(tool_calls=[call])
    from_tuple = fx.AssistantMessage(tool_calls=(call,))
    assert from_list == from_tuple
    assert {from_list: 1}[from_tuple] == 1


def test_messages_of_different_kinds_or_names_differ() -> None:
    assert fx.UserMessage(content="x") != fx.SystemMessage(content="x")  # type: ignore[comparison-overlap]
    assert fx.UserMessage(content="x") != fx.UserMessage(content="x", name="ann")
    assert fx.AssistantMessage(content="x") != fx.AssistantMessage(content="x", refusal="no")


def test_shorthands_build_the_same_values() -> None:
    call = fx.ToolCallRequest(id="c1", name="t")
    assert fx.system("s") == fx.SystemMessage(content="s")
    assert fx.user("u") == fx.UserMessage(content="u")
    assert fx.assistant() == fx.AssistantMessage()
    assert fx.assistant(None, call, call) == fx.AssistantMessage(tool_calls=(call, call))
    assert fx.assistant("a", call) == fx.AssistantMessage(content="a", tool_calls=(call,))


def test_assistant_defaults_to_no_content_and_no_calls() -> None:
    message = fx.AssistantMessage()
    assert (message.content, message.tool_calls, message.refusal, message.name) == (None, (), None, None)


def test_malformed_arguments_are_kept_verbatim_and_fail_only_when_parsed() -> None:
    raw = '{"a": 1,'  # the model stopped mid-object
    call = fx.ToolCallRequest(id="c1", name="t", arguments=raw)
    assert call.arguments == raw
    with pytest.raises(ValueError):
        call.parsed_arguments()


@pytest.mark.parametrize("arguments", ["   ", "\n\t"])
def test_blank_arguments_parse_as_no_arguments(arguments: str) -> None:
    assert fx.ToolCallRequest(id="c1", name="t", arguments=arguments).parsed_arguments() == {}


@pytest.mark.parametrize(("arguments", "kind"), [("null", "NoneType"), ('"x"', "str"), ("3", "int")])
def test_arguments_that_are_not_an_object_name_what_they_are(arguments: str, kind: str) -> None:
    with pytest.raises(ValueError, match=f"got {kind}"):
        fx.ToolCallRequest(id="c1", name="t", arguments=arguments).parsed_arguments()


def test_default_arguments_are_an_empty_object() -> None:
    call = fx.ToolCallRequest(id="c1", name="t")
    assert call.arguments == "{}"
    assert call.parsed_arguments() == {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4), st.booleans())
def test_parsed_arguments_decode_any_object(arguments: dict[str, Any], pretty: bool) -> None:
    text = json.dumps(arguments, indent=2 if pretty else None)
    call = fx.ToolCallRequest(id="c1", name="t", arguments=text)
    assert call.parsed_arguments() == arguments
    assert call.arguments == text  # parsing never rewrites what the model sent


@given(fxst.messages())
def test_rebuilding_a_message_from_its_fields_gives_an_equal_value(message: fx.Message) -> None:
    fields = {f.name: getattr(message, f.name) for f in attrs.fields(type(message)) if f.init}
    rebuilt = type(message)(**fields)
    assert rebuilt == message
    assert hash(rebuilt) == hash(message)
    assert rebuilt.role == message.role
