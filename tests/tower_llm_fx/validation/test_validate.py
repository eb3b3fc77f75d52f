"""validate_conversation / validate_model_call: one example per violation kind, the
policy flags, tower-llm's false positives fixed, and properties (totality, the
fast path agreeing with the explaining one)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.validation._fast import accepts as _accepts
from tower_llm_fx.validation._report import report as _report

P = fx.validation.ValidationPolicy
S = fx.SystemMessage
U = fx.UserMessage
T = fx.ToolMessage


def A(content: str | None = None, *calls: tuple[str, str] | tuple[str, str, str]) -> fx.AssistantMessage:
    return fx.AssistantMessage(
        content=content,
        tool_calls=tuple(
            fx.ToolCallRequest(id=c[0], name=c[1], arguments=c[2] if len(c) == 3 else "{}") for c in calls
        ),
    )


ADD = fx.ToolSpec(
    name="add",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)


DEFAULT = P()


def kinds(
    messages: Sequence[object],
    policy: fx.validation.ValidationPolicy = DEFAULT,
    tools: Sequence[fx.ToolSpec] = (),
) -> list[tuple[str, int | None]]:
    return [(v.kind, v.index) for v in fx.validation.validate_conversation(messages, policy, tools=tools)]


VALID = (
    S(content="Be brief."),
    U(content="What is 2 + 3, and 4 + 5?"),
    A(None, ("c1", "add", '{"a": 2, "b": 3}'), ("c2", "add", '{"a": 4, "b": 5}')),
    T(tool_call_id="c1", content="5"),
    T(tool_call_id="c2", content="9"),
    A("5 and 9."),
)


# --------------------------------------------------------------------------- valid conversations


@pytest.mark.parametrize("policy", [P(), P.strict(), P.tower_llm(), P.openai()], ids=repr)
def test_a_well_formed_conversation_is_valid_under_every_preset(
    policy: fx.validation.ValidationPolicy,
) -> None:
    assert fx.validation.validate_conversation(VALID, policy, tools=(ADD,)) == ()


def test_adjacent_tool_messages_answering_one_turn_are_valid_even_without_repeated_roles() -> None:
    # tower-llm flagged this as RepeatedRole("tool") under its default policy.
    assert fx.validation.validate_conversation(VALID, P(allow_repeated_roles=False)) == ()


def test_out_of_order_answers_are_fine_by_default_and_flagged_when_order_is_enforced() -> None:
    swapped = (*VALID[:3], VALID[4], VALID[3], VALID[5])
    assert kinds(swapped) == []
    assert kinds(swapped, P(enforce_tool_response_order=True)) == [("tool_responses_out_of_order", 4)]


def test_a_skipped_answer_is_not_out_of_order_when_dangling_calls_are_allowed() -> None:
    # tower-llm compared observed answers with a prefix of the calls: [c1, c3] for
    # [c1, c2, c3] was "out of order". Answers in call order are in order.
    ms: tuple[fx.Message, ...] = (
        U(content="q"),
        A(None, ("c1", "f"), ("c2", "f"), ("c3", "f")),
        T(tool_call_id="c1", content="1"),
    )
    ms = (*ms, T(tool_call_id="c3", content="3"), A("done"))
    policy = P(enforce_tool_response_order=True, allow_dangling_tool_calls=True)
    assert kinds(ms, policy) == []


def test_the_result_is_a_tuple_and_violations_are_sorted_by_index_conversation_wide_last() -> None:
    ms = (A(None, ("c1", "f")), U(content="hi"), U(content="again"))
    out = fx.validation.validate_conversation(ms, attrs.evolve(P.strict(), check_tool_schemas=False))
    assert isinstance(out, tuple)
    assert [(v.kind, v.index) for v in out] == [
        ("assistant_before_user", 0),
        ("missing_tool_response", 0),
        ("repeated_role", 2),
    ]
    assert [(v.kind, v.index) for v in fx.validation.validate_conversation([S(content="x")], P.strict())] == [
        ("no_user_message", None)
    ]


# --------------------------------------------------------------------------- one example per kind


def test_empty_conversation() -> None:
    (v,) = fx.validation.validate_conversation(())
    assert (v.kind, v.index) == ("empty_conversation", None)
    assert "no messages" in v.explanation


def test_unsupported_message_points_at_wire_dicts() -> None:
    (v,) = fx.validation.validate_conversation([U(content="hi"), {"role": "developer", "content": "x"}])
    assert (v.kind, v.index) == ("unsupported_message", 1)
    assert "wire dict" in v.explanation


def test_system_not_first() -> None:
    ms = (U(content="hi"), S(content="late"), A("ok"))
    assert kinds(ms) == []
    assert kinds(ms, P(allow_system_anywhere=False)) == [("system_not_first", 1)]


def test_assistant_before_user() -> None:
    ms = (S(content="s"), A("Hello!"), U(content="hi"), A("ok"))
    assert kinds(ms) == []
    assert kinds(ms, P(require_user_first=True)) == [("assistant_before_user", 1)]


def test_repeated_role_once_per_adjacent_pair() -> None:
    ms = (U(content="a"), U(content="b"), U(content="c"), A("x"), A("y"))
    assert kinds(ms) == []
    assert kinds(ms, P(allow_repeated_roles=False)) == [
        ("repeated_role", 1),
        ("repeated_role", 2),
        ("repeated_role", 4),
    ]


def test_no_user_message() -> None:
    ms = (S(content="s"), A("monologue"))
    assert kinds(ms) == []
    assert kinds(ms, P(require_user_present=True)) == [("no_user_message", None)]


def test_empty_assistant_message_and_bare_refusal() -> None:
    (v,) = fx.validation.validate_conversation([U(content="hi"), fx.AssistantMessage()])
    assert (v.kind, v.index) == ("empty_assistant_message", 1)
    (v,) = fx.validation.validate_conversation([U(content="hi"), fx.AssistantMessage(refusal="No.")])
    assert v.kind == "empty_assistant_message"
    assert "refusal" in v.explanation
    # Content "" is accepted by the API.
    assert kinds([U(content="hi"), A("")]) == []


def test_empty_content() -> None:
    ms = (S(content=""), U(content=""), A(None, ("c1", "f")), T(tool_call_id="c1", content=""), A(""))
    assert kinds(ms) == []
    assert kinds(ms, P(allow_empty_content=False)) == [
        ("empty_content", 0),
        ("empty_content", 1),
        ("empty_content", 3),
        ("empty_content", 4),
    ]


def test_content_too_long() -> None:
    ms = (U(content="x" * 11),)
    assert kinds(ms, P(max_content_length=10)) == [("content_too_long", 0)]
    assert kinds(ms, P(max_content_length=11)) == []
    assert kinds((U(content="x" * (fx.validation.ValidationPolicy().max_content_length or 0)),)) == []


@pytest.mark.parametrize("name", ["Ada Lovelace", "a/b", "<|im_start|>", ""])
def test_invalid_name(name: str) -> None:
    assert kinds([U(content="hi", name=name)]) == [("invalid_name", 0)]
    assert kinds([U(content="hi", name=name)], P(check_names=False)) == []


def test_names_the_api_accepts() -> None:
    assert kinds([U(content="hi", name="ada-lovelace_1"), U(content="hi", name="Zoë")]) == []


def test_empty_tool_call_id() -> None:
    (v,) = fx.validation.validate_conversation(
        [U(content="q"), A(None, ("c1", "f"), ("", "g")), T(tool_call_id="c1", content="")]
    )
    assert (v.kind, v.index) == ("empty_tool_call_id", 1)
    assert "position(s) 1" in v.explanation


def test_tool_call_id_too_long() -> None:
    long_id = "toolu_" + "x" * 40
    ms = (U(content="q"), A(None, (long_id, "f")), T(tool_call_id=long_id, content="1"))
    assert kinds(ms) == [("tool_call_id_too_long", 1)]
    assert kinds(ms, P(max_tool_call_id_length=None)) == []


def test_duplicate_tool_call_id_within_one_message() -> None:
    ms = (U(content="q"), A(None, ("c1", "f"), ("c1", "g")), T(tool_call_id="c1", content="1"))
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("duplicate_tool_call_id", 1)
    assert "'c1'" in v.explanation


def test_ids_reused_across_turns_are_fine_unless_forbidden() -> None:
    ms = (
        U(content="q"),
        A(None, ("call_0", "f")),
        T(tool_call_id="call_0", content="1"),
        A(None, ("call_0", "f")),
        T(tool_call_id="call_0", content="2"),
        A("done"),
    )
    assert kinds(ms) == []
    (v,) = fx.validation.validate_conversation(ms, P(allow_reused_tool_call_ids=False))
    assert (v.kind, v.index) == ("duplicate_tool_call_id", 3)
    assert "first used at 1" in v.explanation


def test_invalid_tool_name() -> None:
    ms = (U(content="q"), A(None, ("c1", "functions.add")), T(tool_call_id="c1", content="1"))
    assert kinds(ms) == [("invalid_tool_name", 1)]


def test_invalid_tool_arguments_only_when_checked() -> None:
    ms: tuple[fx.Message, ...] = (
        U(content="q"),
        A(None, ("c1", "f", '{"a": '), ("c2", "f", "[1]"), ("c3", "f", "")),
    )
    ms = (
        *ms,
        T(tool_call_id="c1", content="1"),
        T(tool_call_id="c2", content="2"),
        T(tool_call_id="c3", content="3"),
    )
    assert kinds(ms) == []
    (v,) = fx.validation.validate_conversation(ms, P(check_tool_arguments=True))
    assert (v.kind, v.index) == ("invalid_tool_arguments", 1)
    assert "call 0: not valid JSON" in v.explanation
    assert "call 1: a JSON list, not an object" in v.explanation
    assert "call 2" not in v.explanation  # blank arguments mean {}


def test_unknown_tool_and_schema_mismatch_need_the_tools() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "add", '{"a": 1}'), ("c2", "mul", '{"a": 1, "b": 2}')),
        T(tool_call_id="c1", content="?"),
        T(tool_call_id="c2", content="?"),
    )
    assert kinds(ms, tools=(ADD,)) == []
    out = fx.validation.validate_conversation(ms, P(check_tool_schemas=True), tools=(ADD,))
    assert [(v.kind, v.index) for v in out] == [("unknown_tool", 1), ("tool_arguments_mismatch", 1)]
    assert "'mul'" in out[0].explanation
    assert "'b' is a required property" in out[1].explanation


def test_empty_tool_message_id_still_counts_as_an_answer() -> None:
    ms = (U(content="q"), A(None, ("c1", "f")), T(tool_call_id="", content="1"), A("ok"))
    assert kinds(ms) == [("empty_tool_message_id", 2)]


def test_orphan_tool_message() -> None:
    assert kinds([U(content="q"), T(tool_call_id="c1", content="1")]) == [("orphan_tool_message", 1)]
    # after an assistant message without calls, too
    ms = (U(content="q"), A("hi"), T(tool_call_id="c1", content="1"))
    assert kinds(ms) == [("orphan_tool_message", 2)]


def test_unknown_tool_response() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "f")),
        T(tool_call_id="c1", content="1"),
        T(tool_call_id="c9", content="9"),
    )
    assert kinds(ms) == [("unknown_tool_response", 3)]
    assert kinds(ms, P(allow_unknown_tool_response=True)) == []


def test_duplicate_tool_response() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "f")),
        T(tool_call_id="c1", content="1"),
        T(tool_call_id="c1", content="1"),
    )
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("duplicate_tool_response", 3)
    assert "first is at 2" in v.explanation
    assert kinds(ms, P(allow_duplicate_tool_response=True)) == []


def test_tool_responses_not_contiguous_reported_once_at_the_interruption() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "f"), ("c2", "f")),
        T(tool_call_id="c1", content="1"),
        U(content="are you there?"),
        T(tool_call_id="c2", content="2"),
        A("ok"),
    )
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("tool_responses_not_contiguous", 3)
    assert "tool message at 4" in v.explanation
    assert kinds(ms, P(enforce_contiguous_tool_responses=False)) == []


def test_missing_tool_response_lists_the_calls_in_order() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "f"), ("c2", "g"), ("c3", "h")),
        T(tool_call_id="c2", content="2"),
        A("ok"),
    )
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("missing_tool_response", 1)
    assert "'c1' (f), 'c3' (h)" in v.explanation
    assert kinds(ms, P(allow_dangling_tool_calls=True)) == []


def test_a_user_message_after_unanswered_calls_is_missing_not_non_contiguous() -> None:
    ms = (U(content="q"), A(None, ("c1", "f")), U(content="hello?"))
    assert kinds(ms) == [("missing_tool_response", 1)]


def test_pending_calls_at_the_end_only_when_allowed() -> None:
    ms = (U(content="q"), A(None, ("c1", "f"), ("c2", "f")), T(tool_call_id="c1", content="1"))
    assert kinds(ms) == [("missing_tool_response", 1)]
    assert kinds(ms, P(allow_pending_tool_calls=True)) == []
    # ... but not once something other than a tool message followed
    assert kinds((*ms, U(content="and?")), P(allow_pending_tool_calls=True)) == [("missing_tool_response", 1)]


# --------------------------------------------------------------------------- whole model calls


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


# --------------------------------------------------------------------------- values


def test_policy_is_a_validated_frozen_value() -> None:
    with pytest.raises(TypeError):
        P(allow_system_anywhere="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive int or None"):
        P(max_content_length=0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        P().require_user_first = True  # type: ignore[misc]
    assert P() == P.openai()
    assert hash(P.strict()) == hash(P.strict())


def test_violation_rejects_unknown_kinds_and_negative_indexes() -> None:
    with pytest.raises(ValueError):
        fx.validation.Violation(kind="no_such_rule", index=0, explanation="")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        fx.validation.Violation(kind="empty_content", index=-1, explanation="")
    assert set(fx.validation.VIOLATION_KINDS) >= {"missing_tool_response", "orphan_tool_message"}
    assert len(fx.validation.VIOLATION_KINDS) == len(set(fx.validation.VIOLATION_KINDS)) == 28


@given(fxst.validation_policies())
def test_policy_json_round_trip(policy: fx.validation.ValidationPolicy) -> None:
    assert fx.from_json(json.loads(json.dumps(fx.to_json(policy)))) == policy


def test_violation_json_round_trip_and_str() -> None:
    (v,) = fx.validation.validate_conversation([U(content="q"), T(tool_call_id="c", content="1")])
    assert fx.from_json(fx.to_json(v)) == v
    assert str(v).startswith("messages[1]: tool message")
    assert str(v).endswith("[orphan_tool_message]")


# --------------------------------------------------------------------------- properties


@given(st.lists(fxst.messages(), max_size=8), fxst.validation_policies())
def test_total_and_the_fast_path_only_accepts_what_the_reporter_accepts(
    messages: list[fx.Message], policy: fx.validation.ValidationPolicy
) -> None:
    report = _report(messages, policy, (ADD,))
    assert fx.validation.validate_conversation(messages, policy, tools=(ADD,)) == report
    if _accepts(messages, policy, (ADD,)):
        assert report == ()
    for v in report:
        assert v.index is None or 0 <= v.index < len(messages)


@given(st.data())
def test_fast_path_accepts_what_agents_produce(data: st.DataObject) -> None:
    # Contiguous, in-order answers: the shape of every agent run. The fast path
    # must accept them (or the benchmark figures would be meaningless).
    policy = P.strict()
    messages = data.draw(fxst.conversations(policy=policy, tools=(ADD,)))
    assert _accepts(messages, policy, (ADD,))


@given(fxst.validation_policies(), st.lists(st.one_of(fxst.messages(), st.integers(), st.none()), max_size=5))
def test_never_raises_whatever_the_input(policy: fx.validation.ValidationPolicy, items: list[object]) -> None:
    out = fx.validation.validate_conversation(items, policy)
    assert all(isinstance(v, fx.validation.Violation) for v in out)
