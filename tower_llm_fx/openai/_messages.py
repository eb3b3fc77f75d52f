"""The OpenAI chat-completions wire format: messages and tools, and the codec's overview.

Theory of operation (the sans-io split of h11 and gidgethub): everything that
knows what the JSON looks like lives in five pure modules, as pure functions
and one small state machine; ``interpreters.openai`` only moves bytes. So the
codec is tested without a server, and a recorded body decodes the same way
forever. Each module holds one concept and its docstring states its rule:

* ``_messages`` (this module): `to_openai_message` /
  `from_openai_message` convert one message in each direction, and
  `to_openai_tool` encodes a tool spec.
* ``_request``: `to_openai_request` / `from_openai_request`, the
  request body. Rule 1: nothing the caller set is dropped, and an ``extra`` key
  that would say a thing twice raises ``ConfigurationError``.
* ``_reply``: `from_openai_response` / `to_openai_response`, the
  ``chat.completion`` body, and the helpers both reply decoders share.
* ``_stream``: `OpenAIStream` folds ``chat.completion.chunk`` objects
  into streaming events and the same ``ModelReply``; `to_openai_chunks`
  encodes a reply as such a stream. Rule 2: a streamed and a non-streamed
  reply decode to equal values.
* ``_errors``: `from_openai_error` and `retry_after_from_headers` map
  a failed HTTP response to the right ``ProviderError``; errors inside a
  stream and malformed replies are built there too.

Messages: for every message ``m``,
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
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tower_llm_fx._messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from tower_llm_fx._serde import DecodeError
from tower_llm_fx._tools import ToolSpec

__all__ = ["from_openai_message", "to_openai_message", "to_openai_tool"]

# --------------------------------------------------------------------------- messages


def call_to_wire(call: ToolCallRequest) -> dict[str, Any]:
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
            out["tool_calls"] = [call_to_wire(c) for c in message.tool_calls]
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


def text_field(value: Any, path: str) -> str:
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
            content=None if content is None else text_field(content, f"{path}.content"),
            tool_calls=tuple(_call_from_wire(c, f"{path}.tool_calls[{i}]") for i, c in enumerate(calls)),
            refusal=None if refusal is None else _str_at(present, "refusal", path),
            name=_str_at(present, "name", path, required=False),
        )
    if "content" not in present:
        raise DecodeError(f"{path}.content", "is missing")
    content = text_field(present["content"], f"{path}.content")
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
    return {"type": "function", "function": function}


def tool_from_wire(data: Any, path: str) -> ToolSpec:
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
