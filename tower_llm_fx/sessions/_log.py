"""The session log: append-only records, the session effects, and the pure fold.

Theory of operation:

* Rule 1: a session is an append-only log of *records*, numbered 1, 2, 3, …
  (the sequence number, ``seq``). A record is a message, or a `Compaction`
  saying "from here on, the records shown between ``first_seq`` and
  ``last_seq`` are replaced by this message". Nothing is ever rewritten or
  deleted by a run: compaction is one more record, and the originals stay in
  the log (`SessionLog.originals` undoes every compaction).
* Rule 2: the conversation a run sees is a pure fold of the log
  (`SessionLog.view`). Each message in it is tagged with the ``seq`` of the
  record that put it there, so a later compaction can name its range.
* Rule 3: a save says which sequence number it appends after
  (``SaveSession.after_seq``). A store refuses a save whose ``after_seq`` is
  not the session's last ``seq`` with ``SessionConflict``: two writers can
  never interleave, lose or duplicate records (optimistic concurrency).
* Records travel as JSON made by ``to_json`` (a `Codec`'s ``encode``);
  `decode_record` is an exact, faster ``from_json`` for them (loading long
  sessions is a hot path) that reads format v2 wire names and v1 class names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, cast, final

import attrs
from attrs import validators as v

from tower_llm_fx._effects import Effect
from tower_llm_fx._errors import SessionError
from tower_llm_fx._messages import (
    MESSAGE_TYPES,
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from tower_llm_fx._serde import DEFAULT, Codec
from tower_llm_fx._unchecked import unchecked_factory

__all__ = [
    "Compaction",
    "LoadSession",
    "Record",
    "SaveSession",
    "Saved",
    "SeqRuns",
    "SessionLog",
    "decode_record",
    "fold_log",
]

_nonneg = [v.instance_of(int), v.ge(0)]
_positive = [v.instance_of(int), v.ge(1)]


def _session_id(_inst: object, _attr: object, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"a session id must be a non-empty string, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class Compaction:
    """A log record: the messages shown for records ``first_seq``..``last_seq`` become ``message``.

    Both ends are inclusive and name messages of the conversation as it stood
    when the compaction was made, by the ``seq`` of the record that put them
    there (either may be an earlier compaction's message, so ``first_seq`` may
    be greater than ``last_seq``; what counts is their order in the conversation). ``strategy`` says how the replacement was made, and the token
    estimates let you audit what it saved. The original records stay in the log.

    >>> from tower_llm_fx import user
    >>> Compaction(first_seq=1, last_seq=4, message=user("[summary]"), strategy="drop_oldest()").last_seq
    4
    """

    first_seq: int = attrs.field(validator=_positive)
    last_seq: int = attrs.field(validator=_positive)
    message: UserMessage = attrs.field(validator=v.instance_of(UserMessage))
    strategy: str = attrs.field(validator=v.instance_of(str))
    tokens_before: int = attrs.field(default=0, validator=_nonneg)
    tokens_after: int = attrs.field(default=0, validator=_nonneg)


Record: TypeAlias = Message | Compaction
"""One entry of a session log."""

_RECORD_TYPES: tuple[type[Any], ...] = (*MESSAGE_TYPES, Compaction)
_RECORD_TYPE_SET = frozenset(_RECORD_TYPES)

SeqRuns: TypeAlias = tuple[tuple[int, int], ...]
"""The ``seq`` of each message of a conversation, as runs ``(first_seq, count)``."""


def _records(value: Sequence[Record]) -> tuple[Record, ...]:
    if type(value) is tuple and all(type(r) in _RECORD_TYPE_SET for r in value):
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"records must be a sequence of messages and Compaction, got {type(value).__name__}")
    for i, r in enumerate(value):
        if not isinstance(r, _RECORD_TYPES):
            raise TypeError(f"records[{i}] is a {type(r).__name__}, not a message or a Compaction")
    return tuple(value)


def fold_log(records: Sequence[Record]) -> tuple[tuple[Message, ...], SeqRuns]:
    """Fold a log into the conversation it shows, and the ``seq`` of each of its messages.

    Record ``i`` (0-based) has ``seq == i + 1``.

    Raises:
        SessionError: a compaction names a range that is not in the conversation.

    >>> from tower_llm_fx import user, assistant
    >>> log = (user("a"), assistant("b"), user("c"), Compaction(first_seq=1, last_seq=2, message=user("[ab]"), strategy="x"))
    >>> fold_log(log)
    ((UserMessage(content='[ab]', name=None), UserMessage(content='c', name=None)), ((4, 1), (3, 1)))
    """
    if not any(type(r) is Compaction for r in records):
        return cast("tuple[Message, ...]", tuple(records)), (((1, len(records)),) if records else ())
    messages: list[Message] = []
    seqs: list[int] = []
    for seq, r in enumerate(records, 1):
        if isinstance(r, Compaction):
            try:
                a = seqs.index(r.first_seq)
                b = seqs.index(r.last_seq, a)
            except ValueError:
                raise SessionError(
                    f"record {seq} compacts records {r.first_seq}..{r.last_seq}, which are not both in the "
                    "conversation at that point (in this order); the log is corrupt or was edited by hand"
                ) from None
            messages[a : b + 1] = [r.message]
            seqs[a : b + 1] = [seq]
        else:
            messages.append(r)
            seqs.append(seq)
    return tuple(messages), _to_runs(seqs)


def _to_runs(seqs: Sequence[int]) -> SeqRuns:
    runs: list[tuple[int, int]] = []
    first = prev = -2
    count = 0
    for s in seqs:
        if s == prev + 1:
            count += 1
        else:
            if count:
                runs.append((first, count))
            first, count = s, 1
        prev = s
    if count:
        runs.append((first, count))
    return tuple(runs)


def seq_at(runs: SeqRuns, index: int) -> int:
    """The ``seq`` of message ``index`` of a conversation described by ``runs``."""
    for first, count in runs:
        if index < count:
            return first + index
        index -= count
    raise IndexError("index outside the saved conversation")


def slice_runs(runs: SeqRuns, start: int, end: int) -> SeqRuns:
    """The runs of messages ``[start, end)``."""
    out: list[tuple[int, int]] = []
    pos = 0
    for first, count in runs:
        lo, hi = max(start, pos), min(end, pos + count)
        if lo < hi:
            out.append((first + lo - pos, hi - lo))
        pos += count
    return tuple(out)


def extend_runs(runs: SeqRuns, first: int, count: int) -> SeqRuns:
    """``runs`` followed by ``count`` messages numbered from ``first``."""
    if count == 0:
        return runs
    if runs:
        last_first, last_count = runs[-1]
        if last_first + last_count == first:
            return (*runs[:-1], (last_first, last_count + count))
    return (*runs, (first, count))


@final
@attrs.frozen(kw_only=True)
class SessionLog:
    """A session's whole log, as loaded: ``records[i]`` has sequence number ``i + 1``.

    >>> from tower_llm_fx import user, assistant
    >>> log = SessionLog(session_id="s", records=(user("hi"), assistant("hello")))
    >>> log.last_seq, [m.content for m in log.view()]
    (2, ['hi', 'hello'])
    """

    session_id: str = attrs.field(validator=_session_id)
    records: tuple[Record, ...] = attrs.field(default=(), converter=_records)

    @property
    def last_seq(self) -> int:
        """The sequence number of the last record (0 for an empty session)."""
        return len(self.records)

    def view(self) -> tuple[Message, ...]:
        """The conversation the log shows: messages with every compaction applied."""
        return fold_log(self.records)[0]

    def originals(self) -> tuple[Message, ...]:
        """Every message record in order, ignoring compactions (undoes them all)."""
        return tuple(r for r in self.records if not isinstance(r, Compaction))

    def compactions(self) -> tuple[tuple[int, Compaction], ...]:
        """``(seq, compaction)`` for each compaction record."""
        return tuple((i, r) for i, r in enumerate(self.records, 1) if type(r) is Compaction)


@final
@attrs.frozen(kw_only=True)
class Saved:
    """The result of a `SaveSession`: the session's last sequence number after the append."""

    session_id: str = attrs.field(validator=_session_id)
    last_seq: int = attrs.field(validator=_nonneg)


