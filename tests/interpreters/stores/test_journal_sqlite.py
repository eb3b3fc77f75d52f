"""The SQLite journal in real files: reopening, a second writer, corrupt rows, and a durable run killed
with SIGKILL between a tool's side effect and the journal write, resumed in another process."""

from __future__ import annotations

import itertools
import json
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

import tower_llm_fx as fx
from interpreters import agent_interpreter, function, resume, run
from interpreters.stores import MemoryJournal, _journal_sqlite, open_sqlite_journal
from interpreters.stores._journal_sqlite import load_journal, read_journal
from tests.interpreters.stores._journal_worker import agent_and_model
from tower_llm_fx.durable import Entry, Intent, Outcome, RunBegun, journal_trace
from tower_llm_fx.serde import DEFAULT, compact_json
from tower_llm_fx.trace import TraceStoreError

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[3]
one_backend = pytest.mark.parametrize("anyio_backend", ["trio"])


async def test_entries_survive_reopening_and_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    async with open_sqlite_journal(db) as journal:
        await journal.append("r", 0, RunBegun(run_id="r", input="hi"))
    async with open_sqlite_journal(db, durability="full") as journal:
        assert await journal.entries("r") == (RunBegun(run_id="r", input="hi"),)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT kind FROM tower_llm_fx_journal").fetchall() == [("RunBegun",)]
    finally:
        conn.close()


