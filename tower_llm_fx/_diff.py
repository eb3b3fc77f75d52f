"""Field-level differences between two attrs values (effects, messages, ...).

Used by ``run_sequence`` and the replayer to say *what* differs, not just that
two effects are unequal: ``messages[2].content: 'a' -> 'b'``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

__all__ = ["diff_paths", "field_diff"]


def diff_paths(expected: Any, actual: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Yield ``(path, expected, actual)`` for each leaf where the values differ.

    >>> from tower_llm_fx import ToolCall
    >>> list(diff_paths(ToolCall(id="1", name="a", arguments="{}"), ToolCall(id="1", name="b", arguments="{}")))
    [('name', 'a', 'b')]
    """
    if expected == actual:
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
    if isinstance(expected, tuple):
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            yield from diff_paths(e, a, f"{path}[{i}]")
        if len(expected) != len(actual):
            yield (f"{path} (length)", len(expected), len(actual))
        return
    yield (path or "<value>", expected, actual)


def field_diff(expected: Any, actual: Any, *, limit: int = 20) -> str:
    """Render `diff_paths` as indented ``path: expected -> actual`` lines.

    >>> from tower_llm_fx import ToolCall
    >>> print(field_diff(ToolCall(id="1", name="add", arguments='{"a":1}'), ToolCall(id="1", name="add", arguments='{"a":2}')))
      arguments: '{"a":1}' -> '{"a":2}'
    """
    lines = []
    for i, (path, e, a) in enumerate(diff_paths(expected, actual)):
        if i == limit:
            lines.append("  ... (more differences)")
            break
        lines.append(f"  {path}: {_short(e)} -> {_short(a)}")
    return "\n".join(lines) if lines else "  (no field differences)"


def _short(value: Any, width: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
