"""Check wire JSON against the official ``openai`` package's types (dev-only reference).

The ``openai`` package is the authority on the chat-completions format here:

* `check_request_body` walks a request body through the
  ``openai.types.chat.completion_create_params`` TypedDicts *strictly*:
  unknown keys, missing required keys and wrong types are all errors.
* `check_response_body` / `check_chunk` parse a response body or a stream
  chunk with the pydantic models ``ChatCompletion`` / ``ChatCompletionChunk``.
"""

from __future__ import annotations

import collections.abc
import functools
import types
import typing
from typing import Any, NotRequired, Required

from openai.types.chat import ChatCompletion, ChatCompletionChunk, completion_create_params
from typing_extensions import is_typeddict

__all__ = ["WireMismatch", "check_chunk", "check_request_body", "check_response_body"]


class WireMismatch(AssertionError):
    """A body does not match the official type; the message names the path."""


_LISTS = {list, collections.abc.Iterable, collections.abc.Sequence}
_DICTS = {dict, collections.abc.Mapping}


@functools.cache
def _hints(td: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(td)


@functools.cache
def _required(td: type[Any]) -> frozenset[str]:
    # The openai package writes ``Required[...]`` in postponed (string)
    # annotations, which ``__required_keys__`` does not see: read the markers.
    marked = typing.get_type_hints(td, include_extras=True)
    required = set(td.__required_keys__)
    for key, hint in marked.items():
        origin = typing.get_origin(hint)
        if origin is Required:
            required.add(key)
        elif origin is NotRequired:
            required.discard(key)
    return frozenset(required)


def _check(value: Any, tp: Any, path: str) -> None:
    if tp is Any or tp is object:
        return
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        _check(value, args[0], path)
        return
    if origin is typing.Union or origin is types.UnionType:
        problems = []
        for option in args:
            try:
                _check(value, option, path)
            except WireMismatch as exc:
                problems.append(str(exc))
            else:
                return
        raise WireMismatch(f"{path}: {value!r} matches no option of {tp}:\n  " + "\n  ".join(problems))
    if origin is typing.Literal:
        if value not in args or type(value) is not type(next(a for a in args if a == value)):
            raise WireMismatch(f"{path}: {value!r} is not one of {args}")
        return
    if tp is type(None):
        if value is not None:
            raise WireMismatch(f"{path}: expected null, got {value!r}")
        return
    if tp is str or tp is bool:
        if type(value) is not tp:
            raise WireMismatch(f"{path}: expected {tp.__name__}, got {value!r}")
        return
    if tp is int:
        if type(value) is not int:
            raise WireMismatch(f"{path}: expected int, got {value!r}")
        return
    if tp is float:
        if type(value) not in (int, float):
            raise WireMismatch(f"{path}: expected a number, got {value!r}")
        return
    if is_typeddict(tp):
        if not isinstance(value, dict):
            raise WireMismatch(f"{path}: expected an object ({tp.__name__}), got {value!r}")
        hints = _hints(tp)
        unknown = set(value) - set(hints)
        if unknown:
            raise WireMismatch(f"{path}: {tp.__name__} has no key(s) {sorted(unknown)}")
        missing = _required(tp) - set(value)
        if missing:
            raise WireMismatch(f"{path}: {tp.__name__} requires key(s) {sorted(missing)}")
        for key, item in value.items():
            _check(item, hints[key], f"{path}.{key}")
        return
    if origin in _LISTS or getattr(origin, "__name__", "") == "SequenceNotStr":
        if not isinstance(value, list):
            raise WireMismatch(f"{path}: expected a list, got {value!r}")
        for i, item in enumerate(value):
            _check(item, args[0] if args else Any, f"{path}[{i}]")
        return
    if origin in _DICTS:
        if not isinstance(value, dict):
            raise WireMismatch(f"{path}: expected an object, got {value!r}")
        for key, item in value.items():
            _check(key, args[0], f"{path}.<key>")
            _check(item, args[1], f"{path}.{key}")
        return
    raise WireMismatch(f"{path}: the checker does not know the type {tp!r}")


def check_request_body(body: dict[str, Any], *, extra: collections.abc.Iterable[str] = ()) -> None:
    """Raise `WireMismatch` unless ``body`` is a valid ``chat.completions.create`` body.

    Keys listed in ``extra`` (server-specific passthrough such as ``top_k``)
    are allowed and not checked.
    """
    extra = set(extra)
    known = {k: v for k, v in body.items() if k not in extra}
    td = (
        completion_create_params.CompletionCreateParamsStreaming
        if body.get("stream")
        else completion_create_params.CompletionCreateParamsNonStreaming
    )
    _check(known, td, "$")


def check_response_body(body: dict[str, Any]) -> ChatCompletion:
    """Parse ``body`` as the official ``ChatCompletion`` (raises on a mismatch)."""
    return ChatCompletion.model_validate(body, strict=False)


def check_chunk(chunk: dict[str, Any]) -> ChatCompletionChunk:
    """Parse ``chunk`` as the official ``ChatCompletionChunk`` (raises on a mismatch)."""
    return ChatCompletionChunk.model_validate(chunk, strict=False)
