"""The fast acceptor: one tight pass that can only say "certainly valid".

Rule: `accepts` returns ``True`` only when the reporter
(``_report.py``) would find nothing. It recognises the shape
agents produce (every assistant's tool calls answered right after it, in
call order, once each) with no allocation per message; anything else,
valid or not, returns ``False`` and goes to the reporter. Tests check that
the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tower_llm_fx._content import TextPart
from tower_llm_fx._messages import (
    AssistantMessage,
    DeveloperMessage,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from tower_llm_fx._tools import ToolSpec

from ._checks import (
    GOOD_NAMES,
    GOOD_TOOL_NAMES,
    ROLE_PARTS,
    arguments_problem,
    name_ok,
    part_problem,
    schema_problem,
    spec_map,
    tool_name_ok,
)
from ._policy import ValidationPolicy

__all__ = ["accepts"]

_NO_LIMIT = 1 << 62
_TEXT_ONLY = ROLE_PARTS["system"]
_USER_PARTS = ROLE_PARTS["user"]


def _parts_ok(parts: object, accepted: frozenset[type[Any]], max_len: int, check: bool) -> bool:
    """Whether content that is not a ``str`` is certainly fine: a non-empty tuple of
    parts, text parts within the limit, and (when checked) each part accepted."""
    if type(parts) is not tuple or not parts:
        return False
    for part in parts:
        t = type(part)
        if t is TextPart:
            if len(part.text) > max_len:
                return False
        elif check and (t not in accepted or part_problem(part) is not None):
            return False
    return True


def accepts(messages: Sequence[object], policy: ValidationPolicy, tools: Sequence[ToolSpec]) -> bool:
    """``True`` only if `report` would find nothing; ``False`` means "look closer".

    The shape accepted is the one agents produce: every assistant's tool calls
    answered right after it, in call order, once each. One pass, no allocation
    per message on that path.
    """
    if not messages:
        return False
    S, D, U, A, T = SystemMessage, DeveloperMessage, UserMessage, AssistantMessage, ToolMessage  # noqa: N806
    check_parts = policy.check_content_parts
    max_len = policy.max_content_length or _NO_LIMIT
    max_id = policy.max_tool_call_id_length or _NO_LIMIT
    system_anywhere = policy.allow_system_anywhere
    user_first = policy.require_user_first
    repeats_ok = policy.allow_repeated_roles
    empty_ok = policy.allow_empty_content
    check_names = policy.check_names
    check_args = policy.check_tool_arguments
    reuse_ok = policy.allow_reused_tool_call_ids
    specs = spec_map(tools, policy)
    good_tool_names = GOOD_TOOL_NAMES
    good_names = GOOD_NAMES
    used: set[str] | None = None if reuse_ok else set()
    calls: tuple[ToolCallRequest, ...] = ()
    answered = 0
    prev: type[Any] | None = None
    started = False  # a non-system message was seen
    seen_user = False
    for m in messages:
        t = type(m)
        if t is T:
            if answered >= len(calls) or m.tool_call_id != calls[answered].id:  # type: ignore[attr-defined]
                return False
            answered += 1
            c = m.content  # type: ignore[attr-defined]
            if type(c) is str:
                if len(c) > max_len or (not c and not empty_ok):
                    return False
            elif not _parts_ok(c, _TEXT_ONLY, max_len, check_parts):
                return False
            prev = T
            started = True
            continue
        if answered != len(calls):
            return False
        if t is prev and not repeats_ok:
            return False
        prev = t
        if t is A:
            if not started:
                if user_first:
                    return False
                started = True
            cs = m.tool_calls  # type: ignore[attr-defined]
            c = m.content  # type: ignore[attr-defined]
            if cs:
                for call in cs:
                    cid = call.id
                    if not cid or len(cid) > max_id:
                        return False
                    if check_names and call.name not in good_tool_names and not tool_name_ok(call.name):
                        return False
                    if check_args and arguments_problem(call.arguments) is not None:
                        return False
                    if specs is not None:
                        spec = specs.get(call.name)
                        if spec is None or arguments_problem(call.arguments) is not None:
                            return False
                        if schema_problem(spec, call.arguments) is not None:
                            return False
                    if used is not None:
                        if cid in used:
                            return False
                        used.add(cid)
                n = len(cs)
                if n > 1:
                    if n == 2:
                        if cs[0].id == cs[1].id:
                            return False
                    elif len({call.id for call in cs}) != n:
                        return False
                calls = cs
                answered = 0
                if c is not None:
                    if type(c) is str:
                        if len(c) > max_len:
                            return False
                    elif not _parts_ok(c, _TEXT_ONLY, max_len, check_parts):
                        return False
            else:
                if type(c) is str:
                    if len(c) > max_len or (not c and not empty_ok):
                        return False
                elif c is None or not _parts_ok(c, _TEXT_ONLY, max_len, check_parts):
                    return False
                if answered:
                    calls = ()
                    answered = 0
            name = m.name  # type: ignore[attr-defined]
            if name is not None and check_names and name not in good_names and not name_ok(name):
                return False
        elif t is U:
            started = True
            seen_user = True
            c = m.content  # type: ignore[attr-defined]
            if type(c) is str:
                if len(c) > max_len or (not c and not empty_ok):
                    return False
            elif not _parts_ok(c, _USER_PARTS, max_len, check_parts):
                return False
            name = m.name  # type: ignore[attr-defined]
            if name is not None and check_names and name not in good_names and not name_ok(name):
                return False
        elif t is S or t is D:
            if started and not system_anywhere:
                return False
            c = m.content  # type: ignore[attr-defined]
            if type(c) is str:
                if len(c) > max_len or (not c and not empty_ok):
                    return False
            elif not _parts_ok(c, _TEXT_ONLY, max_len, check_parts):
                return False
            name = m.name  # type: ignore[attr-defined]
            if name is not None and check_names and name not in good_names and not name_ok(name):
                return False
        else:
            return False
    if answered != len(calls):
        return False
    return seen_user or not policy.require_user_present
