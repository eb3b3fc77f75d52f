"""`tower_llm_fx._effects`: the effects a step returns, their request knobs and the stop values.

Covers: `ModelParams` validation and conversion (``stop``, ``tool_choice``, and the JSON-text fields
``response_format``, ``metadata`` and ``extra`` held canonically, so equal documents give equal,
equally hashed params) and its repr; `ModelCall`, `ToolCall` and `Parallel` validation with the
messages that say what to do, their ``result_type``; `JoinPolicy`; `StopReason` and `Done`; value
equality and hashing (effects are compared when a run is replayed). Whether an ``extra`` key clashes
with a named field is the wire codec's check (openai/test_wire.py), not the constructor's.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx import strategies as fxst


def test_constructors_validate_with_helpful_messages() -> None:
    with pytest.raises(TypeError, match=r"messages\[1\] is a str, not a message"):
        fx.ModelCall(model="m", messages=(fx.user("a"), "b"))  # type: ignore[arg-type]

    @fx.tool
    def t() -> None:
        """T."""

    with pytest.raises(TypeError, match=r"pass tool.spec"):
        fx.ModelCall(model="m", messages=(), tools=(t,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ToolCallRequest"):
        fx.AssistantMessage(tool_calls=("x",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        fx.Parallel(calls=(), limit=0)
    with pytest.raises(TypeError, match="tool_choice"):
        fx.ModelParams(tool_choice=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        fx.ModelParams(extra={"x": object()})


def test_params_repr_shows_only_what_is_set() -> None:
    assert repr(fx.ModelParams(temperature=0.1, stop="x")) == "ModelParams(temperature=0.1, stop=('x',))"


# ---------------------------------------------------------------- ModelParams


def params(field: str, value: object) -> fx.ModelParams:
    """``ModelParams`` with one field set by name."""
    kwargs: dict[str, Any] = {field: value}
    return fx.ModelParams(**kwargs)


def test_params_default_to_nothing_set() -> None:
    params = fx.ModelParams()
    assert all(getattr(params, f.name) is None for f in attrs.fields(fx.ModelParams))
    assert repr(params) == "ModelParams()"


@pytest.mark.parametrize(
    ("stop", "stored"),
    [(None, None), ("END", ("END",)), (["a", "b"], ("a", "b")), (("a",), ("a",)), ([], ())],
)
def test_stop_is_stored_as_a_tuple(stop: Any, stored: tuple[str, ...] | None) -> None:
    assert fx.ModelParams(stop=stop).stop == stored


@pytest.mark.parametrize("stop", [3, ["a", 1], {"a": 1}])
def test_stop_must_be_text(stop: Any) -> None:
    with pytest.raises(TypeError, match="stop must be a string or a sequence of strings"):
        fx.ModelParams(stop=stop)


@pytest.mark.parametrize("choice", ["auto", "none", "required", "any"])
def test_the_tool_choice_modes_are_typed(choice: str) -> None:
    typed = fx.ModelParams(tool_choice=choice).tool_choice
    assert typed == fx.ToolChoice(mode=choice)  # type: ignore[arg-type]
    assert typed is not None and typed.to_wire() == choice
    assert fx.ModelParams().tool_choice is None


def test_a_function_tool_choice_is_typed_and_other_objects_pass_through() -> None:
    given_as_dict = fx.ModelParams(tool_choice={"type": "function", "function": {"name": "add"}})
    given_as_text = fx.ModelParams(tool_choice='{"function": {"name": "add"}, "type": "function"}')
    assert given_as_dict.tool_choice == fx.ToolChoice.function("add")
    assert given_as_dict == given_as_text
    allowed = {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "function"}]}}
    other = fx.ModelParams(tool_choice=allowed).tool_choice
    assert other is not None and (other.mode, other.to_wire()) == ("other", allowed)
    assert fx.from_json(fx.to_json(other)) == other


def test_an_unknown_tool_choice_word_is_rejected() -> None:
    with pytest.raises(ValueError, match="'sometimes' is not a mode"):
        fx.ModelParams(tool_choice="sometimes")
    with pytest.raises(ValueError, match="names a function exactly when"):
        fx.ToolChoice(mode="auto", name="add")


@pytest.mark.parametrize("field", ["response_format", "metadata", "extra"])
def test_json_fields_compare_by_document_not_by_key_order(field: str) -> None:
    a = params(field, {"b": [1, 2], "a": {"y": None, "x": True}})
    b = params(field, '{"a": {"x": true, "y": null}, "b": [1, 2]}')
    assert getattr(a, field) == '{"a":{"x":true,"y":null},"b":[1,2]}'
    assert a == b
    assert hash(a) == hash(b)
    assert a != params(field, {"a": 1})


@pytest.mark.parametrize("field", ["response_format", "metadata", "extra"])
def test_json_fields_reject_what_json_cannot_say(field: str) -> None:
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        params(field, {"x": float("nan")})
    with pytest.raises(ValueError, match="expected JSON text"):
        params(field, "{not json")


def test_extra_holds_any_json_document_the_codec_checks_it_later() -> None:
    # The constructor is codec-agnostic: a key that clashes with a named field is accepted here
    # and refused by the wire codec when the request is built (see openai/test_wire.py).
    params = fx.ModelParams(extra={"temperature": 1, "top_k": 5})
    assert params.extra == '{"temperature":1,"top_k":5}'
    assert params.temperature is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temperature": "0.2"},
        {"top_p": "1"},
        {"max_tokens": 1.5},
        {"max_completion_tokens": "10"},
        {"reasoning_effort": 1},
        {"parallel_tool_calls": "yes"},
        {"seed": 1.0},
        {"presence_penalty": "0"},
        {"frequency_penalty": None, "user": 5},
    ],
)
def test_params_fields_are_type_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        fx.ModelParams(**kwargs)


def test_repr_lists_set_fields_in_declaration_order() -> None:
    params = fx.ModelParams(seed=1, temperature=0.0, extra={"k": 1})
    # temperature=0.0 is set (it is not None), so it shows
    assert repr(params) == "ModelParams(temperature=0.0, seed=1, extra='{\"k\":1}')"


# ---------------------------------------------------------------- ModelCall


def test_model_call_normalises_lists_to_tuples() -> None:
    spec = fx.ToolSpec(name="add")
    call = fx.ModelCall(model="m", messages=[fx.user("hi")], tools=[spec])
    assert call.messages == (fx.user("hi"),)
    assert call.tools == (spec,)
    assert call.params == fx.ModelParams()
    assert call == fx.ModelCall(model="m", messages=(fx.user("hi"),), tools=(spec,))


@pytest.mark.parametrize("messages", ["hi", b"hi", fx.user("hi"), None])
def test_messages_must_be_a_sequence_of_messages(messages: Any) -> None:
    with pytest.raises(TypeError, match="messages must be a sequence of messages"):
        fx.ModelCall(model="m", messages=messages)


def test_a_non_message_in_messages_says_how_to_build_one() -> None:
    with pytest.raises(TypeError, match=r"messages\[0\] is a dict.*UserMessage\(content=\.\.\.\)"):
        fx.ModelCall(model="m", messages=[{"role": "user", "content": "hi"}])  # type: ignore[list-item]


def test_tools_must_be_tool_specs() -> None:
    with pytest.raises(TypeError, match="tools must be a sequence of ToolSpec, got int"):
        fx.ModelCall(model="m", messages=(), tools=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"tools\[0\] is a str, not a ToolSpec$"):
        fx.ModelCall(model="m", messages=(), tools=("add",))  # type: ignore[arg-type]


def test_model_and_params_are_type_checked() -> None:
    with pytest.raises(TypeError):
        fx.ModelCall(model=None, messages=())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fx.ModelCall(model="m", messages=(), params={"temperature": 0.1})  # type: ignore[arg-type]


def test_effects_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        fx.ModelCall("m", ())  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        fx.ToolCall("c1", "add")  # type: ignore[call-arg]


# ---------------------------------------------------------------- ToolCall, Parallel, JoinPolicy


def test_tool_call_defaults_to_no_arguments_and_keeps_text_verbatim() -> None:
    assert fx.ToolCall(id="c1", name="add").arguments == "{}"
    assert fx.ToolCall(id="c1", name="add", arguments='{"a":').arguments == '{"a":'
    with pytest.raises(TypeError):
        fx.ToolCall(id="c1", name="add", arguments={"a": 1})  # type: ignore[arg-type]


def test_parallel_defaults_and_normalisation() -> None:
    calls = [fx.ToolCall(id="c1", name="a"), fx.ToolCall(id="c2", name="b")]
    batch = fx.Parallel(calls=calls)
    assert batch.calls == tuple(calls)
    assert (batch.join, batch.limit) == (fx.JoinPolicy.JOIN_ALL, None)


def test_parallel_rejects_what_is_not_a_tool_call() -> None:
    with pytest.raises(TypeError, match="calls must be a sequence of ToolCall, got ToolCall"):
        fx.Parallel(calls=fx.ToolCall(id="c1", name="a"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"calls\[1\] is a ToolCallRequest, not a ToolCall"):
        fx.Parallel(calls=(fx.ToolCall(id="c1", name="a"), fx.ToolCallRequest(id="c2", name="a")))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fx.Parallel(calls=(), join="fail_fast")  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -1, 1.5, "2"])
def test_parallel_limit_is_positive_or_none(limit: Any) -> None:
    with pytest.raises(ValueError, match="limit must be a positive int or None"):
        fx.Parallel(calls=(), limit=limit)


def test_join_policies_have_stable_values() -> None:
    # the values are what traces store
    assert [(p.name, p.value) for p in fx.JoinPolicy] == [
        ("JOIN_ALL", "join_all"),
        ("FAIL_FAST", "fail_fast"),
    ]


def test_each_effect_names_its_result_type() -> None:
    assert fx.Effect.result_type is object
    assert fx.ModelCall.result_type is fx.ModelReply
    assert fx.ToolCall.result_type is fx.ToolResult
    assert fx.Parallel.result_type is tuple


# ---------------------------------------------------------------- StopReason and Done


def test_stop_reason_and_done() -> None:
    reason = fx.StopReason(kind="max_steps")
    assert reason.detail == ""
    assert fx.Done(reason=reason) == fx.Done(reason=fx.StopReason(kind="max_steps", detail=""))
    assert fx.Done(reason=reason) != fx.Done(reason=fx.StopReason(kind="max_steps", detail="3 steps"))
    with pytest.raises(TypeError):
        fx.StopReason(kind=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fx.Done(reason="max_steps")  # type: ignore[arg-type]


# ---------------------------------------------------------------- equality and hashing


@pytest.mark.parametrize(
    "value",
    [
        fx.ModelCall(model="m", messages=(fx.user("hi"),)),
        fx.ToolCall(id="c1", name="add"),
        fx.Parallel(calls=(fx.ToolCall(id="c1", name="add"),)),
        fx.ModelParams(temperature=0.5),
        fx.StopReason(kind="custom"),
        fx.Done(reason=fx.StopReason(kind="custom")),
    ],
)
def test_effects_and_stop_values_are_frozen(value: Any) -> None:
    field = attrs.fields(type(value))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(value, field, None)


@given(fxst.effects())
def test_an_effect_rebuilt_from_its_fields_is_equal_and_hashes_alike(effect: fx.Effect[Any]) -> None:
    cls: Any = type(effect)
    fields = {f.name: getattr(effect, f.name) for f in attrs.fields(cls)}
    lists = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    rebuilt = cls(**lists)
    assert rebuilt == effect
    assert hash(rebuilt) == hash(effect)
    assert {effect: "recorded"}[rebuilt] == "recorded"


@given(fxst.model_calls(), st.text(min_size=1, max_size=8))
def test_changing_any_part_of_a_model_call_makes_it_differ(call: fx.ModelCall, suffix: str) -> None:
    assert attrs.evolve(call, model=call.model + suffix) != call
    assert attrs.evolve(call, messages=(*call.messages, fx.user(suffix))) != call
    assert attrs.evolve(call, params=attrs.evolve(call.params, user=suffix)) != call


@given(fxst.model_params())
def test_params_repr_names_every_set_field_and_nothing_else(params: fx.ModelParams) -> None:
    text = repr(params)
    for f in attrs.fields(fx.ModelParams):
        value = getattr(params, f.name)
        assert (f"{f.name}={value!r}" in text) == (value is not None)
