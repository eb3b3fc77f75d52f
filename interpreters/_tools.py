"""`local_tools`: run Python tool functions for ``ToolCall``.

Everything that can go wrong *in a tool call* becomes an error ``ToolResult``
the model reads (unknown tool, malformed JSON, arguments violating the schema,
the tool raising, an output that is not JSON-serialisable); the run goes on
and every tool call is answered exactly once. Only cancellation of the caller
propagates (we catch ``Exception``, never ``BaseException``).

A ``Parallel`` batch never reaches it: ``interpreters.perform`` sends each
call of a batch through the whole interpreter stack, one ``ToolCall`` each.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast, final

import anyio
import anyio.to_thread
import attrs
import jsonschema
from jsonschema.protocols import Validator

from tower_llm_fx import (
    Effect,
    Parallel,
    Tool,
    ToolCall,
    ToolErrorKind,
    ToolResult,
    ToolSpec,
    UnhandledEffect,
)
from tower_llm_fx.durable import context_of
from tower_llm_fx.serde import MAX_JSON_DEPTH, JSONDepthError, loads_bounded

__all__ = ["local_tools", "serialise_output"]

R = TypeVar("R")

_MAX_ERRORS = 5


def serialise_output(value: object) -> str:
    """The tool-message content for a tool's return value.

    A ``str`` is used as-is (not JSON-quoted); attrs instances, dataclasses and
    enums are converted; everything else goes through ``json.dumps``.

    Raises:
        TypeError: the value cannot be represented as JSON.
    """
    if isinstance(value, str):
        return value
    if type(value) is int:
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_default)
    except ValueError as exc:
        raise TypeError(str(exc)) from None


def _default(value: object) -> Any:
    if attrs.has(type(value)):
        return attrs.asdict(value)  # type: ignore[arg-type]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# A conservative fast path for the common flat schema (an object of scalar
# properties). It only ever *accepts*: if it says "valid", jsonschema would too;
# anything else (and every error message) goes to jsonschema, the authority.
_SCALARS: dict[str, Callable[[object], bool]] = {
    "string": lambda x: type(x) is str,
    "integer": lambda x: type(x) is int,
    "number": lambda x: type(x) is int or type(x) is float,
    "boolean": lambda x: type(x) is bool,
}
_ANNOTATIONS = frozenset({"type", "description", "title", "default", "examples"})


def _compile_fast(schema: dict[str, Any]) -> Callable[[dict[str, Any]], bool] | None:
    if set(schema) - {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "description",
        "title",
    }:
        return None
    if schema.get("type") != "object" or schema.get("additionalProperties", True) is not False:
        return None
    props = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(props, dict) or not isinstance(required, list):
        return None
    checks: dict[str, Callable[[object], bool]] = {}
    for name, sub in props.items():
        if not isinstance(sub, dict) or set(sub) - _ANNOTATIONS or sub.get("type") not in _SCALARS:
            return None
        checks[name] = _SCALARS[sub["type"]]
    required_keys = frozenset(required)

    def check(arguments: dict[str, Any]) -> bool:
        if not required_keys.issubset(arguments):
            return False
        for key, value in arguments.items():
            ok = checks.get(key)
            if ok is None or not ok(value):
                return False
        return True

    return check


@final
@attrs.define(eq=False)
class _Entry:
    tool: Tool
    validator: Validator
    is_async: bool
    fast: Callable[[dict[str, Any]], bool] | None


@final
@attrs.define(eq=False)
class _LocalTools:
    entries: dict[str, _Entry]
    run_sync_in_thread: bool

    async def __call__(self, effect: Effect[R], /) -> R:
        if type(effect) is ToolCall:
            return cast("R", await self._one(effect))
        if type(effect) is Parallel:
            raise UnhandledEffect(
                "local_tools() performs ToolCall; a Parallel batch is performed call by call by "
                "interpreters.perform(interpreter, batch), which run() and stream() use"
            )
        raise UnhandledEffect(
            f"local_tools() handles ToolCall, got {type(effect).__name__}; route model "
            "calls elsewhere with by_type({ModelCall: ..., ToolCall: tools})"
        )

    def __repr__(self) -> str:
        return f"local_tools({', '.join(self.entries)})"

    async def _one(self, call: ToolCall) -> ToolResult:
        def fail(kind: ToolErrorKind, message: str) -> ToolResult:
            return ToolResult.failure(call_id=call.id, name=call.name, kind=kind, message=message)

        entry = self.entries.get(call.name)
        if entry is None:
            available = ", ".join(sorted(self.entries)) or "none"
            return fail("unknown_tool", f"there is no tool named {call.name!r}; available tools: {available}")
        try:
            arguments = loads_bounded(call.arguments) if call.arguments.strip() else {}
        except JSONDepthError:
            return fail(
                "invalid_arguments",
                f"the arguments nest too deep (more than {MAX_JSON_DEPTH} levels); send a flat JSON object",
            )
        except ValueError as exc:
            return fail(
                "invalid_arguments",
                f"arguments are not valid JSON ({exc}); send a JSON object matching the schema",
            )
        if not isinstance(arguments, dict):
            return fail(
                "invalid_arguments", f"arguments must be a JSON object, got {type(arguments).__name__}"
            )
        fast = entry.fast
        errors = [] if fast is not None and fast(arguments) else list(entry.validator.iter_errors(arguments))
        if errors:
            lines = []
            for err in errors[:_MAX_ERRORS]:
                where = "/".join(str(p) for p in err.absolute_path) or "(root)"
                lines.append(f"{where}: {err.message}")
            if len(errors) > _MAX_ERRORS:
                lines.append(f"... and {len(errors) - _MAX_ERRORS} more")
            return fail("invalid_arguments", "arguments do not match the schema: " + "; ".join(lines))
        tool = entry.tool
        try:
            kwargs = tool.bind(arguments)
            if tool.context is not None:  # the tool asked for its ToolContext (idempotency key, ...)
                kwargs[tool.context] = context_of(call)
            if entry.is_async:
                output = await tool.fn(**kwargs)
            elif self.run_sync_in_thread:
                output = await anyio.to_thread.run_sync(lambda: tool.fn(**kwargs))
            else:
                output = tool.fn(**kwargs)
                if inspect.isawaitable(output):
                    output = await output
        except Exception as exc:
            return fail("tool_raised", _describe(exc))
        try:
            content = serialise_output(output)
        except RecursionError:
            return fail(
                "not_serialisable",
                f"the tool returned a {type(output).__name__} that nests too deep to send to the model as JSON",
            )
        except (TypeError, ValueError) as exc:
            return fail(
                "not_serialisable",
                f"the tool returned a {type(output).__name__}, which cannot be sent to the model as JSON ({exc})",
            )
        return ToolResult.success(call_id=call.id, name=call.name, content=content)


def _describe(exc: BaseException) -> str:
    """``"Type: message"`` for a tool's exception, even when its ``__str__`` raises or is huge."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except Exception:
        return f"{name} (its message could not be built)"
    return f"{name}: {text}" if len(text) <= 10_000 else f"{name}: {text[:10_000]}..."


