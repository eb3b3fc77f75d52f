"""OpenAI requests: the body of ``POST /chat/completions``, both ways.

Theory, Rule 1: nothing the caller set is dropped. `to_openai_request` sends
every ``ModelParams`` field under its own name (fields added later are passed
through as they are) and merges ``ModelParams.extra`` into the body. An
``extra`` key that would shadow a named field or a key the codec owns raises
``ConfigurationError``: say a thing in one place. `from_openai_request` turns
a body back into the ``ModelCall``; every key it does not name goes to
``params.extra``, so ``to_openai_request(from_openai_request(b), stream=...)
== b`` for every well-formed body ``b``, up to the normalisations listed in
``_messages`` and these two:

- a ``stop`` given as one string is written as a one-element list;
- ``"stream"`` is the interpreter's business: pass ``stream=`` to
  `to_openai_request`. With ``stream=True`` the codec asks for usage in the
  last chunk (``stream_options: {"include_usage": true}``) unless the call's
  ``extra`` sets ``stream_options`` itself or ``stream_usage=False``; on
  decode exactly that default ``stream_options`` is recognised as the codec's
  and any other value is kept in ``extra``.

Function tools become ``ModelCall.tools``; other tools (a provider's own)
``ModelCall.provider_tools``, written after the function tools. Messages and
tools are encoded by ``_messages``, which also holds the overview of the whole codec.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from tower_llm_fx._effects import ModelCall, ModelParams, ToolChoice
from tower_llm_fx._errors import ConfigurationError
from tower_llm_fx._serde import DecodeError
from tower_llm_fx._tools import ToolSpec

from ._dialects import Dialect
from ._messages import from_openai_message, to_openai_message, to_openai_tool, tool_from_wire
from ._resend import prepare_messages

__all__ = ["from_openai_request", "to_openai_request"]

_PARAM_NAMES: tuple[str, ...] = tuple(f.name for f in attrs.fields(ModelParams) if f.name != "extra")
# Keys the codec writes itself: ``extra`` may not set them.
_OWNED = frozenset({"model", "messages", "tools", "stream"})
_DEFAULT_STREAM_OPTIONS = {"include_usage": True}
_RESERVED = _OWNED | frozenset(_PARAM_NAMES)


def _json(text: str) -> Any:
    return json.loads(text)


_ENCODE: dict[str, Callable[[Any], Any]] = {
    "tool_choice": ToolChoice.to_wire,
    "response_format": _json,
    "metadata": _json,
    "stop": list,
}


def _encode_param(value: Any) -> Any:
    # Fields added to ModelParams after this codec was written: scalars and
    # tuples pass through under the field's own name, so nothing is dropped.
    return list(value) if isinstance(value, tuple) else value


def to_openai_request(
    call: ModelCall, *, stream: bool = False, stream_usage: bool = True, dialect: Dialect | None = None
) -> dict[str, Any]:
    """The request body of ``POST /chat/completions`` for ``call``.

    ``stream=True`` adds ``"stream": true`` and, with ``stream_usage`` and
    unless ``params.extra`` sets ``stream_options``, asks for usage in the
    last chunk (``stream_options.include_usage``). With a ``dialect`` (see
    `dialect`), the history's reasoning is prepared for that provider
    (`prepare_messages`), and usage is asked for only if that provider
    reports it through ``stream_options``.

    Raises:
        ConfigurationError: ``params.extra`` is not a JSON object, or sets a
            key that a named field or the codec already sets.

    >>> import tower_llm_fx as fx
    >>> call = fx.ModelCall(model="gpt-4o-mini", messages=[fx.user("hi")],
    ...                     params=fx.ModelParams(temperature=0.2, extra={"top_k": 5}))
    >>> to_openai_request(call)
    {'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': 'hi'}], 'temperature': 0.2, 'top_k': 5}
    """
    messages = call.messages
    if dialect is not None:
        messages = prepare_messages(messages, dialect)
        stream_usage = stream_usage and dialect.stream_usage == "stream_options"
    body: dict[str, Any] = {
        "model": call.model,
        "messages": [to_openai_message(m) for m in messages],
    }
    if call.tools or call.provider_tools:
        body["tools"] = [to_openai_tool(s) for s in call.tools] + [json.loads(t) for t in call.provider_tools]
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
        if stream_usage and "stream_options" not in body:
            body["stream_options"] = dict(_DEFAULT_STREAM_OPTIONS)
    return body


def from_openai_request(body: Mapping[str, Any]) -> ModelCall:
    """Decode a request body back into the ``ModelCall``; the inverse of `to_openai_request`.

    ``stream`` and the default ``stream_options`` the codec itself adds are
    not kept (how to deliver the reply is the interpreter's business); every
    other key the codec does not name goes to ``params.extra`` (see the module
    docstring for the round trip).

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
        if key == "stream_options" and value == _DEFAULT_STREAM_OPTIONS and body.get("stream") is True:
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
    specs: list[ToolSpec] = []
    others: list[str] = []
    for i, t in enumerate(tools):
        tool = tool_from_wire(t, f"$.tools[{i}]")
        if isinstance(tool, str):
            others.append(tool)
        elif others:
            raise DecodeError(
                f"$.tools[{i}]",
                "a function tool after a provider tool cannot be represented (function tools are "
                "written first); list the function tools first",
            )
        else:
            specs.append(tool)
    return ModelCall(
        model=model,
        messages=tuple(from_openai_message(m, path=f"$.messages[{i}]") for i, m in enumerate(messages)),
        tools=tuple(specs),
        params=params,
        provider_tools=tuple(others),
    )
