"""Checks of single fields: message and tool names, tool call arguments, one call list, content parts.

Shared by the fast acceptor (``_fast.py``), which only asks
"fine?", and the reporter (``_report.py``), which asks "what is
wrong?" (`call_violations`). Names that passed are memoised: they repeat a
lot in long runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tower_llm_fx._content import AudioPart, FilePart, ImagePart, OtherPart, TextPart
from tower_llm_fx._json import loads_bounded
from tower_llm_fx._messages import ToolCallRequest
from tower_llm_fx._tools import ToolSpec

from ._policy import ValidationPolicy
from ._violations import (
    Violation,
    content_too_long,
    duplicate_tool_call_id,
    invalid_content_part,
    invalid_tool_arguments,
    tool_arguments_mismatch,
    unsupported_content_part,
    violation,
)

__all__ = [
    "GOOD_NAMES",
    "GOOD_TOOL_NAMES",
    "ROLE_PARTS",
    "arguments_problem",
    "call_violations",
    "name_ok",
    "part_problem",
    "parts_violations",
    "schema_problem",
    "spec_map",
    "tool_name_ok",
]

# `messages[i].name` and `messages[i].tool_calls[j].function.name`, as the API checks them.
_MESSAGE_NAME = re.compile(r"[^\s<|\\/>]+")
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]+")

# Names already seen to be fine (bounded memos); `accepts` reads them inline to skip a call.
GOOD_TOOL_NAMES: set[str] = set()
GOOD_NAMES: set[str] = set()
_MEMO_LIMIT = 4096


def tool_name_ok(name: str) -> bool:
    """Whether the API accepts ``name`` as a tool call's name."""
    return _memo_match(_TOOL_NAME, GOOD_TOOL_NAMES, name)


def name_ok(name: str) -> bool:
    """Whether the API accepts ``name`` as a message's ``name``."""
    return _memo_match(_MESSAGE_NAME, GOOD_NAMES, name)


def _memo_match(pattern: re.Pattern[str], memo: set[str], name: str) -> bool:
    # A memo of names already seen to be fine: names repeat a lot in long runs.
    if name in memo:
        return True
    if pattern.fullmatch(name) is None:
        return False
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo.add(name)
    return True


def arguments_problem(arguments: str) -> str | None:
    """Why ``arguments`` is not a JSON object (blank text counts as ``{}``), or ``None``."""
    if arguments == "{}" or not arguments.strip():
        return None
    try:
        value = loads_bounded(arguments)
    except ValueError as exc:  # JSONDepthError too: arguments are untrusted model output
        return f"not valid JSON ({exc})"
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}, not an object"
    return None


# A tool's checker, memoised by its canonical schema text: a validator, or why there is none.
_SCHEMA_VALIDATORS: dict[str, Any] = {}


def _validator(spec: ToolSpec) -> Any:
    validator = _SCHEMA_VALIDATORS.get(spec.parameters)
    if validator is None:
        import jsonschema  # only needed when schemas are checked

        try:
            schema = spec.schema()
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            cls.check_schema(schema)
            validator = cls(schema)
        except (ValueError, RecursionError) as exc:  # JSONDepthError: a ToolSpec built unchecked
            validator = f"the tool's parameters schema cannot be read ({_describe(exc)}); fix the ToolSpec"
        except jsonschema.SchemaError as exc:
            validator = f"the tool's parameters schema is not a valid JSON schema ({_describe(exc)}); fix the ToolSpec"
        if len(_SCHEMA_VALIDATORS) >= 256:
            _SCHEMA_VALIDATORS.clear()
        _SCHEMA_VALIDATORS[spec.parameters] = validator
    return validator


