"""Checks of single fields: message and tool names, tool call arguments, one call list.

Shared by the fast acceptor (``_fast.py``), which only asks
"fine?", and the reporter (``_report.py``), which asks "what is
wrong?" (`call_violations`). Names that passed are memoised: they repeat a
lot in long runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tower_llm_fx._json import loads_bounded
from tower_llm_fx._messages import ToolCallRequest
from tower_llm_fx._tools import ToolSpec

from ._policy import ValidationPolicy
from ._violations import (
    Violation,
    duplicate_tool_call_id,
    invalid_tool_arguments,
    tool_arguments_mismatch,
    violation,
)

__all__ = [
    "GOOD_NAMES",
    "GOOD_TOOL_NAMES",
    "arguments_problem",
    "call_violations",
    "name_ok",
    "schema_problem",
    "spec_map",
    "tool_name_ok",
]

# `messages[i].name` and `messages[i].tool_calls[j].function.name`, as the API checks them.
_MESSAGE_NAME = re.compile(r"[^\s<|\\/>]+")
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]+")

# Names already seen to be fine (bounded memos); `accepts` reads them inline to skip a call.
GOOD_TOOL_NAMES: set[str] = set()
GOOD_NAMES: set[str] = set()
_MEMO_LIMIT = 4096


def tool_name_ok(name: str) -> bool:
    """Whether the API accepts ``name`` as a tool call's name."""
    return _memo_match(_TOOL_NAME, GOOD_TOOL_NAMES, name)


def name_ok(name: str) -> bool:
    """Whether the API accepts ``name`` as a message's ``name``."""
    return _memo_match(_MESSAGE_NAME, GOOD_NAMES, name)


def _memo_match(pattern: re.Pattern[str], memo: set[str], name: str) -> bool:
    # A memo of names already seen to be fine: names repeat a lot in long runs.
    if name in memo:
        return True
    if pattern.fullmatch(name) is None:
        return False
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo.add(name)
    return True


def arguments_problem(arguments: str) -> str | None:
    """Why ``arguments`` is not a JSON object (blank text counts as ``{}``), or ``None``."""
    if arguments == "{}" or not arguments.strip():
        return None
    try:
        value = loads_bounded(arguments)
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}, not an object"
    return None


_SCHEMA_VALIDATORS: dict[str, Any] = {}


def schema_problem(spec: ToolSpec, arguments: str) -> str | None:
    """The first way the (JSON object) ``arguments`` break ``spec``'s schema, or ``None``."""
    validator = _SCHEMA_VALIDATORS.get(spec.parameters)
    if validator is None:
        import jsonschema  # only needed when schemas are checked

        schema = spec.schema()
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator = cls(schema)
        if len(_SCHEMA_VALIDATORS) >= 256:
            _SCHEMA_VALIDATORS.clear()
        _SCHEMA_VALIDATORS[spec.parameters] = validator
    value = json.loads(arguments) if arguments.strip() else {}
    error = min(validator.iter_errors(value), key=_error_key, default=None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def _error_key(error: Any) -> tuple[str, str]:
    # iter_errors' order depends on dict order inside jsonschema; pick one deterministically.
    return ("/".join(str(p) for p in error.absolute_path), str(error.message))


def call_violations(
    i: int,
    calls: tuple[ToolCallRequest, ...],
    policy: ValidationPolicy,
    first_use: dict[str, int] | None,
    specs: Mapping[str, ToolSpec] | None,
) -> list[Violation]:
    """Every violation of one assistant message's tool calls (the slow, explaining path)."""
    out: list[Violation] = []
    empty = [p for p, c in enumerate(calls) if not c.id]
    if empty:
        out.append(violation("empty_tool_call_id", i, positions=empty))
    limit = policy.max_tool_call_id_length
    if limit is not None:
        long_ids = [c.id for c in calls if len(c.id) > limit]
        if long_ids:
            out.append(violation("tool_call_id_too_long", i, ids=long_ids, limit=limit))
    seen: set[str] = set()
    within: list[str] = []
    reused: list[tuple[str, int]] = []
    for c in calls:
        if not c.id:
            continue
        if c.id in seen:
            if c.id not in within:
                within.append(c.id)
            continue
        seen.add(c.id)
        if first_use is not None and c.id in first_use:
            reused.append((c.id, first_use[c.id]))
    if within or reused:
        out.append(duplicate_tool_call_id(i, within, reused))
    if first_use is not None:
        for c in calls:
            if c.id:
                first_use.setdefault(c.id, i)
    bad_names: list[str] = []
    if policy.check_names:
        bad_names = [c.name for c in calls if not tool_name_ok(c.name)]
        if bad_names:
            out.append(violation("invalid_tool_name", i, names=bad_names))
    objects = [True] * len(calls)
    if policy.check_tool_arguments:
        problems = []
        for p, c in enumerate(calls):
            why = arguments_problem(c.arguments)
            if why is not None:
                problems.append((p, why))
                objects[p] = False
        if problems:
            out.append(invalid_tool_arguments(i, problems))
    if specs is not None:
        unknown = list(
            dict.fromkeys(c.name for c in calls if c.name not in specs and c.name not in bad_names)
        )
        if unknown:
            out.append(violation("unknown_tool", i, names=unknown, offered=sorted(specs)))
        mismatches = []
        for p, c in enumerate(calls):
            spec = specs.get(c.name)
            if spec is None or not objects[p] or arguments_problem(c.arguments) is not None:
                continue
            why = schema_problem(spec, c.arguments)
            if why is not None:
                mismatches.append((p, c.name, why))
        if mismatches:
            out.append(tool_arguments_mismatch(i, mismatches))
    return out


def spec_map(tools: Sequence[ToolSpec], policy: ValidationPolicy) -> dict[str, ToolSpec] | None:
    if not policy.check_tool_schemas:
        return None
    return {t.name: t for t in tools}
