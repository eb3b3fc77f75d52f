"""OpenAI replies: the ``chat.completion`` body, both ways.

Theory: `from_openai_response` decodes a ``chat.completion`` body into a
``ModelReply`` and `to_openai_response` is its inverse (servers and tests use
it). Streamed replies are folded by ``_stream``, which shares this
module's helpers, so Rule 2 holds: a streamed and a non-streamed reply decode
to equal values. Both decoders normalise the one place servers differ:
``content == ""`` next to tool calls or a refusal becomes ``None`` (OpenAI
streams ``""`` there but returns ``null`` unstreamed). Thus
``from_openai_response(to_openai_response(r)) == r`` for every reply outside
that corner. Only choice 0 is read; ask for ``n > 1`` through ``extra`` and
you get the first. The legacy ``function_call`` field is not read. The
overview of the whole codec is in ``tower_llm_fx.openai._messages``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs

from tower_llm_fx._json import loads_bounded
from tower_llm_fx._messages import AssistantMessage, Reasoning, ToolCallRequest
from tower_llm_fx._results import ModelReply, Usage, trusted_full_usage, trusted_usage
from tower_llm_fx._serde import DecodeError
from tower_llm_fx._unchecked import unchecked_factory

from ._errors import body_error, error_value, malformed_response, not_json
from ._extra import extra_text, merge_extra, split_extra
from ._messages import (
    REASONING_KEYS,
    call_extra,
    call_to_wire,
    content_from_wire,
    content_to_wire,
    reasoning_from,
)

__all__ = ["from_openai_response", "to_openai_response"]

_USAGE_KEYS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})
_USAGE_ALL = _USAGE_KEYS | {"prompt_tokens_details", "completion_tokens_details"}
_PROMPT_DETAILS = {"cached_tokens": "cached_tokens", "audio_tokens": "prompt_audio_tokens"}
_COMPLETION_DETAILS = {"reasoning_tokens": "reasoning_tokens", "audio_tokens": "completion_audio_tokens"}


def _count(data: Any, key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise malformed_response(f"'{where}{key}' must be a non-negative integer, got {value!r}", data)
    return value


def usage_from_wire(data: Any) -> Usage:
    """Decode a ``usage`` object: counts as sent, details, the rest in ``extra``."""
    if data is None:
        return NO_USAGE
    if not isinstance(data, Mapping):
        raise malformed_response("'usage' is not an object", data)
    prompt = _count(data, "prompt_tokens", "usage.") or 0
    completion = _count(data, "completion_tokens", "usage.") or 0
    total = _count(data, "total_tokens", "usage.")
    if data.keys() <= _USAGE_KEYS and (total is None or total == prompt + completion):
        return trusted_usage(prompt, completion)  # the common case, nothing else to keep
    details: dict[str, int | None] = {}
    extra: dict[str, Any] = split_extra(data, _USAGE_ALL) or {}
    for key, names in (
        ("prompt_tokens_details", _PROMPT_DETAILS),
        ("completion_tokens_details", _COMPLETION_DETAILS),
    ):
        inner = data.get(key)
        if inner is None:
            continue
        if not isinstance(inner, Mapping):
            raise malformed_response(f"'usage.{key}' is not an object", data)
        for wire, field in names.items():
            details[field] = _count(inner, wire, f"usage.{key}.")
        rest = split_extra(inner, set(names))
        # A details object that only held nulls (or nothing) is kept, so it comes back as sent.
        if rest or not any(inner.get(w) is not None for w in names):
            extra[key] = rest or {}
    return trusted_full_usage(
        prompt,
        completion,
        None if total is None or total == prompt + completion else total,
        details.get("cached_tokens"),
        details.get("reasoning_tokens"),
        details.get("prompt_audio_tokens"),
        details.get("completion_audio_tokens"),
        extra_text(extra),
    )


NO_USAGE = Usage()

# Decoding runs on every model call and every stream chunk, so the values it
# builds from fields it has already checked skip attrs' validators (`unchecked`,
# as ``_state._make`` does). The field lists are pinned: adding a field to one of
# these classes fails here, at import, instead of leaving it unset.


def pin_fields(cls: type[Any], names: tuple[str, ...]) -> None:
    actual = tuple(f.name for f in attrs.fields(cls))
    if actual != names:  # pragma: no cover - a guard for whoever changes the class
        raise RuntimeError(
            f"the OpenAI codec builds {cls.__name__} with fields {names} but it has {actual}; "
            "update the fast constructors in openai/_reply.py and openai/_stream.py"
        )


pin_fields(AssistantMessage, ("content", "tool_calls", "refusal", "name", "reasoning", "extra", "role"))
pin_fields(ToolCallRequest, ("id", "name", "arguments", "extra"))
pin_fields(ModelReply, ("message", "usage", "finish_reason", "model", "id", "extra", "choice_extra"))


fast_reply: Callable[
    [AssistantMessage, Usage, str, str | None, str | None, str | None, str | None], ModelReply
] = unchecked_factory(ModelReply, "message", "usage", "finish_reason", "model", "id", "extra", "choice_extra")
_assistant: Callable[..., AssistantMessage] = unchecked_factory(
    AssistantMessage, "content", "tool_calls", "refusal", "name", "reasoning", "extra"
)
fast_call: Callable[[str, str, str, str | None], ToolCallRequest] = unchecked_factory(
    ToolCallRequest, "id", "name", "arguments", "extra"
)


def arguments_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # Some servers send the arguments as an object rather than JSON text.
    return json.dumps(value, ensure_ascii=False)


def reply_message(
    content: Any,
    calls: tuple[ToolCallRequest, ...],
    refusal: str | None,
    name: str | None,
    reasoning: Reasoning | None = None,
    extra: str | None = None,
) -> AssistantMessage:
    """The reply's message (every argument already checked by the caller)."""
    if content == "" and (calls or refusal is not None):
        content = None  # Rule 2: streamed and unstreamed replies agree
    return _assistant(content, calls, refusal, name, reasoning, extra)


