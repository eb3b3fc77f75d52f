"""tower_llm_fx.validation._policy: ValidationPolicy as a validated frozen value, its limits,
its presets (strict is the strictest), and its JSON form."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.validation._policy import OPENAI_MAX_CONTENT_LENGTH, OPENAI_MAX_TOOL_CALL_ID_LENGTH

from ._helpers import ADD, VALID, P, U, kinds

# --------------------------------------------------------------------------- examples


def test_policy_is_a_validated_frozen_value() -> None:
    with pytest.raises(TypeError):
        P(allow_system_anywhere="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive int or None"):
        P(max_content_length=0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        P().require_user_first = True  # type: ignore[misc]
    assert P() == P.openai()
    assert hash(P.strict()) == hash(P.strict())


@given(fxst.validation_policies())
def test_policy_json_round_trip(policy: fx.validation.ValidationPolicy) -> None:
    assert fx.from_json(json.loads(json.dumps(fx.to_json(policy)))) == policy


@pytest.mark.parametrize("field", ["max_content_length", "max_tool_call_id_length"])
@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_limits_must_be_positive_ints_or_none(field: str, bad: object) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a positive int or None"):
        P(**{field: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["max_content_length", "max_tool_call_id_length"])
def test_limits_accept_one_and_none(field: str) -> None:
    assert getattr(P(**{field: 1}), field) == 1  # type: ignore[arg-type]
    assert getattr(P(**{field: None}), field) is None  # type: ignore[arg-type]


def test_evolve_validates_too() -> None:
    with pytest.raises(ValueError, match="positive int or None"):
        attrs.evolve(P(), max_tool_call_id_length=0)
    with pytest.raises(TypeError):
        attrs.evolve(P.strict(), check_names=1)  # type: ignore[arg-type]


def test_the_default_limits_are_the_openai_limits() -> None:
    assert P().max_content_length == OPENAI_MAX_CONTENT_LENGTH == 10 * 1024 * 1024
    assert P().max_tool_call_id_length == OPENAI_MAX_TOOL_CALL_ID_LENGTH == 40


def test_strict_turns_every_optional_rule_on() -> None:
    strict = P.strict()
    for field in attrs.fields(P):
        value = getattr(strict, field.name)
        if field.name.startswith("allow_"):
            assert value is False, field.name
        elif field.name.startswith(("require_", "enforce_", "check_")):
            assert value is True, field.name
        else:  # the limits stay the API's
            assert value == getattr(P(), field.name), field.name


def test_tower_llm_lifts_the_limits_and_name_checks_the_default_enforces() -> None:
    ms = (U(content="hi", name="Ada Lovelace"),)
    assert kinds(ms) == [("invalid_name", 0)]
    assert kinds(ms, P.tower_llm()) == []


def test_tower_llm_allows_interrupted_tool_answers_but_strict_does_not() -> None:
    ms = (*VALID[:4], U(content="still there?"), *VALID[4:])
    assert kinds(ms, P.tower_llm()) == []
    assert kinds(ms, P.strict(), tools=(ADD,)) == [("tool_responses_not_contiguous", 4)]


@given(fxst.validation_policies(), fxst.conversations(policy=P.strict(), tools=(ADD,)))
def test_strict_is_the_strictest_policy(
    policy: fx.validation.ValidationPolicy, messages: tuple[fx.Message, ...]
) -> None:
    assert fx.validation.validate_conversation(messages, policy, tools=(ADD,)) == ()


@given(fxst.validation_policies())
def test_policies_are_hashable_values(policy: fx.validation.ValidationPolicy) -> None:
    same = attrs.evolve(policy)
    assert same == policy
    assert hash(same) == hash(policy)
    assert {policy: 1}[same] == 1
    assert json.loads(json.dumps(fx.to_json(policy))) == fx.to_json(policy)
