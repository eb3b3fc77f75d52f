"""The OpenAI chat-completions wire format, encoded and decoded without I/O.

Theory of operation (the sans-io split of h11 and gidgethub): everything that
knows what the JSON looks like lives here, as pure functions and one small
state machine; ``interpreters.openai`` only moves bytes. So the codec is tested
without a server, and a recorded body decodes the same way forever.

* Requests: `to_openai_request` turns a ``ModelCall`` into the request body and
  `from_openai_request` turns a body back into the ``ModelCall``. Rule 1:
  nothing the caller set is dropped. Every ``ModelParams`` field is sent under
  its own name (fields added later are passed through as they are), and
  ``ModelParams.extra`` is merged into the body. An ``extra`` key that would
  shadow a named field or a key the codec owns raises ``ConfigurationError``:
  say a thing in one place.
* Messages: `to_openai_message` / `from_openai_message` convert one message
  in each direction. For every message ``m``,
  ``from_openai_message(to_openai_message(m)) == m``. The other direction
  holds for bodies in *canonical form*, which is what `to_openai_message`
  produces. Where a wire message is not canonical it decodes to the nearest
  message, and these are the only corners where the conversion is not a
  bijection:

  - a key whose value is ``null`` means the same as an absent key, except an
    assistant's ``content``, which is always written (``null`` when ``None``);
  - ``content`` given as a list of text parts decodes to their concatenation;
  - ``"tool_calls": []`` decodes like an absent ``tool_calls``;
  - a tool call without ``"type"`` decodes as ``"function"``.

  Roles and content we cannot represent (``developer``, ``function``, images,
  audio, ...) raise ``DecodeError``, naming the path. They are never dropped.
* Replies: `from_openai_response` decodes a ``chat.completion`` body into a
  ``ModelReply``, and `to_openai_response` is its inverse (servers and tests
  use it). A stream of ``chat.completion.chunk`` objects is folded by
  `OpenAIStream`, which yields streaming events as chunks arrive and the
  same ``ModelReply`` at the end. `to_openai_chunks` encodes a reply as such
  a stream. Rule 2: a streamed and a non-streamed reply decode to equal
  values. So both decoders normalise the one place servers differ:
  ``content == ""`` next to tool calls or a refusal becomes ``None``
  (OpenAI streams ``""`` there but returns ``null`` unstreamed). Thus
  ``from_openai_response(to_openai_response(r)) == r`` for every reply
  outside that corner.
* Errors: `from_openai_error` maps a failed HTTP response (status, headers,
  body) to the right ``ProviderError`` subclass, with the retry hint from
  `retry_after_from_headers`. Reading the clock is the shell's job: an
  HTTP-date ``Retry-After`` needs ``now``.

Only choice 0 is read; ask for ``n > 1`` through ``extra`` and you get the
first. The legacy ``function_call`` field is not read.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, final

import attrs

from ._effects import ModelCall, ModelParams
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    MalformedResponse,
    NotFoundError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamInterrupted,
)
from ._events import (
    RefusalDelta,
    RunEvent,
    TokenDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
)
from ._messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from ._results import ModelReply, Usage
from ._serde import DecodeError
from ._tools import ToolSpec

__all__ = [
    "OpenAIStream",
    "from_openai_error",
    "from_openai_message",
    "from_openai_request",
    "from_openai_response",
    "retry_after_from_headers",
    "to_openai_chunks",
    "to_openai_message",
    "to_openai_request",
    "to_openai_response",
    "to_openai_tool",
]

# --------------------------------------------------------------------------- messages


def _call_to_wire(call: ToolCallRequest) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def to_openai_message(message: Message) -> dict[str, Any]:
    """Encode one message as an OpenAI request message (canonical form).

    >>> from tower_llm_fx import assistant, ToolCallRequest
    >>> to_openai_message(assistant(None, ToolCallRequest(id="c1", name="add", arguments="{}")))
    {'role': 'assistant', 'content': None, 'tool_calls': [{'id': 'c1', 'type': 'function', 'function': {'name': 'add', 'arguments': '{}'}}]}
    """
    t = type(message)
    if t is UserMessage:
        assert isinstance(message, UserMessage)
        out: dict[str, Any] = {"role": "user", "content": message.content}
        if message.name is not None:
            out["name"] = message.name
        return out
    if t is AssistantMessage:
        assert isinstance(message, AssistantMessage)
        out = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            out["tool_calls"] = [_call_to_wire(c) for c in message.tool_calls]
        if message.refusal is not None:
            out["refusal"] = message.refusal
        if message.name is not None:
            out["name"] = message.name
        return out
    if t is ToolMessage:
        assert isinstance(message, ToolMessage)
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if t is SystemMessage:
        assert isinstance(message, SystemMessage)
        return {"role": "system", "content": message.content}
    raise TypeError(f"to_openai_message() takes a message, got {t.__name__}")


_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "tool_calls", "refusal", "name"}),
    "tool": frozenset({"role", "tool_call_id", "content"}),
}


def _present(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in data.items() if val is not None}


def _str_at(data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise DecodeError(f"{path}.{key}", "is missing")
        return None
    if not isinstance(value, str):
        raise DecodeError(f"{path}.{key}", f"must be a string, got {type(value).__name__}")
    return value


def _text(value: Any, path: str) -> str:
    """Content as text: a string, or a list of text parts (concatenated)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        pieces: list[str] = []
        for i, part in enumerate(value):
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind != "text":
                raise DecodeError(
                    f"{path}[{i}]",
                    f"content part of type {kind!r} is not supported (only text parts); "
                    "tower_llm_fx messages hold text",
                )
            assert isinstance(part, Mapping)
            text = part.get("text")
            if not isinstance(text, str):
                raise DecodeError(f"{path}[{i}].text", "must be a string")
            pieces.append(text)
        return "".join(pieces)
    raise DecodeError(path, f"content must be a string or a list of text parts, got {type(value).__name__}")


