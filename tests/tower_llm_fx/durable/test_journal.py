"""The journal's entries, their fold and the trace they make (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx import strategies as fxst
from tower_llm_fx.durable import (
    Entry,
    Failure,
    Intent,
    Outcome,
    RunBegun,
    Slot,
    fold_journal,
    journal_input,
    journal_trace,
)
from tower_llm_fx.serde import DEFAULT
from tower_llm_fx.trace import Exchange

CALL = fx.ToolCall(id="c1", name="pay")
OK = fx.ToolResult.success(call_id="c1", name="pay", content="ok")


def test_a_slot_goes_open_failed_open_completed() -> None:
    entries: list[Entry] = [RunBegun(run_id="r", input="hi"), Intent(at=0, effect=CALL)]
    assert fold_journal(entries) == {(0, None): Slot(effect=CALL, attempt=1, open=True)}
    entries.append(Failure(at=0, kind="timeout", message="slow"))
    slot = fold_journal(entries)[(0, None)]
    assert (slot.open, slot.failure, slot.outcome) == (
        False,
        Failure(at=0, kind="timeout", message="slow"),
        None,
    )
    entries += [Intent(at=0, attempt=2, effect=CALL), Outcome(at=0, attempt=2, result=OK)]
    slot = fold_journal(entries)[(0, None)]
    assert (slot.open, slot.attempt, slot.outcome) == (False, 2, Outcome(at=0, attempt=2, result=OK))


def test_entries_are_checked() -> None:
    with pytest.raises(ValueError, match="at"):
        Intent(at=-1, effect=CALL)
    with pytest.raises(TypeError):
        Intent(at=0, effect="not an effect")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind"):
        Failure(at=0, kind="exploded")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="how"):
        Outcome(at=0, result=OK, how="guessed")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="RunBegun, Intent, Outcome and Failure"):
        fold_journal([OK])  # type: ignore[list-item]


def test_a_journal_starts_with_its_input() -> None:
    assert journal_input([RunBegun(run_id="r", input="hi")]).input == "hi"
    with pytest.raises(ValueError, match="starts with a RunBegun entry, this one with nothing"):
        journal_input([])
    with pytest.raises(ValueError, match="this one with Intent"):
        journal_input([Intent(at=0, effect=CALL)])


def test_the_trace_holds_each_call_of_a_batch_not_the_batch_nor_a_cancelled_call() -> None:
    a, b = fx.ToolCall(id="a", name="pay"), fx.ToolCall(id="b", name="pay")
    batch = fx.Parallel(calls=(a, b), join=fx.JoinPolicy.FAIL_FAST)
    bad = fx.ToolResult.failure(call_id="a", name="pay", kind="tool_raised", message="x")
    cancelled = fx.ToolResult.failure(call_id="b", name="pay", kind="cancelled", message="y")
    trace = journal_trace(
        [
            RunBegun(run_id="r"),
            Intent(at=0, effect=batch),
            Intent(at=0, call=0, effect=a),
            Intent(at=0, call=1, effect=b),
            Outcome(at=0, call=0, result=bad),
            Failure(at=0, call=1, kind="cancelled"),
            Outcome(at=0, result=(bad, cancelled)),
        ]
    )
    assert trace.exchanges == (Exchange(effect=a, result=bad),)
    assert trace.meta.tag("journal") == "r"


def _journal_of(exchanges: list[Exchange], failures: list[bool]) -> list[Entry]:
    """A journal whose positions are these exchanges, some tried and failed once first."""
    entries: list[Entry] = [RunBegun(run_id="r")]
    for at, (ex, fails) in enumerate(zip(exchanges, failures, strict=False)):
        attempt = 1
        if fails:
            entries += [Intent(at=at, effect=ex.effect), Failure(at=at, kind="raised", message="boom")]
            attempt = 2
        entries += [
            Intent(at=at, attempt=attempt, effect=ex.effect),
            Outcome(at=at, attempt=attempt, result=ex.result),
        ]
    return entries


_plain = fxst.exchanges(effect=st.one_of(fxst.model_calls(), fxst.tool_calls()))


@given(exchanges=st.lists(_plain, max_size=6), failures=st.lists(st.booleans(), min_size=6, max_size=6))
def test_the_trace_of_a_journal_is_its_completed_exchanges_in_order(
    exchanges: list[Exchange], failures: list[bool]
) -> None:
    entries = _journal_of(exchanges, failures)
    assert journal_trace(entries).exchanges == tuple(exchanges)
    slots = fold_journal(entries)
    assert sorted(slots) == [(at, None) for at in range(len(exchanges))]
    for at, ex in enumerate(exchanges):
        slot = slots[(at, None)]
        assert slot.outcome is not None and slot.outcome.result == ex.result and not slot.open
        assert slot.attempt == (2 if failures[at] else 1)


@given(exchanges=st.lists(_plain, max_size=4), failures=st.lists(st.booleans(), min_size=4, max_size=4))
def test_every_entry_round_trips_through_the_codec(exchanges: list[Exchange], failures: list[bool]) -> None:
    entries: list[Any] = [*_journal_of(exchanges, failures), RunBegun(run_id="x", input=(fx.user("hi"),))]
    for entry in entries:
        assert DEFAULT.decode(DEFAULT.encode(entry)) == entry


@given(exchanges=st.lists(_plain, min_size=1, max_size=5), cut=st.integers(0, 20))
def test_a_journal_cut_anywhere_leaves_at_most_one_open_slot_and_a_prefix_of_the_trace(
    exchanges: list[Exchange], cut: int
) -> None:
    entries = _journal_of(exchanges, [False] * len(exchanges))
    prefix = entries[: min(cut, len(entries))]
    slots = fold_journal(prefix)
    assert sum(s.open for s in slots.values()) <= 1
    done = journal_trace(prefix).exchanges
    assert done == tuple(exchanges[: len(done)])