@final
@attrs.frozen(kw_only=True)
class LoadSession(Effect[SessionLog]):
    """Load a session's log (an unknown session is an empty log, not an error).

    **Result:** `SessionLog`.
    **Performed by:** ``interpreters.stores.memory_store``, ``interpreters.stores.open_sqlite_store``, ``replay``.
    """

    session_id: str = attrs.field(validator=_session_id)


def _non_empty_records(value: Sequence[Record]) -> tuple[Record, ...]:
    records = _records(value)
    if not records:
        raise ValueError("a SaveSession appends at least one record")
    return records


@final
@attrs.frozen(kw_only=True)
class SaveSession(Effect[Saved]):
    """Append ``records`` to a session, in one transaction, after record ``after_seq``.

    The append happens only if the session's last sequence number is still
    ``after_seq``; otherwise nothing is written and the store raises
    ``SessionConflict``. The new records get ``after_seq + 1``, ``after_seq + 2``, ….

    **Result:** `Saved` with ``last_seq == after_seq + len(records)``.
    **Performed by:** ``interpreters.stores.memory_store``, ``interpreters.stores.open_sqlite_store``, ``replay``.
    """

    session_id: str = attrs.field(validator=_session_id)
    after_seq: int = attrs.field(validator=_nonneg)
    records: tuple[Record, ...] = attrs.field(converter=_non_empty_records)


