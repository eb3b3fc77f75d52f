"""Approve, Decision and the pure meaning of a decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.resilience

CALL = fx.ToolCall(id="c1", name="rm", arguments='{"path": "/"}')
REPLY = fx.ModelReply(
    message=fx.assistant("rm -rf /"),
    usage=fx.Usage(prompt_tokens=10, completion_tokens=3),
    model="m-1",
    id="r1",
)


def test_allow_keeps_the_call_and_the_reply() -> None:
    assert fx.resilience.apply_decision(CALL, fx.resilience.allow()) is CALL
    assert fx.resilience.apply_decision(REPLY, fx.resilience.allow()) is REPLY


def test_a_denied_call_is_answered_with_a_denied_error_result() -> None:
    out = fx.resilience.apply_decision(CALL, fx.resilience.deny("outside the sandbox"))
    assert isinstance(out, fx.ToolResult)
    assert out.call_id == "c1" and out.name == "rm"
    assert out.error == fx.ToolError(kind="denied", message="outside the sandbox")
    assert out.to_message().content == "error (denied): outside the sandbox"


def test_modify_edits_only_the_arguments() -> None:
    out = fx.resilience.apply_decision(CALL, fx.resilience.modify(arguments={"path": "/tmp/x"}))
    assert out == fx.ToolCall(id="c1", name="rm", arguments='{"path":"/tmp/x"}')
    assert fx.resilience.apply_decision(CALL, fx.resilience.modify(arguments="{}")) == fx.ToolCall(
        id="c1", name="rm", arguments="{}"
    )


def test_a_denied_reply_becomes_a_refusal_and_keeps_its_usage() -> None:
    out = fx.resilience.apply_decision(REPLY, fx.resilience.deny("unsafe advice"))
    assert out.message == fx.AssistantMessage(refusal="denied: unsafe advice")
    assert out.usage == REPLY.usage and out.model == "m-1" and out.id == "r1"
    assert out.finish_reason == "denied"


def test_a_modified_reply_replaces_the_message_and_keeps_the_usage() -> None:
    out = fx.resilience.apply_decision(
        REPLY, fx.resilience.modify(reply=fx.ModelReply(message=fx.assistant("I can't help with that.")))
    )
    assert out.message.content == "I can't help with that."
    assert out.usage == REPLY.usage and out.model == "m-1"


def test_decisions_that_do_not_fit_raise_approval_error() -> None:
    with pytest.raises(fx.resilience.ApprovalError, match="modify\\(arguments"):
        fx.resilience.apply_decision(CALL, fx.resilience.modify(reply=REPLY))
    with pytest.raises(fx.resilience.ApprovalError, match="modify\\(reply"):
        fx.resilience.apply_decision(REPLY, fx.resilience.modify(arguments="{}"))
    with pytest.raises(fx.resilience.ApprovalError, match="must return a Decision"):
        fx.resilience.apply_decision(CALL, True)  # type: ignore[call-overload]


def test_decisions_are_validated() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        fx.resilience.deny("  ")
    with pytest.raises(ValueError, match="exactly one"):
        fx.resilience.modify()
    with pytest.raises(ValueError, match="exactly one"):
        fx.resilience.modify(arguments="{}", reply=REPLY)
    with pytest.raises(ValueError, match="carries no arguments"):
        fx.resilience.Decision(kind="allow", arguments="{}")
    with pytest.raises(TypeError, match=r"Approve\.subject"):
        fx.resilience.Approve(subject=fx.user("hi"))


def test_effect_and_decision_round_trip_through_json() -> None:
    for value in (
        fx.resilience.Approve(subject=CALL),
        fx.resilience.Approve(subject=REPLY, request=fx.ModelCall(model="m", messages=(fx.user("hi"),))),
        fx.resilience.allow(),
        fx.resilience.deny("no"),
        fx.resilience.modify(arguments={"a": 1}),
        fx.resilience.modify(reply=REPLY),
    ):
        assert fx.from_json(fx.to_json(value)) == value
    assert fx.resilience.Approve.result_type is fx.resilience.Decision


decisions = st.one_of(
    st.just(fx.resilience.allow()),
    st.text(min_size=1).filter(str.strip).map(fx.resilience.deny),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3).map(
        lambda a: fx.resilience.modify(arguments=a)
    ),
)
calls = st.builds(
    fx.ToolCall, id=st.text(min_size=1, max_size=8), name=st.sampled_from(["a", "b"]), arguments=st.text()
)


@given(calls, decisions)
def test_any_decision_still_answers_the_same_call(
    call: fx.ToolCall, decision: fx.resilience.Decision
) -> None:
    out = fx.resilience.apply_decision(call, decision)
    if isinstance(out, fx.ToolResult):
        assert decision.kind == "deny"
        assert (out.call_id, out.name) == (call.id, call.name)
        assert out.error is not None and out.error.kind == "denied"
    else:
        assert (out.id, out.name) == (call.id, call.name)
        assert out.arguments == (decision.arguments if decision.kind == "modify" else call.arguments)
