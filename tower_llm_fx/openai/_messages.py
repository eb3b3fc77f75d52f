"""The OpenAI chat-completions wire format: messages, content parts and tools; the codec's overview.

Theory of operation (the sans-io split of h11 and gidgethub): everything that
knows what the JSON looks like lives in pure modules, as pure functions and
one small state machine; ``interpreters.openai`` only moves bytes. So the
codec is tested without a server, and a recorded body decodes the same way
forever. Each module holds one concept and its docstring states its rule:

* ``_messages`` (this module): `to_openai_message` / `from_openai_message`
  convert one message in each direction, parts included; `to_openai_tool`
  encodes a tool spec.
* ``_request``: `to_openai_request` / `from_openai_request`, the request body.
* ``_reply``: `from_openai_response` / `to_openai_response`, the
  ``chat.completion`` body, and the helpers both reply decoders share.
* ``_stream``: `OpenAIStream` folds ``chat.completion.chunk`` objects into
  streaming events and the same ``ModelReply``; `to_openai_chunks` encodes a
  reply as such a stream. Rule 2: a streamed and a non-streamed reply decode
  to equal values.
* ``_errors``: failed HTTP responses, errors inside a stream, malformed replies.
* ``_extra``: keys the codec does not name. Rule 1: nothing a user or a server
  gave us is dropped; every object keeps its unknown keys in an ``extra``.
* ``_dialects``: what each OpenAI-compatible provider needs sent back.

Messages: for every message ``m``, ``from_openai_message(to_openai_message(m))
== m``, and for every well-formed wire message ``w``,
``to_openai_message(from_openai_message(w)) == w`` up to these
normalisations, the only ones the codec makes (the request and reply modules
list theirs):

- a key whose value is ``null`` means the same as an absent key, except an
  assistant's ``content``, which is always written (``null`` when ``None``);
- ``"tool_calls": []`` decodes like an absent ``tool_calls``;
- a tool call or a tool without ``"type"`` decodes as ``"function"`` (and is
  written with it);
- a tool without ``parameters`` gets the empty object schema.

Content is a string or a list of parts. Known parts (``text``, ``image_url``,
``input_audio``, ``file``) decode to typed parts when their shape is the
documented one; any other part (``video_url``, ``document_url``, Mistral's
``thinking``, or a known type in an unusual shape) is an ``OtherPart`` kept
verbatim. The reasoning fields of an assistant message (``reasoning_content``,
``reasoning``, ``reasoning_details``) become its ``Reasoning``. Roles the
library cannot represent (the legacy ``function``) raise ``DecodeError``
naming the path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tower_llm_fx._content import (
    AudioPart,
    ContentPart,
    FilePart,
    ImagePart,
    OtherPart,
    TextPart,
)
from tower_llm_fx._json import canonical_json
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
from tower_llm_fx._serde import DecodeError
from tower_llm_fx._tools import ToolSpec

from ._extra import extra_text, merge_extra, split_extra

__all__ = ["from_openai_message", "to_openai_message", "to_openai_tool"]

REASONING_KEYS = ("reasoning_content", "reasoning", "reasoning_details")

# --------------------------------------------------------------------------- parts


def part_to_wire(part: ContentPart) -> dict[str, Any]:
    t = type(part)
    out: dict[str, Any]
    if t is TextPart:
        assert isinstance(part, TextPart)
        out = {"type": "text", "text": part.text}
    elif t is ImagePart:
        assert isinstance(part, ImagePart)
        inner: dict[str, Any] = {"url": part.url}
        if part.detail is not None:
            inner["detail"] = part.detail
        out = {"type": "image_url", "image_url": inner}
    elif t is AudioPart:
        assert isinstance(part, AudioPart)
        out = {"type": "input_audio", "input_audio": {"data": part.data, "format": part.format}}
    elif t is FilePart:
        assert isinstance(part, FilePart)
        inner = {}
        if part.file_id is not None:
            inner["file_id"] = part.file_id
        if part.data is not None:
            inner["file_data"] = part.data
        if part.filename is not None:
            inner["filename"] = part.filename
        out = {"type": "file", "file": inner}
    elif t is OtherPart:
        assert isinstance(part, OtherPart)
        out = {"type": part.kind}
    else:
        raise TypeError(f"not a content part: {t.__name__}")
    return merge_extra(out, part.extra, f"a {t.__name__}")


def content_to_wire(content: str | tuple[ContentPart, ...]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return [part_to_wire(p) for p in content]


_TEXT_KEYS = frozenset({"type", "text"})
_IMAGE_KEYS = frozenset({"url", "detail"})
_AUDIO_KEYS = frozenset({"data", "format"})
_FILE_KEYS = frozenset({"file_id", "file_data", "filename"})


def _other(kind: str, data: Mapping[str, Any]) -> OtherPart:
    return OtherPart(kind=kind, extra=extra_text(split_extra(data, {"type"})))


def _inner(data: Mapping[str, Any], key: str, allowed: frozenset[str]) -> dict[str, Any] | None:
    """The nested object of a known part, if its shape is the documented one."""
    inner = data.get(key)
    if not isinstance(inner, Mapping):
        return None
    present = {k: v for k, v in inner.items() if v is not None}
    if not set(present) <= allowed or not all(isinstance(v, str) for v in present.values()):
        return None
    return present


def part_from_wire(data: Any, path: str) -> ContentPart:
    """Decode one content part (total for objects with a string ``type``)."""
    if not isinstance(data, Mapping):
        raise DecodeError(path, f"a content part must be an object, got {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise DecodeError(f"{path}.type", "a content part needs a string 'type'")
    if kind == "text":
        text = data.get("text")
        if isinstance(text, str):
            return TextPart(text=text, extra=extra_text(split_extra(data, _TEXT_KEYS)))
    elif kind == "image_url":
        inner = _inner(data, "image_url", _IMAGE_KEYS)
        if inner is not None and "url" in inner:
            return ImagePart(
                url=inner["url"],
                detail=inner.get("detail"),
                extra=extra_text(split_extra(data, {"type", "image_url"})),
            )
    elif kind == "input_audio":
        inner = _inner(data, "input_audio", _AUDIO_KEYS)
        if inner is not None and "data" in inner and "format" in inner:
            return AudioPart(
                data=inner["data"],
                format=inner["format"],
                extra=extra_text(split_extra(data, {"type", "input_audio"})),
            )
    elif kind == "file":
        inner = _inner(data, "file", _FILE_KEYS)
        if inner is not None and ("file_id" in inner or "file_data" in inner):
            return FilePart(
                file_id=inner.get("file_id"),
                data=inner.get("file_data"),
                filename=inner.get("filename"),
                extra=extra_text(split_extra(data, {"type", "file"})),
            )
    return _other(kind, data)


def content_from_wire(value: Any, path: str) -> str | tuple[ContentPart, ...]:
    """Content: a string, or a list of parts."""
    if type(value) is str:
        return value
    if isinstance(value, list):
        return tuple(part_from_wire(p, f"{path}[{i}]") for i, p in enumerate(value))
    raise DecodeError(
        path, f"content must be a string or a list of content parts, got {type(value).__name__}"
    )


# --------------------------------------------------------------------------- reasoning


def reasoning_text(raw: Mapping[str, Any]) -> str | None:
    """The readable text of a provider's reasoning fields, if they hold one."""
    for key in ("reasoning_content", "reasoning"):
        value = raw.get(key)
        if isinstance(value, str):
            return value
    details = raw.get("reasoning_details")
    if isinstance(details, list):
        pieces = [
            d.get("text") if isinstance(d.get("text"), str) else d.get("summary")
            for d in details
            if isinstance(d, Mapping)
        ]
        texts = [p for p in pieces if isinstance(p, str)]
        if texts:
            return "".join(texts)
    return None


