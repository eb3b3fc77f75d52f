"""Conversation validation: would the model API accept this conversation?

Theory of operation:

* `validate_conversation` is a pure, total function from a sequence of
  messages (and a `ValidationPolicy`) to a tuple of `Violation` values, empty
  when the conversation is valid. It never raises and never allocates on the
  valid path of its fast scan. `validate_model_call` adds the request-level
  rules (tools, tool choice, parameter ranges) for a whole ``ModelCall``.
* Rule 1: the default policy accepts exactly what the OpenAI chat-completions
  API accepts, as far as that is decidable offline. Stricter or laxer
  policies are one `attrs.evolve` (or a preset) away.
* Rule 2: one defect, one violation. Rules are designed not to cascade: a tool
  message with an empty id still counts as *an* answer, a duplicated call id
  is expected once, a late tool result after an interruption is reported
  once per assistant turn. This is what makes the mutation property
  ``validate(mutate(valid)) == (that violation,)`` hold (see
  ``tower_llm_fx.strategies``).
* Rule 3: two implementations, one meaning. `_accepts` is a tight,
  policy-specialised single pass that only ever says "certainly valid";
  anything unusual (including every violation) falls through to `_report`,
  the readable reference implementation that explains what is wrong. Tests
  check that they agree.

Tool-call windows: an assistant message with tool calls opens a *window*
holding its call ids in declared order; the window closes at the next
assistant message or at the end of the conversation. Tool messages answer
calls of the open window. A system or user message after the assistant
*interrupts* the window: with ``enforce_contiguous_tool_responses`` (the
default, as in the OpenAI API) any tool message after an interruption is a
violation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias, final, get_args

import attrs
from attrs import validators as v

from ._effects import ModelCall
from ._messages import AssistantMessage, SystemMessage, ToolCallRequest, ToolMessage, UserMessage
from ._serde import register
from ._tools import ToolSpec

__all__ = [
    "VIOLATION_KINDS",
    "ValidationPolicy",
    "Violation",
    "ViolationKind",
    "validate_conversation",
    "validate_model_call",
]

ViolationKind: TypeAlias = Literal[
    # the conversation as a whole
    "empty_conversation",
    "unsupported_message",
    "system_not_first",
    "assistant_before_user",
    "repeated_role",
    "no_user_message",
    # one message's content and name
    "empty_assistant_message",
    "empty_content",
    "content_too_long",
    "invalid_name",
    # the tool calls of one assistant message
    "empty_tool_call_id",
    "tool_call_id_too_long",
    "duplicate_tool_call_id",
    "invalid_tool_name",
    "invalid_tool_arguments",
    "unknown_tool",
    "tool_arguments_mismatch",
    # tool messages
    "empty_tool_message_id",
    "orphan_tool_message",
    "unknown_tool_response",
    "duplicate_tool_response",
    "tool_responses_out_of_order",
    "tool_responses_not_contiguous",
    "missing_tool_response",
    # the request around the conversation (validate_model_call only)
    "too_many_tools",
    "duplicate_tool_name",
    "invalid_tool_choice",
    "invalid_parameter",
]
"""What rule a `Violation` breaks; see `ValidationPolicy` for which are configurable."""

VIOLATION_KINDS: tuple[ViolationKind, ...] = get_args(ViolationKind)
"""Every `ViolationKind`, in documentation order."""

_KINDS = frozenset(VIOLATION_KINDS)

#: What the OpenAI API accepts (``param`` errors it returns with a 400 otherwise).
OPENAI_MAX_CONTENT_LENGTH = 10_485_760
OPENAI_MAX_TOOL_CALL_ID_LENGTH = 40
OPENAI_MAX_TOOLS = 128
OPENAI_MAX_STOP_SEQUENCES = 4

# `messages[i].name` and `messages[i].tool_calls[j].function.name`, as the API checks them.
_MESSAGE_NAME = re.compile(r"[^\s<|\\/>]+")
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]+")


def _index(_inst: object, _attr: object, value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 0):
        raise ValueError(f"index must be a non-negative int or None, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class Violation:
    """One broken rule: what (``kind``), where (``index``) and why (``explanation``).

    ``index`` is the position of the offending message in the sequence that was
    validated (for a ``ModelCall``: in ``call.messages``, instructions included),
    or ``None`` when the rule is about the conversation or request as a whole.

    >>> v = Violation(kind="orphan_tool_message", index=0, explanation="no call to answer")
    >>> str(v)
    'messages[0]: no call to answer [orphan_tool_message]'
    """

    kind: ViolationKind = attrs.field(validator=v.in_(_KINDS))
    index: int | None = attrs.field(validator=_index)
    explanation: str = attrs.field(validator=v.instance_of(str))

    def __str__(self) -> str:
        where = "conversation" if self.index is None else f"messages[{self.index}]"
        return f"{where}: {self.explanation} [{self.kind}]"


_bool = v.instance_of(bool)


def _limit(_inst: object, attr: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 1):
        raise ValueError(f"{attr.name} must be a positive int or None (no limit), got {value!r}")


@final
@attrs.frozen(kw_only=True)
class ValidationPolicy:
    """Which rules `validate_conversation` enforces.

    The defaults accept exactly what the OpenAI chat-completions API accepts
    (as far as that can be decided offline); `strict` and `tower_llm` are
    presets. Rules that the API always enforces (an assistant message needs
    content or tool calls; tool call ids are non-empty and unique within one
    message; tool messages answer a call of the assistant message before them)
    are not configurable.

    Attributes:
        allow_system_anywhere: system messages may follow other messages
            (else ``system_not_first``).
        require_user_first: the first non-system message must not be an
            assistant message (``assistant_before_user``).
        allow_repeated_roles: two adjacent messages may have the same role
            (else ``repeated_role``). Adjacent tool messages are always fine.
        require_user_present: at least one user message (``no_user_message``).
        enforce_tool_response_order: tool messages answer calls in the order
            the calls were made (``tool_responses_out_of_order``).
        enforce_contiguous_tool_responses: no system or user message between an
            assistant's tool calls and their tool messages
            (``tool_responses_not_contiguous``).
        allow_unknown_tool_response: a tool message may name an id its
            assistant did not call (else ``unknown_tool_response``).
        allow_duplicate_tool_response: a call may be answered twice (else
            ``duplicate_tool_response``).
        allow_dangling_tool_calls: a call may go unanswered (else
            ``missing_tool_response``).
        allow_pending_tool_calls: the conversation may *end* with unanswered
            calls followed only by tool messages: a run between the model's
            reply and the tool results (`RunState` mid-step).
        allow_reused_tool_call_ids: a call id may repeat one used by an earlier
            assistant message (else ``duplicate_tool_call_id``).
        allow_empty_content: ``""`` content in system, user and tool messages
            and in assistant messages without tool calls (else ``empty_content``).
        check_names: message ``name`` fields and tool call names match the
            patterns the API enforces (``invalid_name``, ``invalid_tool_name``).
        check_tool_arguments: tool call arguments are a JSON object (blank text
            counts as ``{}``) (``invalid_tool_arguments``). The OpenAI API does
            not check this but vLLM, SGLang and llama.cpp servers do.
        check_tool_schemas: tool calls name an offered tool (``unknown_tool``)
            and their arguments validate against its JSON schema
            (``tool_arguments_mismatch``). Needs ``tools``.
        max_content_length: the longest content accepted (``content_too_long``);
            ``None`` for no limit.
        max_tool_call_id_length: the longest tool call id accepted
            (``tool_call_id_too_long``); ``None`` for no limit.

    >>> ValidationPolicy().enforce_contiguous_tool_responses
    True
    >>> ValidationPolicy.strict().require_user_first
    True
    """

    allow_system_anywhere: bool = attrs.field(default=True, validator=_bool)
    require_user_first: bool = attrs.field(default=False, validator=_bool)
    allow_repeated_roles: bool = attrs.field(default=True, validator=_bool)
    require_user_present: bool = attrs.field(default=False, validator=_bool)
    enforce_tool_response_order: bool = attrs.field(default=False, validator=_bool)
    enforce_contiguous_tool_responses: bool = attrs.field(default=True, validator=_bool)
    allow_unknown_tool_response: bool = attrs.field(default=False, validator=_bool)
    allow_duplicate_tool_response: bool = attrs.field(default=False, validator=_bool)
    allow_dangling_tool_calls: bool = attrs.field(default=False, validator=_bool)
    allow_pending_tool_calls: bool = attrs.field(default=False, validator=_bool)
    allow_reused_tool_call_ids: bool = attrs.field(default=True, validator=_bool)
    allow_empty_content: bool = attrs.field(default=True, validator=_bool)
    check_names: bool = attrs.field(default=True, validator=_bool)
    check_tool_arguments: bool = attrs.field(default=False, validator=_bool)
    check_tool_schemas: bool = attrs.field(default=False, validator=_bool)
    max_content_length: int | None = attrs.field(default=OPENAI_MAX_CONTENT_LENGTH, validator=_limit)
    max_tool_call_id_length: int | None = attrs.field(
        default=OPENAI_MAX_TOOL_CALL_ID_LENGTH, validator=_limit
    )

    @classmethod
    def openai(cls) -> ValidationPolicy:
        """What the OpenAI chat-completions API accepts (the default)."""
        return cls()

    @classmethod
    def strict(cls) -> ValidationPolicy:
        """Every optional rule on: the shape the library itself produces, and
        what the strictest OpenAI-compatible servers accept."""
        return cls(
            allow_system_anywhere=False,
            require_user_first=True,
            allow_repeated_roles=False,
            require_user_present=True,
            enforce_tool_response_order=True,
            allow_reused_tool_call_ids=False,
            allow_empty_content=False,
            check_tool_arguments=True,
            check_tool_schemas=True,
        )

    @classmethod
    def tower_llm(cls) -> ValidationPolicy:
        """tower-llm's default policy, minus its false positives (adjacent
        tool messages answering one assistant turn are fine)."""
        return cls(
            allow_system_anywhere=False,
            require_user_first=True,
            allow_repeated_roles=False,
            enforce_tool_response_order=True,
            enforce_contiguous_tool_responses=False,
            check_names=False,
            max_content_length=None,
            max_tool_call_id_length=None,
        )


register(Violation)
register(ValidationPolicy)

_DEFAULT = ValidationPolicy()

# --------------------------------------------------------------------------- violations
#
# One constructor per kind, shared with the mutators in `_mutations.py` so that
# a mutation can state the exact violation it introduces.

_new = object.__new__
_set = object.__setattr__


def _v(kind: ViolationKind, index: int | None, explanation: str) -> Violation:
    out = _new(Violation)
    _set(out, "kind", kind)
    _set(out, "index", index)
    _set(out, "explanation", explanation)
    return out


_ROLE_NAMES = {
    SystemMessage: "system",
    UserMessage: "user",
    AssistantMessage: "assistant",
    ToolMessage: "tool",
}


def _ids(values: Sequence[str]) -> str:
    return ", ".join(repr(x) for x in values)


def empty_conversation() -> Violation:
    return _v(
        "empty_conversation",
        None,
        "the conversation has no messages; the API needs at least one (start with a user message)",
    )


def unsupported_message(index: int, value: object) -> Violation:
    hint = (
        "; this looks like an OpenAI wire dict: convert it to a message first"
        if isinstance(value, Mapping)
        else ""
    )
    return _v(
        "unsupported_message",
        index,
        f"{type(value).__name__} is not a message; use SystemMessage, UserMessage, "
        f"AssistantMessage or ToolMessage{hint}",
    )


def system_not_first(index: int) -> Violation:
    return _v(
        "system_not_first",
        index,
        "system message after the start of the conversation; move it to the front or "
        "allow it with allow_system_anywhere=True",
    )


def assistant_before_user(index: int) -> Violation:
    return _v(
        "assistant_before_user",
        index,
        "the conversation starts with an assistant message; the first non-system message "
        "must be a user message (require_user_first)",
    )


def repeated_role(index: int, role: str) -> Violation:
    return _v(
        "repeated_role",
        index,
        f"two {role} messages in a row (at {index - 1} and {index}); merge them or allow it "
        "with allow_repeated_roles=True",
    )


def no_user_message() -> Violation:
    return _v(
        "no_user_message",
        None,
        "the conversation has no user message (require_user_present)",
    )


def empty_assistant_message(index: int, refusal: bool) -> Violation:
    if refusal:
        why = (
            "has a refusal but no content and no tool calls; the API requires content "
            "unless there are tool calls (put the refusal text in content)"
        )
    else:
        why = 'has neither content nor tool calls; give it content (even "") or tool calls'
    return _v("empty_assistant_message", index, f"assistant message {why}")


def empty_content(index: int, role: str) -> Violation:
    return _v(
        "empty_content",
        index,
        f'{role} message with empty content ""; fill it in or allow it with allow_empty_content=True',
    )


def content_too_long(index: int, role: str, length: int, limit: int) -> Violation:
    return _v(
        "content_too_long",
        index,
        f"{role} message content is {length:,} characters; at most {limit:,} are accepted",
    )


def invalid_name(index: int, role: str, name: str) -> Violation:
    return _v(
        "invalid_name",
        index,
        f"{role} message name {name!r} is not accepted: it must be non-empty, without "
        "whitespace or any of < | \\ / >",
    )


def empty_tool_call_id(index: int, positions: Sequence[int]) -> Violation:
    return _v(
        "empty_tool_call_id",
        index,
        f"assistant message has tool call(s) with an empty id at position(s) "
        f"{', '.join(map(str, positions))}; every tool call needs a unique, non-empty id",
    )


def tool_call_id_too_long(index: int, ids: Sequence[str], limit: int) -> Violation:
    return _v(
        "tool_call_id_too_long",
        index,
        f"tool call id(s) {_ids(ids)} longer than {limit} characters; shorten them "
        "(consistently in the tool messages too)",
    )


def duplicate_tool_call_id(index: int, within: Sequence[str], reused: Sequence[tuple[str, int]]) -> Violation:
    parts = []
    if within:
        parts.append(f"id(s) {_ids(within)} used by more than one of its tool calls")
    if reused:
        parts.append(
            "id(s) "
            + ", ".join(f"{i!r} (first used at {at})" for i, at in reused)
            + " already used by an earlier assistant message"
        )
    return _v(
        "duplicate_tool_call_id",
        index,
        "assistant message has " + " and ".join(parts) + "; tool call ids must be unique",
    )


def invalid_tool_name(index: int, names: Sequence[str]) -> Violation:
    return _v(
        "invalid_tool_name",
        index,
        f"tool call name(s) {_ids(names)} not accepted: names use only a-z, A-Z, 0-9, '_' and '-'",
    )


def invalid_tool_arguments(index: int, problems: Sequence[tuple[int, str]]) -> Violation:
    return _v(
        "invalid_tool_arguments",
        index,
        "tool call arguments are not a JSON object: " + "; ".join(f"call {p}: {why}" for p, why in problems),
    )


def unknown_tool(index: int, names: Sequence[str], offered: Sequence[str]) -> Violation:
    return _v(
        "unknown_tool",
        index,
        f"tool call(s) to {_ids(names)}: not among the tools offered ({_ids(offered) or 'none'})",
    )


def tool_arguments_mismatch(index: int, problems: Sequence[tuple[int, str, str]]) -> Violation:
    return _v(
        "tool_arguments_mismatch",
        index,
        "tool call arguments do not match the tool's schema: "
        + "; ".join(f"call {p} ({name}): {why}" for p, name, why in problems),
    )


def empty_tool_message_id(index: int) -> Violation:
    return _v(
        "empty_tool_message_id",
        index,
        "tool message with an empty tool_call_id; set it to the id of the call it answers",
    )


def orphan_tool_message(index: int, tool_call_id: str) -> Violation:
    return _v(
        "orphan_tool_message",
        index,
        f"tool message (tool_call_id {tool_call_id!r}) answers no tool call: the assistant "
        "message before it made none",
    )


def unknown_tool_response(index: int, tool_call_id: str, assistant_index: int) -> Violation:
    return _v(
        "unknown_tool_response",
        index,
        f"tool message answers id {tool_call_id!r}, which the assistant message at "
        f"{assistant_index} did not call",
    )


def duplicate_tool_response(index: int, tool_call_id: str, first: int) -> Violation:
    return _v(
        "duplicate_tool_response",
        index,
        f"second tool message for id {tool_call_id!r} (the first is at {first}); answer each "
        "call exactly once",
    )


def tool_responses_out_of_order(index: int, tool_call_id: str, assistant_index: int) -> Violation:
    return _v(
        "tool_responses_out_of_order",
        index,
        f"tool message for {tool_call_id!r} comes after the answer to a later call of the "
        f"assistant message at {assistant_index}; answer calls in the order they were made",
    )


def tool_responses_not_contiguous(index: int, role: str, assistant_index: int, tool_index: int) -> Violation:
    return _v(
        "tool_responses_not_contiguous",
        index,
        f"{role} message interrupts the tool messages of the assistant message at "
        f"{assistant_index} (the tool message at {tool_index} comes after it); put tool messages "
        "right after the assistant message that called them",
    )


def missing_tool_response(index: int, calls: Sequence[ToolCallRequest]) -> Violation:
    listed = ", ".join(f"{c.id!r} ({c.name})" for c in calls)
    return _v(
        "missing_tool_response",
        index,
        f"assistant message has tool call(s) that no tool message answers: {listed}; answer "
        "each call with a ToolMessage(tool_call_id=...) before the next turn",
    )


# --------------------------------------------------------------------------- helpers

_GOOD_TOOL_NAMES: set[str] = set()
_GOOD_NAMES: set[str] = set()
_MEMO_LIMIT = 4096


def _tool_name_ok(name: str) -> bool:
    # A memo of names already seen to be fine: names repeat a lot in long runs.
    if name in _GOOD_TOOL_NAMES:
        return True
    if _TOOL_NAME.fullmatch(name) is None:
        return False
    if len(_GOOD_TOOL_NAMES) >= _MEMO_LIMIT:
        _GOOD_TOOL_NAMES.clear()
    _GOOD_TOOL_NAMES.add(name)
    return True


def _name_ok(name: str) -> bool:
    if name in _GOOD_NAMES:
        return True
    if _MESSAGE_NAME.fullmatch(name) is None:
        return False
    if len(_GOOD_NAMES) >= _MEMO_LIMIT:
        _GOOD_NAMES.clear()
    _GOOD_NAMES.add(name)
    return True


def arguments_problem(arguments: str) -> str | None:
    """Why ``arguments`` is not a JSON object (blank text counts as ``{}``), or ``None``."""
    if arguments == "{}" or not arguments.strip():
        return None
    try:
        value = json.loads(arguments)
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


def _call_violations(
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
        out.append(empty_tool_call_id(i, empty))
    limit = policy.max_tool_call_id_length
    if limit is not None:
        long_ids = [c.id for c in calls if len(c.id) > limit]
        if long_ids:
            out.append(tool_call_id_too_long(i, long_ids, limit))
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
        bad_names = [c.name for c in calls if not _tool_name_ok(c.name)]
        if bad_names:
            out.append(invalid_tool_name(i, bad_names))
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
            out.append(unknown_tool(i, unknown, sorted(specs)))
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


def _spec_map(tools: Sequence[ToolSpec], policy: ValidationPolicy) -> dict[str, ToolSpec] | None:
    if not policy.check_tool_schemas:
        return None
    return {t.name: t for t in tools}


# --------------------------------------------------------------------------- the fast acceptor

_S = SystemMessage
_U = UserMessage
_A = AssistantMessage
_T = ToolMessage
_NO_LIMIT = 1 << 62


def _accepts(messages: Sequence[object], policy: ValidationPolicy, tools: Sequence[ToolSpec]) -> bool:
    """``True`` only if `_report` would find nothing; ``False`` means "look closer".

    The shape accepted is the one agents produce: every assistant's tool calls
    answered right after it, in call order, once each. One pass, no allocation
    per message on that path.
    """
    if not messages:
        return False
    S, U, A, T = _S, _U, _A, _T  # noqa: N806 - locals for speed
    max_len = policy.max_content_length or _NO_LIMIT
    max_id = policy.max_tool_call_id_length or _NO_LIMIT
    system_anywhere = policy.allow_system_anywhere
    user_first = policy.require_user_first
    repeats_ok = policy.allow_repeated_roles
    empty_ok = policy.allow_empty_content
    check_names = policy.check_names
    check_args = policy.check_tool_arguments
    reuse_ok = policy.allow_reused_tool_call_ids
    specs = _spec_map(tools, policy)
    good_tool_names = _GOOD_TOOL_NAMES
    good_names = _GOOD_NAMES
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
            if len(c) > max_len or (not c and not empty_ok):
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
                    if check_names and call.name not in good_tool_names and not _tool_name_ok(call.name):
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
                if c is not None and len(c) > max_len:
                    return False
            else:
                if c is None or len(c) > max_len or (not c and not empty_ok):
                    return False
                if answered:
                    calls = ()
                    answered = 0
            name = m.name  # type: ignore[attr-defined]
            if name is not None and check_names and name not in good_names and not _name_ok(name):
                return False
        elif t is U:
            started = True
            seen_user = True
            c = m.content  # type: ignore[attr-defined]
            if len(c) > max_len or (not c and not empty_ok):
                return False
            name = m.name  # type: ignore[attr-defined]
            if name is not None and check_names and name not in good_names and not _name_ok(name):
                return False
        elif t is S:
            if started and not system_anywhere:
                return False
            c = m.content  # type: ignore[attr-defined]
            if len(c) > max_len or (not c and not empty_ok):
                return False
        else:
            return False
    if answered != len(calls):
        return False
    return seen_user or not policy.require_user_present


# --------------------------------------------------------------------------- the reference reporter


class _Window:
    """The tool calls of one assistant message and the answers seen so far."""

    __slots__ = (
        "anonymous",
        "answered",
        "calls",
        "contiguity_reported",
        "highest",
        "index",
        "interrupted_at",
        "interrupter",
        "order_reported",
        "positions",
    )

    def __init__(self, index: int, calls: tuple[ToolCallRequest, ...]) -> None:
        self.index = index
        self.calls = calls
        self.positions: dict[str, int] = {}
        for c in calls:
            if c.id and c.id not in self.positions:
                self.positions[c.id] = len(self.positions)
        self.answered: dict[str, int] = {}
        self.anonymous = 0  # tool messages with an empty id: they answer *something*
        self.highest = -1
        self.interrupted_at: int | None = None
        self.interrupter = ""
        self.contiguity_reported = False
        self.order_reported = False

    def missing(self) -> list[ToolCallRequest]:
        out: list[ToolCallRequest] = []
        seen: set[str] = set()
        for c in self.calls:
            if c.id and c.id not in self.answered and c.id not in seen:
                seen.add(c.id)
                out.append(c)
        return out


def _report(
    messages: Sequence[object], policy: ValidationPolicy, tools: Sequence[ToolSpec]
) -> tuple[Violation, ...]:
    if not messages:
        return (empty_conversation(),)
    out: list[Violation] = []
    specs = _spec_map(tools, policy)
    first_use: dict[str, int] | None = None if policy.allow_reused_tool_call_ids else {}
    max_len = policy.max_content_length
    window: _Window | None = None
    prev_role: str | None = None
    started = False
    seen_user = False

    def close(w: _Window, at_end: bool) -> None:
        missing = w.missing()
        if len(missing) <= w.anonymous:
            return
        if policy.allow_dangling_tool_calls:
            return
        if at_end and policy.allow_pending_tool_calls and w.interrupted_at is None:
            return
        out.append(missing_tool_response(w.index, missing))

    for i, m in enumerate(messages):
        t = type(m)
        role = _ROLE_NAMES.get(t)
        if role is None:
            out.append(unsupported_message(i, m))
            continue
        if t is not _S and not started:
            started = True
            if t is _A and policy.require_user_first:
                out.append(assistant_before_user(i))
        if role == prev_role and t is not _T and not policy.allow_repeated_roles:
            out.append(repeated_role(i, role))
        prev_role = role
        content: str | None = m.content  # type: ignore[attr-defined]
        if max_len is not None and content is not None and len(content) > max_len:
            out.append(content_too_long(i, role, len(content), max_len))
        name = getattr(m, "name", None)
        if name is not None and policy.check_names and not _name_ok(name):
            out.append(invalid_name(i, role, name))

        if t is _T:
            assert isinstance(m, ToolMessage)
            if content == "" and not policy.allow_empty_content:
                out.append(empty_content(i, role))
            if window is None:
                out.append(orphan_tool_message(i, m.tool_call_id))
                if not m.tool_call_id:
                    out.append(empty_tool_message_id(i))
                continue
            w = window
            if (
                w.interrupted_at is not None
                and policy.enforce_contiguous_tool_responses
                and not w.contiguity_reported
            ):
                w.contiguity_reported = True
                out.append(tool_responses_not_contiguous(w.interrupted_at, w.interrupter, w.index, i))
            tid = m.tool_call_id
            if not tid:
                out.append(empty_tool_message_id(i))
                w.anonymous += 1
                continue
            pos = w.positions.get(tid)
            if pos is None:
                if not policy.allow_unknown_tool_response:
                    out.append(unknown_tool_response(i, tid, w.index))
                continue
            first = w.answered.get(tid)
            if first is not None:
                if not policy.allow_duplicate_tool_response:
                    out.append(duplicate_tool_response(i, tid, first))
                continue
            w.answered[tid] = i
            if pos < w.highest:
                if policy.enforce_tool_response_order and not w.order_reported:
                    w.order_reported = True
                    out.append(tool_responses_out_of_order(i, tid, w.index))
            else:
                w.highest = pos
            continue

        if t is _A:
            assert isinstance(m, AssistantMessage)
            if window is not None:
                close(window, at_end=False)
                window = None
            if m.tool_calls:
                out.extend(_call_violations(i, m.tool_calls, policy, first_use, specs))
                window = _Window(i, m.tool_calls)
            elif content is None:
                out.append(empty_assistant_message(i, m.refusal is not None))
            elif content == "" and not policy.allow_empty_content:
                out.append(empty_content(i, role))
            continue

        # system or user
        if t is _U:
            seen_user = True
        elif started and not policy.allow_system_anywhere:
            out.append(system_not_first(i))
        if content == "" and not policy.allow_empty_content:
            out.append(empty_content(i, role))
        if window is not None and window.interrupted_at is None:
            window.interrupted_at = i
            window.interrupter = role

    if window is not None:
        close(window, at_end=True)
    if policy.require_user_present and not seen_user:
        out.append(no_user_message())
    out.sort(key=_position)
    return tuple(out)


def _position(violation: Violation) -> int:
    return _NO_LIMIT if violation.index is None else violation.index


# --------------------------------------------------------------------------- public API


def validate_conversation(
    messages: Sequence[object],
    policy: ValidationPolicy = _DEFAULT,
    *,
    tools: Sequence[ToolSpec] = (),
) -> tuple[Violation, ...]:
    """Check ``messages`` against ``policy``; return the violations, ``()`` if valid.

    Pure and total: never raises, whatever ``messages`` holds (anything that is
    not a message is an ``unsupported_message`` violation). Cost is linear in
    the number of messages. ``tools`` is only used when
    ``policy.check_tool_schemas`` is on. Violations are ordered by message
    index; conversation-wide ones (``index=None``) come last.

    >>> from tower_llm_fx import AssistantMessage, ToolCallRequest, ToolMessage, UserMessage
    >>> call = ToolCallRequest(id="c1", name="add", arguments='{"a": 1}')
    >>> validate_conversation([UserMessage(content="hi"), AssistantMessage(tool_calls=(call,)),
    ...                        ToolMessage(tool_call_id="c1", content="2")])
    ()
    >>> [v.kind for v in validate_conversation([UserMessage(content="hi"),
    ...                                         AssistantMessage(tool_calls=(call,))])]
    ['missing_tool_response']
    """
    if _accepts(messages, policy, tools):
        return ()
    return _report(messages, policy, tools)


def _request_violations(call: ModelCall) -> list[Violation]:
    out: list[Violation] = []
    tools = call.tools
    if len(tools) > OPENAI_MAX_TOOLS:
        out.append(
            _v(
                "too_many_tools",
                None,
                f"the request offers {len(tools)} tools; at most {OPENAI_MAX_TOOLS} are accepted",
            )
        )
    names: set[str] = set()
    for t in tools:
        if t.name in names:
            out.append(
                _v(
                    "duplicate_tool_name",
                    None,
                    f"two tools are named {t.name!r}; tool names must be unique in a request",
                )
            )
        names.add(t.name)
    params = call.params
    choice = params.tool_choice
    if choice is not None and not tools:
        out.append(
            _v(
                "invalid_tool_choice",
                None,
                f"tool_choice is {choice!r} but the request offers no tools; drop tool_choice",
            )
        )
    elif choice is not None and choice.startswith("{"):
        chosen_obj = json.loads(choice)
        function = chosen_obj.get("function") if chosen_obj.get("type") == "function" else None
        chosen = function.get("name") if isinstance(function, dict) else None
        if function is not None and chosen not in names:
            out.append(
                _v(
                    "invalid_tool_choice",
                    None,
                    f"tool_choice names function {chosen!r}, which is not among the tools offered",
                )
            )
    if params.parallel_tool_calls is not None and not tools:
        out.append(
            _v(
                "invalid_parameter",
                None,
                "parallel_tool_calls is only accepted when the request offers tools; drop it",
            )
        )
    for field, low, high in (
        ("temperature", 0.0, 2.0),
        ("top_p", 0.0, 1.0),
        ("presence_penalty", -2.0, 2.0),
        ("frequency_penalty", -2.0, 2.0),
    ):
        value = getattr(params, field)
        if value is not None and not low <= value <= high:
            out.append(
                _v("invalid_parameter", None, f"{field} is {value}; it must be between {low} and {high}")
            )
    for field in ("max_tokens", "max_completion_tokens"):
        value = getattr(params, field)
        if value is not None and value < 1:
            out.append(_v("invalid_parameter", None, f"{field} is {value}; it must be at least 1"))
    if params.stop is not None and len(params.stop) > OPENAI_MAX_STOP_SEQUENCES:
        out.append(
            _v(
                "invalid_parameter",
                None,
                f"stop has {len(params.stop)} sequences; at most {OPENAI_MAX_STOP_SEQUENCES} are accepted",
            )
        )
    if not call.model:
        out.append(_v("invalid_parameter", None, "model is empty; name a model such as 'gpt-4o-mini'"))
    return out


def validate_model_call(call: ModelCall, policy: ValidationPolicy = _DEFAULT) -> tuple[Violation, ...]:
    """Check a whole ``ModelCall``: its conversation (with its tools) and the request around it.

    Request-level rules (index ``None``): at most 128 tools, unique tool names,
    ``tool_choice`` and ``parallel_tool_calls`` only with tools and naming an
    offered tool, parameters in the ranges the API accepts.

    >>> from tower_llm_fx import ModelCall, ModelParams, UserMessage
    >>> call = ModelCall(model="m", messages=(UserMessage(content="hi"),),
    ...                  params=ModelParams(temperature=3))
    >>> [str(v) for v in validate_model_call(call)]
    ['conversation: temperature is 3; it must be between 0.0 and 2.0 [invalid_parameter]']
    """
    conversation = validate_conversation(call.messages, policy, tools=call.tools)
    request = _request_violations(call)
    if not request:
        return conversation
    return (*conversation, *request)
