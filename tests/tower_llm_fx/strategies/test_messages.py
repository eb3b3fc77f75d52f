"""Message strategies (``strategies/_messages.py``): single messages of each role,
their knobs, and the atoms (names, tool names, call ids, JSON objects) other
strategies build on, which must be what the API accepts."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.strategies._messages import json_objects


@given(st.lists(fxst.messages(), max_size=6))
def test_messages_are_valid_values(messages: list[fx.Message]) -> None:
    assert fx.from_json(fx.to_json(messages)) == tuple(messages)


@given(
    fxst.user_messages(),
    fxst.tool_call_requests(arguments=json_objects()),
    fxst.system_messages(),
)
def test_names_tool_names_and_ids_are_what_the_api_accepts(
    user: fx.UserMessage, call: fx.ToolCallRequest, system: fx.SystemMessage
) -> None:
    """Under the default policy (the API's rules: name patterns, id length) these form a valid exchange."""
    answer = fx.ToolMessage(tool_call_id=call.id, content="ok")
    messages = (system, user, fx.AssistantMessage(tool_calls=(call,)), answer)
    strict_args = fx.validation.ValidationPolicy(check_tool_arguments=True)
    assert fx.validation.validate_conversation(messages, strict_args) == ()


@given(json_objects())
def test_json_objects_are_json_object_text(text: str) -> None:
    value = json.loads(text)
    assert isinstance(value, dict) and len(value) <= 3
    assert fx.validation.arguments_problem(text) is None


@given(fxst.assistant_messages(st.just("x"), max_tool_calls=2))
def test_assistant_messages_honour_their_knobs(m: fx.AssistantMessage) -> None:
    assert len(m.tool_calls) <= 2
    assert m.content in (None, "x") and m.refusal in (None, "x")


@given(
    st.one_of(
        fxst.system_messages(st.just("s")),
        fxst.user_messages(st.just("s")),
        fxst.tool_messages(st.just("s"), ids=st.just("call_7")),
    )
)
def test_content_and_id_strategies_are_used(m: fx.Message) -> None:
    assert m.content == "s"
    if isinstance(m, fx.ToolMessage):
        assert m.tool_call_id == "call_7"


@given(
    fxst.tool_call_requests(ids=st.just("x"), names=st.just("lookup"), arguments=st.just("{}"), extras=False)
)
def test_tool_call_requests_honour_their_knobs(call: fx.ToolCallRequest) -> None:
    assert call == fx.ToolCallRequest(id="x", name="lookup", arguments="{}")


def test_messages_draw_every_role() -> None:
    seen: set[str] = set()

    @given(fxst.messages())
    def record(m: fx.Message) -> None:
        seen.add(m.role)

    record()
    assert seen == {"system", "developer", "user", "assistant", "tool"}
