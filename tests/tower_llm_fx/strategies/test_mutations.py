"""`mutate` (``strategies/_mutations.py``) breaks exactly one rule:
``validate(mutate(valid)) == (that violation,)``, for every policy, every mutable kind,
every site; plus `checked_kinds`, `MUTABLE_KINDS` and `Mutation` as a value."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst

from ._helpers import TOOLS


@given(st.data())
def test_every_mutation_breaks_exactly_the_rule_it_reports(data: st.DataObject) -> None:
    policy = data.draw(fxst.validation_policies(), label="policy")
    assert fx.validation.validate_conversation((), policy) != ()
    m = data.draw(fxst.mutations(policy=policy, tools=TOOLS))
    note(m.description)
    assert fx.validation.validate_conversation(m.messages, policy, tools=TOOLS) == (m.violation,)


@given(fxst.mutations(policy=fx.validation.ValidationPolicy.strict(), tools=TOOLS))
def test_mutations_under_the_strict_policy(m: fxst.Mutation) -> None:
    assert fx.validation.validate_conversation(
        m.messages, fx.validation.ValidationPolicy.strict(), tools=TOOLS
    ) == (m.violation,)


@given(fxst.mutations())
def test_mutations_under_the_default_policy(m: fxst.Mutation) -> None:
    assert fx.validation.validate_conversation(m.messages) == (m.violation,)


# A conversation with a place for every mutation: leading system prompt, two
# turns, a parallel tool round and a single one, text replies.
BASE = (
    fx.SystemMessage(content="Be brief."),
    fx.UserMessage(content="What is 2 + 3 and who wrote Hamlet?", name="ada"),
    fx.AssistantMessage(
        tool_calls=(
            fx.ToolCallRequest(id="call_1", name="add", arguments='{"a": 2, "b": 3}'),
            fx.ToolCallRequest(id="call_2", name="search", arguments='{"query": "Hamlet author"}'),
        )
    ),
    fx.ToolMessage(tool_call_id="call_1", content="5"),
    fx.ToolMessage(tool_call_id="call_2", content="Shakespeare"),
    fx.AssistantMessage(content="5; Shakespeare."),
    fx.UserMessage(content="And 1 + 1?"),
    fx.AssistantMessage(
        tool_calls=(fx.ToolCallRequest(id="call_3", name="add", arguments='{"a": 1, "b": 1}'),)
    ),
    fx.ToolMessage(tool_call_id="call_3", content="2"),
    fx.AssistantMessage(content="2."),
)
STRICT = fx.validation.ValidationPolicy.strict()


def test_the_base_conversation_is_valid() -> None:
    assert fx.validation.validate_conversation(BASE, STRICT, tools=TOOLS) == ()


@pytest.mark.parametrize("kind", fxst.MUTABLE_KINDS)
@pytest.mark.parametrize("site", [0, 1, 2, 5, 11])
def test_each_kind_applies_to_a_rich_conversation(kind: fx.validation.ViolationKind, site: int) -> None:
    m = fxst.mutate(BASE, kind, policy=STRICT, tools=TOOLS, site=site)
    assert m is not None, kind
    assert m.kind == kind
    assert fx.validation.validate_conversation(m.messages, STRICT, tools=TOOLS) == (m.violation,)
    assert m.description


def test_every_conversation_rule_is_mutable_except_unsupported_objects() -> None:
    conversation_kinds = set(
        fx.validation.VIOLATION_KINDS[: fx.validation.VIOLATION_KINDS.index("missing_tool_response") + 1]
    )
    assert conversation_kinds - set(fxst.MUTABLE_KINDS) == {"unsupported_message"}


def test_mutate_returns_none_when_the_policy_does_not_check_the_kind() -> None:
    assert fxst.mutate(BASE, "repeated_role") is None  # the default policy allows repeats
    assert fxst.mutate(BASE, "unknown_tool", policy=STRICT) is None  # no tools to compare with
    assert fxst.mutate((), "orphan_tool_message") is None


def test_mutate_returns_none_when_nothing_fits() -> None:
    text_only = (fx.UserMessage(content="hi"), fx.AssistantMessage(content="hello"))
    assert fxst.mutate(text_only, "missing_tool_response") is None


def test_mutate_rejects_kinds_it_cannot_produce() -> None:
    with pytest.raises(ValueError, match="mutable kinds are"):
        fxst.mutate(BASE, "too_many_tools")


def test_checked_kinds_follow_the_policy() -> None:
    default = fxst.checked_kinds()
    assert "missing_tool_response" in default
    assert "tool_responses_out_of_order" not in default
    assert "tool_responses_out_of_order" in fxst.checked_kinds(STRICT)
    lax = attrs.evolve(STRICT, allow_dangling_tool_calls=True)
    assert "missing_tool_response" not in fxst.checked_kinds(lax)


def test_mutation_is_a_json_value() -> None:
    m = fxst.mutate(BASE, "missing_tool_response", policy=STRICT)
    assert m is not None
    assert fx.from_json(fx.to_json(m)) == m
