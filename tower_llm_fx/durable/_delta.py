"""Compact journal lines: a model call's intent without the conversation the previous one held.

Theory of operation (read before changing anything here):

* A `ModelCall` holds the whole conversation, so journalling each one's
  `Intent` in full stores a run of n steps as n copies of a growing history:
  quadratic. Consecutive model calls of a run share a prefix (the history the
  new one extends), so a store writes the intent of a model call as a *delta*
  against the last model call journalled before it in the run, the `CallBase`:
  ``{"type": "journal.intent_delta", "base": <its entry's index>, "keep": k,
  "intent": <the intent, its messages only the ones after the first k>}``.
  Each delta refers to the one model call before it (a chain), so a reader
  needs only the last model call it rebuilt, and the rebuilt conversations
  share their messages (memory stays linear too).
* ``k`` is the length of the longest common prefix (messages compared with
  ``==``), so a conversation that is not an extension (a compaction rewrote
  it) still shares what it kept; with nothing in common the line is the plain
  encoding. ``"same_tools": true`` says the tools are the base's too.
* Every other entry's line is its plain encoding (``codec.encode``), and so
  is every line written before this existed: `expand_entry` reads both.
* The law the stores rely on: ``expand_entry(compact_entry(e, b, codec=c), b,
  codec=c) == e`` for every entry ``e`` and base ``b`` (or ``None``), whether
  or not ``e`` shares anything with ``b``.
* A delta that does not fit its base (another index, ``keep`` past the
  base's messages, a malformed header) is a `DecodeError`, never a guess.
* Rule: pure data and pure functions; the stores do the I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, final

import attrs
from attrs import validators as v

from tower_llm_fx import DecodeError, Message, ModelCall
from tower_llm_fx.serde import DEFAULT, Codec

from ._journal import Entry, Intent, new_intent

__all__ = ["DELTA_TYPE", "CallBase", "compact_entry", "expand_entry", "next_call_base", "shared_prefix"]

DELTA_TYPE: Final = "journal.intent_delta"
"""The ``type`` of a compact line (a model call's intent as a delta against its `CallBase`)."""

_HEADER = frozenset({"type", "base", "keep", "intent", "same_tools"})


@final
@attrs.frozen
class CallBase:
    """The last model call journalled in a run so far: its entry's index and the call.

    >>> from tower_llm_fx import ModelCall, user
    >>> CallBase(3, ModelCall(model="m", messages=(user("hi"),))).index
    3
    """

    index: int = attrs.field(validator=[v.instance_of(int), v.ge(0)])
    call: ModelCall = attrs.field(validator=v.instance_of(ModelCall))


def next_call_base(index: int, entry: Entry, base: CallBase | None) -> CallBase | None:
    """The `CallBase` after entry number ``index``: itself if it is a model call's intent, else ``base``.

    The journal's counterpart of ``tower_llm_fx.trace.next_base`` (same argument
    order): a journal's delta keeps part of its base's messages (``keep``), a
    trace's extends the whole of them, so the two are separate formats.

    >>> from tower_llm_fx import ModelCall, user
    >>> from tower_llm_fx.durable import Intent, RunBegun
    >>> call = ModelCall(model="m", messages=(user("hi"),))
    >>> next_call_base(1, Intent(at=0, effect=call), None) == CallBase(1, call)
    True
    >>> next_call_base(0, RunBegun(run_id="r"), None) is None
    True
    """
    if type(entry) is Intent and type(entry.effect) is ModelCall:
        return CallBase(index, entry.effect)
    return base


def shared_prefix(old: Sequence[Message], new: Sequence[Message]) -> int:
    """How many first messages ``old`` and ``new`` have in common (compared with ``==``).

    >>> from tower_llm_fx import user
    >>> a, b, c = user("a"), user("b"), user("c")
    >>> shared_prefix((a, b), (a, b, c)), shared_prefix((a, b), (a, c)), shared_prefix((), (a,))
    (2, 1, 0)
    """
    n = len(old)
    if len(new) >= n and tuple(new[:n]) == tuple(old):  # the usual case: new extends old (C speed)
        return n
    k = 0
    for a, b in zip(old, new, strict=False):
        if a is not b and a != b:
            break
        k += 1
    return k


def compact_entry(entry: Entry, base: CallBase | None, *, codec: Codec = DEFAULT) -> Any:
    """The JSON data a store writes for ``entry``: a delta against ``base`` if it is a model call's
    intent sharing messages with ``base``'s call, else ``codec.encode(entry)``.

    >>> from tower_llm_fx import ModelCall, user
    >>> from tower_llm_fx.durable import Intent
    >>> hi, more = user("hi"), user("more")
    >>> base = CallBase(1, ModelCall(model="m", messages=(hi,)))
    >>> data = compact_entry(Intent(at=2, effect=ModelCall(model="m", messages=(hi, more))), base)
    >>> data["type"], data["base"], data["keep"], len(data["intent"]["effect"]["messages"])
    ('journal.intent_delta', 1, 1, 1)
    """
    if base is None or type(entry) is not Intent or type(entry.effect) is not ModelCall:
        return codec.encode(entry)
    call: ModelCall = entry.effect
    keep = shared_prefix(base.call.messages, call.messages)
    if keep == 0:
        return codec.encode(entry)
    same_tools = bool(call.tools) and call.tools == base.call.tools
    part = attrs.evolve(call, messages=call.messages[keep:], tools=() if same_tools else call.tools)
    data = {
        "type": DELTA_TYPE,
        "base": base.index,
        "keep": keep,
        "intent": codec.encode(new_intent(entry.at, entry.call, entry.attempt, part, entry.idempotency_key)),
    }
    if same_tools:
        data["same_tools"] = True
    return data


def expand_entry(data: Any, base: CallBase | None, *, codec: Codec = DEFAULT) -> Entry:
    """The entry a store's JSON ``data`` stands for (a delta rebuilt on ``base``), the inverse of
    `compact_entry`; lines written before deltas existed are plain encodings and read the same.

    Raises:
        DecodeError: ``data`` is not an encoded entry, or a delta does not fit ``base`` (it names
            another entry, or keeps more messages than ``base``'s call has): the journal is corrupt.

    >>> from tower_llm_fx import ModelCall, user
    >>> from tower_llm_fx.durable import Intent
    >>> hi, more = user("hi"), user("more")
    >>> base = CallBase(1, ModelCall(model="m", messages=(hi,)))
    >>> intent = Intent(at=2, effect=ModelCall(model="m", messages=(hi, more)))
    >>> expand_entry(compact_entry(intent, base), base) == intent
    True
    >>> expand_entry(compact_entry(intent, base), CallBase(0, base.call))
    Traceback (most recent call last):
    ...
    tower_llm_fx.DecodeError: at $: this compact model call refers to entry #1, but the run's last model call before it is entry #0; the journal is corrupt (rows missing or changed)
    """
    if type(data) is not dict or data.get("type") != DELTA_TYPE:
        entry: Entry = codec.decode(data)
        return entry
    ref, keep, same_tools = data.get("base"), data.get("keep"), data.get("same_tools", False)
    unknown = set(data) - _HEADER
    if unknown or type(ref) is not int or type(keep) is not int or type(same_tools) is not bool:
        raise DecodeError(
            "$",
            f"malformed compact model call (base={ref!r}, keep={keep!r}, same_tools={same_tools!r}, "
            f"unknown keys {sorted(unknown)}); the journal is corrupt",
        )
    if base is None or base.index != ref:
        last = "has none" if base is None else f"is entry #{base.index}"
        raise DecodeError(
            "$",
            f"this compact model call refers to entry #{ref}, but the run's last model call before it "
            f"{last}; the journal is corrupt (rows missing or changed)",
        )
    messages = base.call.messages
    if not 1 <= keep <= len(messages):
        raise DecodeError(
            "$",
            f"this compact model call keeps {keep} messages of entry #{ref}, which has {len(messages)}; "
            "the journal is corrupt",
        )
    part = codec.decode(data.get("intent"), "$.intent")
    if type(part) is not Intent or type(part.effect) is not ModelCall:
        raise DecodeError("$.intent", f"a compact model call holds a model call's Intent, got {part!r:.200}")
    effect: ModelCall = part.effect
    if same_tools and effect.tools:
        raise DecodeError("$.intent", "a compact model call with same_tools holds no tools of its own")
    full = attrs.evolve(  # the kept messages are the base's own objects: nothing is copied
        effect,
        messages=messages[:keep] + effect.messages,
        tools=base.call.tools if same_tools else effect.tools,
    )
    return new_intent(part.at, part.call, part.attempt, full, part.idempotency_key)
