"""Handoff policies (``group/_handoff.py``) as pure values: routes, decisions, which filter applies."""

from __future__ import annotations

import json

import pytest

import tower_llm_fx as fx
import tower_llm_fx.group
import tower_llm_fx.sessions

STATE = fx.group.GroupState(run=fx.RunState.start("hi"), active="a", turn_start=1)
DONE = fx.StopReason(kind="no_tool_calls")


def test_explicit_route_tool_name_description_schema_and_ack() -> None:
    (route,) = fx.group.handoff_to("specialist").routes("triage")
    assert route.tool_name == "handoff_to_specialist"
    tool = route.tool("Knows everything.")
    assert tool.spec.description == "Hand off the conversation to the agent 'specialist'. Knows everything."
    assert tool.spec.schema() == {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "description": "Why you are handing off the conversation."},
            "context": {"type": "object", "description": "Optional facts the next agent should know."},
        },
    }
    ack = json.loads(tool.fn(reason="Complex technical issue", context={"ticket": 4}))
    assert ack == {
        "handoff": "specialist",
        "ack": True,
        "reason": "Complex technical issue",
        "context": {"ticket": 4},
    }
    assert json.loads(tool.fn()) == {"handoff": "specialist", "ack": True, "reason": None, "context": None}


def test_route_turns_a_call_into_a_handoff_best_effort() -> None:
    (route,) = fx.group.handoff_to("x", tool_name="escalate").routes("a")
    good = route.handoff(
        fx.ToolCall(id="c", name="escalate", arguments='{"reason": "r", "context": {"k": 1}}')
    )
    assert good == fx.group.Handoff(target="x", reason="r", context='{"k":1}', via="escalate", call_id="c")
    for junk in ("{oops", "[1]", '{"reason": 3, "context": "no"}', ""):
        assert route.handoff(fx.ToolCall(id="c", name="escalate", arguments=junk)) == fx.group.Handoff(
            target="x", via="escalate", call_id="c"
        )


def test_routes_are_offered_to_the_right_agents_and_never_to_the_target() -> None:
    policy = fx.group.handoff_to("b") | fx.group.handoff_to("c", offered_to=["a"])
    assert [r.target for r in policy.routes("a")] == ["b", "c"]
    assert [r.target for r in policy.routes("b")] == []
    assert [r.target for r in policy.routes("c")] == ["b"]
    assert policy.targets() == frozenset({"b", "c"})
    assert repr(policy) == "handoff_to('b') | handoff_to('c')"


def test_invalid_routes_are_rejected() -> None:
    with pytest.raises(fx.ConfigurationError, match="pass tool_name"):
        fx.group.handoff_to("the billing team")
    with pytest.raises(fx.ConfigurationError, match="offered_to"):
        fx.group.handoff_to("b", offered_to=[])
    with pytest.raises(fx.ConfigurationError, match="at least one target"):
        fx.group.explicit_handoffs()


def test_explicit_policies_never_hand_off_on_their_own() -> None:
    assert fx.group.explicit_handoffs("b", "c").decide(STATE, DONE) is None
    assert fx.group.no_handoffs().decide(STATE, DONE) is None
    assert fx.group.no_handoffs().routes("a") == ()


def test_sequential_moves_on_only_when_the_agent_finished() -> None:
    policy = fx.group.sequential_handoff("a", "b", "c")
    assert policy.routes("a") == ()
    assert policy.decide(STATE, None) is None
    first = policy.decide(STATE, DONE)
    assert first == fx.group.Handoff(target="b", reason="a finished (no_tool_calls)", via="sequential")
    at_b = fx.group.GroupState(run=STATE.run, active="b", turn_start=1)
    assert policy.decide(at_b, DONE) is not None and policy.decide(at_b, DONE).target == "c"  # type: ignore[union-attr]
    at_c = fx.group.GroupState(run=STATE.run, active="c", turn_start=1)
    assert policy.decide(at_c, DONE) is None
    outside = fx.group.GroupState(run=STATE.run, active="z", turn_start=1)
    assert policy.decide(outside, DONE) is None
    # Pure: asking twice gives the same answer (tower-llm's shared counter did not).
    assert policy.decide(STATE, DONE) == first