async def test_two_stores_on_one_file_cannot_both_write_one_run(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    async with open_sqlite_journal(db) as a, open_sqlite_journal(db) as b:
        await a.append("r", 0, RunBegun(run_id="r"))
        with pytest.raises(TraceStoreError, match="another process is running or resuming this run"):
            await b.append("r", 0, RunBegun(run_id="r"))


async def test_an_append_waits_in_a_worker_thread_while_another_connection_holds_the_lock(
    tmp_path: Path,
) -> None:
    db = tmp_path / "j.db"
    async with open_sqlite_journal(db, busy_timeout=30) as journal:
        other = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's write transaction
        released = anyio.Event()

        async def release() -> None:
            await anyio.sleep(0.2)
            other.execute("COMMIT")
            released.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(release)
            # Inline, this would block the event loop (and so `release`) until busy_timeout.
            await journal.append("r", 0, RunBegun(run_id="r"))
            assert released.is_set()
        other.close()
        assert await journal.entries("r") == (RunBegun(run_id="r"),)
        await journal.append("r", 1, RunBegun(run_id="r2"))  # and inline again afterwards


async def test_a_corrupt_row_and_a_missing_folder_are_typed_errors(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    async with open_sqlite_journal(db) as journal:
        await journal.append("r", 0, RunBegun(run_id="r"))
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE tower_llm_fx_journal SET line = '{not json'")
    conn.close()
    async with open_sqlite_journal(db) as journal:
        with pytest.raises(TraceStoreError, match=r"entry #0 of run 'r'.*cannot be read"):
            await journal.entries("r")
    with pytest.raises(TraceStoreError, match="does not exist; create it first"):
        async with open_sqlite_journal(tmp_path / "no" / "j.db"):
            pass
    with pytest.raises(ValueError, match="durability"):
        async with open_sqlite_journal(db, durability="sometimes"):  # type: ignore[arg-type]
            pass


async def until(condition: Callable[[], bool]) -> None:
    """Poll a file another process writes (no in-process event can tell us)."""
    with anyio.fail_after(60):
        while True:
            if condition():
                return
            await anyio.sleep(0.01)


@one_backend
async def test_sigkill_between_a_side_effect_and_its_journal_write_then_resume(tmp_path: Path) -> None:
    db, marks, n, block_at = str(tmp_path / "j.db"), tmp_path / "marks", 4, 3
    args = [db, "run-1", str(marks), str(n), str(block_at)]
    process = await anyio.open_process(
        [sys.executable, "-m", "tests.interpreters.stores._journal_worker", *args], cwd=ROOT
    )
    try:
        await until(lambda: marks.exists() and len(marks.read_text().split()) == block_at)
        process.send_signal(signal.SIGKILL)
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
        await process.aclose()
    assert process.returncode == -signal.SIGKILL

    agent, model = agent_and_model(n, str(marks), block_at=0)
    async with open_sqlite_journal(db) as journal:
        before = await journal.entries("run-1")
        assert isinstance(before[-1], Intent) and before[-1].idempotency_key == "run-1/5/c3"  # the window
        final = await resume(agent, agent_interpreter(agent, model=model), journal=journal, run_id="run-1")  # type: ignore[arg-type]
        after = await journal.entries("run-1")
    keys = marks.read_text().split()
    assert keys == [f"run-1/{2 * i - 1}/c{i}" for i in range(1, n + 1)]  # each payment made once
    contents = [str(m.content) for m in final.messages if isinstance(m, fx.ToolMessage)]
    assert contents[:2] == ["paid 1", "paid 2"] and contents[3:] == ["paid 4"]
    assert contents[2].startswith("error (outcome_unknown)")
    assert final.output == "finished"
    assert [e.how for e in after if isinstance(e, Outcome) and e.how != "performed"] == ["outcome_unknown"]


def test_the_command_line_shows_stats_and_replays_a_journal_read_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import trio

    from interpreters import run, sequence
    from interpreters.cli import main
    from interpreters.stores._journal_sqlite import journal_runs, read_journal

    db = tmp_path / "j.db"
    agent = fx.Agent(model="m")

    async def record() -> None:
        async with open_sqlite_journal(db) as journal:
            interp = agent_interpreter(agent, model=sequence(["Hello from the journal."]))
            await run(agent, interp, "Hi", journal=journal, run_id="run-1")

    trio.run(record)
    assert journal_runs(db) == ("run-1",)
    assert [type(e).__name__ for e in read_journal(db, "run-1")] == ["RunBegun", "Intent", "Outcome"]
    before = db.read_bytes()
    assert main(["show", f"{db}#run-1"]) == 0
    assert "Hello from the journal." in capsys.readouterr().out
    assert main(["stats", str(db), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["traces"], stats["exchanges"], stats["model_calls"]) == (1, 1, 1)
    assert db.read_bytes() == before  # only read
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).close()
    assert journal_runs(plain) == ()
    assert journal_runs(tmp_path / "missing.db") == ()


# -- compact model calls: the journal grows linearly -------------------------------------------------


def _adder(steps: int) -> tuple[fx.Agent, Any]:
    """An agent that calls ``add`` ``steps`` times, then answers; and its interpreter."""

    @fx.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    def model(call: fx.ModelCall) -> fx.AssistantMessage | str:
        n = sum(isinstance(m, fx.ToolMessage) for m in call.messages)
        if n >= steps:
            return "done"
        return fx.assistant(
            f"step {n} " * 10, fx.ToolCallRequest(id=f"c{n}", name="add", arguments='{"a": 1, "b": 2}')
        )

    agent = fx.Agent(model="m", instructions="Add numbers.", tools=(add,), policy=fx.max_steps(steps + 5))
    return agent, agent_interpreter(agent, model=function(model))


def _rows(db: Path, run_id: str = "r") -> list[tuple[int, str, str]]:
    conn = sqlite3.connect(db)
    try:
        query = "SELECT idx, kind, line FROM tower_llm_fx_journal WHERE run_id = ? ORDER BY idx"
        return conn.execute(query, (run_id,)).fetchall()
    finally:
        conn.close()


def _set_line(db: Path, idx: int, line: str, run_id: str = "r") -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE tower_llm_fx_journal SET line = ? WHERE run_id = ? AND idx = ?", (line, run_id, idx)
        )
    conn.close()


async def _journalled(db: Path, steps: int, run_id: str = "r") -> tuple[Entry, ...]:
    """Run the adder on a SQLite journal at ``db``; the entries a memory journal got for the same run."""
    agent, interp = _adder(steps)
    memory = MemoryJournal()
    await run(agent, interp, "Add.", journal=memory, run_id=run_id)
    async with open_sqlite_journal(db) as journal:
        await run(agent, interp, "Add.", journal=journal, run_id=run_id)
    return await memory.entries(run_id)


def _size(db: Path) -> int:
    return sum(len(line) for _, _, line in _rows(db))


async def test_a_run_reads_back_equal_and_its_journal_grows_linearly(tmp_path: Path) -> None:
    want = await _journalled(tmp_path / "a.db", 10)
    async with open_sqlite_journal(tmp_path / "a.db") as journal:
        got = await journal.entries("r")
        assert got == want
        assert (await journal.load("r")).exchanges == journal_trace(want).exchanges
    assert read_journal(tmp_path / "a.db", "r") == want
    assert load_journal(tmp_path / "a.db", "r").exchanges == journal_trace(want).exchanges
    calls = [e.effect for e in got if isinstance(e, Intent) and isinstance(e.effect, fx.ModelCall)]
    assert all(a.messages[0] is b.messages[0] for a, b in itertools.pairwise(calls))  # shared, not copied
    rows = _rows(tmp_path / "a.db")
    deltas = [json.loads(line) for _, kind, line in rows if '"journal.intent_delta"' in line[:40]]
    assert len(deltas) == len(calls) - 1 and {kind for _, kind, line in rows if "delta" in line[:40]} == {
        "Intent"
    }
    await _journalled(tmp_path / "b.db", 100)
    assert _size(tmp_path / "b.db") < 12 * _size(tmp_path / "a.db")  # 10x the steps: ~10x the bytes


async def test_a_journal_written_before_compact_lines_loads_and_resumes(tmp_path: Path) -> None:
    """Plain rows (as the store wrote them before): read as before, and a resume extends them compactly."""
    agent, interp = _adder(3)
    memory = MemoryJournal()
    await run(agent, interp, "Add.", journal=memory, run_id="r")
    entries = await memory.entries("r")
    cut = 1 + next(i for i, e in enumerate(entries) if isinstance(e, Outcome) and e.at == 4)  # mid-run
    db = tmp_path / "old.db"
    async with open_sqlite_journal(db):
        pass
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            "INSERT INTO tower_llm_fx_journal VALUES (?, ?, ?, ?)",
            [
                ("r", i, type(e).__name__, compact_json(DEFAULT.encode(e)))
                for i, e in enumerate(entries[:cut])
            ],
        )
    conn.close()
    assert read_journal(db, "r") == entries[:cut]
    async with open_sqlite_journal(db) as journal:
        assert await journal.entries("r") == entries[:cut]
        final = await resume(agent, interp, journal=journal, run_id="r")
        assert final.output == "done"
        assert await journal.entries("r") == entries
    lines = [json.loads(line) for _, _, line in _rows(db)]
    assert all(d["type"] != "journal.intent_delta" for d in lines[:cut])
    assert any(d["type"] == "journal.intent_delta" for d in lines[cut:])


