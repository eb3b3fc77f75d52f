"""Mutators of tool messages (``strategies/_mutators_tool_messages.py``): which call
they answer, when and how often; every candidate breaks exactly the rule its kind
names, under the policy that checks it, and the mutators leave their input alone."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.strategies._mutation_sites import Candidate
from tower_llm_fx.strategies._mutators_tool_messages import TOOL_MESSAGE_MUTATORS

from ._helpers import BASE, DEFAULT, STRICT, TOOLS, checked_candidates


def candidates(
    kind: fx.validation.ViolationKind,
    messages: Sequence[fx.Message],
    policy: fx.validation.ValidationPolicy,
    tools: Sequence[fx.ToolSpec] = TOOLS,
) -> list[Candidate]:
    """Every candidate of ``kind``, each checked to break exactly its rule; the input stays as it was."""
    return checked_candidates(TOOL_MESSAGE_MUTATORS[kind], kind, messages, policy, tools)


@pytest.mark.parametrize(
    ("kind", "policy", "sites"),
    [
        ("empty_tool_message_id", STRICT, [3, 4, 8]),
        ("orphan_tool_message", STRICT, [1, 2, 6, 7, 10]),  # never inside a tool round
        ("unknown_tool_response", STRICT, [3, 8]),  # right after each assistant that calls tools
        ("duplicate_tool_response", STRICT, [4, 5, 9]),
        ("tool_responses_out_of_order", STRICT, [4]),
        ("tool_responses_not_contiguous", STRICT, [3, 4, 8]),
        # Removing call_3's answer would put two assistant messages together, which STRICT forbids.
        ("missing_tool_response", STRICT, [2, 2]),
        ("missing_tool_response", DEFAULT, [2, 2, 7]),
    ],
)
def test_each_mutator_finds_every_site_of_a_rich_conversation(
    kind: fx.validation.ViolationKind, policy: fx.validation.ValidationPolicy, sites: list[int]
) -> None:
    assert [c.violation.index for c in candidates(kind, BASE, policy)] == sites


def test_out_of_order_swaps_two_answers_in_call_order() -> None:
    (swapped,) = candidates("tool_responses_out_of_order", BASE, STRICT)
    assert tuple(swapped.messages) == (*BASE[:3], BASE[4], BASE[3], *BASE[5:])
    assert swapped.description == "swapped the tool messages at 3 and 4"
    # Already out of order (allowed by the default policy): nothing left to swap in call order.
    reversed_ = (*BASE[:3], BASE[4], BASE[3], *BASE[5:])
    assert candidates("tool_responses_out_of_order", reversed_, STRICT) == []


def test_missing_responses_are_not_taken_from_a_run_still_waiting() -> None:
    """A conversation may end mid-step when pending calls are allowed; removing
    one of those last answers is not a missing response."""
    pending = attrs.evolve(DEFAULT, allow_pending_tool_calls=True)
    waiting = BASE[:9]  # ends with the answer to call_3
    assert [c.violation.index for c in candidates("missing_tool_response", waiting, pending)] == [2, 2]
    assert [c.violation.index for c in candidates("missing_tool_response", waiting, DEFAULT)] == [2, 2, 7]


def test_answers_given_twice_are_left_alone_by_the_id_mutators() -> None:
    lax = attrs.evolve(DEFAULT, allow_duplicate_tool_response=True)
    twice = (*BASE[:4], BASE[3], *BASE[4:])  # call_1 answered at 3 and 4; message 7 is now at 8
    assert [c.violation.index for c in candidates("empty_tool_message_id", twice, lax)] == [5, 9]
    assert [c.violation.index for c in candidates("missing_tool_response", twice, lax)] == [2, 8]


def test_a_conversation_without_calls_only_takes_orphans() -> None:
    text_only = (fx.system("s"), fx.user("hi"), fx.assistant("hello"))
    assert {k for k in TOOL_MESSAGE_MUTATORS if candidates(k, text_only, STRICT)} == {"orphan_tool_message"}
    assert [c.violation.index for c in candidates("orphan_tool_message", text_only, STRICT)] == [1, 2, 3]


@given(st.data())
def test_every_candidate_breaks_exactly_its_rule(data: st.DataObject) -> None:
    policy = data.draw(fxst.validation_policies(), label="policy")
    messages = data.draw(
        fxst.conversations(policy=policy, tools=TOOLS, tool_call_density=0.7), label="messages"
    )
    checked = fxst.checked_kinds(policy)
    for kind in TOOL_MESSAGE_MUTATORS:
        if kind in checked:
            candidates(kind, messages, policy)
