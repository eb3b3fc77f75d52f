"""Mutators of the tool calls of one assistant message
(``strategies/_mutators_tool_calls.py``): ids, names and arguments; every
candidate breaks exactly the rule its kind names, and a renamed or emptied id
takes its answers with it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.strategies._mutation_sites import Candidate
from tower_llm_fx.strategies._mutators_tool_calls import TOOL_CALL_MUTATORS

from ._helpers import BASE, DEFAULT, STRICT, TOOLS, checked_candidates


def candidates(
    kind: fx.validation.ViolationKind,
    messages: Sequence[fx.Message],
    policy: fx.validation.ValidationPolicy,
    tools: Sequence[fx.ToolSpec] = TOOLS,
) -> list[Candidate]:
    """Every candidate of ``kind``, each checked to break exactly its rule; the input stays as it was."""
    return checked_candidates(TOOL_CALL_MUTATORS[kind], kind, messages, policy, tools)


LAX_IDS = fx.validation.ValidationPolicy(max_tool_call_id_length=12, check_tool_arguments=True)


@pytest.mark.parametrize(
    ("kind", "policy", "sites"),
    [
        # Emptying call_3's id drops its answer, leaving two assistant messages in a row.
        ("empty_tool_call_id", STRICT, [2, 2]),
        ("empty_tool_call_id", DEFAULT, [2, 2, 7]),
        ("tool_call_id_too_long", DEFAULT, [2, 2, 7]),
        ("duplicate_tool_call_id", STRICT, [2, 7]),  # within message 2, and call_1 reused by message 7
        ("duplicate_tool_call_id", DEFAULT, [2]),  # the API allows reuse across messages
        ("invalid_tool_name", DEFAULT, [2, 2, 7]),
        ("invalid_tool_arguments", STRICT, [2, 2, 7]),
        ("unknown_tool", STRICT, [2, 2, 7]),
        ("tool_arguments_mismatch", STRICT, [2, 2, 7]),
    ],
)
def test_each_mutator_finds_every_call_of_a_rich_conversation(
    kind: fx.validation.ViolationKind, policy: fx.validation.ValidationPolicy, sites: list[int]
) -> None:
    assert [c.violation.index for c in candidates(kind, BASE, policy)] == sites


def test_a_renamed_id_is_renamed_in_its_answer() -> None:
    long = candidates("tool_call_id_too_long", BASE, LAX_IDS)[2]
    changed = long.messages[7]
    assert isinstance(changed, fx.AssistantMessage)
    (call,) = changed.tool_calls
    assert len(call.id) > 12 and long.messages[8] == fx.ToolMessage(tool_call_id=call.id, content="2")
    reused = candidates("duplicate_tool_call_id", BASE, STRICT)[1]
    assert reused.description == "reused id 'call_1' for call 0 of message 7"
    assert reused.messages[8] == fx.ToolMessage(tool_call_id="call_1", content="2")


def test_an_emptied_or_duplicated_id_loses_its_answer() -> None:
    emptied = candidates("empty_tool_call_id", BASE, STRICT)[0]
    assert [m.tool_call_id for m in emptied.messages if isinstance(m, fx.ToolMessage)] == ["call_2", "call_3"]
    within = candidates("duplicate_tool_call_id", BASE, STRICT)[0]
    assert [m.tool_call_id for m in within.messages if isinstance(m, fx.ToolMessage)] == ["call_1", "call_3"]


def test_broken_arguments_and_names() -> None:
    truncated = candidates("invalid_tool_arguments", BASE, STRICT)[0].messages[2]
    assert isinstance(truncated, fx.AssistantMessage)
    assert truncated.tool_calls[0].arguments == '{"a": 2, "b": 3'
    renamed = candidates("invalid_tool_name", BASE, DEFAULT)[1].messages[2]
    assert isinstance(renamed, fx.AssistantMessage) and renamed.tool_calls[1].name == "functions.search"
    mismatch = candidates("tool_arguments_mismatch", BASE, STRICT)[1].messages[2]
    assert isinstance(mismatch, fx.AssistantMessage) and mismatch.tool_calls[1].arguments == "{}"


def test_schema_mismatches_need_a_schema_to_break() -> None:
    free = (fx.ToolSpec(name="add"), fx.ToolSpec(name="search"))  # no required keys, extra keys allowed
    assert candidates("tool_arguments_mismatch", BASE, STRICT, tools=free) == []
    extra = fx.ToolSpec(
        name="add", parameters={"type": "object", "properties": {}, "additionalProperties": False}
    )
    messages = (
        fx.user("q"),
        fx.AssistantMessage(tool_calls=(fx.ToolCallRequest(id="call_1", name="add", arguments="{}"),)),
        fx.ToolMessage(tool_call_id="call_1", content="0"),
        fx.assistant("0"),
    )
    (added,) = candidates("tool_arguments_mismatch", messages, STRICT, tools=(extra,))
    changed = added.messages[1]
    assert isinstance(changed, fx.AssistantMessage) and changed.tool_calls[0].arguments == '{"unexpected": 1}'


def test_a_conversation_without_calls_has_no_site() -> None:
    text_only = (fx.user("hi"), fx.assistant("hello"))
    assert all(candidates(kind, text_only, STRICT) == [] for kind in TOOL_CALL_MUTATORS)


@given(st.data())
def test_every_candidate_breaks_exactly_its_rule(data: st.DataObject) -> None:
    policy = data.draw(fxst.validation_policies(), label="policy")
    messages = data.draw(
        fxst.conversations(policy=policy, tools=TOOLS, tool_call_density=0.7), label="messages"
    )
    checked = fxst.checked_kinds(policy)
    for kind in TOOL_CALL_MUTATORS:
        if kind in checked:
            candidates(kind, messages, policy)
