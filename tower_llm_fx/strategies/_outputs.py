"""Strategies for structured output: valid JSON for an output type, replies carrying it, bad outputs.

`output_json` draws the plain JSON form of values of ``T`` (what a model
sends), following the same type grammar as ``tower_llm_fx.output.output_spec``;
`output_replies` wraps one in the reply a model gives in each mode, for the
scripted interpreters; `bad_output_texts` draws texts that fail validation.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args, get_origin

import attrs
from hypothesis import strategies as st

from tower_llm_fx import AssistantMessage, ModelReply, ToolCallRequest
from tower_llm_fx.output import FINAL_ANSWER, output_spec

__all__ = ["bad_output_texts", "output_json", "output_replies"]

_TEXT = st.text(max_size=12)


def _json_for(hint: Any) -> st.SearchStrategy[Any]:
    origin = get_origin(hint)
    if origin is typing.Annotated:
        return _json_for(get_args(hint)[0])
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: _TEXT,
        int: st.integers(-(2**53), 2**53),
        float: st.floats(allow_nan=False, allow_infinity=False, width=32),
        bool: st.booleans(),
        None: st.none(),
        type(None): st.none(),
        Any: st.none() | st.booleans() | st.integers() | _TEXT,
    }
    if hint in simple:
        return simple[hint]
    if origin is Literal:
        return st.sampled_from(get_args(hint))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from([m.value for m in hint])
    if origin in (typing.Union, types.UnionType):
        return st.one_of([_json_for(m) for m in get_args(hint)])
    if origin in (list, tuple, set, frozenset, Sequence) or hint in (list, tuple):
        args = get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return st.tuples(*(_json_for(a) for a in args)).map(list)
        item = _json_for(args[0] if args else Any)
        if origin in (set, frozenset):
            return st.lists(item, max_size=3, unique_by=lambda x: json.dumps(x, sort_keys=True))
        return st.lists(item, max_size=3)
    if origin in (dict, Mapping) or hint is dict:
        args = get_args(hint)
        return st.dictionaries(_TEXT, _json_for(args[1] if len(args) == 2 else Any), max_size=3)
    if isinstance(hint, type) and (
        attrs.has(hint) or dataclasses.is_dataclass(hint) or typing.is_typeddict(hint)
    ):
        return _object(hint)
    raise TypeError(f"output_json cannot draw values of {hint!r}")


def _lazy(hint: Any) -> st.SearchStrategy[Any]:
    # Deferred, so a recursive type is only expanded as deep as a draw goes.
    return st.deferred(lambda: _json_for(hint))


def _object(cls: Any) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(cls, include_extras=True)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    if typing.is_typeddict(cls):
        keys = getattr(cls, "__required_keys__", frozenset(hints))
        for k, h in hints.items():
            (required if k in keys else optional)[k] = _lazy(h)
    elif attrs.has(cls):
        for f in attrs.fields(cls):
            if f.init:
                key = f.alias or f.name
                target = required if f.default is attrs.NOTHING else optional
                target[key] = _lazy(hints[f.name])
    else:
        for f in dataclasses.fields(cls):
            if f.init:
                bare = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                (required if bare else optional)[f.name] = _lazy(hints[f.name])
    return st.fixed_dictionaries(required, optional=optional)


def output_json(output: Any) -> st.SearchStrategy[Any]:
    """Plain JSON values (dicts, lists, scalars) that validate as the output type ``output``.

    Values the type's own validators refuse (an attrs ``ge(0)``) are filtered out.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(output_json(int))
    ... def an_int(value):
    ...     assert type(value) is int
    >>> an_int()
    """
    spec = output_spec(output)
    return _json_for(spec.type).filter(lambda j: spec.check(json.dumps(j))[0] is not None)


@st.composite
def output_replies(
    draw: st.DrawFn, output: Any, *, mode: Literal["json_schema", "tool"] = "json_schema"
) -> ModelReply:
    """A model reply that carries a valid output of type ``output``.

    ``"json_schema"`` mode: the JSON as text (wrapped as ``{"value": ...}`` for a
    wrapped type); ``"tool"`` mode: a call of the final-answer tool.
    """
    spec = output_spec(output)
    value = draw(output_json(output))
    text = json.dumps({"value": value} if spec.wrapped else value)
    if mode == "tool":
        call = ToolCallRequest(id=draw(st.sampled_from(["call_1", "fa"])), name=FINAL_ANSWER, arguments=text)
        return ModelReply(message=AssistantMessage(tool_calls=(call,)), finish_reason="tool_calls")
    return ModelReply(message=AssistantMessage(content=text))


def bad_output_texts(output: Any) -> st.SearchStrategy[str]:
    """Texts a model might send that do not validate as ``output``: prose, truncated or wrong JSON."""
    spec = output_spec(output)
    wrong = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        _TEXT,
        st.lists(st.integers(), max_size=2),
        st.dictionaries(_TEXT, st.integers(), max_size=2),
    )
    texts = st.one_of(
        _TEXT,
        wrong.map(json.dumps),
        wrong.map(lambda v: json.dumps({"value": v})),
        _json_for(spec.type).map(lambda v: json.dumps(v)[:-1]),  # cut short
    )
    return texts.filter(lambda t: spec.check(t)[0] is None)
