"""Structured output: ``Agent(output=T)`` asks the model for a value of type ``T``.

Theory of operation:

* `OutputSpec` is derived from ``T`` with the same schema derivation as
  ``@tool`` (`schema_for`): attrs classes, dataclasses and TypedDicts become
  object schemas; any other ``T`` (``int``, ``Literal``, an ``Enum``,
  ``list[...]``) is *wrapped* as ``{"value": ...}``, because providers want an
  object at the root. The strict form lists every property as required.
* The model is asked in one of two ways, a pure choice (`output_mode`):
  ``response_format`` with a strict ``json_schema`` where the provider
  supports it, else a final-answer tool named `FINAL_ANSWER`.
* `OutputSpec.check` validates a raw reply against ``T`` and returns the
  value as canonical JSON text (unwrapped): that text is what the run state
  keeps (``RunState.value_json``), so states stay data (Rule 1) and record,
  replay and ``to_json`` work unchanged. `OutputSpec.load` turns it into ``T``.
* An invalid output is fed back to the model (`output_feedback`) while
  `retry_output` allows, then ``OutputValidationError`` is raised.

Pure: no I/O, nothing from the families or the shell.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, TypeAlias, final, get_args, get_origin

import attrs
from attrs import validators as v

from ._errors import ConfigurationError, OutputValidationError
from ._events import RunEvent
from ._json import canonical_json, loads_bounded
from ._tools import ToolSpec, schema_for

__all__ = [
    "FINAL_ANSWER",
    "OutputDialect",
    "OutputMode",
    "OutputReady",
    "OutputSpec",
    "output_feedback",
    "output_mode",
    "output_spec",
    "retry_output",
]

FINAL_ANSWER = "final_answer"
"""The name of the final-answer tool offered in ``"tool"`` mode."""

OutputMode: TypeAlias = Literal["auto", "json_schema", "tool"]
"""How structured output is asked for: ``"auto"`` lets `output_mode` choose."""

_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class OutputDialect(Protocol):
    """What the mode choice reads off a provider: ``tower_llm_fx.openai.Dialect`` has both."""

    @property
    def json_schema(self) -> bool: ...  # pragma: no cover - a protocol

    @property
    def tool_choice_required(self) -> str | None: ...  # pragma: no cover - a protocol


# --------------------------------------------------------------------------- the schema


def _enum_type(values: list[Any]) -> str | None:
    kinds = {
        "boolean"
        if type(x) is bool
        else "integer"
        if type(x) is int
        else "number"
        if type(x) is float
        else "string"
        if type(x) is str
        else "null"
        if x is None
        else "?"
        for x in values
    }
    return kinds.pop() if len(kinds) == 1 and "?" not in kinds else None


def _strict(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The strict form of ``schema`` (every property required) and whether strict mode can take it."""
    out = dict(schema)
    ok = bool(schema)  # {} (Any) has no strict form
    if "prefixItems" in out:
        ok = False
        out["prefixItems"] = [_strict(s)[0] for s in out["prefixItems"]]
    if "enum" in out and "type" not in out and (kind := _enum_type(out["enum"])) is not None:
        out["type"] = kind
    if isinstance(out.get("additionalProperties"), dict):
        ok = False
        out["additionalProperties"] = _strict(out["additionalProperties"])[0]
    if "properties" in out:
        props = {}
        for key, sub in out["properties"].items():
            props[key], sub_ok = _strict(sub)
            ok = ok and sub_ok
        out["properties"] = props
        out["required"] = list(props)
    if "items" in out:
        out["items"], sub_ok = _strict(out["items"])
        ok = ok and sub_ok
    if "anyOf" in out:
        members = [_strict(s) for s in out["anyOf"]]
        out["anyOf"] = [s for s, _ in members]
        ok = ok and all(m_ok for _, m_ok in members)
    return out, ok


def _is_object_type(hint: Any) -> bool:
    return isinstance(hint, type) and (
        attrs.has(hint) or dataclasses.is_dataclass(hint) or typing.is_typeddict(hint)
    )


