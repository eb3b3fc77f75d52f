"""Session stores (the in-memory one here, SQLite in ``_sqlite.py``) and `run_session`.

A store is an interpreter for ``LoadSession`` and ``SaveSession``, plus a few
management calls (`SessionStore`). Stores only ever *append* to a session; a
save that does not append right after the session's last record is refused
with ``SessionConflict`` and writes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol, TypeVar, cast, final

import anyio
import attrs
from attrs import validators as v

from tower_llm_fx import (
    Agent,
    CompactionPolicy,
    Effect,
    LoadSession,
    Message,
    Record,
    RunState,
    Saved,
    SaveSession,
    SessionConflict,
    SessionError,
    SessionLog,
    UnhandledEffect,
    finish,
    fold_log,
    pending_tool_calls,
    with_session,
)

from ._run import drive
from ._types import Interpreter, Layer

__all__ = ["MemoryStore", "SessionInfo", "SessionStore", "memory_store", "run_session", "with_store"]

R = TypeVar("R")


@final
@attrs.frozen(kw_only=True)
class SessionInfo:
    """What a store knows about one session (from `SessionStore.list_sessions`).

    Times are seconds since the epoch.
    """

    session_id: str = attrs.field(validator=v.instance_of(str))
    last_seq: int = attrs.field(validator=v.instance_of(int))
    created_at: float = attrs.field(validator=v.instance_of((int, float)))
    updated_at: float = attrs.field(validator=v.instance_of((int, float)))
    forked_from: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))


class SessionStore(Interpreter, Protocol):
    """An interpreter for ``LoadSession`` / ``SaveSession`` with management calls."""

    async def load(self, session_id: str, /) -> SessionLog:
        """The session's whole log (empty for an unknown session)."""
        ...

    async def list_sessions(self) -> tuple[SessionInfo, ...]:
        """Every session, sorted by id."""
        ...

    async def delete_session(self, session_id: str, /) -> bool:
        """Delete a session and all its records; return whether it existed."""
        ...

    async def fork_session(self, source: str, target: str, /, *, upto_seq: int | None = None) -> SessionInfo:
        """Copy ``source``'s records up to ``upto_seq`` (default: all) into a new session ``target``."""
        ...


def conflict(session_id: str, expected: int, actual: int) -> SessionConflict:
    """The `SessionConflict` a store raises when a save does not follow the last record."""
    return SessionConflict(
        f"session {session_id!r} has {actual} records but this save expected to append after record "
        f"{expected}: another run appended to it since this run loaded it. Nothing was written; "
        "start a new run on the session (it reloads the history) and try again.",
        session_id=session_id,
        expected_seq=expected,
        actual_seq=actual,
    )


def check_fork(source: str, target: str, last_seq: int | None, target_exists: bool, upto: int | None) -> int:
    """Validate a fork request; return the sequence number to copy up to."""
    if last_seq is None:
        raise SessionError(f"cannot fork session {source!r}: there is no such session")
    if target_exists:
        raise SessionError(f"cannot fork into session {target!r}: it already exists; pick a new id")
    if upto is None:
        return last_seq
    if not isinstance(upto, int) or not 0 <= upto <= last_seq:
        raise SessionError(
            f"upto_seq must be between 0 and {last_seq} (the last record of {source!r}), got {upto!r}"
        )
    return upto


def check_fork_point(source: str, records: Sequence[Record], upto: int) -> None:
    """Refuse a fork point that would leave a tool call without its result."""
    pending = pending_tool_calls(fold_log(records)[0])
    if pending:
        raise SessionError(
            f"forking {source!r} at record {upto} would leave tool call(s) "
            f"{', '.join(c.id for c in pending)} without results; fork at a step boundary "
            "(after the tool results)"
        )


def unhandled(store: object, effect: Effect[Any]) -> UnhandledEffect:
    """The error a store raises for an effect other than LoadSession/SaveSession."""
    return UnhandledEffect(
        f"{store!r} only performs LoadSession and SaveSession, got {type(effect).__name__}; "
        "route other effects elsewhere with with_store(store)(interpreter) or by_type({...})"
    )