def _call_from_wire(data: Any, path: str) -> ToolCallRequest:
    if not isinstance(data, Mapping):
        raise DecodeError(path, f"a tool call must be an object, got {type(data).__name__}")
    data = _present(data)
    if data.get("type", "function") != "function":
        raise DecodeError(f"{path}.type", f"only function tool calls are supported, got {data['type']!r}")
    unknown = set(data) - {"id", "type", "function"}
    if unknown:
        raise DecodeError(path, f"unexpected key(s) {sorted(unknown)} in a tool call")
    function = data.get("function")
    if not isinstance(function, Mapping):
        raise DecodeError(f"{path}.function", "is missing or not an object")
    function = _present(function)
    unknown = set(function) - {"name", "arguments"}
    if unknown:
        raise DecodeError(f"{path}.function", f"unexpected key(s) {sorted(unknown)}")
    return ToolCallRequest(
        id=_str_at(data, "id", path),
        name=_str_at(function, "name", f"{path}.function"),
        arguments=_str_at(function, "arguments", f"{path}.function"),
    )


def from_openai_message(data: Mapping[str, Any], *, path: str = "$") -> Message:
    """Decode one OpenAI request message; the inverse of `to_openai_message`.

    See the module docstring for the corners where the conversion is not a bijection.

    Raises:
        DecodeError: a role or content tower_llm_fx cannot represent, a missing
            or mistyped field, or an unexpected key (the path says where).

    >>> from_openai_message({"role": "user", "content": [{"type": "text", "text": "hi"}]})
    UserMessage(content='hi', name=None)
    """
    if not isinstance(data, Mapping):
        raise DecodeError(path, f"a message must be an object, got {type(data).__name__}")
    role = data.get("role")
    allowed = _KEYS.get(role) if isinstance(role, str) else None
    if allowed is None:
        hint = " (use a system message)" if role == "developer" else ""
        raise DecodeError(f"{path}.role", f"role {role!r} is not supported{hint}")
    present = _present(data)
    unknown = set(present) - allowed
    if unknown:
        raise DecodeError(path, f"unexpected key(s) {sorted(unknown)} in a {role} message")
    if role == "assistant":
        content = present.get("content")
        refusal = present.get("refusal")
        calls = present.get("tool_calls", [])
        if not isinstance(calls, list):
            raise DecodeError(f"{path}.tool_calls", "must be a list")
        return AssistantMessage(
            content=None if content is None else _text(content, f"{path}.content"),
            tool_calls=tuple(_call_from_wire(c, f"{path}.tool_calls[{i}]") for i, c in enumerate(calls)),
            refusal=None if refusal is None else _str_at(present, "refusal", path),
            name=_str_at(present, "name", path, required=False),
        )
    if "content" not in present:
        raise DecodeError(f"{path}.content", "is missing")
    content = _text(present["content"], f"{path}.content")
    if role == "user":
        return UserMessage(content=content, name=_str_at(present, "name", path, required=False))
    if role == "tool":
        return ToolMessage(tool_call_id=_str_at(present, "tool_call_id", path), content=content)
    return SystemMessage(content=content)


# --------------------------------------------------------------------------- tools