def opt_str(data: Mapping[str, Any], key: str, where: str = "") -> str | None:
    """``data[key]`` when it is a string, ``None`` when absent or null.

    Raises:
        MalformedResponse: it is something else (never dropped silently).
    """
    value = data.get(key)
    if value is None or type(value) is str:
        return value
    raise malformed_response(f"'{where}{key}' must be a string, got {value!r}", data)


# Keys of a reply message, a choice and a body that the decoder names.
MESSAGE_KEYS = frozenset({"role", "content", "tool_calls", "refusal", "name", *REASONING_KEYS})
CHOICE_KEYS = frozenset({"index", "message", "delta", "finish_reason"})
BODY_KEYS = frozenset({"id", "model", "choices", "usage", "object"})
# A tool call's position: in a stream it says which call a fragment continues.
_REPLY_CALL_KEYS = frozenset({"id", "type", "function", "index"})


def choice_index(choice: Mapping[str, Any], path: str) -> int:
    """A choice's ``index`` (absent means 0; a numeric string is read as its number)."""
    index = choice.get("index", 0)
    if type(index) is int:
        return index
    if isinstance(index, str) and index.isdigit():
        return int(index)
    if index is None:
        return 0
    raise malformed_response(f"'{path}.index' must be an integer, got {index!r}", choice)


def only_choice(choices: list[Any], path: str) -> Mapping[str, Any] | None:
    """Choice 0 of a list of choices; ``None`` if the list is empty.

    Raises:
        MalformedResponse: a choice is not an object, or the server sent more
            than one choice (``n > 1``): a reply holds one message.
    """
    found: Mapping[str, Any] | None = None
    for i, choice in enumerate(choices):
        if type(choice) is not dict and not isinstance(choice, Mapping):
            raise malformed_response(f"'{path}[{i}]' is not an object", choice)
        if choice_index(choice, f"{path}[{i}]") != 0:
            raise malformed_response(
                f"'{path}[{i}]' is choice {choice.get('index')!r}: tower_llm_fx replies hold one message, "
                "so ask for one completion (drop 'n' from ModelParams.extra)",
                choice,
            )
        if found is not None:
            raise malformed_response(f"'{path}' holds choice 0 twice", choices)
        found = choice
    return found


