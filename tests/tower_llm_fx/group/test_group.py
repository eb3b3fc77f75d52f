"""Multi-agent groups (``group/_group.py``), pure: the group step and advance, handoffs, pickers, bounds, views.

Runs are driven synchronously: `run_sequence` with exact expected effects, or a
small loop that answers each effect from a script (tools answered by calling
the group's own `Tool` objects, exactly as the shell's ``local_tools`` would).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.group
import tower_llm_fx.sessions
from tower_llm_fx.testing import run_sequence


@fx.tool
def refund(order: int) -> str:
    """Refund an order."""
    return f"refunded {order}"


@fx.tool
def lookup(order: int) -> str:
    """Look an order up."""
    return f"order {order}: shipped"


TRIAGE = fx.Agent(model="m-triage", name="triage", instructions="Route the user.", tools=(lookup,))
BILLING = fx.Agent(
    model="m-billing",
    name="billing",
    instructions="Handle billing.",
    tools=(refund,),
    params=fx.ModelParams(seed=7),
)
TECH = fx.Agent(model="m-tech", name="tech", instructions="Handle tech.")


def support_group(**changes: Any) -> fx.group.Group:
    builder = (
        fx.group.Group.builder()
        .agent(TRIAGE, description="Routes requests.")
        .agent(BILLING, description="Invoices and refunds.")
        .agent(TECH, description="Technical problems.")
        .handoffs(fx.group.explicit_handoffs("billing", "tech", offered_to="triage"))
        .handoff("billing", "triage")
        .handoff("tech", "triage")
    )
    return attrs.evolve(builder.build(), **changes)


def call(id: str, name: str, **arguments: Any) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name=name, arguments=json.dumps(arguments))


def reply(content: str | None = None, *calls: fx.ToolCallRequest) -> fx.ModelReply:
    return fx.ModelReply(
        message=fx.assistant(content, *calls), usage=fx.Usage(prompt_tokens=3, completion_tokens=1)
    )


def perform(
    group: fx.group.Group, state: fx.group.GroupState, effect: fx.Effect[Any], replies: list[fx.ModelReply]
) -> Any:
    """Answer ``effect`` as the shell would: the script for model calls, the active agent's tools."""
    if isinstance(effect, fx.ModelCall):
        return replies.pop(0) if replies else reply("done")
    tools = {t.name: t for t in group.agent(state.active or "").tools}

    def one(c: fx.ToolCall) -> fx.ToolResult:
        tool = tools.get(c.name)
        if tool is None:
            return fx.ToolResult.failure(call_id=c.id, name=c.name, kind="unknown_tool", message=c.name)
        return fx.ToolResult.success(
            call_id=c.id, name=c.name, content=str(tool.fn(**json.loads(c.arguments)))
        )

    if isinstance(effect, fx.ToolCall):
        return one(effect)
    assert isinstance(effect, fx.Parallel)
    return tuple(one(c) for c in effect.calls)


def play(
    group: fx.group.Group, input: str | fx.group.GroupState, replies: Sequence[fx.ModelReply]
) -> tuple[fx.group.GroupState, list[tuple[fx.Effect[Any], Any]]]:
    script = list(replies)
    state = group.start(input)
    log: list[tuple[fx.Effect[Any], Any]] = []
    for _ in range(200):
        out = group.step(state)
        if isinstance(out, fx.Done):
            return group.finish(state, out), log
        result = perform(group, state, out, script)
        log.append((out, result))
        state = group.advance(state, out, result)
    raise AssertionError("the group run did not end")


def model_calls(log: list[tuple[fx.Effect[Any], Any]]) -> list[fx.ModelCall]:
    return [e for e, _ in log if isinstance(e, fx.ModelCall)]


def tool_answers_are_exact(messages: Sequence[fx.Message]) -> bool:
    calls = [c.id for m in messages if isinstance(m, fx.AssistantMessage) for c in m.tool_calls]
    answers = [m.tool_call_id for m in messages if isinstance(m, fx.ToolMessage)]
    return sorted(calls) == sorted(answers) and len(set(calls)) == len(calls)


# --------------------------------------------------------------------------- building