def to_openai_tool(spec: ToolSpec) -> dict[str, Any]:
    """Encode a tool spec as an OpenAI function tool.

    ``description`` is left out when empty and ``strict`` when false, as the
    API's defaults mean the same.

    >>> to_openai_tool(ToolSpec(name="now", parameters={"type": "object"}))
    {'type': 'function', 'function': {'name': 'now', 'parameters': {'type': 'object'}}}
    """
    function: dict[str, Any] = {"name": spec.name}
    if spec.description:
        function["description"] = spec.description
    function["parameters"] = json.loads(spec.parameters)
    if spec.strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def _tool_from_wire(data: Any, path: str) -> ToolSpec:
    if not isinstance(data, Mapping) or data.get("type") != "function":
        raise DecodeError(path, "only tools of type 'function' are supported")
    function = data.get("function")
    if not isinstance(function, Mapping):
        raise DecodeError(f"{path}.function", "is missing or not an object")
    function = _present(function)
    unknown = set(function) - {"name", "description", "parameters", "strict"}
    if unknown:
        raise DecodeError(f"{path}.function", f"unexpected key(s) {sorted(unknown)}")
    kwargs: dict[str, Any] = {"name": function.get("name"), "description": function.get("description", "")}
    if "parameters" in function:
        kwargs["parameters"] = function["parameters"]
    if "strict" in function:
        kwargs["strict"] = function["strict"]
    try:
        return ToolSpec(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"{path}.function", str(exc)) from None


# --------------------------------------------------------------------------- requests

_CHOICES = frozenset({"auto", "none", "required"})
_PARAM_NAMES: tuple[str, ...] = tuple(f.name for f in attrs.fields(ModelParams) if f.name != "extra")
# Keys the codec writes itself: ``extra`` may not set them.
_OWNED = frozenset({"model", "messages", "tools", "stream", "stream_options"})
_RESERVED = _OWNED | frozenset(_PARAM_NAMES)


def _json(text: str) -> Any:
    return json.loads(text)


_ENCODE: dict[str, Callable[[Any], Any]] = {
    "tool_choice": lambda s: s if s in _CHOICES else json.loads(s),
    "response_format": _json,
    "metadata": _json,
    "stop": list,
}


def _encode_param(value: Any) -> Any:
    # Fields added to ModelParams after this codec was written: scalars and
    # tuples pass through under the field's own name, so nothing is dropped.
    return list(value) if isinstance(value, tuple) else value