def reply_call(raw: Any, i: int) -> ToolCallRequest:
    if not isinstance(raw, Mapping):
        raise malformed_response(f"'message.tool_calls[{i}]' is not an object", raw)
    function = raw.get("function")
    if not isinstance(function, Mapping):
        raise malformed_response(f"'message.tool_calls[{i}]' has no 'function' object", raw)
    kind = raw.get("type")
    if kind is not None and kind != "function":
        raise malformed_response(
            f"'message.tool_calls[{i}].type' is {kind!r}: only function tool calls can be represented", raw
        )
    call_id = opt_str(raw, "id", f"message.tool_calls[{i}].")
    name = opt_str(function, "name", f"message.tool_calls[{i}].function.")
    extra = None
    if raw.keys() - _REPLY_CALL_KEYS or function.keys() - {"name", "arguments"}:
        extra = call_extra({k: v for k, v in raw.items() if k != "index"}, function)
    return fast_call(
        call_id or f"call_{i}",
        name or "",
        arguments_text(function.get("arguments")),
        extra,
    )


def from_openai_response(body: Mapping[str, Any] | str | bytes) -> ModelReply:
    """Decode a ``chat.completion`` response (an object, or its JSON text).

    The reply's ``finish_reason`` is ``"unknown"`` if the server sent none;
    missing ``usage`` counts as zero tokens; a tool call without an id gets
    ``"call_<index>"``.

    Raises:
        MalformedResponse: not JSON, no choices, or fields of the wrong type.
        StreamInterrupted: the body stops before its JSON document ends (retryable).
        ProviderError: the body is an error object (the subclass says what
            kind, as for the same error inside a stream).

    >>> reply = from_openai_response({"id": "chatcmpl-1", "model": "m", "choices": [
    ...     {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}],
    ...     "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})
    >>> reply.message.content, reply.usage.total_tokens, reply.finish_reason
    ('Hi!', 7, 'stop')
    """
    if isinstance(body, (str, bytes)):
        raw = body
        try:
            body = loads_bounded(raw)
        except ValueError:
            raise not_json(raw) from None  # a cut body is StreamInterrupted, as a cut stream is
    if type(body) is not dict and not isinstance(body, Mapping):
        raise malformed_response("the body is not a JSON object", body)
    if body.get("error") is not None or body.get("object") == "error":
        raise body_error(error_value(body))  # classified as the same error in a stream is
    return decode_completion(body)


def decode_completion(body: Mapping[str, Any]) -> ModelReply:
    """Decode a ``chat.completion`` object (already parsed, checked to be an object)."""
    choices = body.get("choices")
    if type(choices) is not list:
        raise malformed_response("no 'choices' list", body)
    choice = only_choice(choices, "choices")
    if choice is None:
        raise malformed_response("'choices' is empty: the server returned no completion", body)
    message = choice.get("message")
    if type(message) is not dict and not isinstance(message, Mapping):
        raise malformed_response("choice 0 has no 'message' object", choice)
    try:
        content = message.get("content")
        if content is not None and type(content) is not str:
            content = content_from_wire(content, "$.choices[0].message.content")
        raw_calls = message.get("tool_calls") or []
        if not isinstance(raw_calls, list):
            raise malformed_response("'tool_calls' is not a list", raw_calls)
        calls = tuple(reply_call(raw, i) for i, raw in enumerate(raw_calls))
        refusal = message.get("refusal")
        if refusal is not None and type(refusal) is not str:
            raise malformed_response(f"'message.refusal' must be a string, got {refusal!r}", message)
        reasoning = None
        extra = None
        if message.keys() - _PLAIN_MESSAGE_KEYS:
            reasoning = reasoning_from(message)
            extra = extra_text(split_extra(message, MESSAGE_KEYS))
        finish = opt_str(choice, "finish_reason", "choices[0].")
        usage_data = body.get("usage")
        body_extra = split_extra(body, BODY_KEYS)
        if usage_data is None and body_extra is not None:
            usage_data, body_extra = groq_usage(body_extra)
        return fast_reply(
            reply_message(content, calls, refusal, opt_str(message, "name", "message."), reasoning, extra),
            usage_from_wire(usage_data),
            "unknown" if finish is None else finish,
            opt_str(body, "model"),
            opt_str(body, "id"),
            extra_text(body_extra),
            extra_text(split_extra(choice, CHOICE_KEYS)),
        )
    except DecodeError as exc:
        raise malformed_response(str(exc)) from None


