"""tower_llm_fx.validation._violations: Violation as a validated value (str, JSON), every kind
having an explanation, the explanation templates and the explaining builders."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx.validation._violations import (
    _EXPLANATIONS,
    duplicate_tool_call_id,
    empty_assistant_message,
    invalid_tool_arguments,
    missing_tool_response,
    new_violation,
    tool_arguments_mismatch,
    unsupported_message,
    violation,
)

from ._helpers import T, U

# --------------------------------------------------------------------------- examples


def test_violation_rejects_unknown_kinds_and_negative_indexes() -> None:
    with pytest.raises(ValueError):
        fx.validation.Violation(kind="no_such_rule", index=0, explanation="")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        fx.validation.Violation(kind="empty_content", index=-1, explanation="")
    assert set(fx.validation.VIOLATION_KINDS) >= {"missing_tool_response", "orphan_tool_message"}
    assert len(fx.validation.VIOLATION_KINDS) == len(set(fx.validation.VIOLATION_KINDS)) == 31


def test_violation_json_round_trip_and_str() -> None:
    (v,) = fx.validation.validate_conversation([U(content="q"), T(tool_call_id="c", content="1")])
    assert fx.from_json(fx.to_json(v)) == v
    assert str(v).startswith("messages[1]: tool message")
    assert str(v).endswith("[orphan_tool_message]")


VIOLATIONS = st.builds(
    fx.validation.Violation,
    kind=st.sampled_from(fx.validation.VIOLATION_KINDS),
    index=st.none() | st.integers(0, 1000),
    explanation=st.text(max_size=20),
)

# Kinds explained by a builder of their own (or, for the request rules, in _validate.py).
_BUILT = {
    "unsupported_message",
    "unsupported_content_part",
    "invalid_content_part",
    "empty_assistant_message",
    "duplicate_tool_call_id",
    "invalid_tool_arguments",
    "tool_arguments_mismatch",
    "missing_tool_response",
    "invalid_tool_choice",
    "invalid_parameter",
}


def test_every_kind_is_explained_exactly_one_way() -> None:
    templated = set(_EXPLANATIONS)
    assert templated.isdisjoint(_BUILT)
    assert templated | _BUILT == set(fx.validation.VIOLATION_KINDS)


def test_violation_validates_its_fields() -> None:
    with pytest.raises(TypeError):
        fx.validation.Violation(kind="empty_content", index=0, explanation=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        fx.validation.Violation(kind="empty_content", index=True, explanation="")
    assert fx.validation.Violation(kind="empty_content", index=None, explanation="").index is None


@given(VIOLATIONS)
def test_violation_str_and_json(v: fx.validation.Violation) -> None:
    where = "conversation" if v.index is None else f"messages[{v.index}]"
    assert str(v) == f"{where}: {v.explanation} [{v.kind}]"
    assert fx.from_json(fx.to_json(v)) == v


@given(VIOLATIONS)
def test_new_violation_builds_the_same_value_as_the_validated_constructor(v: fx.validation.Violation) -> None:
    built = new_violation(v.kind, v.index, v.explanation)
    assert built == v
    assert hash(built) == hash(v)
    assert type(built) is fx.validation.Violation


# --------------------------------------------------------------------------- templates


def test_violation_fills_the_template_and_keeps_kind_and_index() -> None:
    v = violation("repeated_role", 4, role="user", previous=3)
    assert (v.kind, v.index) == ("repeated_role", 4)
    assert v.explanation.startswith("two user messages in a row (at 3 and 4)")


def test_list_fields_are_comma_separated_reprs_or_none() -> None:
    assert "position(s) 0, 2;" in violation("empty_tool_call_id", 1, positions=[0, 2]).explanation
    assert "position(s) none;" in violation("empty_tool_call_id", 1, positions=[]).explanation
    v = violation("unknown_tool", 1, names=["mul"], offered=["add", "sub"])
    assert v.explanation == "tool call(s) to 'mul': not among the tools offered ('add', 'sub')"


def test_lengths_are_written_with_thousands_separators() -> None:
    v = violation("content_too_long", 0, role="user", length=10_485_761, limit=10_485_760)
    assert v.explanation == "user message content is 10,485,761 characters; at most 10,485,760 are accepted"


# --------------------------------------------------------------------------- builders


def test_unsupported_message_hints_at_wire_dicts_only_for_mappings() -> None:
    hinted = unsupported_message(2, {"role": "user"})
    assert hinted.explanation.startswith("dict is not a message")
    assert "wire dict" in hinted.explanation
    plain = unsupported_message(0, 5)
    assert plain.explanation.startswith("int is not a message")
    assert "wire dict" not in plain.explanation
    assert (plain.kind, plain.index) == ("unsupported_message", 0)


def test_empty_assistant_message_explains_a_refusal_differently() -> None:
    with_refusal = empty_assistant_message(1, True)
    without = empty_assistant_message(1, False)
    assert "refusal" in with_refusal.explanation
    assert "refusal" not in without.explanation
    assert with_refusal.kind == without.kind == "empty_assistant_message"


def test_duplicate_tool_call_id_lists_repeats_within_and_reuses_across_turns() -> None:
    within = duplicate_tool_call_id(3, ["c1"], [])
    assert within.explanation == (
        "assistant message has id(s) 'c1' used by more than one of its tool calls; tool call ids must be unique"
    )
    both = duplicate_tool_call_id(3, ["c1"], [("c0", 1), ("c2", 2)])
    assert " and id(s) 'c0' (first used at 1), 'c2' (first used at 2) already used by an earlier" in (
        both.explanation
    )


def test_argument_problems_are_listed_per_call() -> None:
    v = invalid_tool_arguments(1, [(0, "a JSON list, not an object"), (2, "not valid JSON (x)")])
    assert v.explanation.endswith("call 0: a JSON list, not an object; call 2: not valid JSON (x)")
    m = tool_arguments_mismatch(1, [(1, "add", "(root): 'b' is a required property")])
    assert m.explanation.endswith("call 1 (add): (root): 'b' is a required property")


def test_missing_tool_response_lists_ids_and_names() -> None:
    calls = [fx.ToolCallRequest(id="c1", name="f"), fx.ToolCallRequest(id="c3", name="h")]
    v = missing_tool_response(1, calls)
    assert "that no tool message answers: 'c1' (f), 'c3' (h);" in v.explanation


def test_the_validator_uses_these_explanations() -> None:
    (v,) = fx.validation.validate_conversation([U(content="q"), T(tool_call_id="c9", content="1")])
    assert v == violation("orphan_tool_message", 1, tool_call_id="c9")