def reasoning_from(data: Mapping[str, Any]) -> Reasoning | None:
    raw = {k: data[k] for k in REASONING_KEYS if data.get(k) is not None}
    if not raw:
        return None
    return Reasoning(text=reasoning_text(raw), raw=canonical_json(raw))


# --------------------------------------------------------------------------- messages


def call_to_wire(call: ToolCallRequest) -> dict[str, Any]:
    out = {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
    if call.extra is not None:
        merge_extra(out, call.extra, f"tool call {call.id!r}")
    return out


def to_openai_message(message: Message) -> dict[str, Any]:
    """Encode one message as an OpenAI request message (canonical form).

    Raises:
        ConfigurationError: an ``extra`` sets a key the message already sets.

    >>> from tower_llm_fx import assistant, ToolCallRequest
    >>> to_openai_message(assistant(None, ToolCallRequest(id="c1", name="add", arguments="{}")))
    {'role': 'assistant', 'content': None, 'tool_calls': [{'id': 'c1', 'type': 'function', 'function': {'name': 'add', 'arguments': '{}'}}]}
    """
    t = type(message)
    out: dict[str, Any]
    if t is UserMessage or t is SystemMessage or t is DeveloperMessage:
        assert isinstance(message, (UserMessage, SystemMessage, DeveloperMessage))
        out = {"role": message.role, "content": content_to_wire(message.content)}
        if message.name is not None:
            out["name"] = message.name
    elif t is AssistantMessage:
        assert isinstance(message, AssistantMessage)
        c = message.content
        out = {"role": "assistant", "content": None if c is None else content_to_wire(c)}
        if message.tool_calls:
            out["tool_calls"] = [call_to_wire(c) for c in message.tool_calls]
        if message.refusal is not None:
            out["refusal"] = message.refusal
        if message.name is not None:
            out["name"] = message.name
        if message.reasoning is not None and message.reasoning.raw is not None:
            merge_extra(out, message.reasoning.raw, "an assistant message's reasoning")
    elif t is ToolMessage:
        assert isinstance(message, ToolMessage)
        out = {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": content_to_wire(message.content),
        }
    else:
        raise TypeError(f"to_openai_message() takes a message, got {t.__name__}")
    if message.extra is not None:
        merge_extra(out, message.extra, f"a {message.role} message")
    return out


_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "tool_calls", "refusal", "name", *REASONING_KEYS}),
    "tool": frozenset({"role", "tool_call_id", "content"}),
}