_PLAIN_MESSAGE_KEYS = frozenset({"role", "content", "tool_calls", "refusal", "name"})


def groq_usage(extra: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """Groq reports a stream's usage in ``x_groq.usage``: take it from there (and
    out of ``x_groq``, so it is kept once)."""
    x_groq = extra.get("x_groq")
    if not isinstance(x_groq, Mapping) or x_groq.get("usage") is None:
        return None, extra
    rest = {k: v for k, v in x_groq.items() if k != "usage"}
    extra = {k: v for k, v in extra.items() if k != "x_groq"}
    if rest:
        extra["x_groq"] = rest
    return x_groq["usage"], extra or None


def usage_to_wire(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens is not None or usage.prompt_audio_tokens is not None:
        out["prompt_tokens_details"] = _details(
            usage.cached_tokens, usage.prompt_audio_tokens, "cached_tokens"
        )
    if usage.reasoning_tokens is not None or usage.completion_audio_tokens is not None:
        out["completion_tokens_details"] = _details(
            usage.reasoning_tokens, usage.completion_audio_tokens, "reasoning_tokens"
        )
    return merge_extra(out, usage.extra, "Usage")


def _details(first: int | None, audio: int | None, name: str) -> dict[str, int]:
    out = {}
    if first is not None:
        out[name] = first
    if audio is not None:
        out["audio_tokens"] = audio
    return out


def _keys(extra: str | None) -> Collection[str]:
    return () if extra is None else json.loads(extra).keys()


def response_head(reply: ModelReply, obj: str, created: int | None) -> dict[str, Any]:
    head: dict[str, Any] = {}
    if reply.id is not None:
        head["id"] = reply.id
    head["object"] = obj
    if created is not None and "created" not in _keys(reply.extra):
        head["created"] = created
    if reply.model is not None:
        head["model"] = reply.model
    return head


def message_to_wire(m: AssistantMessage) -> dict[str, Any]:
    """The ``message`` object of a reply (``content`` and ``refusal`` always written)."""
    c = m.content
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if c is None else content_to_wire(c),
        "refusal": m.refusal,
    }
    if m.tool_calls:
        message["tool_calls"] = [call_to_wire(c) for c in m.tool_calls]
    if m.name is not None:
        message["name"] = m.name
    if m.reasoning is not None and m.reasoning.raw is not None:
        merge_extra(message, m.reasoning.raw, "the reply's reasoning")
    return merge_extra(message, m.extra, "the reply's message")


def to_openai_response(reply: ModelReply, *, created: int | None = None) -> dict[str, Any]:
    """Encode a reply as the ``chat.completion`` body a server would send.

    ``id`` and ``model`` are written when the reply has them, ``created`` when
    given (unless ``reply.extra`` holds it); ``extra`` and ``choice_extra`` are
    merged back. A server must fill ``id``, ``model`` and ``created`` in to be valid.

    >>> import tower_llm_fx as fx
    >>> r = fx.ModelReply(message=fx.assistant("hi"), id="chatcmpl-1", model="m")
    >>> from_openai_response(to_openai_response(r)) == r
    True
    """
    body = response_head(reply, "chat.completion", created)
    choice: dict[str, Any] = {
        "index": 0,
        "message": message_to_wire(reply.message),
        "finish_reason": reply.finish_reason,
    }
    if "logprobs" not in _keys(reply.choice_extra):
        choice["logprobs"] = None
    body["choices"] = [merge_extra(choice, reply.choice_extra, "the reply's choice")]
    body["usage"] = usage_to_wire(reply.usage)
    return merge_extra(body, reply.extra, "the reply")