def schema_problem(spec: ToolSpec, arguments: str) -> str | None:
    """The first way ``arguments`` break ``spec``'s schema, or ``None``.

    Total: arguments that are not a JSON object, nest too deep to check, or a
    schema that is itself unusable give a reason, never an exception.

    >>> from tower_llm_fx import ToolSpec
    >>> spec = ToolSpec(name="f", parameters={"type": "object", "required": ["a"]})
    >>> schema_problem(spec, '{"a": 1}') is None, schema_problem(spec, "{}")
    (True, "(root): 'a' is a required property")
    >>> schema_problem(spec, "[" * 100_000 + "]" * 100_000)
    'not valid JSON (the JSON nests deeper than 512 levels)'
    """
    try:
        value = loads_bounded(arguments) if arguments.strip() else {}
    except ValueError as exc:  # JSONDepthError too
        return f"not valid JSON ({exc})"
    validator = _validator(spec)
    if isinstance(validator, str):
        return validator
    try:
        error = min(validator.iter_errors(value), key=_error_key, default=None)
    except RecursionError:  # a recursive schema ($ref) walked down deeply nested arguments
        return "the arguments nest too deeply to check against the tool's schema"
    except Exception as exc:  # the schema names a type or format jsonschema does not know
        return f"the tool's parameters schema cannot be checked ({_describe(exc)}); fix the ToolSpec"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def _describe(exc: BaseException) -> str:
    # jsonschema's messages pretty-print the whole schema and instance, which may be huge
    # (or too deep to print at all): keep the first line, short.
    try:
        lines = str(exc).strip().splitlines()
    except Exception:  # str() itself failed (jsonschema's pretty-printer recursed)
        lines = []
    text = lines[0] if lines else ""
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _error_key(error: Any) -> tuple[str, str]:
    # iter_errors' order depends on dict order inside jsonschema; pick one deterministically.
    return ("/".join(str(p) for p in error.absolute_path), str(error.message))


def call_violations(
    i: int,
    calls: tuple[ToolCallRequest, ...],
    policy: ValidationPolicy,
    first_use: dict[str, int] | None,
    specs: Mapping[str, ToolSpec] | None,
) -> list[Violation]:
    """Every violation of one assistant message's tool calls (the slow, explaining path)."""
    out: list[Violation] = []
    empty = [p for p, c in enumerate(calls) if not c.id]
    if empty:
        out.append(violation("empty_tool_call_id", i, positions=empty))
    limit = policy.max_tool_call_id_length
    if limit is not None:
        long_ids = [c.id for c in calls if len(c.id) > limit]
        if long_ids:
            out.append(violation("tool_call_id_too_long", i, ids=long_ids, limit=limit))
    seen: set[str] = set()
    within: list[str] = []
    reused: list[tuple[str, int]] = []
    for c in calls:
        if not c.id:
            continue
        if c.id in seen:
            if c.id not in within:
                within.append(c.id)
            continue
        seen.add(c.id)
        if first_use is not None and c.id in first_use:
            reused.append((c.id, first_use[c.id]))
    if within or reused:
        out.append(duplicate_tool_call_id(i, within, reused))
    if first_use is not None:
        for c in calls:
            if c.id:
                first_use.setdefault(c.id, i)
    bad_names: list[str] = []
    if policy.check_names:
        bad_names = [c.name for c in calls if not tool_name_ok(c.name)]
        if bad_names:
            out.append(violation("invalid_tool_name", i, names=bad_names))
    objects = [True] * len(calls)
    if policy.check_tool_arguments:
        problems = []
        for p, c in enumerate(calls):
            why = arguments_problem(c.arguments)
            if why is not None:
                problems.append((p, why))
                objects[p] = False
        if problems:
            out.append(invalid_tool_arguments(i, problems))
    if specs is not None:
        unknown = list(
            dict.fromkeys(c.name for c in calls if c.name not in specs and c.name not in bad_names)
        )
        if unknown:
            out.append(violation("unknown_tool", i, names=unknown, offered=sorted(specs)))
        mismatches = []
        for p, c in enumerate(calls):
            spec = specs.get(c.name)
            if spec is None or not objects[p]:  # not an object: reported already, once
                continue
            why = schema_problem(spec, c.arguments)
            if why is not None:
                mismatches.append((p, c.name, why))
        if mismatches:
            out.append(tool_arguments_mismatch(i, mismatches))
    return out


