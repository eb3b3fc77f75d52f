"""Strategies for messages, content parts and reasoning, and the atoms other
strategies build on (texts, names, ids, extras).

Part of `tower_llm_fx.strategies` (which imports hypothesis); import that, not this.

Frequencies: plain text stays the common case (about four messages in five);
content parts, a ``name``, reasoning and ``extra`` wire keys each come up in a
minority of draws, so every property over messages sees them without most
examples paying for them. Every part drawn is one the API accepts, and each
role's default content holds only the parts that role accepts (see
`tower_llm_fx.validation`); every message drawn survives `fx.to_json` and the
OpenAI codec exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from tower_llm_fx._content import AudioPart, ContentPart, FilePart, ImagePart, OtherPart, TextPart
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

__all__ = [
    "ANY_TEXT",
    "CALL_EXTRAS",
    "CALL_IDS",
    "MESSAGE_EXTRAS",
    "NAMES",
    "PART_TYPES",
    "ROLE_PART_TYPES",
    "SAFE_TEXT",
    "TEXT_PART_TYPES",
    "TOOL_NAMES",
    "assistant_messages",
    "content_parts",
    "contents",
    "developer_messages",
    "json_objects",
    "messages",
    "reasonings",
    "system_messages",
    "tool_call_requests",
    "tool_messages",
    "user_messages",
]


# Content rarely matters to the rules; one draw per text keeps generation fast.
SAFE_TEXT = st.sampled_from(
    [
        "hi",
        "What is 2 + 3?",
        "Let me check.",
        "The answer is 5.",
        "Search the web for Paris weather",
        "ok",
        "Zoë's café: 12 °C ☀",
        "line one\nline two",
        '{"looks": "like json"}',
        "   padded   ",
        "Thanks!",
        "请用中文回答",
    ]
)
ANY_TEXT = st.text(max_size=24)
NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True)
TOOL_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
CALL_IDS = st.from_regex(r"call_[A-Za-z0-9]{1,12}", fullmatch=True)


def _json_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6), SAFE_TEXT)


def json_objects() -> st.SearchStrategy[str]:
    return st.dictionaries(TOOL_NAMES, _json_scalars(), max_size=3).map(json.dumps)


# ---------------------------------------------------------------------------- extras
# Wire keys the library does not name, as a provider or a user sends them: mostly none.
# Keys never collide with one the codec writes, and no top-level value is null (null
# means "absent" on the wire), so every message round-trips exactly.
_NONE7: list[Any] = [None] * 7
MESSAGE_EXTRAS: st.SearchStrategy[Any] = st.sampled_from(
    [*_NONE7, {"x_trace_id": "t-1"}, {"x_meta": {"tags": ["a", "b"], "n": 2}}, {"x_flag": False}]
)
CALL_EXTRAS: st.SearchStrategy[Any] = st.sampled_from(
    [*_NONE7, {"extra_content": {"google": {"thought_signature": "c2ln"}}}, {"x_index": 0}]
)
_TEXT_PART_EXTRAS: st.SearchStrategy[Any] = st.sampled_from(
    [None, None, None, {"cache_control": {"type": "ephemeral"}}]
)
_PART_EXTRAS: st.SearchStrategy[Any] = st.sampled_from([None, None, None, {"x_note": "n"}])

# ---------------------------------------------------------------------------- parts

PART_TYPES: tuple[type[Any], ...] = (TextPart, ImagePart, AudioPart, FilePart, OtherPart)
"""Every content part type, in the order `content_parts` shrinks towards (text first)."""
TEXT_PART_TYPES: tuple[type[Any], ...] = (TextPart, OtherPart)
"""What system, developer, assistant and tool messages accept (an `OtherPart` is a provider's own)."""
ROLE_PART_TYPES: dict[str, tuple[type[Any], ...]] = {
    "system": TEXT_PART_TYPES,
    "developer": TEXT_PART_TYPES,
    "user": PART_TYPES,
    "assistant": TEXT_PART_TYPES,
    "tool": TEXT_PART_TYPES,
}
"""The part types each role accepts (the OpenAI chat-completions API's rules)."""

_IMAGE_URLS = st.sampled_from(
    ["https://example.com/cat.png", "http://img.example/a.jpg", "data:image/png;base64,iVBORw0KGgo="]
)
_DETAILS = st.sampled_from([None, "auto", "low", "high"])
_AUDIO = st.sampled_from(["UklGRg==", "SUQzBA=="])
_OTHER = st.sampled_from(
    [
        ("video_url", {"video_url": {"url": "https://example.com/v.mp4"}}),
        ("document_url", {"document_url": "https://example.com/d.pdf"}),
        ("refusal", {"refusal": "I can't help with that."}),
        ("x_custom", None),
    ]
)


def _part_strategy(kind: type[Any], text: st.SearchStrategy[str]) -> st.SearchStrategy[ContentPart]:
    if kind is TextPart:
        return st.builds(TextPart, text=text, extra=_TEXT_PART_EXTRAS)
    if kind is ImagePart:
        return st.builds(ImagePart, url=_IMAGE_URLS, detail=_DETAILS, extra=_PART_EXTRAS)
    if kind is AudioPart:
        return st.builds(AudioPart, data=_AUDIO, format=st.sampled_from(["wav", "mp3"]), extra=_PART_EXTRAS)
    if kind is FilePart:
        return st.one_of(
            st.builds(FilePart, file_id=st.just("file-abc123"), filename=st.none() | st.just("report.pdf")),
            st.builds(
                FilePart, data=st.just("data:application/pdf;base64,JVBERi0="), filename=st.just("a.pdf")
            ),
        )
    if kind is OtherPart:
        return _OTHER.map(lambda ke: OtherPart(kind=ke[0], extra=ke[1]))
    raise ValueError(f"{kind!r} is not a content part type; use some of {[t.__name__ for t in PART_TYPES]}")


def content_parts(
    *, types: Sequence[type[Any]] = PART_TYPES, text: st.SearchStrategy[str] = ANY_TEXT
) -> st.SearchStrategy[ContentPart]:
    """Any content part of one of ``types`` (default: all five), each one the API accepts.

    Text parts take their text from ``text`` and sometimes carry a
    ``cache_control`` extra; images are http(s) or ``data:`` URLs with a valid
    ``detail``; audio is wav or mp3; files have an id or inline data; other
    parts are a video, a document, a refusal or a provider's own kind.
    Examples shrink towards a text part.

    >>> from hypothesis import given, settings
    >>> from tower_llm_fx import ImagePart, TextPart, strategies as fxst
    >>> @settings(max_examples=20)
    ... @given(fxst.content_parts(types=(TextPart, ImagePart)))
    ... def text_or_image(part):
    ...     assert type(part) in (TextPart, ImagePart)
    ...     assert type(part) is TextPart or part.detail in (None, "auto", "low", "high")
    >>> text_or_image()
    """
    kinds = tuple(dict.fromkeys(types))
    if not kinds:
        raise ValueError("content_parts() needs at least one part type")
    return st.one_of(*(_part_strategy(k, text) for k in kinds))


def contents(
    *,
    text: st.SearchStrategy[str] = ANY_TEXT,
    parts: st.SearchStrategy[ContentPart] | None = None,
    max_parts: int = 3,
) -> st.SearchStrategy[str | tuple[ContentPart, ...]]:
    """A message's content: a string from ``text`` about four times in five, else a
    tuple of 1 to ``max_parts`` parts from ``parts`` (default: `content_parts`, any
    kind, with ``text``). Pass ``max_parts=0`` for strings only.

    Never the empty tuple (the API rejects it: ``empty_content_parts``).
    Examples shrink towards a string.

    >>> from hypothesis import given, settings
    >>> from tower_llm_fx import TextPart, strategies as fxst
    >>> @settings(max_examples=20)
    ... @given(fxst.contents(parts=fxst.content_parts(types=(TextPart,)), max_parts=2))
    ... def text_or_text_parts(content):
    ...     assert type(content) is str or 1 <= len(content) <= 2
    >>> text_or_text_parts()
    """
    if max_parts < 0:
        raise ValueError(f"max_parts must be at least 0, got {max_parts}")
    if max_parts == 0:
        return text
    drawn_parts = parts if parts is not None else content_parts(text=text)
    return _contents(text, st.lists(drawn_parts, min_size=1, max_size=max_parts).map(tuple))


# Hypothesis shrinks integers towards 0, so the unusual outcome (parts) is the high one.
_ONE_IN_FIVE = st.integers(0, 9)


@st.composite
def _contents(
    draw: st.DrawFn, text: st.SearchStrategy[str], parts: st.SearchStrategy[tuple[ContentPart, ...]]
) -> str | tuple[ContentPart, ...]:
    return draw(parts) if draw(_ONE_IN_FIVE) >= 8 else draw(text)


def _role_contents(role: str, content: st.SearchStrategy[Any] | None, parts: bool) -> st.SearchStrategy[Any]:
    if content is not None:
        return content
    if not parts:
        return ANY_TEXT
    return contents(parts=content_parts(types=ROLE_PART_TYPES[role]))


def reasonings(*, text: st.SearchStrategy[str] = SAFE_TEXT) -> st.SearchStrategy[Reasoning]:
    """A reasoning model's `Reasoning`, in the shapes providers send: ``reasoning_content``
    (DeepSeek, vLLM), ``reasoning`` (OpenRouter, Groq), ``reasoning`` with
    ``reasoning_details``, or encrypted details with no readable text. ``text`` is
    what each shape reads as (so the OpenAI codec decodes ``raw`` to the same value).

    >>> from hypothesis import given, settings
    >>> from tower_llm_fx import strategies as fxst
    >>> @settings(max_examples=20)
    ... @given(fxst.reasonings())
    ... def raw_is_kept(reasoning):
    ...     assert reasoning.raw is not None
    >>> raw_is_kept()
    """
    return st.one_of(
        text.map(lambda t: Reasoning(text=t, raw={"reasoning_content": t})),
        text.map(lambda t: Reasoning(text=t, raw={"reasoning": t})),
        text.map(
            lambda t: Reasoning(
                text=t, raw={"reasoning": t, "reasoning_details": [{"type": "reasoning.text", "text": t}]}
            )
        ),
        st.just(Reasoning(raw={"reasoning_details": [{"type": "reasoning.encrypted", "data": "ZW5j"}]})),
    )


_MAYBE_REASONING: st.SearchStrategy[Reasoning | None] = st.one_of(
    st.none(), st.none(), st.none(), st.none(), reasonings()
)


def system_messages(
    content: st.SearchStrategy[Any] | None = None, *, parts: bool = True, extras: bool = True
) -> st.SearchStrategy[SystemMessage]:
    """Any `SystemMessage`: content from ``content`` (default: text, or text parts
    unless ``parts=False``), sometimes with a ``name`` and (unless ``extras=False``)
    wire keys in ``extra``."""
    return st.builds(
        SystemMessage,
        content=_role_contents("system", content, parts),
        name=st.none() | NAMES,
        extra=MESSAGE_EXTRAS if extras else st.none(),
    )


def developer_messages(
    content: st.SearchStrategy[Any] | None = None, *, parts: bool = True, extras: bool = True
) -> st.SearchStrategy[DeveloperMessage]:
    """Any `DeveloperMessage` (instructions with the ``developer`` role), drawn like
    `system_messages`.

    >>> from hypothesis import given, settings
    >>> from tower_llm_fx import strategies as fxst
    >>> @settings(max_examples=20)
    ... @given(fxst.developer_messages(parts=False))
    ... def plain(message):
    ...     assert message.role == "developer" and type(message.content) is str
    >>> plain()
    """
    return st.builds(
        DeveloperMessage,
        content=_role_contents("developer", content, parts),
        name=st.none() | NAMES,
        extra=MESSAGE_EXTRAS if extras else st.none(),
    )


def user_messages(
    content: st.SearchStrategy[Any] | None = None, *, parts: bool = True, extras: bool = True
) -> st.SearchStrategy[UserMessage]:
    """Any `UserMessage`, sometimes with a ``name``: content from ``content``
    (default: text, or parts of any kind unless ``parts=False``), sometimes
    with wire keys in ``extra`` (unless ``extras=False``)."""
    return st.builds(
        UserMessage,
        content=_role_contents("user", content, parts),
        name=st.none() | NAMES,
        extra=MESSAGE_EXTRAS if extras else st.none(),
    )


def tool_call_requests(
    *,
    ids: st.SearchStrategy[str] = CALL_IDS,
    names: st.SearchStrategy[str] = TOOL_NAMES,
    arguments: st.SearchStrategy[str] | None = None,
    extras: bool = True,
) -> st.SearchStrategy[ToolCallRequest]:
    """Any `ToolCallRequest`; arguments are JSON objects, or any text half the time;
    sometimes wire keys in ``extra`` (Gemini's thought signature), unless ``extras=False``."""
    args = arguments if arguments is not None else st.one_of(json_objects(), ANY_TEXT)
    return st.builds(
        ToolCallRequest, id=ids, name=names, arguments=args, extra=CALL_EXTRAS if extras else st.none()
    )


def assistant_messages(
    content: st.SearchStrategy[Any] | None = None,
    *,
    max_tool_calls: int = 3,
    parts: bool = True,
    extras: bool = True,
    reasoning: bool = True,
) -> st.SearchStrategy[AssistantMessage]:
    """Any `AssistantMessage`: text, tool calls, refusals, or none of them.

    Content comes from ``content`` (default: text, or text and refusal parts
    unless ``parts=False``); the refusal from ``content`` too, or text. Unless
    turned off, one in five has `reasonings` and some carry ``extra`` wire keys."""
    drawn = _role_contents("assistant", content, parts)
    return st.builds(
        AssistantMessage,
        content=st.none() | drawn,
        tool_calls=st.lists(tool_call_requests(extras=extras), max_size=max_tool_calls).map(tuple),
        refusal=st.none() | (content if content is not None else ANY_TEXT),
        name=st.none() | NAMES,
        reasoning=_MAYBE_REASONING if reasoning else st.none(),
        extra=MESSAGE_EXTRAS if extras else st.none(),
    )


def tool_messages(
    content: st.SearchStrategy[Any] | None = None,
    *,
    ids: st.SearchStrategy[str] = CALL_IDS,
    parts: bool = True,
    extras: bool = True,
) -> st.SearchStrategy[ToolMessage]:
    """Any `ToolMessage`: content from ``content`` (default: text, or text parts unless
    ``parts=False``), sometimes with ``extra`` wire keys (unless ``extras=False``)."""
    return st.builds(
        ToolMessage,
        tool_call_id=ids,
        content=_role_contents("tool", content, parts),
        extra=MESSAGE_EXTRAS if extras else st.none(),
    )


def messages(*, parts: bool = True, extras: bool = True) -> st.SearchStrategy[Message]:
    """Any single message, of any of the five roles. Sequences of these are mostly
    *invalid* conversations: use them to check that code handles anything; use
    `conversations` for valid ones. ``parts=False`` / ``extras=False`` keep to
    string content / no ``extra`` (and no reasoning)."""
    return st.one_of(
        system_messages(parts=parts, extras=extras),
        developer_messages(parts=parts, extras=extras),
        user_messages(parts=parts, extras=extras),
        assistant_messages(parts=parts, extras=extras, reasoning=extras),
        tool_messages(parts=parts, extras=extras),
    )
