"""Mutators that break a rule about tool messages: which call they answer, when, how often.

Each inserts, repeats, swaps, empties or removes tool messages (or a user
message among them) where that introduces exactly its violation. See
``_mutations.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from tower_llm_fx._messages import AssistantMessage, Message, ToolMessage, UserMessage
from tower_llm_fx._tools import ToolSpec
from tower_llm_fx.validation import ValidationPolicy, ViolationKind, missing_tool_response, violation

from ._mutation_sites import (
    Candidate,
    Mutator,
    answering,
    fresh,
    known_answers,
    leading_systems,
    repeats_ok,
    tool_id,
    windows,
    without,
)

__all__ = ["TOOL_MESSAGE_MUTATORS"]


def _empty_tool_message_id(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    for w in windows(ms):
        for i in known_answers(ms, w):
            if len(w.answers(ms, tool_id(ms[i]))) != 1:
                continue  # a second answer would take over, perhaps out of order
            new = list(ms)
            new[i] = answering(ms[i], "")
            out.append(
                Candidate(
                    new, violation("empty_tool_message_id", i), f"emptied the tool_call_id of message {i}"
                )
            )
    return out


def _orphan_tool_message(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    open_window = False
    first = leading_systems(ms)
    for pos in range(len(ms) + 1):
        if pos > 0:
            prev = ms[pos - 1]
            if type(prev) is AssistantMessage:
                assert isinstance(prev, AssistantMessage)
                open_window = bool(prev.tool_calls)
        if pos < first or open_window:
            continue
        new = [*ms[:pos], ToolMessage(tool_call_id="call_orphan", content="42"), *ms[pos:]]
        out.append(
            Candidate(
                new,
                violation("orphan_tool_message", pos, tool_call_id="call_orphan"),
                f"inserted a stray tool message at {pos}",
            )
        )
    return out


def _unknown_tool_response(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    for w in windows(ms):
        unknown = fresh("call_unknown", {c.id for c in w.calls})
        pos = w.index + 1
        new = [*ms[:pos], ToolMessage(tool_call_id=unknown, content="42"), *ms[pos:]]
        out.append(
            Candidate(
                new,
                violation("unknown_tool_response", pos, tool_call_id=unknown, assistant_index=w.index),
                f"inserted a tool message for an id message {w.index} did not call",
            )
        )
    return out


def _duplicate_tool_response(
    ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]
) -> list[Candidate]:
    return [
        Candidate(
            [*ms[: i + 1], ms[i], *ms[i + 1 :]],
            violation("duplicate_tool_response", i + 1, tool_call_id=tool_id(ms[i]), first=i),
            f"repeated the tool message at {i}",
        )
        for w in windows(ms)
        for i in known_answers(ms, w)
    ]


def _tool_responses_out_of_order(
    ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]
) -> list[Candidate]:
    out = []
    for w in windows(ms):
        firsts = set(known_answers(ms, w))
        for i in w.tools:
            if i + 1 not in firsts or i not in firsts:
                continue
            x, y = tool_id(ms[i]), tool_id(ms[i + 1])
            if w.position(x) > w.position(y):
                continue
            new = list(ms)
            new[i], new[i + 1] = ms[i + 1], ms[i]
            out.append(
                Candidate(
                    new,
                    violation("tool_responses_out_of_order", i + 1, tool_call_id=x, assistant_index=w.index),
                    f"swapped the tool messages at {i} and {i + 1}",
                )
            )
    return out


def _tool_responses_not_contiguous(
    ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]
) -> list[Candidate]:
    out = []
    for w in windows(ms):
        if not w.tools or w.interrupted:
            continue
        if not w.complete(ms) and not p.allow_dangling_tool_calls:
            continue
        for pos in range(w.index + 1, w.tools[-1] + 1):
            after = next(i for i in w.tools if i >= pos)
            new = [*ms[:pos], UserMessage(content="Are you done yet?"), *ms[pos:]]
            broken = violation(
                "tool_responses_not_contiguous",
                pos,
                role="user",
                assistant_index=w.index,
                tool_index=after + 1,
            )
            out.append(
                Candidate(
                    new,
                    broken,
                    f"inserted a user message at {pos}, among the tool messages of message {w.index}",
                )
            )
    return out


def _missing_tool_response(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    ws = windows(ms)
    for w in ws:
        at_end = w is ws[-1] and w.end == len(ms)
        if p.allow_pending_tool_calls and at_end and not w.interrupted:
            continue
        for i in known_answers(ms, w):
            tid = tool_id(ms[i])
            if len(w.answers(ms, tid)) != 1:
                continue
            new = without(ms, [i])
            if not repeats_ok(new, p):
                continue
            call = w.calls[w.position(tid)]
            out.append(
                Candidate(new, missing_tool_response(w.index, [call]), f"removed the tool message at {i}")
            )
    return out


TOOL_MESSAGE_MUTATORS: dict[ViolationKind, Mutator] = {
    "empty_tool_message_id": _empty_tool_message_id,
    "orphan_tool_message": _orphan_tool_message,
    "unknown_tool_response": _unknown_tool_response,
    "duplicate_tool_response": _duplicate_tool_response,
    "tool_responses_out_of_order": _tool_responses_out_of_order,
    "tool_responses_not_contiguous": _tool_responses_not_contiguous,
    "missing_tool_response": _missing_tool_response,
}
