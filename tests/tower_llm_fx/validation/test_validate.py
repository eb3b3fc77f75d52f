"""tower_llm_fx.validation._validate: the two entry points: validate_conversation under every
preset and on any input, and validate_model_call's request-level rules (tools, tool choice,
parameter ranges) after the conversation's violations."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx._unchecked import unchecked

from ._helpers import ADD, VALID, A, P, T, U


@pytest.mark.parametrize("policy", [P(), P.strict(), P.tower_llm(), P.openai()], ids=repr)
def test_a_well_formed_conversation_is_valid_under_every_preset(
    policy: fx.validation.ValidationPolicy,
) -> None:
    assert fx.validation.validate_conversation(VALID, policy, tools=(ADD,)) == ()


def call(**params: object) -> fx.ModelCall:
    return fx.ModelCall(model="m", messages=(U(content="hi"),), params=fx.ModelParams(**params))  # type: ignore[arg-type]


def test_validate_model_call_passes_a_good_call_and_includes_conversation_violations() -> None:
    assert fx.validation.validate_model_call(fx.ModelCall(model="m", messages=VALID, tools=(ADD,))) == ()
    bad = fx.ModelCall(model="m", messages=VALID[:3], tools=(ADD,))
    assert [v.kind for v in fx.validation.validate_model_call(bad)] == ["missing_tool_response"]


def test_validate_model_call_uses_the_call_tools_for_schema_checks() -> None:
    ms = (U(content="q"), A(None, ("c1", "add", '{"a": 1}')), T(tool_call_id="c1", content="1"))
    out = fx.validation.validate_model_call(
        fx.ModelCall(model="m", messages=ms, tools=(ADD,)), P(check_tool_schemas=True)
    )
    assert [v.kind for v in out] == ["tool_arguments_mismatch"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"temperature": 2.5}, "temperature is 2.5"),
        ({"top_p": -0.1}, "top_p is -0.1"),
        ({"presence_penalty": 3}, "presence_penalty is 3"),
        ({"frequency_penalty": -2.5}, "frequency_penalty is -2.5"),
        ({"max_tokens": 0}, "max_tokens is 0"),
        ({"max_completion_tokens": 0}, "max_completion_tokens is 0"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop has 5 sequences"),
        ({"parallel_tool_calls": True}, "parallel_tool_calls"),
    ],
)
def test_invalid_parameter(params: dict[str, object], expected: str) -> None:
    (v,) = fx.validation.validate_model_call(call(**params))
    assert (v.kind, v.index) == ("invalid_parameter", None)
    assert expected in v.explanation


def test_parameters_at_the_limits_are_fine() -> None:
    assert (
        fx.validation.validate_model_call(call(temperature=2, top_p=1, presence_penalty=-2, max_tokens=1))
        == ()
    )


def test_invalid_tool_choice() -> None:
    (v,) = fx.validation.validate_model_call(call(tool_choice="required"))
    assert v.kind == "invalid_tool_choice"
    named = fx.ModelCall(
        model="m",
        messages=(U(content="hi"),),
        tools=(ADD,),
        params=fx.ModelParams(tool_choice={"type": "function", "function": {"name": "mul"}}),
    )
    (v,) = fx.validation.validate_model_call(named)
    assert (v.kind, "'mul'" in v.explanation) == ("invalid_tool_choice", True)
    ok = attrs.evolve(
        named, params=fx.ModelParams(tool_choice={"type": "function", "function": {"name": "add"}})
    )
    assert fx.validation.validate_model_call(ok) == ()


def test_too_many_tools_and_duplicate_tool_names() -> None:
    specs = tuple(fx.ToolSpec(name=f"t{i}") for i in range(129))
    out = fx.validation.validate_model_call(
        fx.ModelCall(model="m", messages=(U(content="hi"),), tools=(*specs, specs[0]))
    )
    assert [v.kind for v in out] == ["too_many_tools", "duplicate_tool_name"]


def test_empty_model_name() -> None:
    (v,) = fx.validation.validate_model_call(fx.ModelCall(model="", messages=(U(content="hi"),)))
    assert v.kind == "invalid_parameter"


@given(fxst.validation_policies(), st.lists(st.one_of(fxst.messages(), st.integers(), st.none()), max_size=5))
def test_never_raises_whatever_the_input(policy: fx.validation.ValidationPolicy, items: list[object]) -> None:
    out = fx.validation.validate_conversation(items, policy)
    assert all(isinstance(v, fx.validation.Violation) for v in out)


def test_tool_choice_modes_are_fine_with_tools() -> None:
    for choice in ("auto", "none", "required"):
        ok = fx.ModelCall(
            model="m", messages=(U(content="hi"),), tools=(ADD,), params=fx.ModelParams(tool_choice=choice)
        )
        assert fx.validation.validate_model_call(ok) == ()


def test_request_violations_come_after_the_conversation_ones() -> None:
    bad = fx.ModelCall(
        model="",
        messages=(U(content="q"), T(tool_call_id="c1", content="1")),
        params=fx.ModelParams(temperature=9),
    )
    out = fx.validation.validate_model_call(bad)
    assert [(v.kind, v.index) for v in out] == [
        ("orphan_tool_message", 1),
        ("invalid_parameter", None),
        ("invalid_parameter", None),
    ]
    assert "temperature is 9" in out[1].explanation
    assert "model is empty" in out[2].explanation


@given(fxst.model_calls(), fxst.validation_policies())
def test_a_model_call_reports_its_conversation_first(
    call: fx.ModelCall, policy: fx.validation.ValidationPolicy
) -> None:
    conversation = fx.validation.validate_conversation(call.messages, policy, tools=call.tools)
    out = fx.validation.validate_model_call(call, policy)
    assert out[: len(conversation)] == conversation
    assert all(v.index is None for v in out[len(conversation) :])


@given(fxst.model_calls())
def test_generated_model_calls_are_valid(call: fx.ModelCall) -> None:
    assert fx.validation.validate_model_call(call) == ()


@given(st.lists(fxst.messages(), max_size=6))
def test_validate_conversation_is_deterministic_and_defaults_to_the_openai_policy(
    messages: list[fx.Message],
) -> None:
    out = fx.validation.validate_conversation(messages)
    assert out == fx.validation.validate_conversation(tuple(messages), P.openai())
    assert out == fx.validation.validate_conversation(messages)


def _with_tool_choice(text: str) -> fx.ModelCall:
    # ModelParams canonicalises tool_choice (and refuses deep JSON); one built unchecked,
    # as a hand-written decoder might, holds the raw text.
    params = unchecked(fx.ModelParams, tool_choice=text)
    return attrs.evolve(fx.ModelCall(model="m", messages=(U(content="hi"),), tools=(ADD,)), params=params)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            '{"type":' * 100_000 + "1" + "}" * 100_000,
            "is not valid JSON (the JSON nests deeper than 512 levels)",
        ),
        ("[" * 100_000 + "]" * 100_000, "is not valid JSON (the JSON nests deeper than 512 levels)"),
        ("{oops", "is not valid JSON (Expecting property name"),
        ("[1]", "is not a mode or a JSON object"),
        ("sometimes", "is not valid JSON"),
    ],
    ids=["deep-object", "deep-array", "broken", "array", "word"],
)
def test_a_hostile_tool_choice_is_a_violation_not_an_exception(text: str, why: str) -> None:
    (v,) = fx.validation.validate_model_call(_with_tool_choice(text))
    assert v.kind == "invalid_tool_choice"
    assert why in v.explanation
    assert "use 'auto', 'none', 'required' or" in v.explanation
    assert len(v.explanation) < 400, "the choice is quoted clipped, not whole"


@given(
    st.text(max_size=40)
    | st.builds("{}{}".format, st.just('{"type":"function","function":'), st.text(max_size=20))
)
def test_validate_model_call_is_total_over_tool_choice_text(text: str) -> None:
    out = fx.validation.validate_model_call(_with_tool_choice(text))
    assert all(v.kind == "invalid_tool_choice" for v in out)
