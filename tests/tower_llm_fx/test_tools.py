"""Schema derivation from signatures, explicit schemas, and argument binding."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, TypedDict

import attrs
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@attrs.frozen
class Point:
    """A point.

    Args:
        x: horizontal
        y: vertical
    """

    x: int
    y: int = 0


@dataclass
class Box:
    label: str
    corners: list[Point]


class Options(TypedDict, total=False):
    verbose: bool
    depth: int


def test_scalar_types_and_required() -> None:
    @fx.tool
    def f(s: str, i: int, x: float, b: bool, maybe: int | None = None) -> str:
        """Do things.

        Args:
            s: a string
            i: an int
        """
        return s

    schema = f.spec.schema()
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["s", "i", "x", "b"]
    props = schema["properties"]
    assert props["s"] == {"type": "string", "description": "a string"}
    assert props["i"] == {"type": "integer", "description": "an int"}
    assert props["x"] == {"type": "number"}
    assert props["b"] == {"type": "boolean"}
    assert props["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert f.spec.description == "Do things."


def test_optional_literal_enum_list_dict() -> None:
    @fx.tool(name="paint", description="Paint it.")
    def f(
        color: Color,
        mode: Literal["fast", "slow"],
        tags: list[str],
        weights: dict[str, float],
        note: Optional[str] = None,  # noqa: UP045 - the old spelling must work too
    ) -> None:
        return None

    props = f.spec.schema()["properties"]
    assert f.spec.name == "paint"
    assert f.spec.description == "Paint it."
    assert props["color"] == {"enum": ["red", "green"]}
    assert props["mode"] == {"enum": ["fast", "slow"]}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["weights"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]


def test_nested_attrs_dataclass_typeddict_and_annotated() -> None:
    @fx.tool
    def f(box: Box, origin: Point, opts: Options, n: Annotated[int, "how many"] = 1) -> int:
        """Nested."""
        return n

    props = f.spec.schema()["properties"]
    point = props["origin"]
    assert point["type"] == "object"
    assert point["required"] == ["x"]
    assert point["properties"]["x"] == {"type": "integer", "description": "horizontal"}
    assert point["description"] == "A point."
    assert props["box"]["properties"]["corners"]["items"]["properties"]["y"]["type"] == "integer"
    assert props["opts"]["properties"] == {"verbose": {"type": "boolean"}, "depth": {"type": "integer"}}
    assert "required" not in props["opts"]
    assert props["n"] == {"type": "integer", "description": "how many", "default": 1}
    # every derived schema is itself a valid JSON schema
    jsonschema.Draft202012Validator.check_schema(f.spec.schema())


def test_bind_rebuilds_nested_values() -> None:
    @fx.tool
    def f(box: Box, color: Color, origin: Point | None = None, pair: tuple[int, str] = (0, "")) -> str:
        """Nested."""
        return "ok"

    kwargs = f.bind(
        {
            "box": {"label": "b", "corners": [{"x": 1, "y": 2}]},
            "color": "red",
            "origin": {"x": 5},
            "pair": [1, "a"],
        }
    )
    assert kwargs == {
        "box": Box(label="b", corners=[Point(1, 2)]),
        "color": Color.RED,
        "origin": Point(5),
        "pair": (1, "a"),
    }


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("def f(x): pass", "has no type hint"),
        ("def f(*args: int): pass", r"\*args"),
        ("def f(x: int, /): pass", "positional-only"),
        ("def f(x: set[complex]): pass", "cannot derive a JSON schema"),
        ("def f(x: dict[int, str]): pass", "keys are strings"),
    ],
)
def test_bad_signatures_are_clear_errors(source: str, match: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    with pytest.raises(fx.ToolSchemaError, match=match):
        fx.tool(namespace["f"])


def test_bad_names_and_double_decoration() -> None:
    with pytest.raises(fx.ToolSchemaError, match="lambda"):
        fx.tool(lambda: None)
    with pytest.raises(fx.ConfigurationError, match="tool name"):
        fx.tool(name="has space")(lambda: None)

    @fx.tool
    def ok() -> None:
        """Nothing."""

    with pytest.raises(fx.ToolSchemaError, match="twice"):
        fx.tool(ok)


def test_tool_typed_and_spec_validation() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    search = fx.tool_typed("search", "Search.", schema, lambda q: [q], idempotent=True)
    assert search.spec.schema() == schema
    assert search.idempotent
    assert search(q="x") == ["x"]
    with pytest.raises(fx.ConfigurationError, match="type 'object'"):
        fx.ToolSpec(name="x", parameters={"type": "string"})
    with pytest.raises(ValueError, match="JSON"):
        fx.ToolSpec(name="x", parameters="{not json")


def test_specs_compare_by_value_whatever_the_key_order() -> None:
    a = fx.ToolSpec(name="t", parameters={"type": "object", "properties": {"a": {"type": "string"}}})
    b = fx.ToolSpec(name="t", parameters='{"properties": {"a": {"type": "string"}}, "type": "object"}')
    assert a == b
    assert hash(a) == hash(b)


@given(st.lists(st.sampled_from(["str", "int", "float", "bool", "list[int]", "int | None"]), max_size=6))
def test_derived_schema_accepts_matching_arguments(kinds: list[str]) -> None:
    params = ", ".join(f"p{i}: {k}" for i, k in enumerate(kinds))
    namespace: dict[str, Any] = {}
    exec(f"def f({params}) -> None:\n    '''Doc.'''\n", namespace)
    spec = fx.tool(namespace["f"]).spec
    sample = {"str": "s", "int": 1, "float": 1.5, "bool": True, "list[int]": [1, 2], "int | None": None}
    arguments = {f"p{i}": sample[k] for i, k in enumerate(kinds)}
    jsonschema.validate(arguments, spec.schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**arguments, "unexpected": 1}, spec.schema())