async def test_a_store_that_did_not_read_the_run_finds_its_last_model_call(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    want = await _journalled(db, 3)
    # Rewrite the last model call's intent and what follows, each entry from a new store.
    first = max(i for i, e in enumerate(want) if isinstance(e, Intent) and isinstance(e.effect, fx.ModelCall))
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM tower_llm_fx_journal WHERE idx >= ?", (first,))
    conn.close()
    for i in range(first, len(want)):
        async with open_sqlite_journal(db) as journal:  # a new store each time: nothing in memory
            await journal.append("r", i, want[i])
    async with open_sqlite_journal(db) as journal:
        assert await journal.entries("r") == want
    assert json.loads(_rows(db)[first][2])["type"] == "journal.intent_delta"


async def test_rows_another_store_appended_are_read_back_before_a_compact_line(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    want = await _journalled(tmp_path / "ref.db", 3)
    async with open_sqlite_journal(db) as a, open_sqlite_journal(db) as b:
        for i, entry in enumerate(want):
            await (a if (i // 3) % 2 else b).append("r", i, entry)  # they take turns, 3 entries each
        assert await a.entries("r") == want == await b.entries("r")
    calls = sum(isinstance(e, Intent) and isinstance(e.effect, fx.ModelCall) for e in want)
    assert sum('"journal.intent_delta"' in line[:40] for _, _, line in _rows(db)) == calls - 1


async def test_a_store_remembers_a_bounded_number_of_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_journal_sqlite, "_TIPS", 2)
    want = await _journalled(tmp_path / "ref.db", 2)
    async with open_sqlite_journal(tmp_path / "j.db") as journal:
        for i, entry in enumerate(want):
            for run_id in ("a", "b", "c"):  # each append forgets another run
                await journal.append(run_id, i, entry)
            assert len(journal._tips) <= 2
        for run_id in ("a", "b", "c"):
            assert await journal.entries(run_id) == want


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"base": 2}, r"refers to entry #2, but the run's last model call before it is entry #\d+"),
        ({"base": 10**6}, r"refers to entry #1000000"),
        ({"keep": 10**6}, r"keeps 1000000 messages of entry #\d+, which has \d+"),
        ({"keep": "all"}, r"malformed compact model call"),
    ],
)
async def test_a_compact_line_that_does_not_fit_is_a_typed_error_naming_run_and_entry(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    db = tmp_path / "j.db"
    await _journalled(db, 3)
    idx, _, line = next(r for r in _rows(db) if '"journal.intent_delta"' in r[2][:40])
    _set_line(db, idx, json.dumps({**json.loads(line), **change}))
    where = rf"entry #{idx} of run 'r'.*cannot be read \(at \$: .*{problem}"
    async with open_sqlite_journal(db) as journal:
        with pytest.raises(TraceStoreError, match=where):
            await journal.entries("r")
        with pytest.raises(TraceStoreError, match=where):
            await journal.load("r")
    with pytest.raises(TraceStoreError, match=where):
        read_journal(db, "r")
    with pytest.raises(TraceStoreError, match=where):
        load_journal(db, "r")


async def test_a_missing_base_row_is_a_typed_error(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    await _journalled(db, 3)
    idx, _, line = next(r for r in _rows(db) if '"journal.intent_delta"' in r[2][:40])
    base = json.loads(line)["base"]
    _set_line(
        db, base, compact_json(DEFAULT.encode(RunBegun(run_id="r")))
    )  # the base row is not a model call
    with pytest.raises(TraceStoreError, match=rf"entry #{idx} of run 'r'.*refers to entry #{base}"):
        read_journal(db, "r")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM tower_llm_fx_journal WHERE idx = ?", (base,))
    conn.close()
    with pytest.raises(TraceStoreError, match=rf"entry #{idx} of run 'r'.*refers to entry #{base}"):
        read_journal(db, "r")
    async with open_sqlite_journal(db) as journal:
        with pytest.raises(TraceStoreError, match=rf"lacks entry #{base}"):
            await journal.entries("r")


async def test_an_append_after_unreadable_rows_is_written_whole(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    want = await _journalled(db, 2)
    last = max(i for i, e in enumerate(want) if isinstance(e, Intent) and isinstance(e.effect, fx.ModelCall))
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM tower_llm_fx_journal WHERE idx >= ?", (last,))
    conn.close()
    _set_line(db, 1, "{not json")  # the first model call's intent
    async with open_sqlite_journal(db) as journal:
        await journal.append("r", last, want[last])  # the read-back fails: no delta to build on
    assert json.loads(_rows(db)[last][2]) == DEFAULT.encode(want[last])
