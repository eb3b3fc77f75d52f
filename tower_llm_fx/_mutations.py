"""Mutators: break exactly one rule of a valid conversation, and say which.

Theory of operation: `mutate` takes a conversation that is valid under a
policy and returns a `Mutation`: a new conversation plus the *one*
`Violation` that `validate_conversation` must now report, exactly (kind,
index and explanation). So for every valid ``ms`` and applicable ``kind``::

    m = mutate(ms, kind, policy=p, tools=t)
    validate_conversation(m.messages, p, tools=t) == (m.violation,)

Each mutator knows where its change is safe: it never inserts a message
where a tool call is still waiting for its result, never creates two
adjacent same-role messages when the policy forbids them, and removes the
tool messages that would otherwise answer a call it renamed. ``site`` picks
one of the places the mutation applies (modulo their number), so a strategy
can explore them. Pure: no randomness here; hypothesis draws ``site``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any, final

import attrs
from attrs import validators as v

from . import _validation as rules
from ._messages import AssistantMessage, Message, SystemMessage, ToolCallRequest, ToolMessage, UserMessage
from ._serde import register
from ._tools import ToolSpec
from ._validation import ValidationPolicy, Violation, ViolationKind

__all__ = ["MUTABLE_KINDS", "Mutation", "checked_kinds", "mutate"]

_DEFAULT = ValidationPolicy()


def _as_tuple(value: Sequence[Message]) -> tuple[Message, ...]:
    return tuple(value)


@final
@attrs.frozen(kw_only=True)
class Mutation:
    """A conversation with exactly one rule broken, and the violation it must produce.

    ``description`` says what was changed, for humans reading a failing example.
    """

    messages: tuple[Message, ...] = attrs.field(converter=_as_tuple)
    violation: Violation = attrs.field(validator=v.instance_of(Violation))
    description: str = attrs.field(validator=v.instance_of(str))

    @property
    def kind(self) -> ViolationKind:
        """The kind of the violation introduced."""
        return self.violation.kind


register(Mutation)


def checked_kinds(policy: ValidationPolicy = _DEFAULT) -> frozenset[ViolationKind]:
    """The violation kinds ``policy`` can report for a conversation.

    >>> "repeated_role" in checked_kinds(ValidationPolicy())
    False
    >>> "repeated_role" in checked_kinds(ValidationPolicy.strict())
    True
    """
    kinds: set[ViolationKind] = {
        "empty_conversation",
        "unsupported_message",
        "empty_assistant_message",
        "empty_tool_call_id",
        "duplicate_tool_call_id",
        "empty_tool_message_id",
        "orphan_tool_message",
    }
    p = policy
    optional: tuple[tuple[bool, ViolationKind], ...] = (
        (not p.allow_system_anywhere, "system_not_first"),
        (p.require_user_first, "assistant_before_user"),
        (not p.allow_repeated_roles, "repeated_role"),
        (p.require_user_present, "no_user_message"),
        (not p.allow_empty_content, "empty_content"),
        (p.max_content_length is not None, "content_too_long"),
        (p.check_names, "invalid_name"),
        (p.check_names, "invalid_tool_name"),
        (p.max_tool_call_id_length is not None, "tool_call_id_too_long"),
        (p.check_tool_arguments, "invalid_tool_arguments"),
        (p.check_tool_schemas, "unknown_tool"),
        (p.check_tool_schemas, "tool_arguments_mismatch"),
        (not p.allow_unknown_tool_response, "unknown_tool_response"),
        (not p.allow_duplicate_tool_response, "duplicate_tool_response"),
        (p.enforce_tool_response_order, "tool_responses_out_of_order"),
        (p.enforce_contiguous_tool_responses, "tool_responses_not_contiguous"),
        (not p.allow_dangling_tool_calls, "missing_tool_response"),
    )
    kinds.update(kind for on, kind in optional if on)
    return frozenset(kinds)


# --------------------------------------------------------------------------- analysis


@final
@attrs.frozen
class _Window:
    """An assistant message with tool calls and the tool messages up to the next assistant."""

    index: int
    calls: tuple[ToolCallRequest, ...]
    end: int  # index of the next assistant message, or len(messages)
    tools: tuple[int, ...]  # indices of the tool messages in (index, end)
    interrupted: bool  # a system or user message comes after the assistant

    def answers(self, messages: Sequence[Message], call_id: str) -> list[int]:
        return [i for i in self.tools if _tool_id(messages[i]) == call_id]

    def position(self, call_id: str) -> int:
        return next(p for p, c in enumerate(self.calls) if c.id == call_id)

    def complete(self, messages: Sequence[Message]) -> bool:
        answered = {_tool_id(messages[i]) for i in self.tools}
        return all(c.id in answered for c in self.calls)


def _answering(m: Message, call_id: str) -> ToolMessage:
    assert isinstance(m, ToolMessage)
    return attrs.evolve(m, tool_call_id=call_id)


def _tool_id(m: Message) -> str:
    assert isinstance(m, ToolMessage)
    return m.tool_call_id


def _windows(messages: Sequence[Message]) -> list[_Window]:
    out: list[_Window] = []
    assistants = [i for i, m in enumerate(messages) if type(m) is AssistantMessage]
    for k, a in enumerate(assistants):
        m = messages[a]
        assert isinstance(m, AssistantMessage)
        if not m.tool_calls:
            continue
        end = assistants[k + 1] if k + 1 < len(assistants) else len(messages)
        span = range(a + 1, end)
        tools = tuple(i for i in span if type(messages[i]) is ToolMessage)
        interrupted = any(type(messages[i]) in (UserMessage, SystemMessage) for i in span)
        out.append(_Window(a, m.tool_calls, end, tools, interrupted))
    return out


def _quiet(messages: Sequence[Message], windows: list[_Window], p: int, policy: ValidationPolicy) -> bool:
    """Whether inserting a system or user message at ``p`` leaves every window alone:
    no tool message of the window it lands in comes after it, and no call of
    that window is still waiting (unless dangling calls are allowed)."""
    for w in windows:
        if w.index < p <= w.end:
            if any(i >= p for i in w.tools):
                return False
            if not w.complete(messages) and not policy.allow_dangling_tool_calls:
                return False
    return True


def _repeats_ok(messages: Sequence[Message], policy: ValidationPolicy) -> bool:
    if policy.allow_repeated_roles:
        return True
    return not any(a.role == b.role and a.role != "tool" for a, b in itertools.pairwise(messages))


def _first_non_system_is_assistant(messages: Sequence[Message]) -> bool:
    for m in messages:
        if type(m) is not SystemMessage:
            return type(m) is AssistantMessage
    return False


def _leading_systems(messages: Sequence[Message]) -> int:
    n = 0
    for m in messages:
        if type(m) is not SystemMessage:
            break
        n += 1
    return n


def _all_ids(messages: Sequence[Message]) -> set[str]:
    ids: set[str] = set()
    for m in messages:
        if type(m) is AssistantMessage:
            assert isinstance(m, AssistantMessage)
            ids.update(c.id for c in m.tool_calls)
        elif type(m) is ToolMessage:
            ids.add(_tool_id(m))
    return ids


def _fresh(base: str, taken: set[str]) -> str:
    candidate = base
    n = 2
    while candidate in taken:
        candidate = f"{base}_{n}"
        n += 1
    return candidate


def _replace_call(m: AssistantMessage, j: int, **changes: Any) -> AssistantMessage:
    calls = list(m.tool_calls)
    calls[j] = attrs.evolve(calls[j], **changes)
    return attrs.evolve(m, tool_calls=tuple(calls))


def _without(messages: Sequence[Message], drop: Sequence[int]) -> list[Message]:
    gone = set(drop)
    return [m for i, m in enumerate(messages) if i not in gone]


def _calls(messages: Sequence[Message]) -> list[tuple[_Window, int]]:
    return [(w, j) for w in _windows(messages) for j in range(len(w.calls))]


# --------------------------------------------------------------------------- mutators
#
# Each returns the candidate mutations (all sites); `mutate` picks one.

_Candidates = list[Mutation]
_Mutator = Callable[[list[Message], ValidationPolicy, Sequence[ToolSpec]], _Candidates]


def _m(messages: Sequence[Message], violation: Violation, description: str) -> Mutation:
    return Mutation(messages=tuple(messages), violation=violation, description=description)


def _empty_conversation(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    return [_m((), rules.empty_conversation(), "removed every message")]


def _system_not_first(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    windows = _windows(ms)
    first = _leading_systems(ms)
    out = []
    for pos in range(first + 1, len(ms) + 1):
        if not _quiet(ms, windows, pos, p):
            continue
        new = [*ms[:pos], SystemMessage(content="Mind the house rules."), *ms[pos:]]
        if _repeats_ok(new, p):
            out.append(_m(new, rules.system_not_first(pos), f"inserted a system message at {pos}"))
    return out


def _assistant_before_user(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    pos = _leading_systems(ms)
    new = [*ms[:pos], AssistantMessage(content="Hello! How can I help?"), *ms[pos:]]
    if not _repeats_ok(new, p):
        return []
    return [_m(new, rules.assistant_before_user(pos), f"inserted an assistant greeting at {pos}")]


def _repeated_role(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for i, m in enumerate(ms):
        if type(m) is AssistantMessage:
            assert isinstance(m, AssistantMessage)
            if m.tool_calls or m.content is None:
                continue
        elif type(m) is ToolMessage:
            continue
        new = [*ms[: i + 1], m, *ms[i + 1 :]]
        out.append(_m(new, rules.repeated_role(i + 1, m.role), f"repeated the {m.role} message at {i}"))
    return out


def _no_user_message(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    new = [m for m in ms if type(m) is not UserMessage]
    if new and _repeats_ok(new, p) and not (p.require_user_first and _first_non_system_is_assistant(new)):
        out.append(_m(new, rules.no_user_message(), "removed every user message"))
    leading = _leading_systems(ms)
    if leading:
        out.append(_m(ms[:leading], rules.no_user_message(), "kept only the leading system messages"))
    return out


def _empty_assistant_message(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for i, m in enumerate(ms):
        if type(m) is AssistantMessage and not m.tool_calls:
            assert isinstance(m, AssistantMessage)
            new = list(ms)
            new[i] = attrs.evolve(m, content=None, refusal=None)
            out.append(
                _m(new, rules.empty_assistant_message(i, False), f"emptied the assistant message at {i}")
            )
            new = list(ms)
            new[i] = attrs.evolve(m, content=None, refusal="I can't help with that.")
            out.append(
                _m(
                    new,
                    rules.empty_assistant_message(i, True),
                    f"made the assistant message at {i} a bare refusal",
                )
            )
    return out


def _empty_content(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for i, m in enumerate(ms):
        if type(m) is AssistantMessage and m.tool_calls:
            continue
        new = list(ms)
        new[i] = attrs.evolve(m, content="")
        out.append(_m(new, rules.empty_content(i, m.role), f"emptied the content of message {i}"))
    return out


def _content_too_long(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    limit = p.max_content_length
    assert limit is not None
    out = []
    long_text = "x" * (limit + 1)  # one string shared by every candidate
    for i, m in enumerate(ms):
        new = list(ms)
        new[i] = attrs.evolve(m, content=long_text)
        out.append(
            _m(
                new,
                rules.content_too_long(i, m.role, limit + 1, limit),
                f"overfilled the content of message {i}",
            )
        )
    return out


def _invalid_name(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for i, m in enumerate(ms):
        if isinstance(m, (UserMessage, AssistantMessage)):
            new = list(ms)
            new[i] = attrs.evolve(m, name="Ada Lovelace")
            out.append(
                _m(
                    new,
                    rules.invalid_name(i, m.role, "Ada Lovelace"),
                    f"gave message {i} a name with a space",
                )
            )
    return out


def _drop_answers(ms: list[Message], w: _Window, call_id: str, p: ValidationPolicy) -> list[Message] | None:
    new = _without(ms, w.answers(ms, call_id))
    return new if _repeats_ok(new, p) else None


def _empty_tool_call_id(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for w, j in _calls(ms):
        call = w.calls[j]
        a = ms[w.index]
        assert isinstance(a, AssistantMessage)
        new = list(ms)
        new[w.index] = _replace_call(a, j, id="")
        dropped = _drop_answers(new, w, call.id, p)
        if dropped is None:
            continue
        out.append(
            _m(
                dropped,
                rules.empty_tool_call_id(w.index, [j]),
                f"emptied the id of call {j} of message {w.index} and dropped its answer",
            )
        )
    return out


def _tool_call_id_too_long(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    limit = p.max_tool_call_id_length
    assert limit is not None
    taken = _all_ids(ms)
    out = []
    for w, j in _calls(ms):
        call = w.calls[j]
        long_id = _fresh("call_" + "L" * limit, taken)
        a = ms[w.index]
        assert isinstance(a, AssistantMessage)
        new = list(ms)
        new[w.index] = _replace_call(a, j, id=long_id)
        for i in w.answers(ms, call.id):
            new[i] = _answering(ms[i], long_id)
        out.append(
            _m(
                new,
                rules.tool_call_id_too_long(w.index, [long_id], limit),
                f"lengthened the id of call {j} of message {w.index}",
            )
        )
    return out


def _duplicate_tool_call_id(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    windows = _windows(ms)
    for w in windows:
        a = ms[w.index]
        assert isinstance(a, AssistantMessage)
        for j in range(1, len(w.calls)):
            new = list(ms)
            new[w.index] = _replace_call(a, j, id=w.calls[0].id)
            dropped = _drop_answers(new, w, w.calls[j].id, p)
            if dropped is None:
                continue
            out.append(
                _m(
                    dropped,
                    rules.duplicate_tool_call_id(w.index, [w.calls[0].id], []),
                    f"gave call {j} of message {w.index} the id of call 0 and dropped its answer",
                )
            )
    if not p.allow_reused_tool_call_ids and len(windows) > 1:
        first = windows[0]
        reused = first.calls[0].id
        for w in windows[1:]:
            a = ms[w.index]
            assert isinstance(a, AssistantMessage)
            for j, call in enumerate(w.calls):
                new = list(ms)
                new[w.index] = _replace_call(a, j, id=reused)
                for i in w.answers(ms, call.id):
                    new[i] = _answering(ms[i], reused)
                out.append(
                    _m(
                        new,
                        rules.duplicate_tool_call_id(w.index, [], [(reused, first.index)]),
                        f"reused id {reused!r} for call {j} of message {w.index}",
                    )
                )
    return out


def _invalid_tool_name(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for w, j in _calls(ms):
        a = ms[w.index]
        assert isinstance(a, AssistantMessage)
        bad = "functions." + w.calls[j].name
        new = list(ms)
        new[w.index] = _replace_call(a, j, name=bad)
        out.append(
            _m(
                new,
                rules.invalid_tool_name(w.index, [bad]),
                f"renamed call {j} of message {w.index} to {bad!r}",
            )
        )
    return out


def _invalid_tool_arguments(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for w, j in _calls(ms):
        a = ms[w.index]
        assert isinstance(a, AssistantMessage)
        truncated = w.calls[j].arguments.rstrip()[:-1]
        if rules.arguments_problem(truncated) is None:
            truncated = '{"truncated": '
        why = rules.arguments_problem(truncated)
        assert why is not None
        new = list(ms)
        new[w.index] = _replace_call(a, j, arguments=truncated)
        out.append(
            _m(
                new,
                rules.invalid_tool_arguments(w.index, [(j, why)]),
                f"truncated the arguments of call {j} of message {w.index}",
            )
        )
    return out


def _unknown_tool(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    offered = sorted(s.name for s in t)
    name = _fresh("no_such_tool", set(offered))
    out = []
    for w, j in _calls(ms):
        a = ms[w.index]
        assert isinstance(a, AssistantMessage)
        new = list(ms)
        new[w.index] = _replace_call(a, j, name=name)
        out.append(
            _m(
                new,
                rules.unknown_tool(w.index, [name], offered),
                f"made call {j} of message {w.index} call an unknown tool",
            )
        )
    return out


def _violating_arguments(spec: ToolSpec, arguments: str) -> str | None:
    schema = spec.schema()
    value = json.loads(arguments) if arguments.strip() else {}
    if not isinstance(value, dict):
        return None
    required = schema.get("required") or []
    if required and required[0] in value:
        return json.dumps({k: x for k, x in value.items() if k != required[0]})
    if schema.get("additionalProperties") is False:
        key = _fresh("unexpected", set(schema.get("properties", {})))
        return json.dumps({**value, key: 1})
    return None


def _tool_arguments_mismatch(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    specs = {s.name: s for s in t}
    out = []
    for w, j in _calls(ms):
        call = w.calls[j]
        spec = specs.get(call.name)
        if spec is None or rules.arguments_problem(call.arguments) is not None:
            continue
        bad = _violating_arguments(spec, call.arguments)
        if bad is None:
            continue
        why = rules.schema_problem(spec, bad)
        if why is None:
            continue
        a = ms[w.index]
        assert isinstance(a, AssistantMessage)
        new = list(ms)
        new[w.index] = _replace_call(a, j, arguments=bad)
        out.append(
            _m(
                new,
                rules.tool_arguments_mismatch(w.index, [(j, call.name, why)]),
                f"broke the schema in the arguments of call {j} of message {w.index}",
            )
        )
    return out


def _known_answers(ms: list[Message], w: _Window) -> list[int]:
    """Tool messages of ``w`` that are the first answer to one of its calls."""
    ids = {c.id for c in w.calls}
    seen: set[str] = set()
    out = []
    for i in w.tools:
        tid = _tool_id(ms[i])
        if tid in ids and tid not in seen:
            seen.add(tid)
            out.append(i)
    return out


def _empty_tool_message_id(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for w in _windows(ms):
        for i in _known_answers(ms, w):
            if len(w.answers(ms, _tool_id(ms[i]))) != 1:
                continue  # a second answer would take over, perhaps out of order
            new = list(ms)
            new[i] = _answering(ms[i], "")
            out.append(_m(new, rules.empty_tool_message_id(i), f"emptied the tool_call_id of message {i}"))
    return out


def _orphan_tool_message(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    open_window = False
    first = _leading_systems(ms)
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
            _m(new, rules.orphan_tool_message(pos, "call_orphan"), f"inserted a stray tool message at {pos}")
        )
    return out


def _unknown_tool_response(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for w in _windows(ms):
        unknown = _fresh("call_unknown", {c.id for c in w.calls})
        pos = w.index + 1
        new = [*ms[:pos], ToolMessage(tool_call_id=unknown, content="42"), *ms[pos:]]
        out.append(
            _m(
                new,
                rules.unknown_tool_response(pos, unknown, w.index),
                f"inserted a tool message for an id message {w.index} did not call",
            )
        )
    return out


def _duplicate_tool_response(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    for w in _windows(ms):
        for i in _known_answers(ms, w):
            new = [*ms[: i + 1], ms[i], *ms[i + 1 :]]
            out.append(
                _m(
                    new,
                    rules.duplicate_tool_response(i + 1, _tool_id(ms[i]), i),
                    f"repeated the tool message at {i}",
                )
            )
    return out


def _tool_responses_out_of_order(
    ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]
) -> _Candidates:
    out = []
    for w in _windows(ms):
        firsts = set(_known_answers(ms, w))
        for i in w.tools:
            if i + 1 not in firsts or i not in firsts:
                continue
            x, y = _tool_id(ms[i]), _tool_id(ms[i + 1])
            if w.position(x) > w.position(y):
                continue
            new = list(ms)
            new[i], new[i + 1] = ms[i + 1], ms[i]
            out.append(
                _m(
                    new,
                    rules.tool_responses_out_of_order(i + 1, x, w.index),
                    f"swapped the tool messages at {i} and {i + 1}",
                )
            )
    return out


def _tool_responses_not_contiguous(
    ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]
) -> _Candidates:
    out = []
    for w in _windows(ms):
        if not w.tools or w.interrupted:
            continue
        if not w.complete(ms) and not p.allow_dangling_tool_calls:
            continue
        for pos in range(w.index + 1, w.tools[-1] + 1):
            after = next(i for i in w.tools if i >= pos)
            new = [*ms[:pos], UserMessage(content="Are you done yet?"), *ms[pos:]]
            out.append(
                _m(
                    new,
                    rules.tool_responses_not_contiguous(pos, "user", w.index, after + 1),
                    f"inserted a user message at {pos}, among the tool messages of message {w.index}",
                )
            )
    return out


def _missing_tool_response(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> _Candidates:
    out = []
    windows = _windows(ms)
    for w in windows:
        at_end = w is windows[-1] and w.end == len(ms)
        if p.allow_pending_tool_calls and at_end and not w.interrupted:
            continue
        for i in _known_answers(ms, w):
            tid = _tool_id(ms[i])
            if len(w.answers(ms, tid)) != 1:
                continue
            new = _without(ms, [i])
            if not _repeats_ok(new, p):
                continue
            call = w.calls[w.position(tid)]
            out.append(
                _m(new, rules.missing_tool_response(w.index, [call]), f"removed the tool message at {i}")
            )
    return out


_MUTATORS: dict[ViolationKind, _Mutator] = {
    "empty_conversation": _empty_conversation,
    "system_not_first": _system_not_first,
    "assistant_before_user": _assistant_before_user,
    "repeated_role": _repeated_role,
    "no_user_message": _no_user_message,
    "empty_assistant_message": _empty_assistant_message,
    "empty_content": _empty_content,
    "content_too_long": _content_too_long,
    "invalid_name": _invalid_name,
    "empty_tool_call_id": _empty_tool_call_id,
    "tool_call_id_too_long": _tool_call_id_too_long,
    "duplicate_tool_call_id": _duplicate_tool_call_id,
    "invalid_tool_name": _invalid_tool_name,
    "invalid_tool_arguments": _invalid_tool_arguments,
    "unknown_tool": _unknown_tool,
    "tool_arguments_mismatch": _tool_arguments_mismatch,
    "empty_tool_message_id": _empty_tool_message_id,
    "orphan_tool_message": _orphan_tool_message,
    "unknown_tool_response": _unknown_tool_response,
    "duplicate_tool_response": _duplicate_tool_response,
    "tool_responses_out_of_order": _tool_responses_out_of_order,
    "tool_responses_not_contiguous": _tool_responses_not_contiguous,
    "missing_tool_response": _missing_tool_response,
}

MUTABLE_KINDS: tuple[ViolationKind, ...] = tuple(k for k in rules.VIOLATION_KINDS if k in _MUTATORS)
"""The kinds `mutate` can introduce (all conversation rules but ``unsupported_message``)."""


def mutate(
    messages: Sequence[Message],
    kind: ViolationKind,
    *,
    policy: ValidationPolicy = _DEFAULT,
    tools: Sequence[ToolSpec] = (),
    site: int = 0,
) -> Mutation | None:
    """Break exactly one rule of the valid ``messages``: the one ``kind`` names.

    Returns ``None`` when ``policy`` does not check ``kind`` or the conversation
    has no place where the mutation is safe (e.g. no tool calls to rename).
    ``site`` chooses among the places that work (modulo their number).
    ``messages`` must be valid under ``policy`` (with ``tools``); otherwise the
    result promises nothing.

    Raises:
        ValueError: ``kind`` is not one of `MUTABLE_KINDS`.

    >>> from tower_llm_fx import UserMessage, AssistantMessage, validate_conversation
    >>> ms = (UserMessage(content="hi"), AssistantMessage(content="hello"))
    >>> m = mutate(ms, "empty_assistant_message")
    >>> m.description
    'emptied the assistant message at 1'
    >>> validate_conversation(m.messages) == (m.violation,)
    True
    """
    mutator = _MUTATORS.get(kind)
    if mutator is None:
        raise ValueError(f"cannot mutate towards {kind!r}; mutable kinds are: {', '.join(MUTABLE_KINDS)}")
    if kind not in checked_kinds(policy) or not messages:
        return None
    if kind in ("unknown_tool", "tool_arguments_mismatch") and not tools:
        return None
    candidates = mutator(list(messages), policy, tools)
    if not candidates:
        return None
    return candidates[site % len(candidates)]