def _check_name(_inst: object, _attr: object, value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", value):
        raise ConfigurationError(
            f"output name {value!r} is invalid: use 1-64 characters from a-z, A-Z, 0-9, '_' and '-'"
        )


@final
@attrs.frozen(kw_only=True)
class OutputSpec:
    """The structured output of an agent: the type ``T``, its name and strict JSON schema.

    Build one with `output_spec` (``Agent(output=T)`` does it for you).

    >>> import attrs
    >>> @attrs.frozen
    ... class City:
    ...     name: str
    ...     population: int
    >>> spec = output_spec(City)
    >>> spec.name, spec.wrapped, spec.strict
    ('City', False, True)
    >>> value_json, problems = spec.check('{"name": "Paris", "population": 2100000}')
    >>> spec.load(value_json)
    City(name='Paris', population=2100000)
    >>> spec.check('{"name": "Paris"}')
    (None, ('$: missing key "population"',))
    >>> output_spec(int).check('{"value": 42}')
    ('42', ())
    """

    type: Any
    name: str = attrs.field(validator=_check_name)
    schema: str = attrs.field(validator=v.instance_of(str))
    wrapped: bool = attrs.field(validator=v.instance_of(bool))
    strict: bool = attrs.field(validator=v.instance_of(bool))

    def schema_dict(self) -> dict[str, Any]:
        """A fresh dict of the schema sent to the model."""
        value: dict[str, Any] = json.loads(self.schema)
        return value

    def response_format(self) -> dict[str, Any]:
        """The ``response_format`` of ``"json_schema"`` mode."""
        schema = {"name": self.name, "schema": self.schema_dict(), "strict": self.strict}
        return {"type": "json_schema", "json_schema": schema}

    def tool_spec(self) -> ToolSpec:
        """The final-answer tool of ``"tool"`` mode."""
        return ToolSpec(
            name=FINAL_ANSWER,
            description=f"Give your final answer ({self.name}). Call this once, when you are done.",
            parameters=self.schema,
            strict=self.strict,
        )

    def check(self, raw: str | None) -> tuple[str | None, tuple[str, ...]]:
        """Validate a raw output: ``(value_json, ())`` if valid, else ``(None, problems)``.

        ``value_json`` is the value as canonical JSON text, unwrapped for a wrapped type.
        """
        if raw is None or not raw.strip():
            return None, ("the reply has no text: reply with the JSON value only",)
        text = raw.strip()
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1)
        try:
            data = loads_bounded(text)
        except ValueError as exc:
            return None, (f"the reply is not JSON ({exc})",)
        if self.wrapped and isinstance(data, dict) and data.keys() == {"value"}:
            data = data["value"]
        problems: list[str] = []
        _convert(data, self.type, "$", problems)
        if problems:
            return None, tuple(problems)
        try:
            return canonical_json(json.dumps(data, allow_nan=False)), ()
        except ValueError:
            return None, ("$: numbers must be finite (no NaN or Infinity)",)

    def load(self, value_json: str) -> Any:
        """The ``T`` that validated JSON text stands for.

        Raises:
            ValueError: the text does not validate (it did not come from `check`).
        """
        problems: list[str] = []
        value = _convert(json.loads(value_json), self.type, "$", problems)
        if problems:
            raise ValueError(f"not a valid {self.name}: " + "; ".join(problems))
        return value

    def parse(self, raw: str) -> Any:
        """`check` then `load`: the ``T`` in a raw output.

        Raises:
            OutputValidationError: the output is invalid.
        """
        value_json, problems = self.check(raw)
        if value_json is None:
            raise OutputValidationError(raw=raw, problems=problems, attempts=1)
        return self.load(value_json)