def local_tools(tools: Iterable[Tool], *, run_sync_in_thread: bool = False) -> _LocalTools:
    """An interpreter for ``ToolCall`` that runs ``tools`` in-process.

    Arguments are validated against each tool's JSON schema (``jsonschema``)
    before the function is called. Async tools are awaited; sync tools run
    inline unless ``run_sync_in_thread`` is set (use it for blocking tools).

    >>> import trio, tower_llm_fx as fx
    >>> @fx.tool
    ... def add(a: int, b: int) -> int:
    ...     "Add two integers."
    ...     return a + b
    >>> tools = local_tools([add])
    >>> trio.run(tools, fx.ToolCall(id="c1", name="add", arguments='{"a": 2, "b": 3}')).content
    '5'
    >>> trio.run(tools, fx.ToolCall(id="c2", name="add", arguments='{"a": "x"}')).content
    "error (invalid_arguments): arguments do not match the schema: a: 'x' is not of type 'integer'; (root): 'b' is a required property"
    """
    entries: dict[str, _Entry] = {}
    for i, t in enumerate(tools):
        if not isinstance(t, Tool):
            raise TypeError(f"local_tools() item {i} is {t!r}, not a Tool; decorate the function with @tool")
        if t.name in entries:
            raise ValueError(f"two tools are named {t.name!r}; tool names must be unique")
        validator, fast = _validator(t.spec)
        fn = t.fn
        # Only an optimisation: a sync-looking function returning an awaitable is awaited too.
        is_async = inspect.iscoroutinefunction(fn)
        entries[t.name] = _Entry(tool=t, validator=validator, is_async=is_async, fast=fast)
    return _LocalTools(entries, run_sync_in_thread)


@functools.lru_cache(maxsize=1024)
def _validator(spec: ToolSpec) -> tuple[Validator, Callable[[dict[str, Any]], bool] | None]:
    """The schema validator (and fast check) for ``spec``, built once per spec value.

    ``check_schema`` costs about half a millisecond per tool; a ``ToolSpec`` is a
    frozen, hashable value, so every ``local_tools`` (and ``agent_interpreter``)
    built from the same specs shares one validator. jsonschema validators are
    immutable and safe to share between tasks and threads.

    Raises:
        ValueError: the schema is not a valid JSON schema (not cached: raised again each time).
    """
    schema = spec.schema()
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"tool {spec.name!r} has an invalid JSON schema: {exc.message}") from None
    return cls(schema), _compile_fast(schema)
