"""Conversation strategies (``strategies/_conversations.py``): `validation_policies`,
`conversations` (valid under the policy drawn for, using what it permits, honouring
its knobs) and the `mutations` strategy (its sources and ``kinds``)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst

from ._helpers import ADD, STRICT, TOOLS


@given(st.data())
def test_conversations_are_valid_under_the_policy_they_were_drawn_for(data: st.DataObject) -> None:
    policy = data.draw(fxst.validation_policies(), label="policy")
    tools = data.draw(st.lists(fxst.tool_specs(), min_size=1, max_size=3, unique_by=lambda s: s.name))
    messages = data.draw(fxst.conversations(policy=policy, tools=tools))
    assert fx.validation.validate_conversation(messages, policy, tools=tools) == ()


@given(fxst.conversations(policy=fx.validation.ValidationPolicy.strict(), tools=(ADD,)))
def test_strict_conversations_are_valid_under_every_policy(messages: tuple[fx.Message, ...]) -> None:
    for policy in (
        fx.validation.ValidationPolicy(),
        fx.validation.ValidationPolicy.tower_llm(),
        fx.validation.ValidationPolicy.strict(),
    ):
        assert fx.validation.validate_conversation(messages, policy, tools=(ADD,)) == ()


@given(fxst.conversations(system=True, min_turns=2, max_turns=2, tool_call_density=0.0))
def test_knobs_system_turns_and_no_tools(messages: tuple[fx.Message, ...]) -> None:
    assert isinstance(messages[0], (fx.SystemMessage, fx.DeveloperMessage))
    assert not any(isinstance(m, fx.ToolMessage) for m in messages)
    assert sum(isinstance(m, fx.UserMessage) for m in messages) >= 2


@given(fxst.conversations(system=False, tool_call_density=1.0, max_parallel_calls=2, max_tool_rounds=1))
def test_knobs_no_system_prompt_and_every_turn_calls_tools(messages: tuple[fx.Message, ...]) -> None:
    assert not isinstance(messages[0], (fx.SystemMessage, fx.DeveloperMessage))
    with_calls = [m for m in messages if isinstance(m, fx.AssistantMessage) and m.tool_calls]
    assert with_calls
    assert all(1 <= len(m.tool_calls) <= 2 for m in with_calls)


def test_parallel_calls_are_drawn() -> None:
    found = find(
        fxst.conversations(tool_call_density=1.0, max_parallel_calls=4),
        lambda ms: any(isinstance(m, fx.AssistantMessage) and len(m.tool_calls) == 4 for m in ms),
        settings=settings(database=None, max_examples=300, phases=[Phase.generate]),
    )
    assert fx.validation.validate_conversation(found) == ()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_turns": 3, "max_turns": 1},
        {"tool_call_density": 1.5},
        {"max_parallel_calls": 0},
        {"policy": "strict"},
    ],
)
def test_bad_knobs_are_rejected_when_the_strategy_is_built(kwargs: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        fxst.conversations(**kwargs)


def test_mutations_strategy_honours_kinds() -> None:
    @given(fxst.mutations(policy=STRICT, tools=TOOLS, kinds=["missing_tool_response", "orphan_tool_message"]))
    def check(m: fxst.Mutation) -> None:
        assert m.kind in ("missing_tool_response", "orphan_tool_message")

    check()
    with pytest.raises(ValueError, match="checks none"):
        fxst.mutations(kinds=["repeated_role"])


# --------------------------------------------------------------------------- policies

FIND = settings(database=None, max_examples=1000, phases=[Phase.generate])


@given(fxst.validation_policies())
def test_policies_are_json_values(policy: fx.validation.ValidationPolicy) -> None:
    assert fx.from_json(fx.to_json(policy)) == policy
    assert policy.max_content_length in (None, 10_485_760)
    assert policy.max_tool_call_id_length in (None, 40)


@pytest.mark.parametrize("value", [True, False])
def test_policies_turn_every_rule_on_and_off(value: bool) -> None:
    found = find(
        fxst.validation_policies(),
        lambda p: (
            all(getattr(p, f) is value for f in ("require_user_first", "allow_repeated_roles", "check_names"))
            and (p.max_content_length is None) is value
        ),
        settings=FIND,
    )
    assert found.require_user_first is value


# --------------------------------------------------------------------------- using what the policy permits

# Everything a conversation may do: no ordering, contiguity, uniqueness or emptiness rule.
LAX = fx.validation.ValidationPolicy(
    enforce_contiguous_tool_responses=False,
    allow_unknown_tool_response=True,
    allow_duplicate_tool_response=True,
    allow_dangling_tool_calls=True,
    allow_pending_tool_calls=True,
)
# Every rule on (but tool schemas, which need the tools): what LAX conversations then break.
RULES = fx.validation.ValidationPolicy(
    allow_system_anywhere=False,
    require_user_first=True,
    allow_repeated_roles=False,
    enforce_tool_response_order=True,
    allow_reused_tool_call_ids=False,
    allow_empty_content=False,
    check_tool_arguments=True,
)


@pytest.mark.parametrize(
    "kind",
    [
        "system_not_first",
        "assistant_before_user",
        "repeated_role",
        "empty_content",
        "duplicate_tool_call_id",
        "invalid_tool_arguments",
        "unknown_tool_response",
        "duplicate_tool_response",
        "tool_responses_out_of_order",
        "tool_responses_not_contiguous",
        "missing_tool_response",
    ],
)
def test_lax_policies_get_conversations_that_use_their_freedom(kind: fx.validation.ViolationKind) -> None:
    found = find(
        fxst.conversations(policy=LAX),
        lambda ms: kind in {v.kind for v in fx.validation.validate_conversation(ms, RULES)},
        settings=FIND,
    )
    assert fx.validation.validate_conversation(found, LAX) == ()


def test_conversations_may_end_waiting_for_tool_results_when_allowed() -> None:
    found = find(fxst.conversations(policy=LAX), lambda ms: bool(fx.pending_tool_calls(ms)), settings=FIND)
    assert isinstance(found[-1], (fx.AssistantMessage, fx.ToolMessage))
    assert fx.validation.validate_conversation(found, LAX) == ()
    strict_end = attrs.evolve(LAX, allow_pending_tool_calls=False, allow_dangling_tool_calls=False)
    assert "missing_tool_response" in {v.kind for v in fx.validation.validate_conversation(found, strict_end)}


@given(
    fxst.conversations(policy=STRICT, tools=TOOLS, min_turns=1, max_turns=3, tool_call_density=0.0),
)
def test_without_tool_rounds_a_strict_conversation_alternates_user_and_assistant(
    messages: tuple[fx.Message, ...],
) -> None:
    roles = [m.role for m in messages if not isinstance(m, (fx.SystemMessage, fx.DeveloperMessage))]
    turns = len(roles) // 2
    assert 1 <= turns <= 3
    assert roles == ["user", "assistant"] * turns
    assert all(
        isinstance(m, (fx.SystemMessage, fx.DeveloperMessage)) for m in messages[: len(messages) - len(roles)]
    )


@given(fxst.conversations(tool_call_density=1.0, max_tool_rounds=0))
def test_no_tool_rounds_means_no_tool_calls(messages: tuple[fx.Message, ...]) -> None:
    assert not any(isinstance(m, fx.AssistantMessage) and m.tool_calls for m in messages)
    assert not any(isinstance(m, fx.ToolMessage) for m in messages)


@given(fxst.conversations(tools=TOOLS, tool_call_density=1.0))
def test_calls_use_the_tools_given_and_round_trip(messages: tuple[fx.Message, ...]) -> None:
    names = {c.name for m in messages if isinstance(m, fx.AssistantMessage) for c in m.tool_calls}
    assert names and names <= {"add", "search"}
    assert fx.from_json(fx.to_json(messages)) == messages


# --------------------------------------------------------------------------- the mutations strategy

BASE = (
    fx.user("What is 2 + 3?"),
    fx.AssistantMessage(
        tool_calls=(fx.ToolCallRequest(id="call_1", name="add", arguments='{"a": 2, "b": 3}'),)
    ),
    fx.ToolMessage(tool_call_id="call_1", content="5"),
    fx.assistant("5."),
)


@given(fxst.mutations(st.just(BASE), policy=STRICT, tools=TOOLS))
def test_mutations_of_a_given_source_break_it_once(m: fxst.Mutation) -> None:
    assert m.messages != BASE
    assert fx.validation.validate_conversation(m.messages, STRICT, tools=TOOLS) == (m.violation,)
    assert fx.from_json(fx.to_json(m)) == m


def test_mutations_reject_kinds_no_mutator_makes() -> None:
    with pytest.raises(ValueError, match="cannot mutate towards"):
        fxst.mutations(kinds=["too_many_tools"])


# --------------------------------------------------------------------------- the widened model

_FIND = settings(database=None, max_examples=500, phases=[Phase.generate])


@pytest.mark.parametrize(
    "found",
    [
        pytest.param(lambda ms: isinstance(ms[0], fx.DeveloperMessage), id="developer-instructions"),
        pytest.param(
            lambda ms: any(isinstance(m, fx.UserMessage) and isinstance(m.content, tuple) for m in ms),
            id="user-parts",
        ),
        pytest.param(
            lambda ms: any(isinstance(m, fx.ToolMessage) and isinstance(m.content, tuple) for m in ms),
            id="tool-parts",
        ),
        pytest.param(
            lambda ms: any(isinstance(m, fx.AssistantMessage) and m.reasoning is not None for m in ms),
            id="reasoning",
        ),
        pytest.param(lambda ms: any(m.extra is not None for m in ms), id="extras"),
        pytest.param(
            lambda ms: any(
                isinstance(m, fx.AssistantMessage) and any(c.extra is not None for c in m.tool_calls)
                for m in ms
            ),
            id="call-extras",
        ),
    ],
)
def test_conversations_draw_the_widened_model(found: Any) -> None:
    ms = find(fxst.conversations(policy=STRICT, tools=TOOLS, tool_call_density=0.7), found, settings=_FIND)
    assert fx.validation.validate_conversation(ms, STRICT, tools=TOOLS) == ()


@given(fxst.conversations(parts=False, extras=False, tool_call_density=0.7))
def test_conversations_without_parts_and_extras_are_the_plain_model(messages: tuple[fx.Message, ...]) -> None:
    for m in messages:
        assert m.content is None or isinstance(m.content, str)
        assert m.extra is None and not isinstance(m, fx.DeveloperMessage)
        if isinstance(m, fx.AssistantMessage):
            assert m.reasoning is None and all(c.extra is None for c in m.tool_calls)


def test_conversations_use_parts_a_role_refuses_when_parts_are_not_checked() -> None:
    lax = fx.validation.ValidationPolicy(check_content_parts=False)
    ms = find(
        fxst.conversations(policy=lax, tool_call_density=1.0),
        lambda ms: any(
            isinstance(m, fx.ToolMessage)
            and isinstance(m.content, tuple)
            and any(not isinstance(p, (fx.TextPart, fx.OtherPart)) for p in m.content)
            for m in ms
        ),
        settings=_FIND,
    )
    assert fx.validation.validate_conversation(ms, lax) == ()
    assert "unsupported_content_part" in {v.kind for v in fx.validation.validate_conversation(ms)}


@given(
    fxst.mutations(
        policy=STRICT,
        tools=TOOLS,
        kinds=["empty_content_parts", "unsupported_content_part", "invalid_content_part"],
    )
)
def test_part_mutations_break_exactly_their_rule(m: fxst.Mutation) -> None:
    assert fx.validation.validate_conversation(m.messages, STRICT, tools=TOOLS) == (m.violation,)