def test_handoff_tools_sit_alongside_the_agents_own_tools() -> None:
    group = support_group()
    assert [t.name for t in group.agent("triage").tools] == [
        "lookup",
        "handoff_to_billing",
        "handoff_to_tech",
    ]
    assert [t.name for t in group.agent("billing").tools] == ["refund", "handoff_to_triage"]
    first = group.step(group.start("hi"))
    assert isinstance(first, fx.ModelCall)
    assert [s.name for s in first.tools] == ["lookup", "handoff_to_billing", "handoff_to_tech"]


def test_handoff_tool_descriptions_come_from_the_target() -> None:
    group = support_group()
    specs = {s.name: s for s in group.agent("triage").tool_specs}
    assert "Invoices and refunds." in specs["handoff_to_billing"].description
    assert "Technical problems." in specs["handoff_to_tech"].description
    assert set(specs["handoff_to_billing"].schema()["properties"]) == {"reason", "context"}
    custom = (
        fx.group.Group.builder()
        .agent(TRIAGE)
        .agent(TECH)
        .handoff("triage", "tech", description="Escalate.")
        .build()
    )
    assert custom.agent("triage").tool_specs[-1].description == "Escalate."


def test_a_name_clash_is_an_error_at_build_time() -> None:
    @fx.tool
    def handoff_to_billing() -> str:
        """Shadows the handoff tool."""
        return "x"

    clashing = attrs.evolve(TRIAGE, tools=(handoff_to_billing,))
    with pytest.raises(fx.ConfigurationError, match="clashes with the handoff tool to 'billing'"):
        fx.group.Group.builder().agent(clashing).agent(BILLING).handoff("triage", "billing").build()


@pytest.mark.parametrize(
    ("builder", "message"),
    [
        (fx.group.Group.builder(), "at least one agent"),
        (fx.group.Group.builder().agent(TRIAGE).agent(TRIAGE), "two agents are named 'triage'"),
        (fx.group.Group.builder().agent(TRIAGE).handoff("triage", "ghost"), r"does not have"),
        (
            fx.group.Group.builder()
            .agent(TRIAGE)
            .agent(TECH)
            .handoffs(fx.group.sequential_handoff("triage", "x")),
            "'x'",
        ),
        (fx.group.Group.builder().agent(TRIAGE).picker("ghost"), "picker names agent 'ghost'"),
        (fx.group.Group.builder().agent(TRIAGE).max_handoffs(-1), "max_handoffs"),
        (fx.group.Group.builder().agent(TRIAGE).cycle_limit(1), "cycle_limit"),
        (
            fx.group.Group.builder()
            .agent(TRIAGE)
            .agent(TECH)
            .agent(BILLING)
            .handoffs(
                fx.group.handoff_to("tech", tool_name="go"), fx.group.handoff_to("billing", tool_name="go")
            ),
            "two handoff tools named 'go'",
        ),
    ],
)
def test_invalid_groups_are_rejected_with_a_diagnosis(builder: fx.group.GroupBuilder, message: str) -> None:
    with pytest.raises(fx.ConfigurationError, match=message):
        builder.build()


def test_agent_lookup_names_the_agents() -> None:
    with pytest.raises(fx.group.UnknownAgent, match="triage, billing, tech"):
        support_group().agent("ghost")


# --------------------------------------------------------------------------- scripted runs