# -- fast exact decoding ---------------------------------------------------------
#
# ``from_json`` is general and careful (paths in errors, every validator). A long
# session decodes hundreds of thousands of messages, so the common shapes take a
# fast path that builds the same values with the same type checks. Anything else
# (a new field, a bad value) goes through ``from_json``, which decodes it or
# raises a ``DecodeError`` naming the problem. The table is checked against the
# attrs fields at import, so a message class gaining a field only disables its
# fast path.

# Unchecked constructors, called by keyword: built for every field, so a class that
# gains a field does not fail here (``_matches`` below turns its fast path off).
_new_system = unchecked_factory(SystemMessage)
_new_user = unchecked_factory(UserMessage)
_new_call = unchecked_factory(ToolCallRequest)
_new_assistant = unchecked_factory(AssistantMessage)
_new_tool = unchecked_factory(ToolMessage)


class _Slow(Exception):
    """Not a shape the fast path knows: let ``from_json`` decode it (or explain why not)."""


# Each decoder checks the exact key count and every value's type inline (a
# function call per field would double the cost), then fills the slots directly.


def _system(d: dict[str, Any]) -> SystemMessage:
    c = d.get("content")
    if len(d) != 2 or type(c) is not str:
        raise _Slow
    return _new_system(content=c)


def _user(d: dict[str, Any]) -> UserMessage:
    c = d.get("content")
    n = d.get("name", _Slow)
    if len(d) != 3 or type(c) is not str or (n is not None and type(n) is not str):
        raise _Slow
    return _new_user(content=c, name=n)


def _tags(cls: type[Any]) -> frozenset[str]:
    """The tags of ``cls`` in the library's codec: its wire name and its v1 tag."""
    name = DEFAULT.name_of(cls)
    return frozenset({name, *(tag for tag, n in DEFAULT.v1_tags().items() if n == name)})


_CALL_TAGS = _tags(ToolCallRequest)


def _call(d: object) -> ToolCallRequest:
    if type(d) is not dict or len(d) != 4 or d.get("type") not in _CALL_TAGS:
        raise _Slow
    i, n, a = d.get("id"), d.get("name"), d.get("arguments")
    if type(i) is not str or type(n) is not str or type(a) is not str:
        raise _Slow
    return _new_call(id=i, name=n, arguments=a)


