"""The journal-store contract, for every store the library ships (memory, and SQLite in tmp_path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import tower_llm_fx as fx
from interpreters.stores import JournalStore, MemoryJournal, open_sqlite_journal
from tower_llm_fx.durable import Entry, Failure, Intent, Outcome, RunBegun
from tower_llm_fx.trace import Exchange, TraceNotFound, TraceStoreError

pytestmark = pytest.mark.anyio

CALL = fx.ToolCall(id="c1", name="pay", arguments='{"amount": 5}')
OK = fx.ToolResult.success(call_id="c1", name="pay", content="paid")
ENTRIES: tuple[Entry, ...] = (
    RunBegun(run_id="r", input=(fx.user("hi"),)),
    Intent(at=0, effect=CALL, idempotency_key="r/0/c1"),
    Failure(at=0, kind="cancelled", message="Cancelled"),
    Intent(at=0, attempt=2, effect=CALL, idempotency_key="r/0/c1"),
    Outcome(at=0, attempt=2, result=OK),
)


@pytest.fixture(params=["memory", "sqlite"])
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JournalStore]:
    if request.param == "memory":
        yield MemoryJournal()
    else:
        async with open_sqlite_journal(tmp_path / "journal.db") as j:
            yield j


async def test_entries_come_back_in_order_as_they_went_in(journal: JournalStore) -> None:
    assert await journal.entries("r") == ()
    for i, entry in enumerate(ENTRIES):
        await journal.append("r", i, entry)
    await journal.append("other", 0, RunBegun(run_id="other"))
    assert await journal.entries("r") == ENTRIES
    assert await journal.list() == ("other", "r")


async def test_an_index_already_taken_is_refused(journal: JournalStore) -> None:
    await journal.append("r", 0, ENTRIES[0])
    await journal.append("r", 1, ENTRIES[1])
    with pytest.raises(TraceStoreError, match=r"entry #1 of run 'r'.*has 2 entries: another process"):
        await journal.append("r", 1, ENTRIES[2])
    assert await journal.entries("r") == ENTRIES[:2]


async def test_load_is_the_journal_as_a_trace(journal: JournalStore) -> None:
    for i, entry in enumerate(ENTRIES):
        await journal.append("r", i, entry)
    trace = await journal.load("r")
    assert trace.exchanges == (Exchange(effect=CALL, result=OK),)
    with pytest.raises(TraceNotFound, match=r"no journal for run 'nope'.*1 run\(s\): 'r'"):
        await journal.load("nope")


async def test_the_memory_journals_flat_forms_read_as_entries_mixed_with_appended_ones() -> None:
    # The fast path writes RunBegun, intents and outcomes flat into the run's list (their
    # fields); appends by index, reads and clashes all count entries, not list items.
    from interpreters.stores._journal import raw_begun, raw_intent, raw_outcome, sink_taken

    journal = MemoryJournal()
    sink = journal._journal_sink("r")
    begun = ENTRIES[0]
    assert isinstance(begun, RunBegun)
    sink += raw_begun(begun.run_id, begun.input)
    sink += raw_intent(0, None, 1, CALL, "r/0/c1")
    first = await journal.entries("r")
    assert first == ENTRIES[:2]
    await journal.append("r", 2, ENTRIES[2])  # entry #2, though the list holds 10 items
    sink += raw_intent(0, None, 2, CALL, "r/0/c1")
    sink += raw_outcome(0, None, 2, OK)
    again = await journal.entries("r")
    assert again == ENTRIES
    assert again[1] is first[1]  # each flat form is made a value once, and kept
    with pytest.raises(TraceStoreError, match=r"entry #6 of run 'r'.*has 5 entries"):
        await journal.append("r", 5 + 1, ENTRIES[2])
    error = sink_taken("r", sink, 10)  # a writer that had seen the first three entries only
    assert "entry #3 of run 'r'" in str(error) and "has 5 entries" in str(error)
