"""Streaming events: frozen values that round-trip through JSON; `reply_events`."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.serde

steps = st.integers(1, 1000)
texts = st.text(max_size=20)
usages = st.builds(fx.Usage, prompt_tokens=st.integers(0, 10**6), completion_tokens=st.integers(0, 10**6))
calls = st.builds(
    fx.ToolCallRequest, id=st.text(min_size=1, max_size=5), name=st.just("add"), arguments=texts
)
replies = st.builds(
    fx.ModelReply,
    message=st.builds(
        fx.AssistantMessage,
        content=st.none() | texts,
        tool_calls=st.lists(calls, max_size=3).map(tuple),
        refusal=st.none() | texts,
    ),
    usage=usages,
)
results = st.builds(fx.ToolResult.success, call_id=texts, name=st.just("add"), content=texts)
states = st.builds(fx.RunState.start, st.text(max_size=10))
events = st.one_of(
    st.builds(fx.RunStarted, agent=texts, state=states),
    st.builds(fx.TokenDelta, step=steps, text=texts),
    st.builds(fx.RefusalDelta, step=steps, text=texts),
    st.builds(fx.ReasoningDelta, step=steps, text=texts),
    st.builds(fx.ToolCallStarted, step=steps, index=st.integers(0, 10), id=texts, name=texts),
    st.builds(fx.ToolCallArgumentsDelta, step=steps, index=st.integers(0, 10), id=texts, text=texts),
    st.builds(fx.ModelReplied, step=steps, reply=replies),
    st.builds(fx.ToolCallFinished, step=steps, result=results),
    st.builds(fx.StepFinished, step=steps, usage=usages),
    st.builds(fx.RunFinished, state=states),
)


@given(events)
def test_events_round_trip_through_json(event: fx.RunEvent) -> None:
    data = json.loads(json.dumps(fx.to_json(event)))
    assert fx.from_json(data) == event
    assert hash(fx.from_json(data)) == hash(event)


@given(events)
def test_events_are_frozen_run_events(event: fx.RunEvent) -> None:
    assert isinstance(event, fx.RunEvent)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.step = 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "make",
    [
        lambda: fx.TokenDelta(step=0, text="x"),
        lambda: fx.TokenDelta(step=True, text="x"),
        lambda: fx.ToolCallStarted(step=1, index=-1, id="c", name="f"),
        lambda: fx.StepFinished(step=1, usage=None),  # type: ignore[arg-type]
        lambda: fx.RunFinished(state="done"),  # type: ignore[arg-type]
    ],
)
def test_events_validate_their_fields(make: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        make()  # type: ignore[operator]


@given(steps, replies)
def test_reply_events_add_up_to_the_reply(step: int, reply: fx.ModelReply) -> None:
    out = fx.reply_events(step, reply)
    m = reply.message
    assert "".join(e.text for e in out if isinstance(e, fx.TokenDelta)) == (m.text or "")
    thought = m.reasoning.text if m.reasoning is not None else None
    assert "".join(e.text for e in out if isinstance(e, fx.ReasoningDelta)) == (thought or "")
    assert "".join(e.text for e in out if isinstance(e, fx.RefusalDelta)) == (m.refusal or "")
    started = [e for e in out if isinstance(e, fx.ToolCallStarted)]
    assert [(e.index, e.id, e.name) for e in started] == [
        (i, c.id, c.name) for i, c in enumerate(m.tool_calls)
    ]
    for i, c in enumerate(m.tool_calls):
        args = [e.text for e in out if isinstance(e, fx.ToolCallArgumentsDelta) and e.index == i]
        assert "".join(args) == c.arguments
    assert all(e.text for e in out if isinstance(e, (fx.TokenDelta, fx.RefusalDelta, fx.ReasoningDelta)))
    assert all(getattr(e, "step", step) == step for e in out)


def test_new_event_kinds_can_be_added_elsewhere() -> None:
    # What a later feature (e.g. handoffs) does: subclass the marker, give it a wire name.
    @attrs.frozen(kw_only=True)
    class ExampleHandoffEventForTests(fx.RunEvent):
        source: str
        target: str

    codec = fx.serde.DEFAULT.with_types({"test.handoff_event": ExampleHandoffEventForTests})
    event = ExampleHandoffEventForTests(source="triage", target="billing")
    assert isinstance(event, fx.RunEvent)
    assert fx.from_json(fx.to_json(event, codec=codec), codec=codec) == event
