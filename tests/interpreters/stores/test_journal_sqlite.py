"""The SQLite journal in real files: reopening, a second writer, corrupt rows, and a durable run killed
with SIGKILL between a tool's side effect and the journal write, resumed in another process."""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

import tower_llm_fx as fx
from interpreters import agent_interpreter, resume
from interpreters.stores import open_sqlite_journal
from tests.interpreters.stores._journal_worker import agent_and_model
from tower_llm_fx.durable import Intent, Outcome, RunBegun
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