def test_triage_to_specialist_and_back_with_exact_effects() -> None:
    group = support_group()
    start = group.start("Refund order 7")
    to_billing = call("h1", "handoff_to_billing", reason="refund", context={"order": 7})
    ack = '{"handoff": "billing", "ack": true, "reason": "refund", "context": {"order": 7}}'
    c1 = group.agent("triage").model_call(start.messages)
    turn1 = reply(None, to_billing)
    after1 = (*start.messages, turn1.message, fx.ToolMessage(tool_call_id="h1", content=ack))
    c2 = group.agent("billing").model_call(after1)
    turn2 = reply("Refunding.", call("r1", "refund", order=7), call("h2", "handoff_to_triage"))
    back = '{"handoff": "triage", "ack": true, "reason": null, "context": null}'
    after2 = (
        *after1,
        turn2.message,
        fx.ToolMessage(tool_call_id="r1", content="refunded 7"),
        fx.ToolMessage(tool_call_id="h2", content=back),
    )
    c3 = group.agent("triage").model_call(after2)
    final = run_sequence(
        group.step,
        start,
        [
            (c1, turn1),
            (
                fx.ToolCall(
                    id="h1", name="handoff_to_billing", arguments=to_billing.arguments, agent="triage"
                ),
                ack_result("h1", ack),
            ),
            (c2, turn2),
            (
                fx.ToolCall(id="r1", name="refund", arguments='{"order": 7}', agent="billing"),
                ok("r1", "refund", "refunded 7"),
            ),
            (
                fx.ToolCall(id="h2", name="handoff_to_triage", arguments="{}", agent="billing"),
                ok("h2", "handoff_to_triage", back),
            ),
            (c3, reply("Your refund is on its way.")),
        ],
        advance=group.advance,
        finish=group.finish,
    )
    assert final.path == ("triage", "billing", "triage")
    assert final.output == "Your refund is on its way."
    assert final.stop is not None and final.stop.kind == "no_tool_calls"
    first, second = final.handoffs
    assert (first.source, first.target, first.reason, first.context, first.call_id) == (
        "triage",
        "billing",
        "refund",
        '{"order":7}',
        "h1",
    )
    assert (second.at, second.step) == (6, 2)
    assert final.run.model_calls == 3 and final.run.usage.prompt_tokens == 9
    # One copy of the conversation: every message exactly once.
    assert final.messages == (*after2, final.messages[-1])
    # The specialist's call uses its own model, instructions, tools and params.
    assert (c2.model, c2.messages[0], c2.params.seed) == ("m-billing", fx.system("Handle billing."), 7)


def ok(id: str, name: str, content: str) -> fx.ToolResult:
    return fx.ToolResult.success(call_id=id, name=name, content=content)


def ack_result(id: str, content: str) -> fx.ToolResult:
    return ok(id, "handoff_to_billing", content)


def test_handoff_with_ordinary_calls_in_the_same_turn_answers_all_first() -> None:
    group = support_group()
    turn = reply(None, call("h1", "handoff_to_billing"), call("l1", "lookup", order=3))
    final, log = play(group, "where is order 3? and refund it", [turn, reply("Refunded.")])
    kinds = [(type(e).__name__, getattr(e, "name", None)) for e, _ in log]
    assert kinds == [
        ("ModelCall", None),
        ("ToolCall", "handoff_to_billing"),
        ("ToolCall", "lookup"),
        ("ModelCall", None),
    ]
    second = model_calls(log)[1]
    assert second.model == "m-billing"
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "tool", "tool"]
    assert final.handoffs[0].at == 4  # after *both* tool results
    assert tool_answers_are_exact(final.messages)


def test_a_handoff_requested_mid_parallel_batch_waits_for_the_whole_batch() -> None:
    group = attrs.evolve(support_group(), members=(fx.group.GroupMember(agent=attrs.evolve(TRIAGE, parallel_tools=True)),
                                                   *support_group().members[1:]))  # fmt: skip
    turn = reply(
        None, call("l1", "lookup", order=1), call("h1", "handoff_to_tech"), call("l2", "lookup", order=2)
    )
    final, log = play(group, "hi", [turn, reply("fixed")])
    assert isinstance(log[1][0], fx.Parallel)
    assert [m.tool_call_id for m in final.messages if isinstance(m, fx.ToolMessage)] == ["l1", "h1", "l2"]
    assert final.path == ("triage", "tech")


def test_agents_built_without_handoff_settings_still_answer_handoff_tools() -> None:
    # tower-llm answered "unknown tool" unless each agent was built with a handoff policy.
    group = support_group()
    final, log = play(
        group,
        "hi",
        [reply(None, call("h1", "handoff_to_tech")), reply(None, call("h2", "handoff_to_triage"))],
    )
    results = [r for e, r in log if isinstance(e, fx.ToolCall)]
    assert [r.is_error for r in results] == [False, False]
    assert final.path == ("triage", "tech", "triage")


def test_a_tool_of_another_agent_is_unknown_to_the_active_one() -> None:
    group = support_group()
    final, log = play(group, "hi", [reply(None, call("r1", "refund", order=1)), reply("ok")])
    result = log[1][1]
    assert isinstance(result, fx.ToolResult) and result.error is not None
    assert result.error.kind == "unknown_tool"
    assert final.path == ("triage",)


