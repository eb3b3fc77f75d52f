"""Compact journal lines: a model call's intent as a delta against the run's previous one (pure)."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx import strategies as fxst
from tower_llm_fx.durable import (
    CallBase,
    Entry,
    Failure,
    Intent,
    Outcome,
    RunBegun,
    compact_entry,
    expand_entry,
    next_call_base,
)
from tower_llm_fx.durable._delta import DELTA_TYPE, shared_prefix
from tower_llm_fx.serde import DEFAULT, compact_json

SYSTEM, HI = fx.system("Be brief."), fx.user("hi")
SPEC = fx.ToolSpec(name="add", description="Add.", parameters={"type": "object", "properties": {}})


def _call(*messages: fx.Message, tools: tuple[fx.ToolSpec, ...] = ()) -> fx.ModelCall:
    return fx.ModelCall(model="m", messages=messages, tools=tools)


def _wire(data: Any) -> Any:
    """``data`` as a store writes and reads it back (JSON text)."""
    return json.loads(compact_json(data))


def _round_trip(entry: Entry, base: CallBase | None) -> Entry:
    return expand_entry(_wire(compact_entry(entry, base)), base)


# -- strategies ----------------------------------------------------------------------------------------

_bases = st.none() | st.builds(CallBase, st.integers(0, 10**6), fxst.model_calls())


@st.composite
def _entries(draw: st.DrawFn) -> Entry:
    at, call, attempt = draw(st.integers(0, 50)), draw(st.none() | st.integers(0, 5)), draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["begun", "intent", "outcome", "failure"]))
    if kind == "begun":
        return RunBegun(run_id=draw(st.text(max_size=8)), input=draw(st.just(()) | fxst.conversations()))
    if kind == "intent":
        key = draw(st.none() | st.text(max_size=12))
        return Intent(at=at, call=call, attempt=attempt, effect=draw(fxst.effects()), idempotency_key=key)
    if kind == "outcome":
        return Outcome(at=at, call=call, attempt=attempt, result=draw(fxst.results()))
    return Failure(at=at, call=call, attempt=attempt, kind="raised", message=draw(st.text(max_size=20)))


@st.composite
def _follow_ups(draw: st.DrawFn) -> tuple[CallBase, Intent]:
    """A base and a model call that keeps some of its messages (maybe none) and adds others."""
    old = draw(fxst.model_calls())
    keep = draw(st.integers(0, len(old.messages)))
    extra = draw(st.lists(fxst.messages(), max_size=4))
    tools = old.tools if draw(st.booleans()) else draw(fxst.model_calls()).tools
    new = attrs.evolve(old, messages=(*old.messages[:keep], *extra), tools=tools)
    at, attempt = draw(st.integers(0, 50)), draw(st.integers(1, 3))
    return CallBase(draw(st.integers(0, 100)), old), Intent(at=at, attempt=attempt, effect=new)


# -- the law -------------------------------------------------------------------------------------------


@given(entry=_entries(), base=_bases)
def test_every_entry_expands_back_to_itself_on_any_base(entry: Entry, base: CallBase | None) -> None:
    assert _round_trip(entry, base) == entry


@given(case=_follow_ups())
def test_a_model_call_that_shares_messages_with_its_base_expands_back_to_itself(
    case: tuple[CallBase, Intent],
) -> None:
    base, intent = case
    data = _wire(compact_entry(intent, base))
    assert expand_entry(data, base) == intent
    assert isinstance(intent.effect, fx.ModelCall)
    keep = shared_prefix(base.call.messages, intent.effect.messages)
    if keep == 0:
        assert data == DEFAULT.encode(intent)  # nothing in common: the plain line
    else:
        assert (data["type"], data["base"], data["keep"]) == (DELTA_TYPE, base.index, keep)
        assert len(data["intent"]["effect"]["messages"]) == len(intent.effect.messages) - keep


@given(
    old=st.lists(fxst.messages(), max_size=6),
    new=st.lists(fxst.messages(), max_size=6),
    cut=st.integers(0, 6),
)
def test_the_shared_prefix_is_the_longest_run_of_equal_first_messages(
    old: list[fx.Message], new: list[fx.Message], cut: int
) -> None:
    new = old[:cut] + new
    k = shared_prefix(tuple(old), tuple(new))
    assert old[:k] == new[:k]
    assert k == min(len(old), len(new)) or old[k] != new[k]


@given(
    conversation=fxst.conversations(),
    rewrites=st.lists(st.tuples(st.integers(0, 30), fxst.conversations()), max_size=2),
)
def test_a_run_journalled_as_a_chain_reads_back_equal(
    conversation: tuple[fx.Message, ...], rewrites: list[tuple[int, tuple[fx.Message, ...]]]
) -> None:
    """A growing conversation, each prefix a model call, an outcome between, a compaction now and then."""
    calls = [_call(*conversation[: n + 1]) for n in range(len(conversation))]
    for where, other in rewrites:
        calls.insert(min(where, len(calls)), _call(*other))
    entries: list[Entry] = [RunBegun(run_id="r")]
    for at, call in enumerate(calls):
        entries += [
            Intent(at=at, effect=call),
            Outcome(at=at, result=fx.ModelReply(message=fx.assistant("ok"))),
        ]
    lines, base = [], None
    for i, entry in enumerate(entries):
        lines.append(compact_json(compact_entry(entry, base)))
        base = next_call_base(i, entry, base)
    back, base = [], None
    for i, line in enumerate(lines):
        back.append(expand_entry(json.loads(line), base))
        base = next_call_base(i, back[-1], base)
    assert back == entries


# -- examples ------------------------------------------------------------------------------------------


def test_the_rebuilt_call_shares_the_base_s_messages_and_tools() -> None:
    base = CallBase(1, _call(SYSTEM, HI, tools=(SPEC,)))
    more = fx.assistant("hello")
    data = _wire(compact_entry(Intent(at=2, effect=_call(SYSTEM, HI, more, tools=(SPEC,))), base))
    assert data["same_tools"] is True and data["intent"]["effect"]["tools"] == []
    rebuilt = expand_entry(data, base)
    assert isinstance(rebuilt, Intent) and isinstance(rebuilt.effect, fx.ModelCall)
    assert rebuilt.effect.messages[0] is SYSTEM and rebuilt.effect.messages[1] is HI
    assert rebuilt.effect.tools is base.call.tools


def test_a_retry_of_the_same_call_stores_no_message_and_reuses_the_tuple() -> None:
    base = CallBase(3, _call(SYSTEM, HI))
    data = _wire(compact_entry(Intent(at=1, attempt=2, effect=base.call), base))
    assert data["keep"] == 2 and data["intent"]["effect"]["messages"] == []
    rebuilt = expand_entry(data, base)
    assert rebuilt == Intent(at=1, attempt=2, effect=base.call)
    assert isinstance(rebuilt, Intent) and isinstance(rebuilt.effect, fx.ModelCall)
    assert rebuilt.effect.messages is base.call.messages


def test_a_compaction_keeps_what_it_kept_and_an_unrelated_call_is_written_whole() -> None:
    old = CallBase(5, _call(SYSTEM, HI, fx.assistant("a"), fx.user("b")))
    compacted = Intent(at=9, effect=_call(SYSTEM, fx.user("summary: hi, a, b"), fx.user("c")))
    data = _wire(compact_entry(compacted, old))
    assert (data["keep"], len(data["intent"]["effect"]["messages"])) == (1, 2)
    assert expand_entry(data, old) == compacted
    unrelated = Intent(at=9, effect=_call(fx.user("other")))
    assert compact_entry(unrelated, old) == DEFAULT.encode(unrelated)


def test_other_entries_and_old_lines_are_plain_encodings() -> None:
    base = CallBase(1, _call(HI))
    call = fx.ToolCall(id="c1", name="pay")
    for entry in (
        RunBegun(run_id="r", input=(HI,)),
        Intent(at=1, effect=call),
        Failure(at=1, kind="timeout"),
    ):
        assert compact_entry(entry, base) == DEFAULT.encode(entry)
    old_line = DEFAULT.encode(Intent(at=2, effect=_call(HI, fx.assistant("x"))))  # written before deltas
    assert expand_entry(old_line, base) == expand_entry(old_line, None) == DEFAULT.decode(old_line)


def test_next_call_base_follows_model_call_intents_only() -> None:
    call = _call(HI)
    base = next_call_base(1, Intent(at=0, effect=call), None)
    assert base == CallBase(1, call)
    assert next_call_base(2, Outcome(at=0, result=fx.ModelReply(message=fx.assistant("x"))), base) is base
    assert next_call_base(3, Intent(at=1, effect=fx.ToolCall(id="c", name="t")), base) is base


def test_the_compact_journal_of_a_growing_conversation_grows_linearly() -> None:
    def size(steps: int) -> int:
        messages: list[fx.Message] = [SYSTEM, HI]
        total, base = 0, None
        for at in range(steps):
            entry = Intent(at=at, effect=_call(*messages, tools=(SPEC,)))
            total += len(compact_json(compact_entry(entry, base)))
            base = next_call_base(at, entry, base)
            messages += [fx.assistant(f"step {at} " * 20), fx.user(f"more {at} " * 20)]
        return total

    small, large = size(10), size(100)
    assert large < 12 * small  # the plain lines would be ~90 times larger


_BASE = CallBase(1, _call(SYSTEM, HI))
_GOOD = _wire(compact_entry(Intent(at=2, effect=_call(SYSTEM, HI, fx.assistant("x"))), _BASE))


@pytest.mark.parametrize(
    ("data", "base", "problem"),
    [
        (_GOOD, None, r"refers to entry #1, but the run's last model call before it has none"),
        (_GOOD, CallBase(0, _BASE.call), r"refers to entry #1, but .* is entry #0; the journal is corrupt"),
        ({**_GOOD, "base": 7}, _BASE, r"refers to entry #7"),
        ({**_GOOD, "keep": 3}, _BASE, r"keeps 3 messages of entry #1, which has 2"),
        ({**_GOOD, "keep": 0}, _BASE, r"keeps 0 messages"),
        ({**_GOOD, "keep": -1}, _BASE, r"keeps -1 messages"),
        ({**_GOOD, "keep": True}, _BASE, r"malformed compact model call"),
        ({**_GOOD, "keep": "2"}, _BASE, r"malformed compact model call"),
        ({**_GOOD, "base": None}, _BASE, r"malformed compact model call"),
        ({**_GOOD, "extra": 1}, _BASE, r"unknown keys \['extra'\]"),
        ({**_GOOD, "same_tools": "yes"}, _BASE, r"malformed compact model call"),
        ({**_GOOD, "intent": DEFAULT.encode(Failure(at=1, kind="raised"))}, _BASE, r"model call's Intent"),
        (
            {**_GOOD, "intent": DEFAULT.encode(Intent(at=1, effect=fx.ToolCall(id="c", name="t")))},
            _BASE,
            r"model call's Intent",
        ),
        ({**_GOOD, "intent": {"type": "nothing.known"}}, _BASE, r"\$\.intent: unknown type"),
        (
            {
                **_GOOD,
                "same_tools": True,
                "intent": DEFAULT.encode(Intent(at=2, effect=_call(tools=(SPEC,)))),
            },
            _BASE,
            r"same_tools holds no tools",
        ),
    ],
)
def test_a_delta_that_does_not_fit_its_base_is_a_decode_error(
    data: Any, base: CallBase | None, problem: str
) -> None:
    with pytest.raises(fx.DecodeError, match=problem):
        expand_entry(data, base)


def test_a_call_base_is_checked() -> None:
    with pytest.raises(ValueError, match="index"):
        CallBase(-1, _call(HI))
    with pytest.raises(TypeError, match="call"):
        CallBase(0, fx.ToolCall(id="c", name="t"))  # type: ignore[arg-type]
