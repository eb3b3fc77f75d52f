"""Field-level differences between two attrs values (effects, messages, ...).

Used by ``run_sequence`` and the replayer to say *what* differs, not just that
two effects are unequal: ``messages[2].content: 'a' -> 'b'``. Strings that
hold JSON objects or arrays (tool arguments, ``ModelParams.extra``) are
compared as JSON, so a changed argument reads ``arguments["b"]: 3 -> 4``; a
long string is shown around its first difference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Final

import attrs

__all__ = ["ABSENT", "diff_paths", "field_diff"]


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Final = _Absent()
"""Stands for the missing side when one sequence or object has an item the other lacks."""


def _json_container(text: str) -> Any:
    """The parsed JSON if ``text`` holds a JSON object or array, else ``ABSENT``."""
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return ABSENT
    try:
        return json.loads(text)
    except ValueError:
        return ABSENT


def diff_paths(expected: Any, actual: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Yield ``(path, expected, actual)`` for each leaf where the values differ.

    Items present on one side only are paired with `ABSENT`.

    >>> from tower_llm_fx import ToolCall
    >>> list(diff_paths(ToolCall(id="1", name="a", arguments="{}"), ToolCall(id="1", name="b", arguments="{}")))
    [('name', 'a', 'b')]
    >>> list(diff_paths(ToolCall(id="1", name="a", arguments='{"x": [1, 2]}'), ToolCall(id="1", name="a", arguments='{"x": [1, 3]}')))
    [('arguments["x"][1]', 2, 3)]
    """
    if expected is actual or expected == actual:
        return
    if type(expected) is not type(actual):
        yield (path or "<value>", expected, actual)
        return
    if attrs.has(type(expected)):
        for f in attrs.fields(type(expected)):
            yield from diff_paths(
                getattr(expected, f.name),
                getattr(actual, f.name),
                f"{path}.{f.name}" if path else f.name,
            )
        return
    if isinstance(expected, (tuple, list)):
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            yield from diff_paths(e, a, f"{path}[{i}]")
        if len(expected) != len(actual):
            yield (f"{path} (length)", len(expected), len(actual))
            for i in range(len(actual), len(expected)):
                yield (f"{path}[{i}]", expected[i], ABSENT)
            for i in range(len(expected), len(actual)):
                yield (f"{path}[{i}]", ABSENT, actual[i])
        return
    if isinstance(expected, dict):
        for key in [*expected, *(k for k in actual if k not in expected)]:
            yield from diff_paths(
                expected.get(key, ABSENT), actual.get(key, ABSENT), f"{path}[{json.dumps(key)}]"
            )
        return
    if isinstance(expected, str):
        e_doc, a_doc = _json_container(expected), _json_container(actual)
        if e_doc is not ABSENT and a_doc is not ABSENT and e_doc != a_doc:
            yield from diff_paths(e_doc, a_doc, path)
            return
    yield (path or "<value>", expected, actual)


def field_diff(expected: Any, actual: Any, *, limit: int = 20) -> str:
    """Render `diff_paths` as indented ``path: expected -> actual`` lines.

    >>> from tower_llm_fx import ToolCall
    >>> print(field_diff(ToolCall(id="1", name="add", arguments='{"a":1}'), ToolCall(id="1", name="add", arguments='{"a":2}')))
      arguments["a"]: 1 -> 2
    >>> print(field_diff("x" * 300 + "abc", "x" * 300 + "abd"))
      <value> (from char 262): '…xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxabc' -> '…xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxabd'
    """
    lines = []
    for i, (path, e, a) in enumerate(diff_paths(expected, actual)):
        if i == limit:
            lines.append("  ... (more differences)")
            break
        lines.append(f"  {path}{_pair(e, a)}")
    return "\n".join(lines) if lines else "  (no field differences)"


_WIDTH = 200
_CONTEXT = 40


def _pair(e: Any, a: Any) -> str:
    if isinstance(e, str) and isinstance(a, str) and max(len(e), len(a)) > _WIDTH:
        n = 0
        for n, (x, y) in enumerate(zip(e, a, strict=False)):  # noqa: B007 - n is used after the loop
            if x != y:
                break
        else:
            n = min(len(e), len(a))
        start = max(0, n - _CONTEXT)
        return f" (from char {start}): {_window(e, start)} -> {_window(a, start)}"
    return f": {_short(e)} -> {_short(a)}"


def _window(text: str, start: int) -> str:
    part = text[start : start + _WIDTH]
    return ("'…" if start else "'") + repr(part)[1:-1] + ("…'" if start + _WIDTH < len(text) else "'")


def _short(value: Any, width: int = _WIDTH) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