def test_per_agent_step_counts_start_at_the_handoff() -> None:
    limited = attrs.evolve(TECH, policy=fx.max_steps(1), tools=(lookup,))
    group = fx.group.Group.builder().agent(TRIAGE).agent(limited).handoff("triage", "tech").build()
    final, _ = play(
        group,
        "hi",
        [reply(None, call("l0", "lookup", order=1)), reply(None, call("h", "handoff_to_tech")),
         reply(None, call("l1", "lookup", order=2)), reply("never asked")],
    )  # fmt: skip
    assert final.stop == fx.StopReason(kind="max_steps", detail="1 steps (limit 1)")
    assert final.run.steps == 3


def test_sequential_pipeline_runs_each_agent_once_in_order() -> None:
    agents = [
        fx.Agent(model=f"m-{n}", name=n, instructions=f"You are the {n}.")
        for n in ("research", "write", "edit")
    ]
    builder = fx.group.Group.builder()
    for a in agents:
        builder = builder.agent(a)
    group = builder.handoffs(fx.group.sequential_handoff("research", "write", "edit")).build()
    final, log = play(group, "topic", [reply("notes"), reply("draft"), reply("final text")])
    assert final.path == ("research", "write", "edit")
    assert [c.model for c in model_calls(log)] == ["m-research", "m-write", "m-edit"]
    assert [c.messages[0] for c in model_calls(log)] == [
        fx.system(f"You are the {n}.") for n in ("research", "write", "edit")
    ]
    assert final.output == "final text"
    assert [r.via for r in final.handoffs] == ["sequential", "sequential"]
    # The same group runs the pipeline again from scratch: no counter survives a run.
    again, _ = play(group, "topic", [reply("notes"), reply("draft"), reply("final text")])
    assert again == final


def test_conditional_handoff_chooses_from_state() -> None:
    def escalate(state: fx.group.GroupState) -> str | None:
        return "tech" if state.active == "triage" and "crash" in (state.output or "") else None

    group = (
        fx.group.Group.builder()
        .agent(TRIAGE)
        .agent(TECH)
        .handoffs(fx.group.conditional_handoff(escalate))
        .build()
    )
    final, _ = play(group, "my app", [reply("sounds like a crash"), reply("reinstall it")])
    assert final.path == ("triage", "tech")
    assert final.handoffs[0].via == "conditional"


def test_conditional_handoff_to_an_unknown_agent_is_an_error() -> None:
    group = (
        fx.group.Group.builder()
        .agent(TRIAGE)
        .handoffs(fx.group.conditional_handoff(lambda s: "ghost"))
        .build()
    )
    with pytest.raises(fx.group.UnknownAgent, match=r"'ghost'.*triage"):
        play(group, "hi", [reply("x")])


def test_calling_a_handoff_tool_that_was_not_offered_is_an_unknown_tool() -> None:
    group = support_group()
    final, log = play(group, "hi", [reply(None, call("h", "handoff_to_ghost")), reply("sorry")])
    assert log[1][1].error.kind == "unknown_tool"
    assert final.path == ("triage",) and final.output == "sorry"


def test_a_failed_handoff_call_does_not_hand_off() -> None:
    group = support_group()
    state = group.start("hi")
    first = group.step(state)
    assert isinstance(first, fx.ModelCall)
    state = group.advance(state, first, reply(None, call("h", "handoff_to_tech")))
    effect = group.step(state)
    assert isinstance(effect, fx.ToolCall)
    failed = fx.ToolResult.failure(call_id="h", name="handoff_to_tech", kind="denied", message="no")
    state = group.advance(state, effect, failed)
    assert state.active == "triage" and state.handoffs == ()


def test_max_handoffs_stops_with_a_recorded_reason() -> None:
    group = support_group(max_handoffs=1)
    final, _ = play(
        group,
        "hi",
        [reply(None, call("h1", "handoff_to_tech")), reply(None, call("h2", "handoff_to_triage"))],
    )
    assert final.stop is not None and final.stop.kind == "max_handoffs"
    assert "allows 1 handoffs" in final.stop.detail
    assert final.path == ("triage", "tech")
    assert tool_answers_are_exact(final.messages)


