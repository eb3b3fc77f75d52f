"""Tools: what the model is offered (`ToolSpec`) and what runs (`Tool`).

Theory of operation: a `ToolSpec` is pure data (name, description, JSON schema as
canonical text) and is what travels inside a ``ModelCall``. A `Tool` pairs a
spec with the Python function that implements it; the function is only ever
*called* by an interpreter in the shell. The `tool` decorator derives the
schema from the function's signature and type hints, so the schema and the
code cannot drift apart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar, cast, final, get_args, get_origin, overload

import attrs
from attrs import validators as v

from ._content import json_object_or_none
from ._context import ToolContext
from ._errors import ConfigurationError, ToolSchemaError
from ._json import canonical_json, loads_object
from ._repr import quiet_repr

__all__ = ["Tool", "ToolSpec", "tool", "tool_typed"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _check_name(_inst: object, _attr: object, value: str) -> None:
    if not _NAME.match(value):
        raise ConfigurationError(
            f"tool name {value!r} is invalid: OpenAI accepts 1-64 characters from a-z, A-Z, "
            "0-9, '_' and '-'. Rename the function or pass name=... to @tool."
        )


def _schema_text(value: object) -> str:
    text = canonical_json(value)
    schema = json.loads(text)
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        raise ConfigurationError(
            f"a tool's parameters schema must be a JSON object schema with type 'object', got {text}"
        )
    return text


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class ToolSpec:
    """What the model is told about a tool: name, description, parameter schema.

    ``parameters`` accepts a dict or JSON text and is stored as canonical JSON
    text, so specs are hashable and compare by value.

    >>> spec = ToolSpec(name="add", description="Add.", parameters={"type": "object"})
    >>> spec.parameters
    '{"type":"object"}'
    >>> spec.schema()
    {'type': 'object'}
    """

    name: str = attrs.field(validator=[v.instance_of(str), _check_name])
    description: str = attrs.field(default="", validator=v.instance_of(str))
    parameters: str = attrs.field(default='{"properties":{},"type":"object"}', converter=_schema_text)
    strict: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: Wire keys the library does not name (``cache_control``, ...), as canonical
    #: JSON text of an object, deep-merged into the wire tool on encode.
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)

    def schema(self) -> dict[str, Any]:
        """Return a fresh dict of the parameter schema."""
        return loads_object(self.parameters)


_F = TypeVar("_F", bound=Callable[..., Any])


@final
@attrs.frozen(kw_only=True)
class Tool:
    """A `ToolSpec` plus the function that implements it (sync or async).

    ``idempotent`` declares that calling the tool twice with the same arguments
    is safe; retry layers only retry tool calls of idempotent tools, and a
    resumed durable run performs again only those whose outcome it lost.
    ``context`` names the function's `ToolContext` parameter, if it has one
    (``@tool`` finds it; the model never sees it).
    """

    spec: ToolSpec = attrs.field(validator=v.instance_of(ToolSpec))
    fn: Callable[..., Any] = attrs.field(validator=v.is_callable(), eq=False)
    idempotent: bool = attrs.field(default=False, validator=v.instance_of(bool))
    context: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    _converters: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False, alias="converters")

    @property
    def name(self) -> str:
        """The tool's name, as the model sees it."""
        return self.spec.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (handy in tests)."""
        return self.fn(*args, **kwargs)

    def bind(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Turn decoded JSON arguments into keyword arguments for ``fn``.

        Nested attrs classes, dataclasses and enums named in the type hints are
        rebuilt from their JSON form; everything else is passed through.
        """
        if not self._converters:
            return dict(arguments)
        out: dict[str, Any] = {}
        for key, value in arguments.items():
            hint = self._converters.get(key)
            out[key] = _structure(value, hint) if hint is not None else value
        return out


# --------------------------------------------------------------------------- schema derivation

