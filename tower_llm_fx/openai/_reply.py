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
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from tower_llm_fx._json import loads_bounded
from tower_llm_fx._messages import AssistantMessage, ToolCallRequest
from tower_llm_fx._results import ModelReply, Usage, trusted_usage
from tower_llm_fx._serde import DecodeError
from tower_llm_fx._unchecked import unchecked_factory

from ._errors import malformed_response
from ._messages import call_to_wire, text_field

__all__ = ["from_openai_response", "to_openai_response"]


def usage_from_wire(data: Any) -> Usage:
    if data is None:
        return NO_USAGE
    if not isinstance(data, Mapping):
        raise malformed_response("'usage' is not an object", data)
    prompt = data.get("prompt_tokens") or 0
    completion = data.get("completion_tokens") or 0
    if type(prompt) is not int or type(completion) is not int or prompt < 0 or completion < 0:
        raise malformed_response("token counts in 'usage' must be non-negative integers", data)
    return trusted_usage(prompt, completion)


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
            "update the fast constructors in _openai_reply.py and _openai_stream.py"
        )


pin_fields(AssistantMessage, ("content", "tool_calls", "refusal", "name", "role"))
pin_fields(ModelReply, ("message", "usage", "finish_reason", "model", "id"))


fast_reply: Callable[[AssistantMessage, Usage, str, str | None, str | None], ModelReply] = unchecked_factory(
    ModelReply, "message", "usage", "finish_reason", "model", "id"
)
_assistant: Callable[[str | None, tuple[ToolCallRequest, ...], str | None, str | None], AssistantMessage] = (
    unchecked_factory(AssistantMessage, "content", "tool_calls", "refusal", "name")
)


def arguments_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # Some servers send the arguments as an object rather than JSON text.
    return json.dumps(value, ensure_ascii=False)


def reply_message(
    content: str | None, calls: tuple[ToolCallRequest, ...], refusal: str | None, name: str | None
) -> AssistantMessage:
    """The reply's message (every argument already checked by the caller)."""
    if content == "" and (calls or refusal is not None):
        content = None  # Rule 2: streamed and unstreamed replies agree
    return _assistant(content, calls, refusal, name)


def opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def from_openai_response(body: Mapping[str, Any] | str | bytes) -> ModelReply:
    """Decode a ``chat.completion`` response (an object, or its JSON text).

    The reply's ``finish_reason`` is ``"unknown"`` if the server sent none;
    missing ``usage`` counts as zero tokens; a tool call without an id gets
    ``"call_<index>"``.

    Raises:
        MalformedResponse: not JSON, no choices, or fields of the wrong type.

    >>> reply = from_openai_response({"id": "chatcmpl-1", "model": "m", "choices": [
    ...     {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}],
    ...     "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})
    >>> reply.message.content, reply.usage.total_tokens, reply.finish_reason
    ('Hi!', 7, 'stop')
    """
    if isinstance(body, (str, bytes)):
        try:
            body = loads_bounded(body)
        except ValueError:
            raise malformed_response("the body is not JSON", body) from None
    if type(body) is not dict and not isinstance(body, Mapping):
        raise malformed_response("the body is not a JSON object", body)
    choices = body.get("choices")
    if type(choices) is not list:
        raise malformed_response("no 'choices' list", body)
    if not choices:
        raise malformed_response("'choices' is empty: the server returned no completion", body)
    choice = choices[0]
    if len(choices) > 1 or type(choice) is not dict or choice.get("index", 0) != 0:
        choice = next((c for c in choices if isinstance(c, Mapping) and c.get("index", 0) == 0), choice)
    message = choice.get("message") if isinstance(choice, Mapping) else None
    if type(message) is not dict and not isinstance(message, Mapping):
        raise malformed_response("choice 0 has no 'message' object", choice)
    try:
        content = message.get("content")
        if content is not None and type(content) is not str:
            content = text_field(content, "$.choices[0].message.content")
        raw_calls = message.get("tool_calls") or []
        if not isinstance(raw_calls, list):
            raise malformed_response("'tool_calls' is not a list", raw_calls)
        calls = []
        for i, raw in enumerate(raw_calls):
            if not isinstance(raw, Mapping):
                raise malformed_response("a tool call is not an object", raw)
            function = raw.get("function")
            if not isinstance(function, Mapping):
                raise malformed_response("a tool call has no 'function' object", raw)
            call_id = raw.get("id")
            calls.append(
                ToolCallRequest(
                    id=call_id if isinstance(call_id, str) and call_id else f"call_{i}",
                    name=opt_str(function, "name") or "",
                    arguments=arguments_text(function.get("arguments")),
                )
            )
        finish = choice.get("finish_reason")
        return fast_reply(
            reply_message(content, tuple(calls), opt_str(message, "refusal"), opt_str(message, "name")),
            usage_from_wire(body.get("usage")),
            finish if type(finish) is str else "unknown",
            opt_str(body, "model"),
            opt_str(body, "id"),
        )
    except DecodeError as exc:
        raise malformed_response(str(exc)) from None


def usage_to_wire(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def response_head(reply: ModelReply, obj: str, created: int | None) -> dict[str, Any]:
    head: dict[str, Any] = {}
    if reply.id is not None:
        head["id"] = reply.id
    head["object"] = obj
    if created is not None:
        head["created"] = created
    if reply.model is not None:
        head["model"] = reply.model
    return head


def to_openai_response(reply: ModelReply, *, created: int | None = None) -> dict[str, Any]:
    """Encode a reply as the ``chat.completion`` body a server would send.

    ``id`` and ``model`` are written when the reply has them, ``created`` when
    given; a server must fill all three in to be valid.

    >>> import tower_llm_fx as fx
    >>> r = fx.ModelReply(message=fx.assistant("hi"), id="chatcmpl-1", model="m")
    >>> from_openai_response(to_openai_response(r)) == r
    True
    """
    m = reply.message
    message: dict[str, Any] = {"role": "assistant", "content": m.content, "refusal": m.refusal}
    if m.tool_calls:
        message["tool_calls"] = [call_to_wire(c) for c in m.tool_calls]
    if m.name is not None:
        message["name"] = m.name
    body = response_head(reply, "chat.completion", created)
    body["choices"] = [
        {"index": 0, "message": message, "finish_reason": reply.finish_reason, "logprobs": None}
    ]
    body["usage"] = usage_to_wire(reply.usage)
    return body
