"""The session-store interface and the in-memory store (SQLite is in ``_sqlite.py``).

A store is an interpreter for ``LoadSession`` and ``SaveSession``, plus a few
management calls (`SessionStore`). Stores only ever *append* to a session; a
save that does not append right after the session's last record is refused
with ``SessionConflict`` and writes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, cast, final

import anyio
import attrs
from attrs import validators as v

from interpreters._types import Interpreter
from tower_llm_fx import Effect, UnhandledEffect, pending_tool_calls
from tower_llm_fx.sessions import (
    LoadSession,
    Record,
    Saved,
    SaveSession,
    SessionConflict,
    SessionError,
    SessionLog,
    fold_log,
)

__all__ = ["MemoryStore", "SessionInfo", "SessionStore", "memory_store"]

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
    >>> trio.run(store, fx.sessions.SaveSession(session_id="s", after_seq=0, records=(fx.user("hi"),)))
    Saved(session_id='s', last_seq=1)
    >>> trio.run(store, fx.sessions.LoadSession(session_id="s")).view()
    (UserMessage(content='hi', name=None),)
    """
    return MemoryStore()