def _str_at(data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise DecodeError(f"{path}.{key}", "is missing")
        return None
    if not isinstance(value, str):
        raise DecodeError(f"{path}.{key}", f"must be a string, got {type(value).__name__}")
    return value


_CALL_KEYS = frozenset({"id", "type", "function"})
_FUNCTION_KEYS = frozenset({"name", "arguments"})


def call_extra(data: Mapping[str, Any], function: Mapping[str, Any]) -> str | None:
    """The unknown keys of a wire tool call (those of its ``function`` nested)."""
    extra = split_extra(data, _CALL_KEYS)
    inner = split_extra(function, _FUNCTION_KEYS)
    if inner:
        extra = {**(extra or {}), "function": inner}
    return extra_text(extra)


def _call_from_wire(data: Any, path: str) -> ToolCallRequest:
    if not isinstance(data, Mapping):
        raise DecodeError(path, f"a tool call must be an object, got {type(data).__name__}")
    kind = data.get("type")
    if kind is not None and kind != "function":
        raise DecodeError(
            f"{path}.type", f"only function tool calls can be represented, got {kind!r}; nothing was dropped"
        )
    function = data.get("function")
    if not isinstance(function, Mapping):
        raise DecodeError(f"{path}.function", "is missing or not an object")
    return ToolCallRequest(
        id=_str_at(data, "id", path),
        name=_str_at(function, "name", f"{path}.function"),
        arguments=_str_at(function, "arguments", f"{path}.function"),
        extra=call_extra(data, function),
    )


def from_openai_message(data: Mapping[str, Any], *, path: str = "$") -> Message:
    """Decode one OpenAI request message; the inverse of `to_openai_message`.

    See the module docstring for the normalisations. Keys the codec does not
    name go to the message's ``extra``.

    Raises:
        DecodeError: a role the library cannot represent, a missing or
            mistyped field (the path says where).

    >>> from_openai_message({"role": "user", "content": [{"type": "text", "text": "hi"}]})
    UserMessage(content=(TextPart(text='hi'),), name=None)
    """
    if not isinstance(data, Mapping):
        raise DecodeError(path, f"a message must be an object, got {type(data).__name__}")
    role = data.get("role")
    allowed = _KEYS.get(role) if isinstance(role, str) else None
    if allowed is None:
        hint = " (the legacy function role: send it as a tool message)" if role == "function" else ""
        raise DecodeError(f"{path}.role", f"role {role!r} is not supported{hint}")
    extra = extra_text(split_extra(data, allowed))
    if role == "assistant":
        content = data.get("content")
        refusal = data.get("refusal")
        calls = data.get("tool_calls") or []
        if not isinstance(calls, list):
            raise DecodeError(f"{path}.tool_calls", "must be a list")
        return AssistantMessage(
            content=None if content is None else content_from_wire(content, f"{path}.content"),
            tool_calls=tuple(_call_from_wire(c, f"{path}.tool_calls[{i}]") for i, c in enumerate(calls)),
            refusal=None if refusal is None else _str_at(data, "refusal", path),
            name=_str_at(data, "name", path, required=False),
            reasoning=reasoning_from(data),
            extra=extra,
        )
    if data.get("content") is None:
        raise DecodeError(f"{path}.content", "is missing")
    content = content_from_wire(data["content"], f"{path}.content")
    if role == "tool":
        return ToolMessage(tool_call_id=_str_at(data, "tool_call_id", path), content=content, extra=extra)
    name = _str_at(data, "name", path, required=False)
    if role == "user":
        return UserMessage(content=content, name=name, extra=extra)
    if role == "developer":
        return DeveloperMessage(content=content, name=name, extra=extra)
    return SystemMessage(content=content, name=name, extra=extra)


# --------------------------------------------------------------------------- tools


def to_openai_tool(spec: ToolSpec) -> dict[str, Any]:
    """Encode a tool spec as an OpenAI function tool.

    ``description`` is left out when empty and ``strict`` when false, as the
    API's defaults mean the same; ``spec.extra`` is merged in.

    >>> from tower_llm_fx import ToolSpec
    >>> to_openai_tool(ToolSpec(name="now", parameters={"type": "object"}))
    {'type': 'function', 'function': {'name': 'now', 'parameters': {'type': 'object'}}}
    """
    function: dict[str, Any] = {"name": spec.name}
    if spec.description:
        function["description"] = spec.description
    function["parameters"] = json.loads(spec.parameters)
    if spec.strict:
        function["strict"] = True
    out = {"type": "function", "function": function}
    if spec.extra is not None:
        merge_extra(out, spec.extra, f"tool {spec.name!r}")
    return out


_TOOL_KEYS = frozenset({"type", "function"})
_TOOL_FUNCTION_KEYS = frozenset({"name", "description", "parameters", "strict"})


def tool_from_wire(data: Any, path: str) -> ToolSpec | str:
    """A function tool as a `ToolSpec`; any other tool (a provider's own, like
    ``{"type": "openrouter:web_search"}``) as its canonical JSON text."""
    if not isinstance(data, Mapping):
        raise DecodeError(path, f"a tool must be an object, got {type(data).__name__}")
    kind = data.get("type")
    if kind is not None and kind != "function":
        if not isinstance(kind, str):
            raise DecodeError(f"{path}.type", "must be a string")
        return canonical_json(data)
    function = data.get("function")
    if not isinstance(function, Mapping):
        raise DecodeError(f"{path}.function", "is missing or not an object")
    extra = split_extra(data, _TOOL_KEYS) or {}
    inner = split_extra(function, _TOOL_FUNCTION_KEYS) or {}
    # Values the encoder would leave out (the API's defaults) are kept so they come back.
    if function.get("strict") is False:
        inner["strict"] = False
    if function.get("description") == "":
        inner["description"] = ""
    if inner:
        extra["function"] = inner
    kwargs: dict[str, Any] = {"name": function.get("name"), "description": function.get("description") or ""}
    if function.get("parameters") is not None:
        kwargs["parameters"] = function["parameters"]
    if function.get("strict") is True:
        kwargs["strict"] = True
    try:
        return ToolSpec(**kwargs, extra=extra or None)
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"{path}.function", str(exc)) from None
