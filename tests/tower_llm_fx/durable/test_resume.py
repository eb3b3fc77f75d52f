"""The pure decisions of a resume: replay, perform again, reconcile, or answer outcome_unknown."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.group
from tower_llm_fx import strategies as fxst
from tower_llm_fx.durable import (
    CheckSaved,
    Failure,
    Intent,
    Outcome,
    Perform,
    Reconcile,
    Replay,
    Slot,
    ToolContext,
    context_free_tools,
    decide,
    fold_journal,
    idempotent_tools,
    outcome_unknown,
    reconcile_save,
)
from tower_llm_fx.sessions import LoadSession, Saved, SaveSession, SessionLog, with_session
from tower_llm_fx.trace import ReplayMismatch

PAY = fx.ToolCall(id="c1", name="pay", arguments='{"amount": 5}')
OK = fx.ToolResult.success(call_id="c1", name="pay", content="paid")
SAVE = SaveSession(session_id="s", after_seq=1, records=(fx.user("hi"), fx.assistant("hello")))


def test_each_kind_of_effect_in_the_crash_window() -> None:
    def window(effect: fx.Effect[Any], **kw: Any) -> Any:
        return decide((3, None), effect, Slot(effect=effect, attempt=1, open=True), **kw)

    model = fx.ModelCall(model="m", messages=(fx.user("hi"),))
    assert window(model) == Perform(attempt=2)
    assert window(PAY) == Reconcile(attempt=2)
    assert window(PAY, idempotent={"pay"}) == Perform(attempt=2)
    assert window(SAVE) == CheckSaved(attempt=2)
    assert window(LoadSession(session_id="s")) == Perform(attempt=2)


def test_a_completed_effect_is_replayed_whatever_came_before() -> None:
    slots = fold_journal(
        [
            Intent(at=0, effect=PAY),
            Failure(at=0, kind="cancelled"),
            Intent(at=0, attempt=2, effect=PAY),
            Outcome(at=0, attempt=2, result=OK),
        ]
    )
    assert decide((0, None), PAY, slots[(0, None)]) == Replay(result=OK)


def test_a_failed_non_idempotent_tool_is_not_run_again_silently() -> None:
    slots = fold_journal([Intent(at=0, effect=PAY), Failure(at=0, kind="raised", message="x")])
    assert decide((0, None), PAY, slots[(0, None)]) == Reconcile(attempt=2)


def test_a_different_effect_at_a_position_is_a_mismatch_naming_the_field() -> None:
    other = fx.ToolCall(id="c1", name="pay", arguments='{"amount": 6}')
    with pytest.raises(ReplayMismatch, match=r"different ToolCall at effect 4, call 1") as info:
        decide((4, 1), other, Slot(effect=PAY, attempt=1, open=True))
    assert "amount" in str(info.value)
    assert info.value.index == 4


@given(
    effect=fxst.effects(),
    attempt=st.integers(1, 5),
    idempotent=st.booleans(),
    ended=st.sampled_from(["open", "failed", "done"]),
    result=fxst.tool_results(),
)
def test_decisions_never_run_a_non_idempotent_tool_twice_and_count_attempts(
    effect: fx.Effect[Any], attempt: int, idempotent: bool, ended: str, result: fx.ToolResult
) -> None:
    names = {effect.name} if idempotent and isinstance(effect, fx.ToolCall) else set()
    outcome = Outcome(at=0, attempt=attempt, result=result) if ended == "done" else None
    failure = Failure(at=0, attempt=attempt, kind="raised") if ended == "failed" else None
    slot = Slot(effect=effect, attempt=attempt, outcome=outcome, failure=failure, open=ended == "open")
    decision = decide((0, None), effect, slot, idempotent=names)
    if ended == "done":
        assert decision == Replay(result=result)
    elif isinstance(effect, fx.ToolCall) and not idempotent:
        assert decision == Reconcile(attempt=attempt + 1)
    else:
        assert isinstance(decision, Perform) and decision.attempt == attempt + 1
    assert decide((0, None), effect, None) == Perform(attempt=1)


def test_outcome_unknown_is_a_tool_result_the_model_reads() -> None:
    answer = outcome_unknown(PAY, "r/1/c1")
    assert (answer.call_id, answer.name, answer.error and answer.error.kind) == (
        "c1",
        "pay",
        "outcome_unknown",
    )
    assert answer.content.startswith(
        "error (outcome_unknown): the run stopped while 'pay' was running (idempotency key r/1/c1)"
    )
    assert "outcome_unknown" in fx.ToolErrorKind.__args__  # type: ignore[attr-defined]


@given(
    history=st.lists(fxst.user_messages(), max_size=4),
    new=st.lists(fxst.user_messages(), min_size=1, max_size=3),
    later=st.lists(fxst.user_messages(), max_size=2),
)
def test_a_save_is_reconciled_only_when_the_log_ends_with_exactly_its_records(
    history: list[fx.UserMessage], new: list[fx.UserMessage], later: list[fx.UserMessage]
) -> None:
    save = SaveSession(session_id="s", after_seq=len(history), records=tuple(new))
    stored = SessionLog(session_id="s", records=(*history, *new))
    assert reconcile_save(save, stored) == Saved(session_id="s", last_seq=len(history) + len(new))
    assert reconcile_save(save, SessionLog(session_id="s", records=tuple(history))) is None  # not saved yet
    if later:  # another writer appended after it: not this save's outcome to claim
        assert reconcile_save(save, SessionLog(session_id="s", records=(*history, *new, *later))) is None
    assert reconcile_save(save, SessionLog(session_id="other", records=(*history, *new))) is None


def test_idempotent_tools_come_from_the_program() -> None:
    @fx.tool(idempotent=True)
    def look(q: str) -> str:
        """Look up."""
        return q

    @fx.tool
    def pay(amount: int) -> str:
        """Pay."""
        return "ok"

    agent = fx.Agent(model="m", name="a", tools=(look, pay))
    assert idempotent_tools(agent) == {"look"}
    assert idempotent_tools(with_session(agent, "s")) == {"look"}
    assert idempotent_tools(with_session(agent.step, "s")) == {"look"}
    group = (
        fx.group.Group.builder().agent(agent).agent(fx.Agent(model="m", name="b")).handoff("a", "b").build()
    )
    assert idempotent_tools(group) == {"look", "handoff_to_b"}
    assert idempotent_tools(object()) == frozenset()


def test_context_free_tools_are_those_no_agent_gives_a_tool_context() -> None:
    @fx.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    @fx.tool
    def pay(amount: int, ctx: ToolContext) -> str:
        """Pay."""
        return "ok"

    @fx.tool(name="add")
    def add_keyed(a: int, b: int, ctx: ToolContext) -> int:
        """Add, keyed."""
        return a + b

    agent = fx.Agent(model="m", name="a", tools=(add, pay))
    assert context_free_tools(agent) == {"add"}
    assert context_free_tools(with_session(agent, "s")) == {"add"}
    other = fx.Agent(model="m", name="b", tools=(add_keyed,))
    group = fx.group.Group.builder().agent(agent).agent(other).handoff("a", "b").build()
    assert context_free_tools(group) == frozenset()  # b's "add" asks for one; handoffs keep theirs
    assert context_free_tools(object()) == frozenset()  # a program we cannot see into: every call keyed


@given(
    asks=st.lists(st.tuples(st.sampled_from(["x", "y", "z"]), st.booleans()), max_size=6),
    split=st.integers(0, 6),
)
def test_a_name_is_context_free_iff_every_tool_of_that_name_takes_no_context(
    asks: list[tuple[str, bool]], split: int
) -> None:
    def make(name: str, takes: bool) -> fx.Tool:
        def with_ctx(ctx: ToolContext) -> str:
            return "ok"

        def without() -> str:
            return "ok"

        return fx.tool(name=name, description="t")(with_ctx if takes else without)

    tools = [make(name, takes) for name, takes in asks]
    first = {t.name: t for t in tools[:split]}  # an agent holds one tool per name
    second = {t.name: t for t in tools[split:]}
    agents = [fx.Agent(model="m", name="a", tools=tuple(first.values()))]
    agents.append(fx.Agent(model="m", name="b", tools=tuple(second.values())))
    group = fx.group.Group.builder().agent(agents[0]).agent(agents[1]).build()
    everyone = [*first.values(), *second.values()]
    expected = {t.name for t in everyone} - {t.name for t in everyone if t.context is not None}
    assert context_free_tools(group) == expected
