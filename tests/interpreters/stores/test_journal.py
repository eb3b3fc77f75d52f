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
    # A new run's first attempts go in as pairs (effect, result); an attempt that raised is
    # closed with FAILED; later writes are tagged forms. Reads and clashes count entries.
    from interpreters.stores._journal import FAILED, raw_intent, raw_outcome, sink_taken

    journal = MemoryJournal()
    begun = ENTRIES[0]
    assert isinstance(begun, RunBegun)
    sink = journal._journal_begin(begun.run_id, begun.input)
    assert sink is not None
    sink.append(CALL)  # effect 0's intent, its result not in yet: an effect in flight
    first = await journal.entries("r")
    assert first == ENTRIES[:2]  # the idempotency key is derived: run id / 0 / call id
    assert await journal.entries("r") == ENTRIES[:2]  # read twice, listed once
    sink += (FAILED, ENTRIES[2])
    sink += raw_intent(0, None, 2, CALL, "r/0/c1")
    sink += raw_outcome(0, None, 2, OK)
    again = await journal.entries("r")
    assert again == ENTRIES
    assert again[0] is (await journal.entries("r"))[0]  # each flat form is made a value once, and kept
    error = sink_taken("r", sink, 6)  # a writer that had seen the first three entries only
    assert "entry #3 of run 'r'" in str(error) and "has 5 entries" in str(error)
    with pytest.raises(TraceStoreError, match=r"run 'r' is already running on this MemoryJournal"):
        await journal.append("r", 5, ENTRIES[1])  # the running run holds the list
    with pytest.raises(TraceStoreError, match=r"run 'r' is already running.*never resume one run twice"):
        journal._journal_sink("r")
    with pytest.raises(TraceStoreError, match=r"run 'r' is already running"):
        journal._journal_begin("r", ())
    journal._journal_release("r")
    assert journal._journal_begin("r", ()) is None  # the run has items: it resumes, nothing is held
    await journal.append("r", 5, ENTRIES[3])  # entry #5, though the list holds 16 items
    with pytest.raises(TraceStoreError, match=r"entry #7 of run 'r'.*has 6 entries"):
        await journal.append("r", 7, ENTRIES[2])
    assert await journal.entries("r") == (*ENTRIES, ENTRIES[3])


async def test_a_pair_reads_as_effect_number_k_with_its_outcome_or_unknown() -> None:
    from interpreters.stores._journal import OPEN

    journal = MemoryJournal()
    sink = journal._journal_begin("r", ())
    assert sink is not None
    model = fx.ModelCall(model="m", messages=(fx.user("hi"),))
    reply = fx.ModelReply(message=fx.AssistantMessage(content="ok"))
    sink += (model, reply, CALL, OK, model, OPEN)  # effects 0 and 1 done; effect 2's result refused
    journal._journal_release("r")
    assert await journal.entries("r") == (
        RunBegun(run_id="r"),
        Intent(at=0, effect=model),
        Outcome(at=0, result=reply),
        Intent(at=1, effect=CALL, idempotency_key="r/1/c1"),
        Outcome(at=1, result=OK),
        Intent(at=2, effect=model),  # open: what happened is unknown, as after a crash
    )


async def test_a_run_that_a_resume_found_empty_begins_afresh() -> None:
    # resume() of an unknown id holds (and leaves) an empty list; the id's first real run begins it.
    journal = MemoryJournal()
    assert journal._journal_sink("new") == []
    journal._journal_release("new")
    assert await journal.list() == ()  # an empty list is no run
    sink = journal._journal_begin("new", "hi")
    assert sink is not None
    journal._journal_release("new")
    assert await journal.entries("new") == (RunBegun(run_id="new", input="hi"),)
    assert await journal.list() == ("new",)