def _assistant(d: dict[str, Any]) -> AssistantMessage:
    calls = d.get("tool_calls")
    c, r, n = d.get("content", _Slow), d.get("refusal", _Slow), d.get("name", _Slow)
    if (
        len(d) != 5
        or type(calls) is not list
        or (c is not None and type(c) is not str)
        or (r is not None and type(r) is not str)
        or (n is not None and type(n) is not str)
    ):
        raise _Slow
    return _new_assistant(content=c, tool_calls=tuple(map(_call, calls)) if calls else (), refusal=r, name=n)


def _tool(d: dict[str, Any]) -> ToolMessage:
    i, c = d.get("tool_call_id"), d.get("content")
    if len(d) != 3 or type(i) is not str or type(c) is not str:
        raise _Slow
    return _new_tool(tool_call_id=i, content=c)


# What each fast decoder assumes about its class: (init fields, {non-init field: default}).
# Checked at import, so a message class gaining a field just loses its fast path.
_ASSUMED: dict[type[Any], tuple[set[str], dict[str, Any]]] = {
    SystemMessage: ({"content"}, {"role": "system"}),
    UserMessage: ({"content", "name"}, {"role": "user"}),
    AssistantMessage: ({"content", "tool_calls", "refusal", "name"}, {"role": "assistant"}),
    ToolMessage: ({"tool_call_id", "content"}, {"role": "tool"}),
    ToolCallRequest: ({"id", "name", "arguments"}, {}),
}


def _matches(cls: type[Any]) -> bool:
    init, fixed = _ASSUMED[cls]
    fields = attrs.fields(cls)
    return (
        {f.name for f in fields if f.init} == init
        and all(f.alias == f.name for f in fields)
        and {f.name: f.default for f in fields if not f.init} == fixed
    )


_FAST: dict[str, Callable[[dict[str, Any]], Record]] = {
    tag: fn
    for cls, fn in (
        (SystemMessage, _system),
        (UserMessage, _user),
        (AssistantMessage, _assistant),
        (ToolMessage, _tool),
    )
    if _matches(cls) and (cls is not AssistantMessage or _matches(ToolCallRequest))
    for tag in _tags(cls)
}
_FAST_CLASSES = {
    tag: cls
    for cls in (SystemMessage, UserMessage, AssistantMessage, ToolMessage, ToolCallRequest)
    for tag in _tags(cls)
}
_agrees: dict[int, tuple[Codec, bool]] = {}  # codec id → (codec, whether the fast path may serve it)


def _fast_for(codec: Codec) -> bool:
    """Whether ``codec`` reads the fast path's tags as the library does (a ``with_types`` codec does)."""
    entry = _agrees.get(id(codec))
    if entry is None or entry[0] is not codec:
        try:
            ok = all(codec.class_of(tag) is cls for tag, cls in _FAST_CLASSES.items())
        except (KeyError, ImportError):
            ok = False
        if len(_agrees) >= 64:
            _agrees.clear()
        entry = _agrees[id(codec)] = (codec, ok)
    return entry[1]


def decode_record(data: Any, *, codec: Codec = DEFAULT) -> Record:
    """Decode one record from JSON data made by ``to_json`` (exactly like ``from_json``).

    Reads format v2 (wire names) and v1 (class names); ``codec`` decodes
    anything but the common message shapes (default: the library's).

    Raises:
        DecodeError: the data is not a valid encoded value.
        SessionError: it is a valid value but not a message or a `Compaction`.

    >>> from tower_llm_fx import to_json, user
    >>> decode_record(to_json(user("hi"))) == user("hi")
    True
    >>> decode_record({"type": "UserMessage", "content": "hi", "name": None}) == user("hi")
    True
    """
    if type(data) is dict:
        fast = _FAST.get(data.get("type"))  # type: ignore[arg-type]
        if fast is not None and (codec is DEFAULT or _fast_for(codec)):
            try:
                return fast(data)
            except _Slow:
                pass
    value = codec.decode(data)
    if type(value) not in _RECORD_TYPE_SET:
        raise SessionError(
            f"a session record must be a message or a Compaction, found a {type(value).__name__}"
        )
    return value  # type: ignore[no-any-return]
