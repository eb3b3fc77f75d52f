"""Laws of multi-agent runs, over random scripted handoff sequences (real ``run`` of a group, real tools).

For any script of model turns (ordinary tool calls, handoff calls, calls to
tools the active agent does not have, parallel batches, text):

* every ``ModelCall`` the group sends is a valid request (the OpenAI rules of
  ``validate_model_call``), and so is the final conversation;
* every tool call is answered exactly once, by one ``ToolCall`` effect (a
  ``Parallel`` batch reaches the layers call by call), and each call names the
  agent whose tools perform it: another agent's tool never runs;
* the handoff records form a chain, stay within ``max_handoffs``, and each one
  was asked for by an acknowledged ``handoff_to_*`` call or the policy;
* the run is deterministic (same effects twice) and its state is data.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import trio
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.group
import tower_llm_fx.sessions
from interpreters import Interpreter, function, group_interpreter, run
from tower_llm_fx.validation._validate import validate_conversation, validate_model_call

R = TypeVar("R")


@fx.tool
def lookup(order: int) -> str:
    """Look an order up."""
    return f"order {order}"


@fx.tool
def refund(order: int) -> str:
    """Refund an order."""
    return f"refunded {order}"


NAMES = ("triage", "billing", "tech")


def make_group(parallel: bool, max_handoffs: int, filtered: bool) -> fx.group.Group:
    agents = [
        fx.Agent(model="m-triage", name="triage", tools=(lookup,), parallel_tools=parallel),
        fx.Agent(model="m-billing", name="billing", tools=(refund, lookup), policy=fx.max_steps(4)),
        fx.Agent(model="m-tech", name="tech", parallel_tools=parallel),
    ]
    policy = fx.group.explicit_handoffs(*NAMES)
    if filtered:
        policy = fx.group.compacting_handoff(
            policy, fx.sessions.CompactionPolicy(max_messages=4, keep_last_turns=1)
        )
    return fx.group.Group(
        members=tuple(fx.group.GroupMember(agent=a) for a in agents), policy=policy, max_handoffs=max_handoffs
    )


# A turn: ("text",) or ("calls", [pick, ...]); a pick chooses among the offered
# tools, plus a tool no agent has and a tool only another agent has.
turns = st.one_of(
    st.just(("text", ())),
    st.tuples(st.just("calls"), st.lists(st.integers(0, 7), min_size=1, max_size=3).map(tuple)),
)


def scripted_model(script: list[tuple[str, tuple[int, ...]]]) -> Any:
    counter = iter(range(10_000))

    def answer(call: fx.ModelCall) -> fx.AssistantMessage | str:
        if not script:
            return "done"
        kind, picks = script.pop(0)
        if kind == "text":
            return "ok"
        names = [t.name for t in call.tools] + ["no_such_tool", "refund"]
        calls = []
        for p in picks:
            name = names[p % len(names)]
            calls.append(
                fx.ToolCallRequest(id=f"c{next(counter)}", name=name, arguments=json.dumps({"order": p}))
            )
        return fx.assistant(None, *calls)

    return function(answer)


def journal(log: list[tuple[fx.Effect[Any], Any]]) -> Any:
    def layer(inner: Interpreter) -> Interpreter:
        async def interp(effect: fx.Effect[R], /) -> R:
            result = await inner(effect)
            log.append((effect, result))
            return result

        return interp

    return layer


def in_batch_order(log: list[tuple[fx.Effect[Any], Any]]) -> list[tuple[fx.Effect[Any], Any]]:
    """``log`` with each run of tool calls in call order: the calls of a batch finish in any order."""
    out: list[tuple[fx.Effect[Any], Any]] = []
    batch: list[tuple[fx.ToolCall, Any]] = []

    def flush() -> None:
        batch.sort(key=lambda entry: int(entry[0].id.removeprefix("c")))
        out.extend(batch)
        batch.clear()

    for effect, result in log:
        if isinstance(effect, fx.ToolCall):
            batch.append((effect, result))
        else:
            flush()
            out.append((effect, result))
    flush()
    return out


def play(
    group: fx.group.Group, script: list[tuple[str, tuple[int, ...]]]
) -> tuple[fx.group.GroupState, list[Any]]:
    log: list[tuple[fx.Effect[Any], Any]] = []
    interp = journal(log)(group_interpreter(group, model=scripted_model(list(script))))
    final = trio.run(run, group, interp, "help")
    return final, log


@given(
    st.lists(turns, max_size=14),
    st.booleans(),
    st.integers(0, 4),
    st.booleans(),
)
def test_random_handoff_sequences_keep_the_conversation_valid(
    script: list[tuple[str, tuple[int, ...]]], parallel: bool, max_handoffs: int, filtered: bool
) -> None:
    group = make_group(parallel, max_handoffs, filtered)
    final, log = play(group, script)

    # Every request sent was valid, and so is the final conversation.
    for effect, _ in log:
        if isinstance(effect, fx.ModelCall):
            assert validate_model_call(effect) == (), effect
    assert validate_conversation(final.messages) == ()

    # Every tool call is answered exactly once, by exactly one performed tool effect.
    call_ids = [c.id for m in final.messages if isinstance(m, fx.AssistantMessage) for c in m.tool_calls]
    answered = [m.tool_call_id for m in final.messages if isinstance(m, fx.ToolMessage)]
    assert not any(isinstance(e, fx.Parallel) for e, _ in log)
    performed = [e.id for e, _ in log if isinstance(e, fx.ToolCall)]
    assert sorted(call_ids) == sorted(answered) == sorted(performed)
    assert len(set(call_ids)) == len(call_ids)

    # Each tool call names its agent, and only that agent's tools perform it.
    for e, res in log:
        if isinstance(e, fx.ToolCall):
            assert e.agent in NAMES
            own = {t.spec.name for t in group.agent(e.agent).tools}
            if e.name not in own:
                assert res.is_error and "unknown_tool" in res.content, (e, res)

    # Handoffs: a chain, within bounds, each asked for by an acknowledged handoff call.
    assert len(final.handoffs) <= max_handoffs
    path = final.path
    assert path[0] == "triage"
    acks = {
        r.call_id: r.content
        for e, res in log
        for r in (res if isinstance(res, tuple) else (res,))
        if isinstance(r, fx.ToolResult) and r.name.startswith("handoff_to_")
    }
    for i, record in enumerate(final.handoffs):
        assert (record.source, record.target) == (path[i], path[i + 1])
        assert record.source != record.target
        assert record.call_id is not None
        assert json.loads(acks[record.call_id])["handoff"] == record.target
        assert isinstance(final.messages[record.at - 1], fx.ToolMessage)
    assert final.stop is not None

    # Deterministic, and data.
    again, log2 = play(group, script)
    assert again == final and in_batch_order(log2) == in_batch_order(log)
    assert fx.from_json(fx.to_json(final)) == final


def _expected_path(targets: list[str], max_handoffs: int) -> tuple[tuple[str, ...], str]:
    """An independent oracle: the path and stop kind a group with cycle_limit=2 must produce."""
    path = ["triage"]
    for t in targets:
        if t == path[-1]:
            continue  # not offered to the active agent: the model moves on
        if len(path) - 1 >= max_handoffs:
            return tuple(path), "max_handoffs"
        p = [*path, t]
        if any(p[-k:] == p[-2 * k : -k] for k in range(2, len(p) // 2 + 1)):
            return tuple(path), "handoff_cycle"
        path.append(t)
    return tuple(path), "no_tool_calls"


_targets = st.lists(st.sampled_from(NAMES), min_size=1, max_size=12)
_looping = st.lists(st.sampled_from(NAMES), min_size=2, max_size=4).map(lambda block: block * 3)


@given(st.one_of(_targets, _looping), st.one_of(st.integers(0, 3), st.integers(8, 12)))
def test_forced_handoff_paths_are_followed_until_a_bound_stops_them(
    targets: list[str], max_handoffs: int
) -> None:
    """Whatever targets the model asks for, the path follows them until a bound says stop."""
    group = make_group(False, max_handoffs, False)
    wanted = list(targets)

    def answer(call: fx.ModelCall) -> fx.AssistantMessage | str:
        offered = [t.name for t in call.tools if t.name.startswith("handoff_to_")]
        while wanted:
            name = f"handoff_to_{wanted.pop(0)}"
            if name in offered:
                return fx.assistant(None, fx.ToolCallRequest(id=f"h{len(wanted)}", name=name))
        return "done"

    final = trio.run(run, group, group_interpreter(group, model=function(answer)), "go")
    path, stop = _expected_path(targets, max_handoffs)
    assert (final.path, final.stop.kind if final.stop else None) == (path, stop)
    assert validate_conversation(final.messages) == ()
