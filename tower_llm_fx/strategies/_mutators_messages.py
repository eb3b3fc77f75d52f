"""Mutators that break a rule about the conversation's shape or one message's content.

Each takes a valid conversation and returns every `Candidate` (site) where
its change introduces exactly its violation; see ``_mutations.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from tower_llm_fx._content import AudioPart, ContentPart, ImagePart, TextPart
from tower_llm_fx._messages import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolMessage,
    UserMessage,
)
from tower_llm_fx._tools import ToolSpec
from tower_llm_fx.validation import (
    ValidationPolicy,
    ViolationKind,
    empty_assistant_message,
    invalid_content_part,
    part_problem,
    unsupported_content_part,
    violation,
)

from ._mutation_sites import (
    Candidate,
    Mutator,
    first_non_system_is_assistant,
    leading_systems,
    quiet,
    repeats_ok,
    windows,
)

__all__ = ["MESSAGE_MUTATORS"]


def _empty_conversation(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    return [Candidate((), violation("empty_conversation", None), "removed every message")]


def _system_not_first(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    ws = windows(ms)
    first = leading_systems(ms)
    out = []
    for pos in range(first + 1, len(ms) + 1):
        if not quiet(ms, ws, pos, p):
            continue
        new = [*ms[:pos], SystemMessage(content="Mind the house rules."), *ms[pos:]]
        if repeats_ok(new, p):
            out.append(
                Candidate(
                    new,
                    violation("system_not_first", pos, role="system"),
                    f"inserted a system message at {pos}",
                )
            )
    return out


def _assistant_before_user(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    pos = leading_systems(ms)
    new = [*ms[:pos], AssistantMessage(content="Hello! How can I help?"), *ms[pos:]]
    if not repeats_ok(new, p):
        return []
    return [
        Candidate(new, violation("assistant_before_user", pos), f"inserted an assistant greeting at {pos}")
    ]


def _repeated_role(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    for i, m in enumerate(ms):
        if type(m) is AssistantMessage:
            assert isinstance(m, AssistantMessage)
            if m.tool_calls or m.content is None:
                continue
        elif type(m) is ToolMessage:
            continue
        new = [*ms[: i + 1], m, *ms[i + 1 :]]
        broken = violation("repeated_role", i + 1, role=m.role, previous=i)
        out.append(Candidate(new, broken, f"repeated the {m.role} message at {i}"))
    return out


def _no_user_message(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    new = [m for m in ms if type(m) is not UserMessage]
    if new and repeats_ok(new, p) and not (p.require_user_first and first_non_system_is_assistant(new)):
        out.append(Candidate(new, violation("no_user_message", None), "removed every user message"))
    leading = leading_systems(ms)
    if leading:
        out.append(
            Candidate(
                ms[:leading], violation("no_user_message", None), "kept only the leading system messages"
            )
        )
    return out


def _empty_assistant_message(
    ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]
) -> list[Candidate]:
    out = []
    for i, m in enumerate(ms):
        if type(m) is AssistantMessage and not m.tool_calls:
            assert isinstance(m, AssistantMessage)
            new = list(ms)
            new[i] = attrs.evolve(m, content=None, refusal=None)
            out.append(
                Candidate(new, empty_assistant_message(i, False), f"emptied the assistant message at {i}")
            )
            new = list(ms)
            new[i] = attrs.evolve(m, content=None, refusal="I can't help with that.")
            out.append(
                Candidate(
                    new, empty_assistant_message(i, True), f"made the assistant message at {i} a bare refusal"
                )
            )
    return out


def _with_message(ms: list[Message], i: int, **changes: Any) -> list[Message]:
    new = list(ms)
    new[i] = attrs.evolve(ms[i], **changes)
    return new


def _empty_content(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    return [
        Candidate(
            _with_message(ms, i, content=""),
            violation("empty_content", i, role=m.role),
            f"emptied the content of message {i}",
        )
        for i, m in enumerate(ms)
        if not (type(m) is AssistantMessage and m.tool_calls)
    ]


def _content_too_long(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    limit = p.max_content_length
    assert limit is not None
    long_text = "x" * (limit + 1)  # one string shared by every candidate
    return [
        Candidate(
            _with_message(ms, i, content=long_text),
            violation("content_too_long", i, role=m.role, length=limit + 1, limit=limit),
            f"overfilled the content of message {i}",
        )
        for i, m in enumerate(ms)
    ]


def _invalid_name(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    return [
        Candidate(
            _with_message(ms, i, name="Ada Lovelace"),
            violation("invalid_name", i, role=m.role, name="Ada Lovelace"),
            f"gave message {i} a name with a space",
        )
        for i, m in enumerate(ms)
        if isinstance(m, (UserMessage, AssistantMessage, SystemMessage, DeveloperMessage))
    ]


def _as_parts(content: str | tuple[ContentPart, ...] | None) -> tuple[ContentPart, ...]:
    if content is None:
        return ()
    if type(content) is str:
        return (TextPart(text=content),)
    assert isinstance(content, tuple)
    return content


def _empty_content_parts(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    return [
        Candidate(
            _with_message(ms, i, content=()),
            violation("empty_content_parts", i, role=m.role),
            f"gave message {i} an empty tuple of content parts",
        )
        for i, m in enumerate(ms)
    ]


_IMAGE = ImagePart(url="https://example.com/cat.png")


def _unsupported_content_part(
    ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]
) -> list[Candidate]:
    out = []
    for i, m in enumerate(ms):
        if type(m) is UserMessage:
            continue
        parts = (*_as_parts(m.content), _IMAGE)
        out.append(
            Candidate(
                _with_message(ms, i, content=parts),
                unsupported_content_part(i, m.role, [(len(parts) - 1, "ImagePart")]),
                f"added an image to the {m.role} message at {i}",
            )
        )
    return out


_BAD_PARTS: tuple[ContentPart, ...] = (
    ImagePart(url="https://example.com/cat.png", detail="medium"),
    ImagePart(url="ftp://example.com/cat.png"),
    AudioPart(data="UklGRg==", format="flac"),
)


def _invalid_content_part(ms: list[Message], p: ValidationPolicy, t: Sequence[ToolSpec]) -> list[Candidate]:
    out = []
    for i, m in enumerate(ms):
        if type(m) is not UserMessage:
            continue
        for bad in _BAD_PARTS:
            why = part_problem(bad)
            assert why is not None
            parts = (*_as_parts(m.content), bad)
            out.append(
                Candidate(
                    _with_message(ms, i, content=parts),
                    invalid_content_part(i, "user", [(len(parts) - 1, why)]),
                    f"added a part the API rejects to the user message at {i}",
                )
            )
    return out


MESSAGE_MUTATORS: dict[ViolationKind, Mutator] = {
    "empty_conversation": _empty_conversation,
    "system_not_first": _system_not_first,
    "assistant_before_user": _assistant_before_user,
    "repeated_role": _repeated_role,
    "no_user_message": _no_user_message,
    "empty_assistant_message": _empty_assistant_message,
    "empty_content": _empty_content,
    "content_too_long": _content_too_long,
    "invalid_name": _invalid_name,
    "empty_content_parts": _empty_content_parts,
    "unsupported_content_part": _unsupported_content_part,
    "invalid_content_part": _invalid_content_part,
}
