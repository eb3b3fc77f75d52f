"""Messages <-> OpenAI wire dicts, with the strategies: exact round trips, and the
validator agreeing with what the encoder actually sends."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst


def through_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


@given(fxst.messages())
def test_every_message_survives_the_wire_exactly(message: fx.Message) -> None:
    wire = through_json(fx.openai.to_openai_message(message))
    assert fx.openai.from_openai_message(wire) == message
    # what the encoder writes is canonical: encoding the decoded dict gives it back
    assert fx.openai.to_openai_message(fx.openai.from_openai_message(wire)) == wire


@given(st.data())
def test_valid_conversations_stay_valid_across_the_wire(data: st.DataObject) -> None:
    policy = data.draw(fxst.validation_policies())
    tools = (fx.ToolSpec(name="get_time"),)
    messages = data.draw(fxst.conversations(policy=policy, tools=tools))
    wire = through_json([fx.openai.to_openai_message(m) for m in messages])
    back = tuple(fx.openai.from_openai_message(d) for d in wire)
    assert back == messages
    assert fx.validation.validate_conversation(back, policy, tools=tools) == ()


@given(fxst.mutations(policy=fx.validation.ValidationPolicy.strict(), tools=(fx.ToolSpec(name="get_time"),)))
def test_invalid_conversations_keep_their_violation_across_the_wire(m: fxst.Mutation) -> None:
    back = tuple(
        fx.openai.from_openai_message(through_json(fx.openai.to_openai_message(x))) for x in m.messages
    )
    policy = fx.validation.ValidationPolicy.strict()
    assert fx.validation.validate_conversation(back, policy, tools=(fx.ToolSpec(name="get_time"),)) == (
        m.violation,
    )


@given(fxst.model_calls())
def test_model_calls_survive_the_request_codec(call: fx.ModelCall) -> None:
    body = through_json(fx.openai.to_openai_request(call))
    assert fx.openai.from_openai_request(body) == call


@given(fxst.messages())
def test_the_null_content_rule_matches_what_the_encoder_sends(message: fx.Message) -> None:
    # The API rejects an assistant message whose content is null unless it has
    # tool calls; the validator must flag exactly the messages encoded that way.
    wire = fx.openai.to_openai_message(message)
    rejected = wire["role"] == "assistant" and wire.get("content") is None and not wire.get("tool_calls")
    flagged = any(
        v.kind == "empty_assistant_message"
        for v in fx.validation.validate_conversation(
            [fx.user("hi"), message], fx.validation.ValidationPolicy(check_names=False)
        )
    )
    assert flagged == rejected


@given(fxst.messages())
def test_names_checked_are_the_names_sent(message: fx.Message) -> None:
    wire = fx.openai.to_openai_message(message)
    kinds = {v.kind for v in fx.validation.validate_conversation([message], fx.validation.ValidationPolicy())}
    sent_name = wire.get("name")
    assert ("invalid_name" in kinds) == (sent_name is not None and not _name_ok(sent_name))
    call_names = [c["function"]["name"] for c in wire.get("tool_calls", [])]
    assert ("invalid_tool_name" in kinds) == any(not _tool_name_ok(n) for n in call_names)


def _name_ok(name: str) -> bool:
    return bool(name) and not any(ch.isspace() or ch in "<|\\/>" for ch in name)


def _tool_name_ok(name: str) -> bool:
    return bool(name) and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in name)