def test_a_handoff_cycle_stops_with_a_clear_reason() -> None:
    group = support_group()
    ping = [
        reply(None, call(f"h{i}", "handoff_to_tech" if i % 2 == 0 else "handoff_to_triage")) for i in range(6)
    ]
    final, _ = play(group, "hi", ping)
    assert final.stop is not None and final.stop.kind == "handoff_cycle"
    assert "triage -> tech -> triage 2 times in a row" in final.stop.detail
    assert final.path == ("triage", "tech", "triage")


def test_cycle_detection_can_be_relaxed_or_turned_off() -> None:
    ping = [
        reply(None, call(f"h{i}", "handoff_to_tech" if i % 2 == 0 else "handoff_to_triage")) for i in range(6)
    ]
    relaxed, _ = play(support_group(cycle_limit=3), "hi", ping)
    assert relaxed.stop is not None and relaxed.stop.kind == "handoff_cycle"
    assert len(relaxed.handoffs) == 4
    off, _ = play(support_group(cycle_limit=None, max_handoffs=5), "hi", ping)
    assert off.stop is not None and off.stop.kind == "max_handoffs"


# --------------------------------------------------------------------------- pickers


def test_pure_picker_chooses_the_first_agent() -> None:
    def pick(messages: tuple[fx.Message, ...]) -> str:
        return "billing" if "refund" in str(messages[-1].content) else "triage"

    group = support_group(picker=pick)
    assert group.start("refund please").active == "billing"
    assert group.start("hello").active == "triage"
    with pytest.raises(fx.group.UnknownAgent, match="chose 'nobody'"):
        support_group(picker=lambda m: "nobody").start("x")


def test_model_picker_is_a_model_call_whose_reply_is_not_in_the_conversation() -> None:
    group = support_group(picker=fx.group.llm_picker("m-router"))
    final, log = play(group, "my invoice is wrong", [reply("Billing."), reply("Fixed your invoice.")])
    picker_call = model_calls(log)[0]
    assert picker_call.model == "m-router" and picker_call.tools == ()
    assert "- billing: Invoices and refunds." in str(picker_call.messages[0].content)
    assert final.path == ("billing",)
    assert [m.role for m in final.messages] == ["user", "assistant"]
    assert final.run.model_calls == 2 and final.run.usage.prompt_tokens == 6


def test_model_picker_fallback_and_failure() -> None:
    assert (
        support_group(picker=fx.group.llm_picker("r", fallback="tech"))
        .advance(
            support_group(picker=fx.group.llm_picker("r", fallback="tech")).start("x"),
            fx.ModelCall(model="r", messages=[fx.user("x")]),
            reply("no idea"),
        )
        .active
        == "tech"
    )
    group = support_group(picker=fx.group.llm_picker("r"))
    with pytest.raises(fx.group.UnknownAgent, match="several"):
        play(group, "x", [reply("triage or billing")])


# --------------------------------------------------------------------------- what the next agent sees


def test_input_filter_shapes_the_next_agents_view_not_the_conversation() -> None:
    group = (
        fx.group.Group.builder()
        .agent(TRIAGE)
        .agent(TECH)
        .handoff("triage", "tech", input_filter=fx.group.without_tool_calls)
        .build()
    )
    final, log = play(
        group,
        "hi",
        [reply(None, call("l", "lookup", order=1)), reply("Passing you on.", call("h", "handoff_to_tech")),
         reply("tech here")],
    )  # fmt: skip
    tech_call = model_calls(log)[-1]
    assert [m.role for m in tech_call.messages] == ["system", "user", "assistant"]
    assert tech_call.messages[-1] == fx.assistant("Passing you on.")
    assert len(final.messages) == 6  # the shared conversation keeps everything


def test_an_input_filter_that_splits_a_tool_pair_is_an_error() -> None:
    def drop_results(messages: tuple[fx.Message, ...]) -> tuple[fx.Message, ...]:
        return tuple(m for m in messages if not isinstance(m, fx.ToolMessage))

    group = (
        fx.group.Group.builder()
        .agent(TRIAGE)
        .agent(TECH)
        .handoffs(fx.group.filtered_handoff(fx.group.handoff_to("tech"), drop_results))
        .build()
    )
    with pytest.raises(fx.ConfigurationError, match="not answered"):
        play(group, "hi", [reply(None, call("h", "handoff_to_tech"))])


