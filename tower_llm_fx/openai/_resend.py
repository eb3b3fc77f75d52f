"""Re-sending reasoning: `prepare_messages` applies a dialect's rule to a history.

Theory of operation: ``_dialects`` says, per provider, which reasoning fields
later requests must, may or must not send back; this module applies that row
to a conversation just before it is encoded. Rule 1: it changes reasoning data
only (``Reasoning`` values and Gemini's thought signature inside a tool call's
``extra``); content, tool calls, ids, names and every other ``extra`` key pass
through untouched. Rule 2: it is idempotent, and returns the very tuple it was
given when nothing changes (it runs on every model call). Rule 3: a reasoning
field the dialect does not list is never sent: it came from another provider,
and a strict API answers 400 to a key it does not know.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Final

import attrs

from tower_llm_fx._json import canonical_json
from tower_llm_fx._messages import AssistantMessage, Message, Reasoning, ToolCallRequest, UserMessage

from ._dialects import Dialect

__all__ = ["prepare_messages"]

_SIGNATURE_PATH: Final = ("extra_content", "google", "thought_signature")


def _kept_raw(raw: str, allowed: frozenset[str]) -> str | None:
    """``raw`` with only the ``allowed`` keys: the same text when nothing goes, ``None`` when all go."""
    value = json.loads(raw)  # a JSON object: Reasoning's converter sees to that
    kept = {k: x for k, x in value.items() if k in allowed}
    if len(kept) == len(value):
        return raw
    return canonical_json(kept) if kept else None


@functools.lru_cache(maxsize=4096)
def _without_signature(extra: str) -> str | None:
    """``extra`` without ``extra_content.google.thought_signature``, pruning parents left empty."""
    value = json.loads(extra)  # a JSON object: the extra fields' converter sees to that
    if not _has_signature(value):
        return extra
    outer = dict(value)
    content = dict(outer["extra_content"])
    google = dict(content["google"])
    del google["thought_signature"]
    if google:
        content["google"] = google
    else:
        del content["google"]
    if content:
        outer["extra_content"] = content
    else:
        del outer["extra_content"]
    return canonical_json(outer) if outer else None


def _has_signature(value: dict[str, Any]) -> bool:
    content = value.get(_SIGNATURE_PATH[0])
    if not isinstance(content, dict):
        return False
    google = content.get(_SIGNATURE_PATH[1])
    return isinstance(google, dict) and _SIGNATURE_PATH[2] in google


def _prepared_reasoning(reasoning: Reasoning | None, allowed: frozenset[str]) -> Reasoning | None:
    if reasoning is None:
        return None
    if not allowed:
        return None
    raw = reasoning.raw
    if raw is None:
        return reasoning
    kept = _kept_raw(raw, allowed)
    if kept == raw:  # == not `is`: the cache may hand back an equal, older string
        return reasoning
    if kept is None:
        return None
    return attrs.evolve(reasoning, raw=kept)


def _prepared_call(call: ToolCallRequest) -> ToolCallRequest:
    extra = call.extra
    if extra is None:
        return call
    kept = _without_signature(extra)
    return call if kept == extra else attrs.evolve(call, extra=kept)


def _prepared(message: AssistantMessage, allowed: frozenset[str], signatures: bool) -> AssistantMessage:
    reasoning = _prepared_reasoning(message.reasoning, allowed)
    extra = message.extra
    calls = message.tool_calls
    if not signatures:
        if extra is not None and _without_signature(extra) != extra:
            extra = _without_signature(extra)
        if any(c.extra is not None for c in calls):
            new_calls = tuple(_prepared_call(c) for c in calls)
            if any(n is not c for n, c in zip(new_calls, calls, strict=True)):
                calls = new_calls
    if reasoning is message.reasoning and extra is message.extra and calls is message.tool_calls:
        return message
    return attrs.evolve(message, reasoning=reasoning, extra=extra, tool_calls=calls)


def _tool_turns(messages: tuple[Message, ...]) -> list[bool]:
    """For each message: is it in a user turn (user message to next user message) with a tool call?"""
    flags = [False] * len(messages)
    start = 0
    for end in range(len(messages) + 1):
        if end == len(messages) or isinstance(messages[end], UserMessage):
            turn = messages[start:end]
            if any(isinstance(m, AssistantMessage) and m.tool_calls for m in turn):
                flags[start:end] = [True] * (end - start)
            start = end
    return flags


def _untouched(message: AssistantMessage) -> bool:
    return (
        message.reasoning is None
        and message.extra is None
        and all(c.extra is None for c in message.tool_calls)
    )


def prepare_messages(messages: tuple[Message, ...], dialect: Dialect) -> tuple[Message, ...]:
    """Apply ``dialect``'s re-send rule to the reasoning data of a conversation's assistant messages.

    Keeps the reasoning fields the provider must or may get back, strips
    those it must not get (and any field it does not list), and strips
    Gemini's thought signature for every provider but Gemini. Nothing but
    reasoning data changes, the result is a fixed point, and when nothing
    changes the same tuple object comes back.

    >>> import tower_llm_fx as fx
    >>> from tower_llm_fx.openai import dialect, prepare_messages
    >>> said = fx.AssistantMessage(content="4", reasoning=fx.Reasoning(text="2+2", raw='{"reasoning":"2+2"}'))
    >>> prepare_messages((fx.user("2+2?"), said), dialect("groq"))[1].reasoning is None
    True
    >>> convo = (fx.user("2+2?"), said)
    >>> prepare_messages(convo, dialect("openrouter")) is convo
    True
    """
    rule = dialect.resend_reasoning
    if not any(isinstance(m, AssistantMessage) and not _untouched(m) for m in messages):
        return messages
    fields = frozenset(dialect.reasoning_fields)
    none: frozenset[str] = frozenset()
    in_tool_turn = _tool_turns(messages) if rule == "tool_turns" else None
    signatures = dialect.resend_thought_signature
    out: list[Message] | None = None
    for i, message in enumerate(messages):
        if not isinstance(message, AssistantMessage) or _untouched(message):
            continue
        stripped = rule == "must_not" or (in_tool_turn is not None and not in_tool_turn[i])
        allowed = none if stripped else fields
        new = _prepared(message, allowed, signatures)
        if new is not message:
            if out is None:
                out = list(messages)
            out[i] = new
    return messages if out is None else tuple(out)
