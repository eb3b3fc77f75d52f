"""Mutators of the conversation's shape and of one message's content
(``strategies/_mutators_messages.py``): every candidate, at every site, breaks
exactly the rule its kind names, and the mutators leave their input alone."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.strategies._mutation_sites import Candidate
from tower_llm_fx.strategies._mutators_messages import MESSAGE_MUTATORS

from ._helpers import BASE, DEFAULT, STRICT, TOOLS, checked_candidates


def candidates(
    kind: fx.validation.ViolationKind,
    messages: Sequence[fx.Message],
    policy: fx.validation.ValidationPolicy,
    tools: Sequence[fx.ToolSpec] = TOOLS,
) -> list[Candidate]:
    """Every candidate of ``kind``, each checked to break exactly its rule; the input stays as it was."""
    return checked_candidates(MESSAGE_MUTATORS[kind], kind, messages, policy, tools)


@pytest.mark.parametrize(
    ("kind", "policy", "sites"),
    [
        ("empty_conversation", STRICT, [None]),
        ("system_not_first", STRICT, [2, 5, 6, 7, 9, 10]),
        ("assistant_before_user", STRICT, [1]),
        ("repeated_role", STRICT, [1, 2, 6, 7, 10]),
        ("no_user_message", STRICT, [None]),  # removing the users would put two assistants together
        ("no_user_message", fx.validation.ValidationPolicy(require_user_present=True), [None, None]),
        ("empty_assistant_message", STRICT, [5, 5, 9, 9]),
        ("empty_content", STRICT, [0, 1, 3, 4, 5, 6, 8, 9]),
        ("content_too_long", DEFAULT, list(range(10))),
        ("invalid_name", DEFAULT, [1, 2, 5, 6, 7, 9]),
    ],
)
def test_each_mutator_finds_every_site_of_a_rich_conversation(
    kind: fx.validation.ViolationKind, policy: fx.validation.ValidationPolicy, sites: list[int | None]
) -> None:
    assert [c.violation.index for c in candidates(kind, BASE, policy)] == sites


def test_the_descriptions_say_what_changed() -> None:
    (greeting,) = candidates("assistant_before_user", BASE, STRICT)
    assert greeting.description == "inserted an assistant greeting at 1"
    assert greeting.messages[1] == fx.assistant("Hello! How can I help?")
    emptied, refused = candidates("empty_assistant_message", BASE, STRICT)[:2]
    assert (emptied.description, refused.description) == (
        "emptied the assistant message at 5",
        "made the assistant message at 5 a bare refusal",
    )
    (only_system,) = candidates("no_user_message", BASE, STRICT)
    assert tuple(only_system.messages) == BASE[:1]


def test_too_long_content_is_one_past_the_limit() -> None:
    policy = fx.validation.ValidationPolicy(max_content_length=8)
    short = (fx.user("hi"), fx.assistant("hello"))
    first = candidates("content_too_long", short, policy)[0]
    assert first.messages[0] == fx.user("x" * 9)


def test_no_site_when_the_shape_forbids_it() -> None:
    assistant_first = (fx.assistant("Hi."),)
    assert candidates("assistant_before_user", assistant_first, STRICT) == []  # it would repeat a role
    assert candidates("no_user_message", (fx.user("hi"),), DEFAULT) == []
    assert candidates("invalid_name", (fx.system("s"),), DEFAULT) == []


@given(st.data())
def test_every_candidate_breaks_exactly_its_rule(data: st.DataObject) -> None:
    policy = data.draw(fxst.validation_policies(), label="policy")
    messages = data.draw(
        fxst.conversations(policy=policy, tools=TOOLS, tool_call_density=0.7), label="messages"
    )
    checked = fxst.checked_kinds(policy)
    for kind in MESSAGE_MUTATORS:
        if kind in checked:
            candidates(kind, messages, policy)