def output_spec(output: Any, *, name: str | None = None) -> OutputSpec:
    """The `OutputSpec` of a type (an `OutputSpec` is returned as it is).

    Raises:
        ToolSchemaError: no JSON schema can be derived for ``output``.

    >>> output_spec(list[int]).schema
    '{"additionalProperties":false,"properties":{"value":{"items":{"type":"integer"},"type":"array"}},"required":["value"],"type":"object"}'
    """
    if isinstance(output, OutputSpec):
        return output
    base = get_args(output)[0] if get_origin(output) is typing.Annotated else output
    schema = schema_for(output, "output type")
    wrapped = not _is_object_type(base)
    if wrapped:
        schema = {"type": "object", "properties": {"value": schema}, "additionalProperties": False}
    strict_schema, strict = _strict(schema)
    if name is None:
        name = _NAME_CHARS.sub("_", base.__name__)[:64] if isinstance(base, type) else "output"
    return OutputSpec(
        type=output, name=name, schema=canonical_json(strict_schema), wrapped=wrapped, strict=strict
    )


# --------------------------------------------------------------------------- validation


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _convert(value: Any, hint: Any, path: str, problems: list[str]) -> Any:
    """Check decoded JSON ``value`` against ``hint``, appending problems; return it as ``hint``."""
    origin = get_origin(hint)
    if origin is typing.Annotated:
        return _convert(value, get_args(hint)[0], path, problems)
    if hint is Any:
        return value
    expected = _scalar(hint)
    if expected is not None:
        ok, label = expected(value)
        if not ok:
            problems.append(f"{path}: expected {label}, got {_kind(value)}")
            return value
        return float(value) if hint is float else value
    if origin is Literal:
        options = get_args(hint)
        if not any(value == o and type(value) is type(o) for o in options):
            problems.append(f"{path}: expected one of {json.dumps(list(options))}, got {json.dumps(value)}")
        return value
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        for member in hint:
            if value == member.value and type(value) is type(member.value):
                return member
        problems.append(
            f"{path}: expected one of {json.dumps([m.value for m in hint])}, got {json.dumps(value)}"
        )
        return value
    if origin in (typing.Union, types.UnionType):
        return _union(value, get_args(hint), path, problems)
    if origin in (list, tuple, set, frozenset, Sequence) or hint in (list, tuple):
        return _array(value, hint, path, problems)
    if origin in (dict, Mapping) or hint is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {_kind(value)}")
            return value
        args = get_args(hint)
        item = args[1] if len(args) == 2 else Any
        return {k: _convert(x, item, f"{path}.{k}", problems) for k, x in value.items()}
    if _is_object_type(hint):
        return _object(value, hint, path, problems)
    raise ConfigurationError(f"{path}: cannot check a value against {hint!r}")  # output_spec refused it


def _scalar(hint: Any) -> Any:
    checks: dict[Any, tuple[Any, str]] = {
        str: (lambda x: isinstance(x, str), "a string"),
        bool: (lambda x: isinstance(x, bool), "true or false"),
        int: (lambda x: type(x) is int, "an integer"),
        float: (lambda x: type(x) in (int, float), "a number"),
        None: (lambda x: x is None, "null"),
        type(None): (lambda x: x is None, "null"),
    }
    found = checks.get(hint)
    if found is None:
        return None
    check, label = found
    return lambda x: (check(x), label)


def _union(value: Any, members: tuple[Any, ...], path: str, problems: list[str]) -> Any:
    for member in sorted(members, key=lambda m: m is not type(None)):  # null first: cheap and exact
        found: list[str] = []
        out = _convert(value, member, path, found)
        if not found:
            return out
    problems.append(f"{path}: {_kind(value)} matches none of the allowed types")
    return value