@pytest.mark.parametrize("agents", [("a",), ("a", "a"), ()])
def test_sequential_needs_two_distinct_agents(agents: tuple[str, ...]) -> None:
    with pytest.raises(fx.ConfigurationError, match="two or more distinct"):
        fx.group.sequential_handoff(*agents)


def test_conditional_returns_names_handoffs_or_none() -> None:
    by_name = fx.group.conditional_handoff(lambda s: "b", label="router")
    assert by_name.decide(STATE, DONE) == fx.group.Handoff(
        target="b", reason="chosen by router", via="router"
    )
    assert by_name.decide(STATE, None) is None
    every = fx.group.conditional_handoff(
        lambda s: fx.group.Handoff(target="c", reason="why"), every_step=True
    )
    assert every.decide(STATE, None) == fx.group.Handoff(target="c", reason="why", via="conditional")
    bad = fx.group.conditional_handoff(lambda s: 3)  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="return an agent name"):
        bad.decide(STATE, DONE)


def test_composite_offers_all_tools_and_the_first_decision_wins() -> None:
    explicit = fx.group.explicit_handoffs("b", "c")
    seq = fx.group.sequential_handoff("a", "c")
    cond = fx.group.conditional_handoff(lambda s: "b")
    policy = fx.group.composite_handoff(explicit, seq, cond)
    assert [r.tool_name for r in policy.routes("a")] == ["handoff_to_b", "handoff_to_c"]
    decided = policy.decide(STATE, DONE)
    assert decided is not None and decided.target == "c"
    assert policy.decide(STATE, None) is None
    assert fx.group.composite_handoff(cond, seq).decide(STATE, DONE) == cond.decide(STATE, DONE)
    assert policy.targets() == frozenset({"a", "b", "c"})
    assert repr(explicit | seq) == "handoff_to('b') | handoff_to('c') | sequential_handoff('a', 'c')"
    with pytest.raises(fx.ConfigurationError, match="not a handoff policy"):
        fx.group.composite_handoff("b")  # type: ignore[arg-type]


def test_each_policy_recognises_only_its_own_handoffs_filters() -> None:
    record = fx.group.HandoffRecord(source="a", target="b", via="handoff_to_b", at=1, step=1)
    seq_record = fx.group.HandoffRecord(source="a", target="b", via="sequential", at=1, step=1)
    explicit = fx.group.handoff_to("b", input_filter=fx.group.without_tool_calls)
    assert explicit.input_filter(record) is fx.group.without_tool_calls
    assert explicit.input_filter(seq_record) is None
    seq = fx.group.sequential_handoff("a", "b")
    composite = seq | explicit
    assert composite.input_filter(record) is fx.group.without_tool_calls
    assert composite.input_filter(seq_record) is not None


def test_filtered_applies_after_the_routes_own_filter() -> None:
    msgs = (fx.user("a"), fx.assistant("b"), fx.user("c"), fx.assistant("d"))
    record = fx.group.HandoffRecord(source="a", target="b", via="handoff_to_b", at=4, step=2)
    plain = fx.group.filtered_handoff(fx.group.handoff_to("b"), fx.group.last_messages(1))
    f = plain.input_filter(record)
    assert f is not None and f(msgs) == (fx.assistant("d"),)
    nested = fx.group.filtered_handoff(
        fx.group.handoff_to("b", input_filter=fx.group.last_messages(3)), fx.group.last_messages(2)
    )
    g = nested.input_filter(record)
    assert g is not None and g(msgs) == msgs[2:]
    assert repr(plain) == "filtered_handoff(handoff_to('b'))"


def test_compacting_requires_a_compaction_policy() -> None:
    with pytest.raises(fx.ConfigurationError, match="needs a CompactionPolicy"):
        fx.group.compacting_handoff(fx.group.handoff_to("b"), 20)  # type: ignore[arg-type]
