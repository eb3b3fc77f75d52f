"""run / stream of a Group, and group_interpreter, with scripted models and real local tools.

Trio and asyncio (the ``anyio_backend`` fixture). Tools are real Python
functions run by ``local_tools``; their side effects show which ones ran.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import pytest

import tower_llm_fx as fx
import tower_llm_fx.group
import tower_llm_fx.trace
from interpreters import (
    Interpreter,
    function,
    group_interpreter,
    replay,
    run,
    sequence,
    stream,
)
from interpreters.layers import record
from interpreters.stores import MemoryTraceStore
from tower_llm_fx.validation._validate import validate_conversation

pytestmark = pytest.mark.anyio

R = TypeVar("R")


class Shop:
    """Tools with visible side effects."""

    def __init__(self) -> None:
        self.ran: list[str] = []

        @fx.tool
        def lookup(order: int) -> str:
            """Look an order up."""
            self.ran.append(f"lookup {order}")
            return f"order {order}: shipped"

        @fx.tool
        async def refund(order: int) -> str:
            """Refund an order."""
            await anyio.lowlevel.checkpoint()
            self.ran.append(f"refund {order}")
            return f"refunded {order}"

        self.triage = fx.Agent(model="m-triage", name="triage", instructions="Route.", tools=(lookup,))
        self.billing = fx.Agent(model="m-billing", name="billing", instructions="Bill.", tools=(refund,))
        self.group = (
            fx.group.Group.builder()
            .agent(self.triage, description="Routes requests.")
            .agent(self.billing, description="Refunds.")
            .handoff("triage", "billing")
            .handoff("billing", "triage")
            .build()
        )


def call(id: str, name: str, **arguments: Any) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name=name, arguments=json.dumps(arguments))


def script() -> list[fx.AssistantMessage | str]:
    return [
        fx.assistant(None, call("l1", "lookup", order=7), call("h1", "handoff_to_billing", reason="refund")),
        fx.assistant("Refunding.", call("r1", "refund", order=7), call("h2", "handoff_to_triage")),
        "Order 7 is refunded.",
    ]


def logging(log: list[tuple[fx.Effect[Any], Any, str | None]]) -> Any:
    """A layer that journals (effect, result, the tool call's agent) — a stand-in for a tracing layer."""

    def layer(inner: Interpreter) -> Interpreter:
        async def interp(effect: fx.Effect[R], /) -> R:
            result = await inner(effect)
            log.append((effect, result, effect.agent if isinstance(effect, fx.ToolCall) else None))
            return result

        return interp

    return layer


async def test_triage_to_specialist_and_back_runs_the_right_tools() -> None:
    shop = Shop()
    model = sequence(script())
    log: list[tuple[fx.Effect[Any], Any, str | None]] = []
    interp = logging(log)(group_interpreter(shop.group, model=model))
    final = await run(shop.group, interp, "Where is order 7? Refund it.")
    model.assert_consumed()
    assert shop.ran == ["lookup 7", "refund 7"]
    assert final.path == ("triage", "billing", "triage")
    assert final.output == "Order 7 is refunded."
    assert final.stop is not None and final.stop.kind == "no_tool_calls"
    # Handoffs are ordinary tool calls and results in the effect log; each call names its agent.
    tools = [(e.name, r.content, who) for e, r, who in log if isinstance(e, fx.ToolCall)]
    assert tools == [
        ("lookup", "order 7: shipped", "triage"),
        (
            "handoff_to_billing",
            '{"handoff": "billing", "ack": true, "reason": "refund", "context": null}',
            "triage",
        ),
        ("refund", "refunded 7", "billing"),
        (
            "handoff_to_triage",
            '{"handoff": "triage", "ack": true, "reason": null, "context": null}',
            "billing",
        ),
    ]
    assert [e.model for e, _, _ in log if isinstance(e, fx.ModelCall)] == [
        "m-triage",
        "m-billing",
        "m-triage",
    ]
    assert validate_conversation(final.messages) == ()


async def test_handoff_and_tools_in_one_parallel_batch() -> None:
    shop = Shop()
    parallel = fx.group.Group(
        members=(fx.group.GroupMember(agent=fx.Agent(model="m", name="triage", tools=shop.triage.tools, parallel_tools=True)),
                 fx.group.GroupMember(agent=shop.billing)),
        policy=fx.group.handoff_to("billing", offered_to="triage"),
    )  # fmt: skip
    turn = fx.assistant(
        None, call("l1", "lookup", order=1), call("h", "handoff_to_billing"), call("l2", "lookup", order=2)
    )
    log: list[tuple[fx.Effect[Any], Any, str | None]] = []
    interp = logging(log)(group_interpreter(parallel, model=sequence([turn, "Done."])))
    final = await run(parallel, interp, "hi")
    # The batch reaches the layers call by call, each call naming the agent whose tools run it.
    assert not any(isinstance(e, fx.Parallel) for e, _, _ in log)
    assert sorted((e.id, who) for e, _, who in log if isinstance(e, fx.ToolCall)) == [
        ("h", "triage"),
        ("l1", "triage"),
        ("l2", "triage"),
    ]
    assert sorted(shop.ran) == ["lookup 1", "lookup 2"]
    assert [m.tool_call_id for m in final.messages if isinstance(m, fx.ToolMessage)] == ["l1", "h", "l2"]
    assert final.path == ("triage", "billing")
    assert validate_conversation(final.messages) == ()


async def test_another_agents_tool_is_never_run() -> None:
    shop = Shop()
    model = sequence([fx.assistant(None, call("r1", "refund", order=1)), "I cannot do that."])
    final = await run(shop.group, group_interpreter(shop.group, model=model), "refund 1")
    assert shop.ran == []
    answer = final.messages[2]
    assert isinstance(answer, fx.ToolMessage) and "unknown_tool" in answer.content
    assert "available tools: handoff_to_billing, lookup" in answer.content


async def test_same_scripted_run_twice_yields_identical_effects() -> None:
    logs: list[list[tuple[fx.Effect[Any], Any, str | None]]] = [[], []]
    finals = []
    for log in logs:
        shop = Shop()
        interp = logging(log)(group_interpreter(shop.group, model=sequence(script())))
        finals.append(await run(shop.group, interp, "Where is order 7? Refund it."))
    assert logs[0] == logs[1]
    assert finals[0] == finals[1]
    assert fx.from_json(fx.to_json(finals[0])) == finals[0]


async def test_record_then_replay_is_exact_and_runs_no_tools() -> None:
    shop = Shop()
    store = MemoryTraceStore()
    recorder = record(into=store, trace_id="group-1", agent="triage")
    live = await run(
        shop.group, recorder(group_interpreter(shop.group, model=sequence(script()))), "Refund 7"
    )
    trace = await store.load("group-1")
    assert any(
        isinstance(ex.effect, fx.ToolCall) and ex.effect.name == "handoff_to_billing"
        for ex in trace.exchanges
    )
    shop.ran.clear()
    async with replay(trace) as interp:
        replayed = await run(shop.group, interp, "Refund 7")
    assert replayed == live
    assert shop.ran == []


async def test_replay_detects_a_changed_group() -> None:
    shop = Shop()
    store = MemoryTraceStore()
    recorder = record(into=store, trace_id="g")
    await run(shop.group, recorder(group_interpreter(shop.group, model=sequence(script()))), "Refund 7")
    trace = await store.load("g")
    other = (
        fx.group.Group.builder().agent(shop.triage).agent(shop.billing).handoff("triage", "billing").build()
    )
    with pytest.raises(fx.trace.ReplayMismatch):
        async with replay(trace) as interp:
            await run(other, interp, "Refund 7")


async def test_concurrent_runs_share_one_interpreter_safely() -> None:
    shop = Shop()

    def answer(call_: fx.ModelCall) -> fx.AssistantMessage | str:
        last = call_.messages[-1]
        if call_.model == "m-triage" and isinstance(last, fx.UserMessage):
            return fx.assistant(None, call("h", "handoff_to_billing"))
        if (call_.model == "m-billing" and not isinstance(last, fx.ToolMessage)) or "ack" in str(
            last.content
        ):
            order = 1 if "one" in str(call_.messages[1].content) else 2
            return fx.assistant(None, call(f"r{order}", "refund", order=order))
        return f"done: {last.content}"

    interp = group_interpreter(shop.group, model=function(answer))
    results: dict[str, fx.group.GroupState] = {}

    async def one(text: str) -> None:
        results[text] = await run(shop.group, interp, text)

    async with anyio.create_task_group() as tg:
        tg.start_soon(one, "refund one")
        tg.start_soon(one, "refund two")
    assert sorted(shop.ran) == ["refund 1", "refund 2"]
    assert results["refund one"].output == "done: refunded 1"
    assert results["refund two"].output == "done: refunded 2"


async def test_group_interpreter_routes_tool_calls_by_their_agent() -> None:
    shop = Shop()
    interp = group_interpreter(shop.group, model=sequence(["x"]))
    result = await interp(fx.ToolCall(id="c", name="lookup", arguments='{"order": 1}', agent="triage"))
    assert result == fx.ToolResult.success(call_id="c", name="lookup", content="order 1: shipped")
    # billing has no lookup tool: the call is answered as an unknown tool, and nothing runs
    other = await interp(fx.ToolCall(id="d", name="lookup", arguments='{"order": 2}', agent="billing"))
    assert other.is_error and "unknown_tool" in other.content
    assert shop.ran == ["lookup 1"]
    with pytest.raises(fx.InterpreterError, match=r"agent=None, which is not an agent of this group"):
        await interp(fx.ToolCall(id="c", name="lookup", arguments='{"order": 1}'))
    with pytest.raises(fx.InterpreterError, match=r"agent='nobody'.*\(triage, billing\)"):
        await interp(fx.ToolCall(id="c", name="lookup", arguments='{"order": 1}', agent="nobody"))
    with pytest.raises(fx.UnhandledEffect, match="a Parallel batch is not sent to interpreters"):
        await interp(
            fx.Parallel(
                calls=(fx.ToolCall(id="c", name="lookup", arguments="{}", agent="triage"),), agent="triage"
            )
        )


async def test_model_picker_and_sequential_pipeline() -> None:
    writer = fx.Agent(model="m-writer", name="writer", instructions="Write.")
    editor = fx.Agent(model="m-editor", name="editor", instructions="Edit.")
    group = (
        fx.group.Group.builder()
        .agent(writer, description="Writes drafts.")
        .agent(editor, description="Polishes drafts.")
        .handoffs(fx.group.sequential_handoff("writer", "editor"))
        .picker(fx.group.llm_picker("m-router"))
        .build()
    )
    model = sequence(["writer", "A draft.", "A polished draft."])
    final = await run(group, group_interpreter(group, model=model), "Write about otters.")
    model.assert_consumed()
    assert final.path == ("writer", "editor")
    assert [m.content for m in final.messages] == ["Write about otters.", "A draft.", "A polished draft."]
    assert final.run.model_calls == 3


async def test_stream_of_a_group_reports_handoffs_in_order() -> None:
    shop = Shop()
    interp = group_interpreter(shop.group, model=sequence(script()))
    async with stream(shop.group, interp, "Where is order 7? Refund it.") as events:
        seen = [e async for e in events]
    names = [type(e).__name__ for e in seen]
    handed = [e for e in seen if isinstance(e, fx.group.HandedOff)]
    assert [(h.handoff.source, h.handoff.target) for h in handed] == [
        ("triage", "billing"),
        ("billing", "triage"),
    ]
    # Each HandedOff directly follows the StepFinished of the step that asked for it.
    for i, name in enumerate(names):
        if name == "HandedOff":
            assert names[i - 1] == "StepFinished"
    assert names[0] == "RunStarted" and names[-1] == "RunFinished"
    plain = await run(
        Shop().group,
        group_interpreter(Shop().group, model=sequence(script())),
        "Where is order 7? Refund it.",
    )
    assert events.final == plain.run
    assert events.result == plain  # the whole GroupState, as run returns it
    assert [h.handoff for h in handed] == list(plain.handoffs)


async def test_stream_of_a_group_has_no_events_for_a_pickers_reply() -> None:
    group = (
        fx.group.Group.builder()
        .agent(fx.Agent(model="m", name="a"))
        .agent(fx.Agent(model="m", name="b"))
        .picker(fx.group.llm_picker("router"))
        .build()
    )
    async with stream(group, group_interpreter(group, model=sequence(["b", "hello"])), "hi") as events:
        seen = [e async for e in events]
    assert [type(e).__name__ for e in seen] == [
        "RunStarted",
        "TokenDelta",
        "ModelReplied",
        "StepFinished",
        "RunFinished",
    ]
    assert isinstance(seen[1], fx.TokenDelta) and seen[1].text == "hello"


async def test_group_interpreter_rejects_non_groups() -> None:
    shop = Shop()
    with pytest.raises(TypeError, match="expects a Group"):
        group_interpreter(shop.triage, model=sequence([]))  # type: ignore[arg-type]
