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
        ("invalid_name", DEFAULT, [0, 1, 2, 5, 6, 7, 9]),  # system messages have names too
        ("empty_content_parts", DEFAULT, list(range(10))),
        ("unsupported_content_part", DEFAULT, [0, 2, 3, 4, 5, 7, 8, 9]),
        ("invalid_content_part", DEFAULT, [1, 1, 1, 6, 6, 6]),
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
    assert candidates("invalid_name", (fx.ToolMessage(tool_call_id="c", content="s"),), DEFAULT) == []
    assert candidates("unsupported_content_part", (fx.user("hi"),), DEFAULT) == []  # users take images
    assert candidates("invalid_content_part", (fx.system("s"),), DEFAULT) == []  # only users take images


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


def test_part_mutators_keep_the_content_and_add_one_part() -> None:
    ms = (
        fx.developer("Be brief."),
        fx.user("look", fx.image("https://example.com/a.png")),
        fx.assistant("ok"),
    )
    (dev, assistant) = candidates("unsupported_content_part", ms, DEFAULT)
    assert dev.messages[0] == fx.developer("Be brief.", fx.ImagePart(url="https://example.com/cat.png"))
    assert "developer message has content part(s) its role does not accept: part 1 (ImagePart)" in (
        dev.violation.explanation
    )
    assert assistant.violation.index == 2
    bad_detail = candidates("invalid_content_part", ms, DEFAULT)[0]
    user = bad_detail.messages[1]
    assert isinstance(user, fx.UserMessage) and isinstance(user.content, tuple)
    assert user.content[:2] == ms[1].content and len(user.content) == 3
    assert bad_detail.violation.explanation.endswith(
        "part 2: image detail 'medium' is not 'auto', 'low' or 'high'"
    )
    (emptied, *_) = candidates("empty_content_parts", ms, DEFAULT)
    assert emptied.messages[0] == fx.DeveloperMessage(content=())


def test_part_mutators_need_parts_to_be_checked() -> None:
    lax = fx.validation.ValidationPolicy(check_content_parts=False)
    assert "unsupported_content_part" not in fxst.checked_kinds(lax)
    assert "invalid_content_part" not in fxst.checked_kinds(lax)
    assert "empty_content_parts" in fxst.checked_kinds(lax)  # the API always rejects an empty array
    assert fxst.mutate(BASE, "unsupported_content_part", policy=lax) is None
