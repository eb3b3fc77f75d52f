"""Strategies for tool specs and for argument text valid against a tool's schema.

Part of `tower_llm_fx.strategies` (which imports hypothesis); import that, not this.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from hypothesis import strategies as st

from tower_llm_fx._tools import ToolSpec

from ._messages import SAFE_TEXT, TOOL_NAMES

__all__ = ["DEFAULT_TOOLS", "arguments_for", "tool_specs"]


# The tools conversations call unless told otherwise.
_ADD = ToolSpec(
    name="add",
    description="Add two integers.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)
_SEARCH = ToolSpec(
    name="search",
    description="Search the web.",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}},
        "required": ["query"],
    },
)
_NOW = ToolSpec(name="get_time", description="The current time.")
DEFAULT_TOOLS = (_ADD, _SEARCH, _NOW)


_SCALAR_SCHEMAS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "string", "enum": ["celsius", "fahrenheit"]},
        {"type": "array", "items": {"type": "string"}},
        {"type": "integer", "minimum": 0, "maximum": 100},
    ]
)


@st.composite
def _object_schemas(draw: st.DrawFn) -> dict[str, Any]:
    properties = draw(st.dictionaries(TOOL_NAMES, _SCALAR_SCHEMAS, max_size=4))
    required = [k for k in properties if draw(st.booleans())]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


# Wire keys of a tool the library does not name: mostly none.
_SPEC_EXTRAS: st.SearchStrategy[Any] = st.sampled_from(
    [None, None, None, None, None, {"cache_control": {"type": "ephemeral"}}, {"function": {"x_eager": True}}]
)


def tool_specs(*, names: st.SearchStrategy[str] = TOOL_NAMES) -> st.SearchStrategy[ToolSpec]:
    """A `ToolSpec` with a flat object schema (scalars, enums, arrays of strings),
    sometimes with wire keys in ``extra`` (``cache_control``).

    `arguments_for` draws arguments valid against any of these.
    """
    return st.builds(
        ToolSpec,
        name=names,
        description=SAFE_TEXT,
        parameters=_object_schemas(),
        strict=st.booleans(),
        extra=_SPEC_EXTRAS,
    )


def _value_for(schema: Any) -> st.SearchStrategy[Any]:
    if not isinstance(schema, dict):
        return st.just(None)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return _value_for(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    if kind == "string":
        return SAFE_TEXT
    if kind == "integer":
        return st.integers(schema.get("minimum", -1000), schema.get("maximum", 1000))
    if kind == "number":
        return st.floats(schema.get("minimum", -1000.0), schema.get("maximum", 1000.0))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        prefix = schema.get("prefixItems")
        if prefix:
            return st.tuples(*(_value_for(s) for s in prefix)).map(list)
        return st.lists(_value_for(schema.get("items", {"type": "string"})), max_size=3)
    if kind == "object" or "properties" in schema:
        return _object_value(schema)
    return st.just(None)


@st.composite
def _object_value(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    out: dict[str, Any] = {}
    for key, sub in properties.items():
        if key in required or draw(st.booleans()):
            out[key] = draw(_value_for(sub))
    return out


@functools.lru_cache(maxsize=256)
def arguments_for(spec: ToolSpec) -> st.SearchStrategy[str]:
    """JSON argument text valid against ``spec``'s schema.

    Supports the schemas `tool_specs` draws and those ``@tool`` derives (scalars,
    enums, ``anyOf``, arrays, tuples, nested objects). For other schemas the
    values may not validate.
    """
    return _object_value(spec.schema()).map(json.dumps)