def to_openai_request(call: ModelCall, *, stream: bool = False) -> dict[str, Any]:
    """The request body of ``POST /chat/completions`` for ``call``.

    ``stream=True`` adds ``"stream": true`` and asks for usage in the last
    chunk (``stream_options.include_usage``).

    Raises:
        ConfigurationError: ``params.extra`` is not a JSON object, or sets a
            key that a named field or the codec already sets.

    >>> import tower_llm_fx as fx
    >>> call = fx.ModelCall(model="gpt-4o-mini", messages=[fx.user("hi")],
    ...                     params=fx.ModelParams(temperature=0.2, extra={"top_k": 5}))
    >>> to_openai_request(call)
    {'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': 'hi'}], 'temperature': 0.2, 'top_k': 5}
    """
    body: dict[str, Any] = {
        "model": call.model,
        "messages": [to_openai_message(m) for m in call.messages],
    }
    if call.tools:
        body["tools"] = [to_openai_tool(s) for s in call.tools]
    params = call.params
    for name in _PARAM_NAMES:
        value = getattr(params, name)
        if value is not None:
            encode = _ENCODE.get(name)
            body[name] = encode(value) if encode is not None else _encode_param(value)
    if params.extra is not None:
        extra = json.loads(params.extra)
        if not isinstance(extra, dict):
            raise ConfigurationError(
                f"ModelParams.extra must be a JSON object of extra request fields, got {params.extra}"
            )
        clash = sorted(set(extra) & _RESERVED)
        if clash:
            raise ConfigurationError(
                f"ModelParams.extra sets {', '.join(map(repr, clash))}, which "
                + (
                    "the codec sets itself"
                    if set(clash) <= _OWNED
                    else "has its own ModelParams field; set the field instead"
                )
                + " (every key must be said in exactly one place)"
            )
        body.update(extra)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def from_openai_request(body: Mapping[str, Any]) -> ModelCall:
    """Decode a request body back into the ``ModelCall``; the inverse of `to_openai_request`.

    ``stream`` and ``stream_options`` are ignored (how to deliver the reply is
    the interpreter's business); every other key the codec does not name goes
    to ``params.extra``. A ``stop`` given as one string decodes as a 1-tuple.

    Raises:
        DecodeError: the body is not a request tower_llm_fx can represent.
    """
    if not isinstance(body, Mapping):
        raise DecodeError("$", f"a request body must be an object, got {type(body).__name__}")
    model = body.get("model")
    if not isinstance(model, str):
        raise DecodeError("$.model", "is missing or not a string")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise DecodeError("$.messages", "is missing or not a list")
    tools = body.get("tools", [])
    if not isinstance(tools, list):
        raise DecodeError("$.tools", "must be a list")
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in body.items():
        if key in _OWNED:
            continue
        if key in _RESERVED:
            kwargs[key] = value
        else:
            extra[key] = value
    if extra:
        kwargs["extra"] = extra
    try:
        params = ModelParams(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DecodeError("$", f"invalid request parameters: {exc}") from None
    return ModelCall(
        model=model,
        messages=tuple(from_openai_message(m, path=f"$.messages[{i}]") for i, m in enumerate(messages)),
        tools=tuple(_tool_from_wire(t, f"$.tools[{i}]") for i, t in enumerate(tools)),
        params=params,
    )


# --------------------------------------------------------------------------- replies


def _malformed(what: str, data: object = None) -> MalformedResponse:
    shown = "" if data is None else f": {_clip(repr(data))}"
    return MalformedResponse(
        f"the server's reply is not an OpenAI chat completion ({what}){shown}; "
        "check that base_url points at an OpenAI-compatible /v1 API"
    )


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _usage(data: Any) -> Usage:
    if data is None:
        return _NO_USAGE
    if not isinstance(data, Mapping):
        raise _malformed("'usage' is not an object", data)
    prompt = data.get("prompt_tokens") or 0
    completion = data.get("completion_tokens") or 0
    if type(prompt) is not int or type(completion) is not int or prompt < 0 or completion < 0:
        raise _malformed("token counts in 'usage' must be non-negative integers", data)
    return _fast_usage(prompt, completion)


_NO_USAGE = Usage()

# Decoding runs on every model call and every stream chunk, so the values it
# builds from fields it has already checked skip attrs' validators (as
# ``_state._make`` does). The field lists are pinned: adding a field to one of
# these classes fails here, at import, instead of leaving it unset.
_new = object.__new__
_set = object.__setattr__


def _pin(cls: type[Any], names: tuple[str, ...]) -> None:
    actual = tuple(f.name for f in attrs.fields(cls))
    if actual != names:  # pragma: no cover - a guard for whoever changes the class
        raise RuntimeError(
            f"_openai_wire builds {cls.__name__} with fields {names} but it has {actual}; "
            "update the fast constructors in _openai_wire.py"
        )


_pin(Usage, ("prompt_tokens", "completion_tokens"))
_pin(AssistantMessage, ("content", "tool_calls", "refusal", "name", "role"))
_pin(ModelReply, ("message", "usage", "finish_reason", "model", "id"))
_pin(TokenDelta, ("step", "text"))
_pin(RefusalDelta, ("step", "text"))
_pin(ToolCallArgumentsDelta, ("step", "index", "id", "text"))


def _fast_usage(prompt: int, completion: int) -> Usage:
    usage = _new(Usage)
    _set(usage, "prompt_tokens", prompt)
    _set(usage, "completion_tokens", completion)
    return usage


def _fast_reply(
    message: AssistantMessage, usage: Usage, finish_reason: str, model: str | None, id: str | None
) -> ModelReply:
    reply = _new(ModelReply)
    _set(reply, "message", message)
    _set(reply, "usage", usage)
    _set(reply, "finish_reason", finish_reason)
    _set(reply, "model", model)
    _set(reply, "id", id)
    return reply


def _fast_text(cls: type[Any], step: int, text: str) -> Any:
    event = _new(cls)
    _set(event, "step", step)
    _set(event, "text", text)
    return event


def _arguments(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # Some servers send the arguments as an object rather than JSON text.
    return json.dumps(value, ensure_ascii=False)


def _reply_message(
    content: str | None, calls: tuple[ToolCallRequest, ...], refusal: str | None, name: str | None
) -> AssistantMessage:
    """The reply's message (every argument already checked by the caller)."""
    if content == "" and (calls or refusal is not None):
        content = None  # Rule 2: streamed and unstreamed replies agree
    message = _new(AssistantMessage)
    _set(message, "content", content)
    _set(message, "tool_calls", calls)
    _set(message, "refusal", refusal)
    _set(message, "name", name)
    _set(message, "role", "assistant")
    return message


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
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
            body = json.loads(body)
        except ValueError:
            raise _malformed("the body is not JSON", body) from None
    if type(body) is not dict and not isinstance(body, Mapping):
        raise _malformed("the body is not a JSON object", body)
    choices = body.get("choices")
    if type(choices) is not list:
        raise _malformed("no 'choices' list", body)
    if not choices:
        raise _malformed("'choices' is empty: the server returned no completion", body)
    choice = choices[0]
    if len(choices) > 1 or type(choice) is not dict or choice.get("index", 0) != 0:
        choice = next((c for c in choices if isinstance(c, Mapping) and c.get("index", 0) == 0), choice)
    message = choice.get("message") if isinstance(choice, Mapping) else None
    if type(message) is not dict and not isinstance(message, Mapping):
        raise _malformed("choice 0 has no 'message' object", choice)
    try:
        content = message.get("content")
        if content is not None and type(content) is not str:
            content = _text(content, "$.choices[0].message.content")
        raw_calls = message.get("tool_calls") or []
        if not isinstance(raw_calls, list):
            raise _malformed("'tool_calls' is not a list", raw_calls)
        calls = []
        for i, raw in enumerate(raw_calls):
            if not isinstance(raw, Mapping):
                raise _malformed("a tool call is not an object", raw)
            function = raw.get("function")
            if not isinstance(function, Mapping):
                raise _malformed("a tool call has no 'function' object", raw)
            call_id = raw.get("id")
            calls.append(
                ToolCallRequest(
                    id=call_id if isinstance(call_id, str) and call_id else f"call_{i}",
                    name=_opt_str(function, "name") or "",
                    arguments=_arguments(function.get("arguments")),
                )
            )
        finish = choice.get("finish_reason")
        return _fast_reply(
            _reply_message(content, tuple(calls), _opt_str(message, "refusal"), _opt_str(message, "name")),
            _usage(body.get("usage")),
            finish if type(finish) is str else "unknown",
            _opt_str(body, "model"),
            _opt_str(body, "id"),
        )
    except DecodeError as exc:
        raise _malformed(str(exc)) from None


def _usage_to_wire(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _head(reply: ModelReply, obj: str, created: int | None) -> dict[str, Any]:
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
        message["tool_calls"] = [_call_to_wire(c) for c in m.tool_calls]
    if m.name is not None:
        message["name"] = m.name
    body = _head(reply, "chat.completion", created)
    body["choices"] = [
        {"index": 0, "message": message, "finish_reason": reply.finish_reason, "logprobs": None}
    ]
    body["usage"] = _usage_to_wire(reply.usage)
    return body


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def to_openai_chunks(
    reply: ModelReply,
    *,
    size: int = 8,
    interleave: bool = False,
    include_usage: bool = True,
    created: int | None = None,
) -> tuple[dict[str, Any], ...]:
    """Encode a reply as the ``chat.completion.chunk`` objects a server would stream.

    The shape follows OpenAI: a first chunk with the role, text and arguments
    in pieces of ``size`` characters, each tool call opened by a chunk with
    its id and name, a chunk with the finish reason, and (with
    ``include_usage``) a last chunk with no choices and the usage. With
    ``interleave`` the argument pieces of parallel tool calls alternate, as
    some servers send them. The ``data: [DONE]`` line is not a chunk and is
    not included.

    >>> import tower_llm_fx as fx
    >>> chunks = to_openai_chunks(fx.ModelReply(message=fx.assistant("Hello!")), size=3)
    >>> [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    ['', 'Hel', 'lo!', None]
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    m = reply.message
    head = _head(reply, "chat.completion.chunk", created)

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            **head,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    first: dict[str, Any] = {"role": "assistant", "content": None if m.content is None else ""}
    if m.name is not None:
        first["name"] = m.name
    chunks = [chunk(first)]
    if m.content:
        chunks.extend(chunk({"content": p}) for p in _pieces(m.content, size))
    if m.refusal is not None:
        chunks.extend(chunk({"refusal": p}) for p in _pieces(m.refusal, size))
    fragments: list[list[dict[str, Any]]] = []
    for i, call in enumerate(m.tool_calls):
        opening = {
            "index": i,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        rest = [{"index": i, "function": {"arguments": p}} for p in _pieces(call.arguments, size) if p]
        fragments.append([opening, *rest])
    if interleave:
        longest = max((len(f) for f in fragments), default=0)
        order = [f[k] for k in range(longest) for f in fragments if k < len(f)]
    else:
        order = [piece for f in fragments for piece in f]
    chunks.extend(chunk({"tool_calls": [piece]}) for piece in order)
    chunks.append(chunk({}, reply.finish_reason))
    if include_usage:
        chunks.append({**head, "choices": [], "usage": _usage_to_wire(reply.usage)})
    return tuple(chunks)


@final
class _Call:
    __slots__ = ("id", "name", "parts")

    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name
        self.parts: list[str] = []


@final
class OpenAIStream:
    """Fold a stream of ``chat.completion.chunk`` objects into events and a reply.

    A sans-io state machine, like ``h11.Connection``: feed it the ``data`` of
    each server-sent event in order with `feed` (or already-parsed chunks
    with `feed_chunk`); each call returns the streaming events that chunk
    produced (`TokenDelta`, `RefusalDelta`, `ToolCallStarted`,
    `ToolCallArgumentsDelta`, stamped with ``step``). After ``data: [DONE]``,
    `reply` returns the aggregated ``ModelReply``, equal to what
    `from_openai_response` gives for the same completion unstreamed.

    Tool-call fragments are matched by their ``index``, so parallel calls may
    interleave; the usage comes from whichever chunk carries it (the last one,
    with ``stream_options.include_usage``).

    >>> import tower_llm_fx as fx, json
    >>> stream = OpenAIStream(step=1)
    >>> for chunk in to_openai_chunks(fx.ModelReply(message=fx.assistant("Hi there")), size=4):
    ...     for event in stream.feed(json.dumps(chunk)):
    ...         print(event)
    TokenDelta(step=1, text='Hi t')
    TokenDelta(step=1, text='here')
    >>> stream.feed("[DONE]")
    ()
    >>> stream.reply().message.content
    'Hi there'
    """

    __slots__ = (
        "_calls",
        "_chunks",
        "_content",
        "_done",
        "_finish",
        "_id",
        "_model",
        "_name",
        "_refusal",
        "_step",
        "_usage",
    )

    def __init__(self, *, step: int = 1) -> None:
        if type(step) is not int or step < 1:
            raise ValueError(f"step must be a positive int (steps count from 1), got {step!r}")
        self._step = step
        self._chunks = 0
        self._done = False
        self._content: list[str] | None = None
        self._refusal: list[str] | None = None
        self._calls: dict[int, _Call] = {}
        self._finish: str | None = None
        self._usage = _NO_USAGE
        self._id: str | None = None
        self._model: str | None = None
        self._name: str | None = None

    @property
    def done(self) -> bool:
        """Whether ``data: [DONE]`` was fed."""
        return self._done

    @property
    def chunks(self) -> int:
        """How many chunks were fed so far."""
        return self._chunks

    def feed(self, data: str, *, event: str | None = None) -> tuple[RunEvent, ...]:
        """Feed the ``data`` of one server-sent event (``event`` is its ``event:`` field).

        Raises:
            MalformedResponse: the data is not JSON, or not a chunk object.
            ProviderError: the server sent an error object in the stream
                (the subclass says what kind).
        """
        if self._done:
            return ()
        if data == "[DONE]":
            self._done = True
            return ()
        try:
            chunk = json.loads(data)
        except ValueError:
            raise MalformedResponse(
                f"stream chunk #{self._chunks + 1} is not valid JSON: {_clip(repr(data))}; the stream "
                "is corrupt (a proxy that rewrites responses, or not an OpenAI-compatible server?)"
            ) from None
        if not isinstance(chunk, dict):
            raise _malformed(f"stream chunk #{self._chunks + 1} is not an object", chunk)
        if event == "error" or "error" in chunk:
            raise _stream_error(chunk.get("error", chunk))
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: Mapping[str, Any]) -> tuple[RunEvent, ...]:
        """Feed one parsed chunk object; see `feed`."""
        self._chunks += 1
        if self._id is None:
            self._id = _opt_str(chunk, "id")
        if self._model is None:
            self._model = _opt_str(chunk, "model")
        usage = chunk.get("usage")
        if usage is not None:
            self._usage = _usage(usage)
        choices = chunk.get("choices")
        if not choices:
            return ()
        if not isinstance(choices, list):
            raise _malformed("'choices' in a chunk is not a list", chunk)
        events: list[RunEvent] = []
        step = self._step
        for choice in choices:
            if not isinstance(choice, Mapping):
                raise _malformed("a choice in a chunk is not an object", choice)
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if delta:
                if not isinstance(delta, Mapping):
                    raise _malformed("'delta' is not an object", choice)
                content = delta.get("content")
                if content is not None:
                    if not isinstance(content, str):
                        raise _malformed("'delta.content' is not a string", delta)
                    if self._content is None:
                        self._content = []
                    if content:
                        self._content.append(content)
                        events.append(_fast_text(TokenDelta, step, content))
                refusal = delta.get("refusal")
                if refusal is not None:
                    if not isinstance(refusal, str):
                        raise _malformed("'delta.refusal' is not a string", delta)
                    if self._refusal is None:
                        self._refusal = []
                    if refusal:
                        self._refusal.append(refusal)
                        events.append(_fast_text(RefusalDelta, step, refusal))
                name = delta.get("name")
                if isinstance(name, str) and self._name is None:
                    self._name = name
                tool_calls = delta.get("tool_calls")
                if tool_calls:
                    self._tool_calls(tool_calls, events)
            finish = choice.get("finish_reason")
            if isinstance(finish, str):
                self._finish = finish
        return tuple(events)

    def _tool_calls(self, fragments: Any, events: list[RunEvent]) -> None:
        if not isinstance(fragments, list):
            raise _malformed("'delta.tool_calls' is not a list", fragments)
        calls = self._calls
        step = self._step
        for fragment in fragments:
            if not isinstance(fragment, Mapping):
                raise _malformed("a tool-call fragment is not an object", fragment)
            index = fragment.get("index")
            frag_id = fragment.get("id")
            if type(index) is not int or index < 0:
                # Some servers omit the index: a new id opens a new call, otherwise
                # the fragment continues the last one.
                known = any(c.id == frag_id for c in calls.values())
                if not calls:
                    index = 0
                else:
                    index = max(calls) + 1 if isinstance(frag_id, str) and not known else max(calls)
            function = fragment.get("function") or {}
            if not isinstance(function, Mapping):
                raise _malformed("'function' in a tool-call fragment is not an object", fragment)
            call = calls.get(index)
            if call is None:
                name = function.get("name")
                call = _Call(
                    frag_id if isinstance(frag_id, str) and frag_id else f"call_{index}",
                    name if isinstance(name, str) else "",
                )
                calls[index] = call
                events.append(ToolCallStarted(step=step, index=index, id=call.id, name=call.name))
            else:
                if not call.name:
                    name = function.get("name")
                    if isinstance(name, str):
                        call.name = name
            arguments = function.get("arguments")
            if arguments:
                text = _arguments(arguments)
                call.parts.append(text)
                events.append(ToolCallArgumentsDelta(step=step, index=index, id=call.id, text=text))

    def reply(self) -> ModelReply:
        """The aggregated reply.

        Raises:
            StreamInterrupted: ``data: [DONE]`` has not been fed: the stream was cut.
        """
        if not self._done:
            raise StreamInterrupted(
                f"the stream ended after {self._chunks} chunk(s) without 'data: [DONE]': the reply is "
                f"incomplete ({self._progress()}); the model call failed and may be retried",
                retryable=True,
            )
        calls = tuple(
            ToolCallRequest(id=c.id, name=c.name, arguments="".join(c.parts))
            for _, c in sorted(self._calls.items())
        )
        return _fast_reply(
            _reply_message(
                None if self._content is None else "".join(self._content),
                calls,
                None if self._refusal is None else "".join(self._refusal),
                self._name,
            ),
            self._usage,
            self._finish if self._finish is not None else "unknown",
            self._model,
            self._id,
        )

    def _progress(self) -> str:
        text = sum(len(p) for p in self._content or ())
        return f"{text} characters of text and {len(self._calls)} tool call(s) received"


# --------------------------------------------------------------------------- errors

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_FULL = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text: str) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"`` or a bare number of seconds."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        if not _DURATION_FULL.match(text):
            return None
        value = sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(text))
    return value if math.isfinite(value) and value >= 0 else None


def retry_after_from_headers(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait before retrying, or ``None`` if it does not say.

    Looks at, in order: ``retry-after-ms``; ``retry-after`` (seconds, or an
    HTTP date, which needs ``now`` as a Unix timestamp); and OpenAI's
    ``x-ratelimit-reset-requests`` / ``x-ratelimit-reset-tokens`` (``"6m0s"``),
    preferring the limit whose ``x-ratelimit-remaining-*`` is ``0``, otherwise
    the sooner reset. Header names are matched case-insensitively.

    >>> retry_after_from_headers({"Retry-After": "3"})
    3.0
    >>> retry_after_from_headers({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1m30s",
    ...                           "x-ratelimit-remaining-requests": "9", "x-ratelimit-reset-requests": "20ms"})
    90.0
    """
    h = {k.lower(): val for k, val in headers.items()}
    ms = h.get("retry-after-ms")
    if ms is not None:
        value = _duration(ms)
        if value is not None:
            return value / 1000.0
    after = h.get("retry-after")
    if after is not None:
        value = _duration(after)
        if value is not None:
            return value
        if now is not None:
            try:
                when = email.utils.parsedate_to_datetime(after)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(0.0, when.timestamp() - now)
    resets: dict[str, float] = {}
    for kind in ("requests", "tokens"):
        raw = h.get(f"x-ratelimit-reset-{kind}")
        value = _duration(raw) if raw is not None else None
        if value is not None:
            resets[kind] = value
    if not resets:
        return None
    exhausted = [resets[k] for k in resets if h.get(f"x-ratelimit-remaining-{k}", "").strip() == "0"]
    return max(exhausted) if exhausted else min(resets.values())


_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{3,}|Bearer\s+\S+)")


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_LIKE.sub(lambda m: "Bearer ***" if m.group(0).startswith("Bearer") else "sk-***", text)


def _error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, code, param) from the error bodies servers send."""
    data: Any = body
    if isinstance(body, (bytes, str)):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            data = json.loads(text)
        except ValueError:
            return (_clip(text.strip(), 1000) or None, None, None)
    if not isinstance(data, Mapping):
        return (_clip(json.dumps(data)), None, None) if data is not None else (None, None, None)
    err = data.get("error", data)
    if isinstance(err, str):
        return err, None, None
    if not isinstance(err, Mapping):
        return _clip(json.dumps(err, default=str)), None, None
    message = err.get("message", err.get("detail"))
    if message is not None and not isinstance(message, str):
        message = json.dumps(message, default=str)
    code = err.get("code")
    if not isinstance(code, str):
        kind = err.get("type")
        code = kind if isinstance(kind, str) else None
    param = err.get("param")
    return message, code, param if isinstance(param, str) else None


def from_openai_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes | str | Mapping[str, Any] | None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    now: float | None = None,
    redact: Iterable[str] = (),
) -> ProviderError:
    """The exception for a failed HTTP response; the caller raises it.

    The message says what went wrong and what to do, quotes the server's own
    message (also kept as ``provider_message``), and ends with the request id.
    Anything that looks like an API key, and every string in ``redact``, is
    replaced by ``***``.

    ================  ==========================  =========
    status            exception                   retryable
    ================  ==========================  =========
    400, 422, 4xx     `BadRequestError`            no
    401, 403          `AuthenticationError`        no
    404               `NotFoundError`              no
    408               `ProviderTimeoutError`       yes
    409               `ConflictError`              yes
    429               `RateLimitError`             yes, except ``insufficient_quota``
    5xx               `ServerError`                yes
    ================  ==========================  =========

    >>> err = from_openai_error(429, {"retry-after": "2", "x-request-id": "req_1"},
    ...                         b'{"error": {"message": "Slow down", "type": "requests", "code": "rate_limit_exceeded"}}')
    >>> type(err).__name__, err.retry_after, err.retryable, err.code, err.request_id
    ('RateLimitError', 2.0, True, 'rate_limit_exceeded', 'req_1')
    """
    h = {k.lower(): val for k, val in headers.items()}
    secrets = tuple(redact)
    raw_message, code, param = _error_fields(body)
    server = _redact(raw_message, secrets) if raw_message else None
    request_id = h.get("x-request-id") or h.get("request-id") or h.get("apim-request-id")
    retry_after = retry_after_from_headers(h, now=now)
    said = f" The server said: {server}" if server else " The server gave no message."
    if param:
        said += f" (parameter {param!r})"
    tail = f" [request id {request_id}]" if request_id else ""
    what = f"model {model!r}" if model else "the model"
    code_part = f", {code}" if code else ""
    cls: type[ProviderError]
    retryable = False
    if status == 401 or status == 403:
        cls = AuthenticationError
        advice = (
            "authentication failed (HTTP 401): check the API key: pass openai(api_key=...) or set "
            "OPENAI_API_KEY (for Azure-style servers pass headers={'api-key': ...})."
            if status == 401
            else f"permission denied (HTTP 403): the API key was accepted but may not use {what}; "
            "check that the key belongs to the right organization and project, and its permissions."
        )
    elif status == 404:
        cls = NotFoundError
        where = f" ({base_url})" if base_url else ""
        advice = (
            f"not found (HTTP 404{code_part}): {what} does not exist or this key cannot use it, or the "
            f"base_url{where} is not an OpenAI-compatible API (most base URLs end in /v1)."
        )
    elif status == 408:
        cls, retryable = ProviderTimeoutError, True
        advice = "the server timed out waiting for the request (HTTP 408); retrying may succeed."
    elif status == 409:
        cls, retryable = ConflictError, True
        advice = f"conflict (HTTP 409{code_part}): a conflicting request was in flight; retrying may succeed."
    elif status == 429:
        cls = RateLimitError
        if code == "insufficient_quota":
            advice = (
                "out of quota (HTTP 429, insufficient_quota): the account has no credit left or hit its "
                "spending limit; retrying will not help until that is fixed."
            )
        else:
            retryable = True
            wait = f" The server asks to wait {retry_after:g}s." if retry_after is not None else ""
            advice = f"rate limited (HTTP 429{code_part}): too many requests or tokens; slow down.{wait}"
    elif 500 <= status <= 599:
        cls, retryable = ServerError, True
        advice = f"the server failed (HTTP {status}{code_part}); retrying later may succeed."
    elif 400 <= status <= 499:
        cls = BadRequestError
        advice = f"the server rejected the request for {what} (HTTP {status}{code_part})."
    else:
        cls = ProviderError
        advice = f"unexpected HTTP status {status} from the model server."
    return cls(
        advice + said + tail,
        status=status,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
        retryable=retryable,
        provider_message=server,
    )


_STREAM_ERRORS: dict[str, type[ProviderError]] = {
    "invalid_request_error": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": AuthenticationError,
    "not_found_error": NotFoundError,
    "rate_limit_exceeded": RateLimitError,
    "rate_limit_error": RateLimitError,
    "requests": RateLimitError,
    "tokens": RateLimitError,
}


def _stream_error(err: Any) -> ProviderError:
    message, code, _param = _error_fields({"error": err})
    kind = err.get("type") if isinstance(err, Mapping) else None
    cls = _STREAM_ERRORS.get(code or "") or _STREAM_ERRORS.get(kind if isinstance(kind, str) else "")
    cls = cls or ServerError
    server = _redact(message, ()) if message else None
    return cls(
        f"the server sent an error in the middle of the stream ({code or kind or 'no code'}): "
        f"{server or 'no message'}",
        code=code,
        retryable=cls in (ServerError, RateLimitError),
        provider_message=server,
    )
