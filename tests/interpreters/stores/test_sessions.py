"""The session-store interface (`SessionStore`), the in-memory store (`MemoryStore`) and `SessionInfo`.

Covers: the store contract (load, append-only saves, ``SessionConflict`` writing nothing, exact round
trips, list/delete/fork, only session effects), checked on both stores (memory, and SQLite in a real
file); then what is particular to ``memory_store``: fresh stores share nothing, the repr, the
timestamps in ``SessionInfo``, loaded logs are snapshots, and sharing one store between threads;
then ``SessionInfo``'s validation. ``run_session`` on these stores is in ``tests/interpreters/test_sessions.py``,
the SQLite file itself in ``test_sqlite.py``. Trio and asyncio.
"""

from __future__ import annotations

import threading
import time

import anyio
import attrs
import pytest
import trio

import tower_llm_fx as fx
import tower_llm_fx.sessions
from interpreters.stores import MemoryStore, SessionInfo, SessionStore, memory_store

pytestmark = pytest.mark.anyio


def call(id: str) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name="add", arguments='{"a": 1, "b": 2}')


# --- moved verbatim from tests/interpreters/test_sessions.py ---


def save(after: int, *records: fx.sessions.Record, sid: str = "s") -> fx.sessions.SaveSession:
    return fx.sessions.SaveSession(session_id=sid, after_seq=after, records=records)


async def test_unknown_sessions_load_empty_and_saves_append(store: SessionStore) -> None:
    assert await store(fx.sessions.LoadSession(session_id="s")) == fx.sessions.SessionLog(session_id="s")
    assert await store(save(0, fx.user("a"), fx.assistant("b"))) == fx.sessions.Saved(
        session_id="s", last_seq=2
    )
    assert await store(save(2, fx.user("c"))) == fx.sessions.Saved(session_id="s", last_seq=3)
    log = await store.load("s")
    assert log.records == (fx.user("a"), fx.assistant("b"), fx.user("c"))


async def test_a_stale_save_is_a_conflict_and_writes_nothing(store: SessionStore) -> None:
    await store(save(0, fx.user("a")))
    with pytest.raises(fx.sessions.SessionConflict, match="another run appended") as info:
        await store(save(0, fx.user("x"), fx.user("y")))
    assert (info.value.session_id, info.value.expected_seq, info.value.actual_seq) == ("s", 0, 1)
    with pytest.raises(fx.sessions.SessionConflict):
        await store(save(5, fx.user("z")))
    assert (await store.load("s")).records == (fx.user("a"),)


async def test_records_round_trip_exactly(store: SessionStore) -> None:
    records: tuple[fx.sessions.Record, ...] = (
        fx.system("sys ünïcødé"),
        fx.UserMessage(content="q", name="ann"),
        fx.AssistantMessage(content=None, tool_calls=(call("c1"),), refusal=None, name="bot"),
        fx.ToolMessage(tool_call_id="c1", content='{"x": [1, 2]}'),
        fx.AssistantMessage(content="", refusal="no"),
        fx.user("a lone surrogate \ud800 and an emoji 😀"),
        fx.sessions.Compaction(
            first_seq=1, last_seq=4, message=fx.user("[s]"), strategy="drop_oldest()", tokens_before=9
        ),
    )
    await store(save(0, *records))
    assert (await store.load("s")).records == records


async def test_list_delete_and_fork(store: SessionStore) -> None:
    await store(
        save(0, fx.user("q"), fx.assistant(None, call("c1")), fx.ToolMessage(tool_call_id="c1", content="3"))
    )
    await store(save(0, fx.user("other"), sid="b"))
    info = await store.fork_session("s", "s2", upto_seq=1)
    assert (info.session_id, info.last_seq, info.forked_from) == ("s2", 1, "s")
    assert (await store.load("s2")).records == (fx.user("q"),)
    await store(save(1, fx.user("diverge"), sid="s2"))
    assert (await store.load("s")).last_seq == 3  # the source is untouched
    whole = await store.fork_session("s", "s3")
    assert whole.last_seq == 3
    with pytest.raises(fx.sessions.SessionError, match="without results"):
        await store.fork_session("s", "s4", upto_seq=2)
    with pytest.raises(fx.sessions.SessionError, match="already exists"):
        await store.fork_session("s", "b")
    with pytest.raises(fx.sessions.SessionError, match="no such session"):
        await store.fork_session("nope", "s5")
    with pytest.raises(fx.sessions.SessionError, match="between 0 and 3"):
        await store.fork_session("s", "s6", upto_seq=9)
    listed = await store.list_sessions()
    assert [(i.session_id, i.last_seq, i.forked_from) for i in listed] == [
        ("b", 1, None),
        ("s", 3, None),
        ("s2", 2, "s"),
        ("s3", 3, "s"),
    ]
    assert all(i.created_at <= i.updated_at for i in listed)
    assert await store.delete_session("s") is True
    assert await store.delete_session("s") is False
    assert (await store.load("s")).records == ()
    assert (await store.load("s3")).last_seq == 3  # forks are copies
    await store(save(0, fx.user("again")))  # a deleted id starts over from 0