def _array(value: Any, hint: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(value, list):
        problems.append(f"{path}: expected an array, got {_kind(value)}")
        return value
    origin = get_origin(hint) or hint
    args = get_args(hint)
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            problems.append(f"{path}: expected {len(args)} items, got {len(value)}")
            return value
        return tuple(
            _convert(x, a, f"{path}[{i}]", problems) for i, (x, a) in enumerate(zip(value, args, strict=True))
        )
    item = args[0] if args else Any
    items = [_convert(x, item, f"{path}[{i}]", problems) for i, x in enumerate(value)]
    if origin in (tuple, set, frozenset):
        return origin(items)
    return items


def _object(value: Any, cls: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object, got {_kind(value)}")
        return value
    hints = typing.get_type_hints(cls, include_extras=True)
    fields: dict[str, tuple[str, bool]]  # wire key -> (attribute name, required)
    if typing.is_typeddict(cls):
        required = getattr(cls, "__required_keys__", frozenset(hints))
        fields = {k: (k, k in required) for k in hints}
    elif attrs.has(cls):
        fields = {
            f.alias or f.name: (f.name, f.default is attrs.NOTHING) for f in attrs.fields(cls) if f.init
        }
    else:
        fields = {
            f.name: (f.name, f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
            for f in dataclasses.fields(cls)
            if f.init
        }
    before = len(problems)
    kwargs: dict[str, Any] = {}
    for key in value:
        if key not in fields:
            problems.append(f"{path}: unexpected key {json.dumps(key)}")
    for key, (attr, required) in fields.items():
        if key in value:
            kwargs[key] = _convert(value[key], hints[attr], f"{path}.{key}", problems)
        elif required:
            problems.append(f"{path}: missing key {json.dumps(key)}")
    if len(problems) > before or typing.is_typeddict(cls):
        return kwargs
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # the class's own validators refused the value
        problems.append(f"{path}: {exc}")
        return value


# --------------------------------------------------------------------------- the pure decisions


def output_mode(mode: OutputMode, dialect: OutputDialect | None) -> Literal["json_schema", "tool"]:
    """How to ask for the output: ``mode`` itself, or for ``"auto"`` what ``dialect`` supports.

    Without a dialect the provider is taken to be OpenAI, which supports strict ``json_schema``.

    >>> from tower_llm_fx.openai import dialect
    >>> output_mode("auto", None), output_mode("auto", dialect("deepseek")), output_mode("tool", None)
    ('json_schema', 'tool', 'tool')
    """
    if mode != "auto":
        return mode
    return "json_schema" if dialect is None or dialect.json_schema else "tool"


def retry_output(retries: int, max_retries: int) -> bool:
    """Whether to ask the model to correct an invalid output, ``retries`` corrections in.

    A run therefore sees at most ``max_retries + 1`` outputs before it fails.

    >>> [retry_output(n, 2) for n in range(4)]
    [True, True, False, False]
    """
    return retries < max_retries


def output_feedback(problems: Sequence[str], *, mode: Literal["json_schema", "tool"], called: bool) -> str:
    """The message that tells the model what was wrong with its output and what to do.

    ``called`` says whether the model called the final-answer tool (the text
    is then that call's tool result).

    >>> print(output_feedback(["$.temp: expected a number, got a string"], mode="json_schema", called=False))
    Your output is not valid:
    - $.temp: expected a number, got a string
    Reply again with only the corrected JSON, matching the schema.
    """
    listed = "\n".join(f"- {p}" for p in problems)
    if mode == "json_schema":
        return f"Your output is not valid:\n{listed}\nReply again with only the corrected JSON, matching the schema."
    if called:
        return f"error: the final answer is not valid:\n{listed}\nCall {FINAL_ANSWER} again with corrected arguments."
    return f"Your reply is not a valid final answer:\n{listed}\nGive your final answer by calling the {FINAL_ANSWER} tool."


@final
@attrs.frozen(kw_only=True)
class OutputReady(RunEvent):
    """A streamed typed run got its validated output (once, in the step it arrived).

    ``value_json`` is the value as canonical JSON text; the final state has it too
    (``RunState.value_json``; ``Agent.value(state)`` gives the typed value).

    >>> OutputReady(step=1, value_json='{"city":"Paris"}')
    OutputReady(step=1, value_json='{"city":"Paris"}')
    """

    step: int = attrs.field(validator=[v.instance_of(int), v.ge(1)])
    value_json: str = attrs.field(validator=v.instance_of(str))