@final
class MemoryStore:
    """An in-process session store (`memory_store`): nothing survives the process.

    Saves cost the same whatever the history length; it is safe to share
    between concurrent runs and threads.
    """

    def __init__(self) -> None:
        self._logs: dict[str, list[Record]] = {}
        self._info: dict[str, SessionInfo] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"memory_store(<{len(self._logs)} sessions>)"

    async def __call__(self, effect: Effect[R], /) -> R:
        await anyio.lowlevel.checkpoint()
        if isinstance(effect, LoadSession):
            return cast("R", self._load(effect.session_id))
        if isinstance(effect, SaveSession):
            return cast("R", self._save(effect))
        raise unhandled(self, effect)

    def _load(self, session_id: str) -> SessionLog:
        with self._lock:
            records = tuple(self._logs.get(session_id, ()))
        return SessionLog(session_id=session_id, records=records)

    def _save(self, effect: SaveSession) -> Saved:
        sid = effect.session_id
        with self._lock:
            log = self._logs.get(sid)
            current = 0 if log is None else len(log)
            if current != effect.after_seq:
                raise conflict(sid, effect.after_seq, current)
            now = time.time()
            if log is None:
                log = self._logs[sid] = []
                self._info[sid] = SessionInfo(session_id=sid, last_seq=0, created_at=now, updated_at=now)
            log.extend(effect.records)
            self._info[sid] = attrs.evolve(self._info[sid], last_seq=len(log), updated_at=now)
            return Saved(session_id=sid, last_seq=len(log))

    async def load(self, session_id: str, /) -> SessionLog:
        """The session's whole log (empty for an unknown session)."""
        await anyio.lowlevel.checkpoint()
        return self._load(session_id)

    async def list_sessions(self) -> tuple[SessionInfo, ...]:
        """Every session, sorted by id."""
        await anyio.lowlevel.checkpoint()
        with self._lock:
            return tuple(self._info[k] for k in sorted(self._info))

    async def delete_session(self, session_id: str, /) -> bool:
        """Delete a session and all its records; return whether it existed."""
        await anyio.lowlevel.checkpoint()
        with self._lock:
            self._info.pop(session_id, None)
            return self._logs.pop(session_id, None) is not None

    async def fork_session(self, source: str, target: str, /, *, upto_seq: int | None = None) -> SessionInfo:
        """Copy ``source``'s records up to ``upto_seq`` (default: all) into a new session ``target``.

        Raises:
            SessionError: unknown source, existing target, or a fork point that
                would leave a tool call without its result.
        """
        await anyio.lowlevel.checkpoint()
        with self._lock:
            log = self._logs.get(source)
            upto = check_fork(
                source, target, None if log is None else len(log), target in self._logs, upto_seq
            )
            assert log is not None
            copied = log[:upto]
            if upto < len(log):
                check_fork_point(source, copied, upto)
            now = time.time()
            self._logs[target] = copied
            info = SessionInfo(
                session_id=target, last_seq=upto, created_at=now, updated_at=now, forked_from=source
            )
            self._info[target] = info
            return info


def memory_store() -> MemoryStore:
    """A new, empty in-memory session store.

    >>> import trio, tower_llm_fx as fx
    >>> store = memory_store()
    >>> trio.run(store, fx.SaveSession(session_id="s", after_seq=0, records=(fx.user("hi"),)))
    Saved(session_id='s', last_seq=1)
    >>> trio.run(store, fx.LoadSession(session_id="s")).view()
    (UserMessage(content='hi', name=None),)
    """
    return MemoryStore()


_SESSION_EFFECTS = frozenset({LoadSession, SaveSession})  # final classes: type() is exact


@final
@attrs.frozen(eq=False)
class _WithStore:
    store: Interpreter
    inner: Interpreter

    def __call__(self, effect: Effect[R], /) -> Awaitable[R]:
        if type(effect) in _SESSION_EFFECTS:
            return self.store(effect)
        return self.inner(effect)

    def __repr__(self) -> str:
        return f"with_store({self.store!r})({self.inner!r})"


@final
@attrs.frozen(eq=False)
class _WithStoreLayer:
    store: Interpreter

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _WithStore(self.store, inner)

    def __repr__(self) -> str:
        return f"with_store({self.store!r})"


def with_store(store: Interpreter) -> Layer:
    """A layer sending ``LoadSession`` / ``SaveSession`` to ``store`` and the rest to the inner interpreter.

    >>> with_store(memory_store())
    with_store(memory_store(<0 sessions>))
    """
    if not callable(store):
        raise TypeError(f"with_store() needs a session store (an interpreter), got {store!r}")
    return _WithStoreLayer(store)


async def run_session(
    agent: Agent,
    interpreter: Interpreter,
    input: str | Sequence[Message] = (),
    *,
    session_id: str,
    store: Interpreter | None = None,
    compaction: CompactionPolicy | None = None,
) -> RunState:
    """Run ``agent`` on a stored session: load its history, append ``input``, save each step.

    The returned state's messages are the whole conversation (history included).
    An empty ``input`` continues the session where it stopped.

    Args:
        agent: the agent to run.
        interpreter: performs model and tool calls (and session effects if
            ``store`` is not given).
        input: the user's new text or messages.
        session_id: the session to load and append to.
        store: the session store (`memory_store`, ``open_sqlite_store``).
        compaction: compact the conversation when this policy says so.

    Raises:
        SessionConflict: another run appended to the session during this run;
            every step saved before the conflict is kept.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, sequence
    >>> agent, store = fx.Agent(model="demo"), memory_store()
    >>> model = sequence(["Hello!", "You said hi."])
    >>> async def main():
    ...     await run_session(agent, agent_interpreter(agent, model=model), "hi", session_id="s1", store=store)
    ...     final = await run_session(agent, agent_interpreter(agent, model=model), "what did I say?", session_id="s1", store=store)
    ...     return [m.content for m in final.messages]
    >>> trio.run(main)
    ['hi', 'Hello!', 'what did I say?', 'You said hi.']
    """
    if not isinstance(agent, Agent):
        raise TypeError(
            f"run_session() expects an Agent first, got {type(agent).__name__}; for a custom step use "
            "drive(with_session(step, session_id), ...)"
        )
    if store is not None:
        interpreter = with_store(store)(interpreter)
    session = with_session(agent.step, session_id, compaction=compaction)
    state, done = await drive(session, interpreter, session.start(input), advance=session.advance)
    return finish(state.run, done)
