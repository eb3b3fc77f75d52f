"""Strategies for valid conversations (under a `ValidationPolicy`) and for mutations of them.

Part of `tower_llm_fx.strategies` (which imports hypothesis); import that, not this.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from tower_llm_fx._content import ContentPart
from tower_llm_fx._messages import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    Reasoning,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from tower_llm_fx._tools import ToolSpec
from tower_llm_fx.validation import ValidationPolicy, ViolationKind

from ._messages import (
    CALL_EXTRAS,
    MESSAGE_EXTRAS,
    NAMES,
    ROLE_PART_TYPES,
    SAFE_TEXT,
    content_parts,
    reasonings,
)
from ._mutations import MUTABLE_KINDS, Mutation, checked_kinds, mutate
from ._tools import DEFAULT_TOOLS, arguments_for

__all__ = ["DEFAULT_POLICY", "conversations", "mutations", "validation_policies"]


DEFAULT_POLICY = ValidationPolicy()

# Strategies are built once and reused: building (and validating) a strategy
# object costs more than drawing from it, and these are drawn from thousands of
# times per conversation.
# Hypothesis shrinks integers and floats towards 0, so the *unusual* outcome is
# the high one: a minimal failing example then has no extras it does not need.
_MAYBE = st.integers(0, 9)  # draw(_MAYBE) >= 9: rarely; >= 8: sometimes
_UNIT = st.floats(0, 1, exclude_max=True)
_BOOLS = st.booleans()
_ID_PREFIXES = st.sampled_from(["", "a", "xY", "Q"])  # letters only: no collisions with the number
_OPTIONAL_NAMES = st.none() | NAMES
_BROKEN_ARGUMENTS = st.sampled_from(['{"a": ', "{", "not json", '{"query": "x"'])
_INTS: dict[tuple[int, int], st.SearchStrategy[int]] = {}


def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    strategy = _INTS.get((low, high))
    if strategy is None:
        strategy = _INTS[(low, high)] = st.integers(low, high)
    return strategy


@functools.lru_cache(maxsize=64)
def _text(policy: ValidationPolicy) -> st.SearchStrategy[str]:
    """Content text valid under ``policy`` (empty only when it is allowed)."""
    text = SAFE_TEXT
    if policy.allow_empty_content:
        text = st.one_of(text, st.just(""))
    limit = policy.max_content_length
    if limit is not None and limit < 64:
        text = text.map(lambda s: s[:limit])
        if not policy.allow_empty_content:
            text = text.filter(bool)
    return text


def validation_policies() -> st.SearchStrategy[ValidationPolicy]:
    """Any `ValidationPolicy` (limits at their defaults or off)."""
    flags = {
        f: st.booleans()
        for f in (
            "allow_system_anywhere",
            "require_user_first",
            "allow_repeated_roles",
            "require_user_present",
            "enforce_tool_response_order",
            "enforce_contiguous_tool_responses",
            "allow_unknown_tool_response",
            "allow_duplicate_tool_response",
            "allow_dangling_tool_calls",
            "allow_pending_tool_calls",
            "allow_reused_tool_call_ids",
            "allow_empty_content",
            "check_content_parts",
            "check_names",
            "check_tool_arguments",
            "check_tool_schemas",
        )
    }
    return st.builds(
        ValidationPolicy,
        max_content_length=st.sampled_from([None, 10_485_760]),
        max_tool_call_id_length=st.sampled_from([None, 40]),
        **flags,
    )


class _Ids:
    """Tool call ids: unique in the conversation, or restarting each turn when reuse is allowed."""

    def __init__(self, draw: st.DrawFn, reuse: bool) -> None:
        self.draw = draw
        self.reuse = reuse
        self.n = 0

    def new_turn(self) -> None:
        if self.reuse:
            self.n = 0

    def next(self) -> str:
        prefix = self.draw(_ID_PREFIXES)
        self.n += 1
        return f"call_{prefix}{self.n}"


def conversations(
    *,
    policy: ValidationPolicy = DEFAULT_POLICY,
    tools: Sequence[ToolSpec] | None = None,
    min_turns: int = 1,
    max_turns: int = 4,
    system: bool | None = None,
    tool_call_density: float = 0.5,
    max_parallel_calls: int = 3,
    max_tool_rounds: int = 3,
    parts: bool = True,
    extras: bool = True,
) -> st.SearchStrategy[tuple[Message, ...]]:
    """A conversation valid under ``policy`` (with ``tools``), using what it permits.

    A conversation is an optional system prompt, then ``min_turns`` to
    ``max_turns`` turns: a user message, up to ``max_tool_rounds`` rounds of an
    assistant message calling 1 to ``max_parallel_calls`` tools (each round
    happens with probability ``tool_call_density``) answered by tool messages,
    then an assistant reply. Where the policy allows it, turns also get
    repeated messages, mid-conversation system messages, an assistant
    greeting first, shuffled, duplicated, unknown or missing tool results,
    user messages among tool results, empty content, malformed arguments,
    reused ids, and unanswered calls at the end.

    The widened message model comes up too, in a minority of messages so that
    plain text stays the common case: the instructions are sometimes a
    developer message instead of a system one; content is sometimes a tuple of
    the parts its role accepts (users: text, images, audio, files; everyone
    else: text and provider parts); assistant messages sometimes carry
    reasoning; messages and tool calls sometimes carry ``extra`` wire keys.

    Arguments: ``system`` forces the instructions (a system or developer
    message) on or off (``None``: either). ``tools`` (default: ``add``,
    ``search``, ``get_time``) are the tools the calls use; their arguments come
    from `arguments_for`. ``parts=False`` keeps every content a string;
    ``extras=False`` draws no ``extra`` and no reasoning.
    """
    if not 0 <= min_turns <= max_turns:
        raise ValueError(f"need 0 <= min_turns <= max_turns, got {min_turns} and {max_turns}")
    if not 0.0 <= tool_call_density <= 1.0:
        raise ValueError(f"tool_call_density is a probability, got {tool_call_density}")
    if max_parallel_calls < 1 or max_tool_rounds < 0:
        raise ValueError("max_parallel_calls must be at least 1 and max_tool_rounds at least 0")
    if not isinstance(policy, ValidationPolicy):
        raise TypeError(f"policy must be a ValidationPolicy, got {policy!r}")
    specs = tuple(tools) if tools else DEFAULT_TOOLS
    return _conversations(
        policy,
        specs,
        min_turns,
        max_turns,
        system,
        tool_call_density,
        max_parallel_calls,
        max_tool_rounds,
        _Rich(policy, parts, extras),
    )


@st.composite
def _conversations(
    draw: st.DrawFn,
    p: ValidationPolicy,
    specs: tuple[ToolSpec, ...],
    min_turns: int,
    max_turns: int,
    system: bool | None,
    tool_call_density: float,
    max_parallel_calls: int,
    max_tool_rounds: int,
    rich: _Rich,
) -> tuple[Message, ...]:
    text = _text(p)
    maybe = _MAYBE

    out: list[Message] = []

    def add(m: Message) -> bool:
        if not p.allow_repeated_roles and out and out[-1].role == m.role and m.role != "tool":
            return False
        out.append(m)
        return True

    ids = _Ids(draw, reuse=p.allow_reused_tool_call_ids and draw(_BOOLS))
    if system if system is not None else draw(_BOOLS):
        add(rich.instructions(draw))
    if not p.require_user_first and draw(maybe) >= 9:
        add(AssistantMessage(content=draw(SAFE_TEXT)))
    turns = draw(_ints(min_turns, max_turns))
    for turn in range(turns):
        last_turn = turn == turns - 1
        ids.new_turn()
        if turn and p.allow_system_anywhere and draw(maybe) >= 9:
            add(rich.instructions(draw))
        add(
            UserMessage(
                content=rich.content(draw, "user"),
                name=draw(_OPTIONAL_NAMES) if draw(maybe) >= 9 else None,
                extra=rich.extra(draw),
            )
        )
        if p.allow_repeated_roles and draw(maybe) >= 9:
            add(UserMessage(content=draw(text)))
        rounds = 0
        while rounds < max_tool_rounds and 1.0 - draw(_UNIT) <= tool_call_density:
            rounds += 1
            pending_end = (
                last_turn and (p.allow_pending_tool_calls or p.allow_dangling_tool_calls) and draw(maybe) >= 8
            )
            _tool_round(draw, out, add, p, specs, ids, max_parallel_calls, pending_end, rich)
            if pending_end:
                return tuple(out)
        if not add(
            AssistantMessage(
                content=rich.content(draw, "assistant"),
                reasoning=rich.reasoning(draw),
                extra=rich.extra(draw),
            )
        ):
            continue
        if p.allow_repeated_roles and draw(maybe) >= 9:
            add(AssistantMessage(content=draw(SAFE_TEXT)))
    if not out or (p.require_user_present and not any(type(m) is UserMessage for m in out)):
        add(UserMessage(content=draw(SAFE_TEXT)))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _optional_text(policy: ValidationPolicy) -> st.SearchStrategy[str | None]:
    return st.none() | _text(policy)


@functools.lru_cache(maxsize=64)
def _sampled(specs: tuple[ToolSpec, ...]) -> st.SearchStrategy[ToolSpec]:
    return st.sampled_from(specs)


def _arguments(draw: st.DrawFn, spec: ToolSpec, p: ValidationPolicy) -> str:
    if not p.check_tool_arguments and not p.check_tool_schemas and draw(_MAYBE) >= 9:
        return draw(_BROKEN_ARGUMENTS)
    return draw(arguments_for(spec))


def _tool_round(
    draw: st.DrawFn,
    out: list[Message],
    add: Any,
    p: ValidationPolicy,
    specs: Sequence[ToolSpec],
    ids: _Ids,
    max_parallel_calls: int,
    pending_end: bool,
    rich: _Rich,
) -> None:
    maybe = _MAYBE
    k = draw(_ints(1, max(1, max_parallel_calls)))
    calls = []
    for _ in range(k):
        spec = draw(_sampled(specs))
        calls.append(
            ToolCallRequest(
                id=ids.next(),
                name=spec.name,
                arguments=_arguments(draw, spec, p),
                extra=rich.call_extra(draw),
            )
        )
    content: str | tuple[ContentPart, ...] | None = None
    if draw(maybe) >= 7:
        content = draw(_optional_text(p)) if draw(maybe) < 9 else rich.content(draw, "assistant")
    calling = AssistantMessage(
        content=content, tool_calls=tuple(calls), reasoning=rich.reasoning(draw), extra=rich.extra(draw)
    )
    if not add(calling):
        # Two assistant messages in a row are not allowed: answer the user first.
        add(UserMessage(content=draw(SAFE_TEXT)))
        add(calling)
    answers = [
        ToolMessage(tool_call_id=c.id, content=rich.content(draw, "tool"), extra=rich.extra(draw))
        for c in calls
    ]
    if not p.enforce_tool_response_order:
        answers = draw(st.permutations(answers))
    if pending_end:
        keep = draw(_ints(0, len(answers) - 1))
        answers = answers[:keep]
    elif p.allow_dangling_tool_calls and draw(maybe) >= 9:
        # Keep at least one answer when a bare assistant-assistant pair is not allowed.
        keep = draw(_ints(0 if p.allow_repeated_roles else 1, len(answers)))
        answers = answers[:keep]
    if p.allow_duplicate_tool_response and answers and draw(maybe) >= 9:
        i = draw(_ints(0, len(answers) - 1))
        answers.insert(i + 1, answers[i])
    if p.allow_unknown_tool_response and draw(maybe) >= 9:
        answers.insert(draw(_ints(0, len(answers))), ToolMessage(tool_call_id="call_elsewhere", content="?"))
    interrupt: int | None = None
    if not pending_end and not p.enforce_contiguous_tool_responses and answers and draw(maybe) >= 8:
        interrupt = draw(_ints(0, len(answers) - 1))
    for i, answer in enumerate(answers):
        if i == interrupt:
            out.append(UserMessage(content=draw(SAFE_TEXT)))
        out.append(answer)


def mutations(
    conversations: st.SearchStrategy[Sequence[Message]] | None = None,
    *,
    policy: ValidationPolicy = DEFAULT_POLICY,
    tools: Sequence[ToolSpec] = (),
    kinds: Sequence[ViolationKind] | None = None,
) -> st.SearchStrategy[Mutation]:
    """A `Mutation` of a conversation valid under ``policy``: exactly one rule broken.

    ``conversations`` (default: `conversations` with ``policy`` and ``tools``)
    must draw conversations valid under ``policy``. ``kinds`` restricts the
    rules broken (default: every kind ``policy`` checks). So
    ``validate_conversation(m.messages, policy, tools=tools) == (m.violation,)``.
    """
    source = conversations if conversations is not None else _conversations_for(policy, tools)
    checked = checked_kinds(policy)
    unknown = [k for k in kinds or () if k not in MUTABLE_KINDS]
    if unknown:
        raise ValueError(f"cannot mutate towards {unknown}; mutable kinds are: {', '.join(MUTABLE_KINDS)}")
    wanted = [k for k in (kinds if kinds is not None else MUTABLE_KINDS) if k in checked]
    wanted.sort(key=lambda k: k == "empty_conversation")  # the least interesting one last
    if not wanted:
        raise ValueError(f"policy {policy!r} checks none of the kinds {kinds!r}")
    return _mutations(source, policy, tuple(tools), tuple(wanted))


@st.composite
def _mutations(
    draw: st.DrawFn,
    source: st.SearchStrategy[Sequence[Message]],
    policy: ValidationPolicy,
    tools: tuple[ToolSpec, ...],
    wanted: tuple[ViolationKind, ...],
) -> Mutation:
    base = draw(source)
    site = draw(st.integers(0, 255))
    # The drawn kind, or the next one (cyclically) that applies here: some need
    # tool calls, a text-only assistant message, ... that a conversation may lack.
    start = draw(st.integers(0, len(wanted) - 1))
    for kind in (*wanted[start:], *wanted[:start]):
        mutation = mutate(base, kind, policy=policy, tools=tools, site=site)
        if mutation is not None:
            return mutation
    assume(False)  # only with a narrow ``kinds`` that fits no drawn conversation
    raise AssertionError("unreachable")


class _Rich:
    """Draws the widened model's shapes into a conversation, each in a minority of
    messages: developer instructions, content parts its role accepts, reasoning, extras."""

    def __init__(self, policy: ValidationPolicy, parts: bool, extras: bool) -> None:
        self.policy = policy
        self.parts = parts
        self.extras = extras

    def content(self, draw: st.DrawFn, role: str) -> str | tuple[ContentPart, ...]:
        if not self.parts or draw(_MAYBE) < 9:
            return draw(_text(self.policy))
        return draw(_parts(self.policy, role))

    def instructions(self, draw: st.DrawFn) -> SystemMessage | DeveloperMessage:
        content = self.content(draw, "system")
        if self.parts and draw(_MAYBE) >= 7:
            return DeveloperMessage(content=content, extra=self.extra(draw))
        return SystemMessage(content=content, extra=self.extra(draw))

    def reasoning(self, draw: st.DrawFn) -> Reasoning | None:
        return draw(_REASONINGS) if self.extras and draw(_MAYBE) >= 8 else None

    def extra(self, draw: st.DrawFn) -> Any:
        return draw(MESSAGE_EXTRAS) if self.extras and draw(_MAYBE) >= 7 else None

    def call_extra(self, draw: st.DrawFn) -> Any:
        return draw(CALL_EXTRAS) if self.extras and draw(_MAYBE) >= 7 else None


_REASONINGS = reasonings()


@functools.lru_cache(maxsize=256)
def _parts(policy: ValidationPolicy, role: str) -> st.SearchStrategy[tuple[ContentPart, ...]]:
    """1 to 3 parts ``role`` accepts, text valid under ``policy``."""
    types = ROLE_PART_TYPES[role] if policy.check_content_parts else ROLE_PART_TYPES["user"]
    return st.lists(content_parts(types=types, text=_text(policy)), min_size=1, max_size=3).map(tuple)


def _conversations_for(
    policy: ValidationPolicy, tools: Sequence[ToolSpec]
) -> st.SearchStrategy[tuple[Message, ...]]:
    return conversations(policy=policy, tools=tools or None, tool_call_density=0.7)