async def test_stores_perform_only_session_effects(store: SessionStore) -> None:
    with pytest.raises(fx.UnhandledEffect, match="only performs LoadSession and SaveSession"):
        await store(fx.ToolCall(id="c", name="add"))


# --- more of the contract, on both stores ---


async def test_a_save_to_an_unknown_session_must_start_at_zero(store: SessionStore) -> None:
    with pytest.raises(fx.sessions.SessionConflict) as info:
        await store(save(2, fx.user("a"), sid="new"))
    assert (info.value.session_id, info.value.expected_seq, info.value.actual_seq) == ("new", 2, 0)
    assert await store.list_sessions() == ()  # the refused save created nothing
    assert isinstance(info.value, fx.sessions.SessionError)


async def test_session_info_tracks_the_last_record_and_the_times(store: SessionStore) -> None:
    before = time.time()
    await store(save(0, fx.user("a")))
    (first,) = await store.list_sessions()
    assert (first.session_id, first.last_seq, first.forked_from) == ("s", 1, None)
    assert before <= first.created_at == first.updated_at <= time.time()
    await anyio.sleep(0.01)  # let the clock move on
    await store(save(1, fx.user("b"), fx.assistant("c")))
    (second,) = await store.list_sessions()
    assert second.last_seq == 3
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at


async def test_a_fork_is_a_copy_in_both_directions(store: SessionStore) -> None:
    await store(save(0, fx.user("q"), fx.assistant("a")))
    await store.fork_session("s", "f")
    await store(save(2, fx.user("source only")))
    await store(save(2, fx.user("fork only"), sid="f"))
    assert (await store.load("s")).records == (fx.user("q"), fx.assistant("a"), fx.user("source only"))
    assert (await store.load("f")).records == (fx.user("q"), fx.assistant("a"), fx.user("fork only"))


async def test_a_fork_can_start_empty_or_from_another_fork(store: SessionStore) -> None:
    await store(save(0, fx.user("q"), fx.assistant("a")))
    empty = await store.fork_session("s", "empty", upto_seq=0)
    assert (empty.last_seq, empty.forked_from) == (0, "s")
    assert (await store.load("empty")).records == ()
    await store.fork_session("s", "child", upto_seq=2)
    grandchild = await store.fork_session("child", "grandchild", upto_seq=1)
    assert (grandchild.forked_from, grandchild.last_seq) == ("child", 1)
    with pytest.raises(fx.sessions.SessionError, match=r"between 0 and 2 .* got -1"):
        await store.fork_session("s", "bad", upto_seq=-1)
    assert [i.session_id for i in await store.list_sessions()] == ["child", "empty", "grandchild", "s"]


async def test_a_fork_after_the_tool_results_is_allowed(store: SessionStore) -> None:
    records: tuple[fx.sessions.Record, ...] = (
        fx.user("q"),
        fx.assistant(None, call("c1"), call("c2")),
        fx.ToolMessage(tool_call_id="c1", content="3"),
        fx.ToolMessage(tool_call_id="c2", content="3"),
        fx.assistant("3 and 3"),
    )
    await store(save(0, *records))
    with pytest.raises(fx.sessions.SessionError, match="tool call\\(s\\) c2 without results"):
        await store.fork_session("s", "mid", upto_seq=3)
    info = await store.fork_session("s", "ok", upto_seq=4)
    assert (await store.load("ok")).records == records[:4]
    assert info.last_seq == 4
    assert "mid" not in {i.session_id for i in await store.list_sessions()}  # a refused fork writes nothing