def spec_map(tools: Sequence[ToolSpec], policy: ValidationPolicy) -> dict[str, ToolSpec] | None:
    if not policy.check_tool_schemas:
        return None
    return {t.name: t for t in tools}


# --------------------------------------------------------------------------- content parts

_TEXT_TYPES: tuple[type[Any], ...] = (TextPart, OtherPart)
_ALL_TYPES: tuple[type[Any], ...] = (TextPart, ImagePart, AudioPart, FilePart, OtherPart)
_TEXT_ONLY = frozenset(_TEXT_TYPES)
# The part types each role accepts in the OpenAI chat-completions API. An OtherPart
# is a provider's own kind of part (a refusal part, a video): never ours to reject.
ROLE_PARTS: Mapping[str, frozenset[type[Any]]] = {
    "system": _TEXT_ONLY,
    "developer": _TEXT_ONLY,
    "user": frozenset(_ALL_TYPES),
    "assistant": _TEXT_ONLY,
    "tool": _TEXT_ONLY,
}
_DETAILS = ("auto", "low", "high")
_AUDIO_FORMATS = ("wav", "mp3")


def _url_ok(url: str) -> bool:
    head = url[:8].lower()
    return head.startswith(("http://", "https://", "data:"))


def part_problem(part: object) -> str | None:
    """Why the API would reject ``part`` whatever its role, or ``None``.

    >>> from tower_llm_fx import ImagePart
    >>> part_problem(ImagePart(url="https://example.com/a.png", detail="medium"))
    "image detail 'medium' is not 'auto', 'low' or 'high'"
    """
    t = type(part)
    if t is TextPart or t is OtherPart:
        return None
    if t is ImagePart:
        assert isinstance(part, ImagePart)
        if part.detail is not None and part.detail not in _DETAILS:
            return f"image detail {part.detail!r} is not 'auto', 'low' or 'high'"
        if not _url_ok(part.url):
            shown = repr(part.url[:60]) + ("..." if len(part.url) > 60 else "")
            return f"image url {shown} is neither an http(s) URL nor a data: URL"
        return None
    if t is AudioPart:
        assert isinstance(part, AudioPart)
        if part.format not in _AUDIO_FORMATS:
            return f"audio format {part.format[:20]!r} is not 'wav' or 'mp3'"
        return None
    if t is FilePart:
        assert isinstance(part, FilePart)
        if part.file_id is None and part.data is None:
            return "a file part needs file_id (an uploaded file) or data (a base64 data URL)"
        return None
    return f"{t.__name__} is not a content part; use TextPart, ImagePart, AudioPart, FilePart or OtherPart"


def parts_violations(
    i: int, role: str, parts: tuple[object, ...], policy: ValidationPolicy
) -> list[Violation]:
    """Every violation of one message's content parts (the slow, explaining path)."""
    if not parts:
        return [violation("empty_content_parts", i, role=role)]
    out: list[Violation] = []
    limit = policy.max_content_length
    if limit is not None:
        for p, part in enumerate(parts):
            if type(part) is TextPart and len(part.text) > limit:
                out.append(content_too_long(i, role, len(part.text), limit, part=p))
                break
    if policy.check_content_parts:
        accepted = ROLE_PARTS[role]
        known = ROLE_PARTS["user"]
        unsupported = [
            (p, type(part).__name__)
            for p, part in enumerate(parts)
            if type(part) not in accepted and type(part) in known
        ]
        if unsupported:
            out.append(unsupported_content_part(i, role, unsupported))
        problems = []
        for p, part in enumerate(parts):
            if type(part) in accepted or type(part) not in known:
                why = part_problem(part)
                if why is not None:
                    problems.append((p, why))
        if problems:
            out.append(invalid_content_part(i, role, problems))
    return out
