"""Mutators that break a rule about the tool calls of one assistant message.

Each changes one call (its id, name or arguments) and keeps the rest of the
conversation consistent: a renamed id is renamed in its answers too, or its
answers are dropped when the change leaves nothing to answer. See
``_mutations.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tower_llm_fx._messages import Message
from tower_llm_fx._tools import ToolSpec
from tower_llm_fx.validation import (
    ValidationPolicy,
    ViolationKind,
    arguments_problem,
    duplicate_tool_call_id,
    invalid_tool_arguments,
    schema_problem,
    tool_arguments_mismatch,
    violation,
)

from ._mutation_sites import (
    Candidate,
    Mutator,
    all_ids,
    calls,
    drop_answers,
    fresh,
    windows,
    with_call,
    with_call_id,
)

__all__ = ["TOOL_CALL_MUTATORS"]


def _empty_tool_call_id(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    for w, j in calls(ms):
        dropped = drop_answers(with_call(ms, w, j, id=""), w, w.calls[j].id, p)
        if dropped is not None:
            out.append(
                Candidate(
                    dropped,
                    violation("empty_tool_call_id", w.index, positions=[j]),
                    f"emptied the id of call {j} of message {w.index} and dropped its answer",
                )
            )
    return out


def _tool_call_id_too_long(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    limit = p.max_tool_call_id_length
    assert limit is not None
    long_id = fresh("call_" + "L" * limit, all_ids(ms))
    return [
        Candidate(
            with_call_id(ms, w, j, long_id),
            violation("tool_call_id_too_long", w.index, ids=[long_id], limit=limit),
            f"lengthened the id of call {j} of message {w.index}",
        )
        for w, j in calls(ms)
    ]


def _duplicate_tool_call_id(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    ws = windows(ms)
    for w in ws:
        for j in range(1, len(w.calls)):
            dropped = drop_answers(with_call(ms, w, j, id=w.calls[0].id), w, w.calls[j].id, p)
            if dropped is not None:
                out.append(
                    Candidate(
                        dropped,
                        duplicate_tool_call_id(w.index, [w.calls[0].id], []),
                        f"gave call {j} of message {w.index} the id of call 0 and dropped its answer",
                    )
                )
    if not p.allow_reused_tool_call_ids and len(ws) > 1:
        first = ws[0]
        reused = first.calls[0].id
        out.extend(
            Candidate(
                with_call_id(ms, w, j, reused),
                duplicate_tool_call_id(w.index, [], [(reused, first.index)]),
                f"reused id {reused!r} for call {j} of message {w.index}",
            )
            for w in ws[1:]
            for j in range(len(w.calls))
        )
    return out


def _invalid_tool_name(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    for w, j in calls(ms):
        bad = "functions." + w.calls[j].name
        out.append(
            Candidate(
                with_call(ms, w, j, name=bad),
                violation("invalid_tool_name", w.index, names=[bad]),
                f"renamed call {j} of message {w.index} to {bad!r}",
            )
        )
    return out


def _invalid_tool_arguments(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    for w, j in calls(ms):
        truncated = w.calls[j].arguments.rstrip()[:-1]
        if arguments_problem(truncated) is None:
            truncated = '{"truncated": '
        why = arguments_problem(truncated)
        assert why is not None
        out.append(
            Candidate(
                with_call(ms, w, j, arguments=truncated),
                invalid_tool_arguments(w.index, [(j, why)]),
                f"truncated the arguments of call {j} of message {w.index}",
            )
        )
    return out


def _unknown_tool(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    offered = sorted(s.name for s in t)
    name = fresh("no_such_tool", set(offered))
    return [
        Candidate(
            with_call(ms, w, j, name=name),
            violation("unknown_tool", w.index, names=[name], offered=offered),
            f"made call {j} of message {w.index} call an unknown tool",
        )
        for w, j in calls(ms)
    ]


def _violating_arguments(spec: ToolSpec, arguments: str) -> str | None:
    schema = spec.schema()
    value = json.loads(arguments) if arguments.strip() else {}
    if not isinstance(value, dict):
        return None
    required = schema.get("required") or []
    if required and required[0] in value:
        return json.dumps({k: x for k, x in value.items() if k != required[0]})
    if schema.get("additionalProperties") is False:
        key = fresh("unexpected", set(schema.get("properties", {})))
        return json.dumps({**value, key: 1})
    return None


def _tool_arguments_mismatch(
    ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]
) -> list[Candidate]:
    specs = {s.name: s for s in t}
    out = []
    for w, j in calls(ms):
        call = w.calls[j]
        spec = specs.get(call.name)
        if spec is None or arguments_problem(call.arguments) is not None:
            continue
        bad = _violating_arguments(spec, call.arguments)
        why = None if bad is None else schema_problem(spec, bad)
        if bad is None or why is None:
            continue
        out.append(
            Candidate(
                with_call(ms, w, j, arguments=bad),
                tool_arguments_mismatch(w.index, [(j, call.name, why)]),
                f"broke the schema in the arguments of call {j} of message {w.index}",
            )
        )
    return out


TOOL_CALL_MUTATORS: dict[ViolationKind, Mutator] = {
    "empty_tool_call_id": _empty_tool_call_id,
    "tool_call_id_too_long": _tool_call_id_too_long,
    "duplicate_tool_call_id": _duplicate_tool_call_id,
    "invalid_tool_name": _invalid_tool_name,
    "invalid_tool_arguments": _invalid_tool_arguments,
    "unknown_tool": _unknown_tool,
    "tool_arguments_mismatch": _tool_arguments_mismatch,
}