# --- memory_store ---


async def test_each_memory_store_is_a_new_empty_store() -> None:
    a, b = memory_store(), memory_store()
    assert isinstance(a, MemoryStore) and a is not b
    await a(save(0, fx.user("only in a")))
    assert (await b.load("s")).records == ()
    assert await b.list_sessions() == ()


async def test_the_repr_counts_sessions() -> None:
    store = memory_store()
    assert repr(store) == "memory_store(<0 sessions>)"
    await store(save(0, fx.user("a")))
    await store(save(0, fx.user("b"), sid="t"))
    assert repr(store) == "memory_store(<2 sessions>)"
    await store.delete_session("s")
    assert repr(store) == "memory_store(<1 sessions>)"


async def test_the_unhandled_effect_error_names_the_store_and_the_fix() -> None:
    with pytest.raises(fx.UnhandledEffect) as info:
        await memory_store()(fx.ModelCall(model="m", messages=(fx.user("x"),)))
    assert str(info.value).startswith(
        "memory_store(<0 sessions>) only performs LoadSession and SaveSession, got ModelCall; "
    )
    assert "with_store(store)(interpreter)" in str(info.value)


async def test_a_loaded_log_is_a_snapshot() -> None:
    store = memory_store()
    await store(save(0, fx.user("a")))
    log = await store(fx.sessions.LoadSession(session_id="s"))
    await store(save(1, fx.user("b")))
    assert log.records == (fx.user("a"),)
    assert (await store.load("s")).records == (fx.user("a"), fx.user("b"))


def test_one_memory_store_shared_by_threads_loses_and_duplicates_nothing() -> None:
    """Threads append to their own sessions and race on a shared one, retrying on conflict."""
    store = memory_store()
    threads, turns = 6, 20
    conflicts = 0
    count_lock = threading.Lock()

    def worker(n: int) -> None:
        nonlocal conflicts

        async def main() -> None:
            nonlocal conflicts
            for turn in range(turns):
                text = f"{n}.{turn}"
                own = (await store.load(f"t{n}")).last_seq
                await store(save(own, fx.user(text), sid=f"t{n}"))
                while True:
                    shared = (await store.load("shared")).last_seq
                    try:
                        await store(save(shared, fx.user(text), sid="shared"))
                        break
                    except fx.sessions.SessionConflict:
                        with count_lock:
                            conflicts += 1

        trio.run(main)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()

    async def check() -> None:
        shared = (await store.load("shared")).records
        assert sorted(r.content for r in shared if isinstance(r, fx.UserMessage)) == sorted(
            f"{n}.{t}" for n in range(threads) for t in range(turns)
        )
        for n in range(threads):
            own = (await store.load(f"t{n}")).records
            assert [r.content for r in own if isinstance(r, fx.UserMessage)] == [
                f"{n}.{t}" for t in range(turns)
            ]
        infos = {i.session_id: i.last_seq for i in await store.list_sessions()}
        assert infos == {"shared": threads * turns, **{f"t{n}": turns for n in range(threads)}}

    trio.run(check)


# --- SessionInfo ---


def test_session_info_is_a_frozen_keyword_only_value() -> None:
    info = SessionInfo(session_id="s", last_seq=2, created_at=1, updated_at=2.5)
    assert info.forked_from is None
    assert info == SessionInfo(session_id="s", last_seq=2, created_at=1, updated_at=2.5, forked_from=None)
    assert attrs.evolve(info, last_seq=3).last_seq == 3
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        info.last_seq = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        SessionInfo("s", 2, 1.0, 2.0)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("field", "bad"),
    [("session_id", 1), ("last_seq", "2"), ("created_at", "now"), ("updated_at", None), ("forked_from", 3)],
)
def test_session_info_checks_its_field_types(field: str, bad: object) -> None:
    good: dict[str, object] = {"session_id": "s", "last_seq": 2, "created_at": 1.0, "updated_at": 2.0}
    with pytest.raises(TypeError, match=field):
        SessionInfo(**{**good, field: bad})  # type: ignore[arg-type]