_DOC_ARG = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _split_doc(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (description, {arg: description})."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    desc: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        header = stripped.rstrip(":").lower()
        if stripped.endswith(":") and header in {"args", "arguments", "parameters", "params"}:
            section, current = "args", None
            continue
        if stripped.endswith(":") and header in {
            "returns",
            "raises",
            "yields",
            "example",
            "examples",
        }:
            section, current = "other", None
            continue
        if section is None:
            desc.append(line)
        elif section == "args":
            m = _DOC_ARG.match(line)
            if m and not line.startswith(" " * 8):
                current = m.group(1).lstrip("*")
                args[current] = m.group(2).strip()
            elif current and stripped:
                args[current] = (args[current] + " " + stripped).strip()
    return "\n".join(desc).strip(), args


def _schema_for(hint: Any, where: str, defs: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(hint)
    if origin is typing.Annotated:
        base, *meta = get_args(hint)
        schema = _schema_for(base, where, defs)
        texts = [m for m in meta if isinstance(m, str)]
        if texts:
            schema = {**schema, "description": " ".join(texts)}
        return schema
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is type(None) or hint is None:
        return {"type": "null"}
    if hint is Any:
        return {}
    if origin is Literal:
        values = list(get_args(hint))
        return {"enum": values}
    if origin in (typing.Union, types.UnionType):
        members = get_args(hint)
        non_null = [m for m in members if m is not type(None)]
        schemas = [_schema_for(m, where, defs) for m in non_null]
        if len(non_null) < len(members):
            schemas.append({"type": "null"})
        return {"anyOf": schemas}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [m.value for m in hint]}
    if origin in (list, tuple, set, frozenset, Sequence) or hint in (list, tuple):
        args = get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return {
                "type": "array",
                "prefixItems": [_schema_for(a, where, defs) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        item = args[0] if args else Any
        return {"type": "array", "items": _schema_for(item, where, defs)}
    if origin in (dict, Mapping) or hint is dict:
        args = get_args(hint)
        if args and args[0] is not str:
            raise ToolSchemaError(f"{where}: JSON object keys are strings; use dict[str, ...], not {hint!r}")
        value = args[1] if len(args) == 2 else Any
        return {"type": "object", "additionalProperties": _schema_for(value, where, defs)}
    if isinstance(hint, type) and (
        attrs.has(hint) or dataclasses.is_dataclass(hint) or typing.is_typeddict(hint)
    ):
        return _object_schema(hint, where, defs)
    raise ToolSchemaError(
        f"{where}: cannot derive a JSON schema for type {hint!r}. Supported: str, int, float, "
        "bool, None, Optional, Literal, Enum, list, tuple, dict[str, T], attrs classes, "
        "dataclasses and TypedDicts. Pass an explicit schema with tool_typed(...) instead."
    )


def schema_for(hint: Any, where: str) -> dict[str, Any]:
    """The JSON schema `tool` derives for the type ``hint`` (``where`` names it in errors).

    >>> schema_for(list[int], "output")
    {'type': 'array', 'items': {'type': 'integer'}}
    """
    return _schema_for(hint, where, {})


def _object_schema(cls: type[Any], where: str, defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    properties: dict[str, Any] = {}
    required: list[str] = []
    if typing.is_typeddict(cls):
        required_keys = getattr(cls, "__required_keys__", frozenset(hints))
        for key, hint in hints.items():
            properties[key] = _schema_for(hint, f"{where}.{key}", defs)
            if key in required_keys:
                required.append(key)
    else:
        fields: list[tuple[str, bool]]
        if attrs.has(cls):
            fields = [(f.alias or f.name, f.default is attrs.NOTHING) for f in attrs.fields(cls) if f.init]
            names = {f.alias or f.name: f.name for f in attrs.fields(cls)}
        else:
            fields = [
                (
                    f.name,
                    f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                )
                for f in dataclasses.fields(cls)
                if f.init
            ]
            names = {f.name: f.name for f in dataclasses.fields(cls)}
        for key, is_required in fields:
            hint = hints[names[key]]
            properties[key] = _schema_for(hint, f"{where}.{key}", defs)
            if is_required:
                required.append(key)
    description, arg_docs = _split_doc(
        cls.__doc__ if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "(") else None
    )
    for key, text in arg_docs.items():
        if key in properties and text:
            properties[key] = {**properties[key], "description": text}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    return schema


def _needs_structure(hint: Any) -> bool:
    if get_origin(hint) is typing.Annotated:
        return _needs_structure(get_args(hint)[0])
    if isinstance(hint, type) and (
        attrs.has(hint) or dataclasses.is_dataclass(hint) or issubclass(hint, enum.Enum)
    ):
        return True
    if get_origin(hint) in (tuple, set, frozenset) or hint in (tuple, set, frozenset):
        return True
    return any(_needs_structure(a) for a in get_args(hint) if a is not Ellipsis)


def _structure(value: Any, hint: Any) -> Any:
    """Rebuild ``value`` (decoded JSON, already schema-valid) as type ``hint``."""
    origin = get_origin(hint)
    if origin is typing.Annotated:
        return _structure(value, get_args(hint)[0])
    if value is None:
        return None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(hint, type) and (attrs.has(hint) or dataclasses.is_dataclass(hint)):
        hints = typing.get_type_hints(hint, include_extras=True)
        if attrs.has(hint):
            alias_to_name = {f.alias or f.name: f.name for f in attrs.fields(hint)}
        else:
            alias_to_name = {f.name: f.name for f in dataclasses.fields(cast("Any", hint))}
        kwargs = {k: _structure(val, hints[alias_to_name[k]]) for k, val in value.items()}
        return hint(**kwargs)
    if origin in (typing.Union, types.UnionType):
        for member in get_args(hint):
            if member is type(None):
                continue
            try:
                return _structure(value, member)
            except (TypeError, ValueError, KeyError, AttributeError):
                continue
        return value
    if origin in (list, Sequence, set, frozenset) and isinstance(value, list):
        (item,) = get_args(hint) or (Any,)
        items = [_structure(x, item) for x in value]
        return origin(items) if origin in (set, frozenset) else items
    if origin is tuple and isinstance(value, list):
        args = get_args(hint)
        if args and args[-1] is Ellipsis:
            return tuple(_structure(x, args[0]) for x in value)
        return tuple(_structure(x, a) for x, a in zip(value, args, strict=False))
    if origin in (dict, Mapping) and isinstance(value, dict):
        args = get_args(hint)
        vt = args[1] if len(args) == 2 else Any
        return {k: _structure(x, vt) for k, x in value.items()}
    return value


def _derive(
    fn: Callable[..., Any], name: str | None, description: str | None
) -> tuple[ToolSpec, dict[str, Any], str | None]:
    tool_name = name or getattr(fn, "__name__", None)
    if not tool_name or tool_name == "<lambda>":
        raise ToolSchemaError("a lambda has no usable name; use @tool(name='...') on a def instead")
    where = f"tool {tool_name!r}"
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except (NameError, TypeError) as exc:
        raise ToolSchemaError(f"{where}: cannot resolve its type hints: {exc}") from None
    doc_desc, arg_docs = _split_doc(inspect.getdoc(fn))
    properties: dict[str, Any] = {}
    required: list[str] = []
    converters: dict[str, Any] = {}
    defs: dict[str, Any] = {}
    context: str | None = None
    for param in inspect.signature(fn).parameters.values():
        if hints.get(param.name) is ToolContext:
            context = param.name  # filled in by the shell, not described to the model
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolSchemaError(
                f"{where}: *args/**kwargs cannot be described to the model; name each argument"
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise ToolSchemaError(
                f"{where}: argument {param.name!r} is positional-only; tools are called by keyword"
            )
        if param.name not in hints:
            raise ToolSchemaError(
                f"{where}: argument {param.name!r} has no type hint; annotate it (e.g. `{param.name}: str`)"
            )
        hint = hints[param.name]
        schema = _schema_for(hint, f"{where} argument {param.name!r}", defs)
        if param.name in arg_docs and "description" not in schema:
            schema = {**schema, "description": arg_docs[param.name]}
        if param.default is not param.empty:
            with contextlib.suppress(ValueError):
                schema = {**schema, "default": json.loads(canonical_json(_plain(param.default)))}
        else:
            required.append(param.name)
        properties[param.name] = schema
        if _needs_structure(hint):
            converters[param.name] = hint
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        parameters["required"] = required
    spec = ToolSpec(
        name=tool_name,
        description=description if description is not None else doc_desc,
        parameters=parameters,
    )
    return spec, converters, context


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if attrs.has(type(value)):
        return attrs.asdict(value)
    return value


@overload
def tool(fn: _F, /) -> Tool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, idempotent: bool = False
) -> Callable[[_F], Tool]: ...
def tool(
    fn: _F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    idempotent: bool = False,
) -> Tool | Callable[[_F], Tool]:
    """Make a `Tool` from a typed function; the schema comes from its signature.

    The docstring's first paragraph becomes the description and its ``Args:``
    section the parameter descriptions. Works on sync and async functions.

    >>> @tool
    ... def add(a: int, b: int) -> int:
    ...     '''Add two integers.
    ...
    ...     Args:
    ...         a: the first addend
    ...         b: the second addend
    ...     '''
    ...     return a + b
    >>> add.spec.name, add.spec.description
    ('add', 'Add two integers.')
    >>> add.spec.schema()["required"]
    ['a', 'b']
    >>> add(a=1, b=2)
    3
    """

    def wrap(f: _F) -> Tool:
        if isinstance(f, Tool):
            raise ToolSchemaError("@tool applied twice; remove one of the decorators")
        if not callable(f):
            raise ToolSchemaError(f"@tool expects a function, got {type(f).__name__}")
        spec, converters, context = _derive(f, name, description)
        return Tool(spec=spec, fn=f, idempotent=idempotent, context=context, converters=converters)

    if fn is not None:
        return wrap(fn)
    return wrap


def tool_typed(
    name: str,
    description: str,
    parameters: Mapping[str, Any] | str,
    fn: Callable[..., Any],
    *,
    idempotent: bool = False,
    strict: bool = False,
    context: str | None = None,
) -> Tool:
    """Make a `Tool` with an explicit JSON schema (tower-llm's ``tool_typed``).

    ``fn`` is called with the decoded arguments as keyword arguments, and with
    its ``ToolContext`` as the keyword ``context`` names, if given.

    >>> echo = tool_typed("echo", "Echo text.", {"type": "object",
    ...     "properties": {"text": {"type": "string"}}, "required": ["text"]}, lambda text: text)
    >>> echo.spec.name
    'echo'
    """
    spec = ToolSpec(
        name=name,
        description=description,
        parameters=dict(parameters) if isinstance(parameters, Mapping) else parameters,
        strict=strict,
    )
    return Tool(spec=spec, fn=fn, idempotent=idempotent, context=context)