def test_compacting_handoff_drops_old_history_keeping_tool_pairs() -> None:
    policy = fx.group.compacting_handoff(
        fx.group.handoff_to("tech"), fx.sessions.CompactionPolicy(max_messages=3, keep_last_turns=1)
    )
    group = fx.group.Group.builder().agent(TRIAGE).agent(TECH).handoffs(policy).build()
    final, log = play(
        group,
        "hi",
        [reply("let me check", call("l", "lookup", order=1)), reply("handing off", call("h", "handoff_to_tech")),
         reply("tech here")],
    )  # fmt: skip
    view = model_calls(log)[-1].messages
    assert [m.role for m in view] == ["system", "user", "assistant", "tool"]
    assert "removed" in str(view[1].content)
    assert len(final.messages) == 6


def test_summarising_handoff_asks_a_model_once_and_replays_its_summary() -> None:
    compaction = fx.sessions.CompactionPolicy(
        max_messages=3, keep_last_turns=1, strategy=fx.sessions.summarise("m-sum")
    )
    group = (
        fx.group.Group.builder()
        .agent(TRIAGE)
        .agent(TECH)
        .handoffs(fx.group.compacting_handoff(fx.group.handoff_to("tech"), compaction))
        .build()
    )
    script = [
        reply("let me check", call("l", "lookup", order=1)),
        reply("handing off", call("h", "handoff_to_tech")),
        reply("User asked about order 1; it shipped."),
        reply("tech here", call("l2", "lookup", order=2)),
        reply("all good"),
    ]
    final, log = play(group, "hi", script)
    calls = model_calls(log)
    assert [c.model for c in calls] == ["m-triage", "m-triage", "m-sum", "m-tech", "m-tech"]
    assert final.handoffs[0].summary == "User asked about order 1; it shipped."
    for tech_call in calls[3:]:
        assert tech_call.messages[1] == fx.user(
            "[Previous conversation summary]: User asked about order 1; it shipped."
        )
    assert all("summary" not in str(getattr(m, "content", "")) for m in final.messages)
    assert fx.from_json(fx.to_json(final)) == final


def test_an_empty_summary_keeps_the_original_history() -> None:
    compaction = fx.sessions.CompactionPolicy(
        max_messages=3, keep_last_turns=1, strategy=fx.sessions.summarise("m-sum")
    )
    group = (
        fx.group.Group.builder()
        .agent(TRIAGE)
        .agent(TECH)
        .handoffs(fx.group.compacting_handoff(fx.group.handoff_to("tech"), compaction))
        .build()
    )
    final, log = play(
        group,
        "hi",
        [
            reply("a", call("l", "lookup", order=1)),
            reply("b", call("h", "handoff_to_tech")),
            reply("  "),
            reply("x"),
        ],
    )
    assert final.handoffs[0].summary == ""
    assert model_calls(log)[-1].messages[1:] == final.messages[:-1]


# --------------------------------------------------------------------------- data


def test_group_state_is_data() -> None:
    group = support_group()
    final, log = play(group, "hi", [reply(None, call("h1", "handoff_to_tech", reason="r")), reply("done")])
    assert fx.from_json(fx.to_json(final)) == final
    assert hash(final) == hash(fx.from_json(fx.to_json(final)))
    assert fx.from_json(fx.to_json(fx.group.HandedOff(handoff=final.handoffs[0]))) == fx.group.HandedOff(
        handoff=final.handoffs[0]
    )
    # Resuming from any intermediate state gives the same end.
    state = group.start("hi")
    for effect, result in log[:2]:
        state = group.advance(fx.from_json(fx.to_json(state)), effect, result)
    resumed, _ = play(group, state, [reply("done")])
    assert resumed == final


@given(
    st.lists(
        st.sampled_from(["handoff_to_tech", "handoff_to_billing", "lookup", "refund", "text"]), max_size=12
    )
)
def test_random_scripts_keep_every_tool_call_answered_once(choices: list[str]) -> None:
    replies = [
        reply("bye") if c == "text" else reply(None, call(f"c{i}", c, order=i)) for i, c in enumerate(choices)
    ]
    final, _ = play(support_group(), "hi", replies)
    assert tool_answers_are_exact(final.messages)
    assert fx.group.check_tool_pairs(final.messages) == final.messages
    assert final.stop is not None
    assert len(final.handoffs) <= 10
    path = final.path
    assert all(r.source == path[i] and r.target == path[i + 1] for i, r in enumerate(final.handoffs))
