"""OpenAI errors: failed HTTP responses, error objects in a body or a stream, bad replies.

Theory: the codec never raises what the server sent as-is. Every exception
built from wire data is built here, so its message says what went wrong and
what to do, quotes the server (clipped), and keeps the fields a retry layer
needs. One classifier serves every route an error object takes:
`from_openai_error` for a failed HTTP response (the status decides), and
`in_band_error` for an error object sent with a 200, as the body or inside a
stream (its ``code`` decides: ``400`` or ``"400"`` as that status, names by a
table). So an error is the same class, equally retryable, however it came.
The provider's extra fields (OpenRouter ``metadata``, Groq
``failed_generation``) are kept as ``details``. Secrets: the caller's
``redact=`` strings are replaced here, and everything else goes through the
one kernel scrubber, ``tower_llm_fx._secrets.scrub_text`` (no second
pattern list here). A body that stops mid-document (`is_cut_json`) is
``StreamInterrupted``, as a cut stream is. Reading the clock is the shell's
job: an HTTP-date ``Retry-After`` needs ``now``. The overview of the whole
codec is in ``tower_llm_fx.openai._messages``.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, final

import attrs

from tower_llm_fx._errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    MalformedResponse,
    NotFoundError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamInterrupted,
)
from tower_llm_fx._json import canonical_json, loads_bounded
from tower_llm_fx._secrets import REDACTED, scrub_text

__all__ = ["from_openai_error", "in_band_error", "is_cut_json", "retry_after_from_headers"]


def malformed_response(what: str, data: object = None) -> MalformedResponse:
    shown = "" if data is None else f": {clip(repr(data))}"
    return MalformedResponse(
        f"the server's reply is not an OpenAI chat completion ({what}){shown}; "
        "check that base_url points at an OpenAI-compatible /v1 API"
    )


def clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_FULL = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text: str) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"`` or a bare number of seconds."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        if not _DURATION_FULL.match(text):
            return None
        value = sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(text))
    return value if math.isfinite(value) and value >= 0 else None


def retry_after_from_headers(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait before retrying, or ``None`` if it does not say.

    Looks at, in order: ``retry-after-ms``; ``retry-after`` (seconds, or an
    HTTP date, which needs ``now`` as a Unix timestamp); and OpenAI's
    ``x-ratelimit-reset-requests`` / ``x-ratelimit-reset-tokens`` (``"6m0s"``),
    preferring the limit whose ``x-ratelimit-remaining-*`` is ``0``, otherwise
    the sooner reset. Header names are matched case-insensitively.

    >>> retry_after_from_headers({"Retry-After": "3"})
    3.0
    >>> retry_after_from_headers({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1m30s",
    ...                           "x-ratelimit-remaining-requests": "9", "x-ratelimit-reset-requests": "20ms"})
    90.0
    """
    h = {k.lower(): val for k, val in headers.items()}
    ms = h.get("retry-after-ms")
    if ms is not None:
        value = _duration(ms)
        if value is not None:
            return value / 1000.0
    after = h.get("retry-after")
    if after is not None:
        value = _duration(after)
        if value is not None:
            return value
        if now is not None:
            try:
                when = email.utils.parsedate_to_datetime(after)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(0.0, when.timestamp() - now)
    resets: dict[str, float] = {}
    for kind in ("requests", "tokens"):
        raw = h.get(f"x-ratelimit-reset-{kind}")
        value = _duration(raw) if raw is not None else None
        if value is not None:
            resets[kind] = value
    if not resets:
        return None
    exhausted = [resets[k] for k in resets if h.get(f"x-ratelimit-remaining-{k}", "").strip() == "0"]
    return max(exhausted) if exhausted else min(resets.values())


# --------------------------------------------------------------------------- error objects


def _redact_secrets(doc: Any, secrets: tuple[str, ...]) -> Any:
    """``doc`` with every caller secret inside its strings replaced by ``[REDACTED]``."""
    if not secrets:
        return doc
    if isinstance(doc, str):
        for secret in secrets:
            doc = doc.replace(secret, REDACTED)
        return doc
    if isinstance(doc, dict):
        return {k: _redact_secrets(v, secrets) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_redact_secrets(v, secrets) for v in doc]
    return doc


def _as_json_text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


@final
@attrs.frozen(kw_only=True)
class ErrorFields:
    """What an error body says, whatever the server: message, code, kind, param, the rest."""

    message: str | None
    code: int | str | None
    kind: str | None
    param: str | None
    details: str | None


_NOT_DETAILS = frozenset({"message", "code", "type", "param"})


def error_fields(body: Any, secrets: tuple[str, ...] = ()) -> ErrorFields:
    """The fields of an error body (bytes, text, ``{"error": ...}`` or the error value itself).

    Every caller secret in ``secrets`` is replaced by ``[REDACTED]`` and the
    text fields go through the kernel scrubber (``tower_llm_fx._secrets``).
    """
    data: Any = body
    if isinstance(body, (bytes, str)):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            data = loads_bounded(text)
        except ValueError:
            message = _redact_secrets(text.strip(), secrets)
            return ErrorFields(
                message=scrub_text(clip(message, 1000)) or None,
                code=None,
                kind=None,
                param=None,
                details=None,
            )
    data = _redact_secrets(data, secrets)
    err = data.get("error", data) if isinstance(data, Mapping) else data
    if err is None:
        return ErrorFields(message=None, code=None, kind=None, param=None, details=None)
    if isinstance(err, str):
        return ErrorFields(message=scrub_text(err), code=None, kind=None, param=None, details=None)
    if not isinstance(err, Mapping):
        return ErrorFields(
            message=scrub_text(clip(_as_json_text(err))), code=None, kind=None, param=None, details=None
        )
    message_key = "message" if "message" in err else "detail"
    message = err.get(message_key)
    if message is not None and not isinstance(message, str):
        message = _as_json_text(message)
    kind = err.get("type")
    kind = kind if isinstance(kind, str) and kind else None
    raw_code = err.get("code")
    # An int or non-empty string code is kept as sent; otherwise the type stands in for it.
    usable = type(raw_code) is int or (isinstance(raw_code, str) and raw_code != "")
    code: int | str | None = raw_code if usable else kind
    param = err.get("param")
    extra = {
        k: v
        for k, v in err.items()
        if k not in _NOT_DETAILS and k != message_key and not (k == "object" and v == "error")
    }
    details = None
    if extra:
        try:
            details = scrub_text(canonical_json(extra))
        except ValueError:  # NaN and such: keep what can be kept
            details = scrub_text(_as_json_text(extra))
    return ErrorFields(
        message=scrub_text(message) if message is not None else None,
        code=code,
        kind=kind,
        param=param if isinstance(param, str) else None,
        details=details,
    )


def error_value(doc: Mapping[str, Any]) -> Any:
    """The error a 200 body or a stream chunk carries, or ``None`` if it carries none.

    That is its ``error`` field when not null, or the object itself when it
    says ``"object": "error"`` (vLLM).
    """
    err = doc.get("error")
    if err is not None:
        return err
    return doc if doc.get("object") == "error" else None


# Error codes and types servers send instead of (or as well as) an HTTP status,
# and the status each means. Anything not listed counts as a server failure.
_CODE_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "context_length_exceeded": 400,
    "tool_use_failed": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "requests": 429,
    "tokens": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "api_error": 500,
    "overloaded_error": 529,
}


def _status_of_code(code: int | str | None, kind: str | None) -> int | None:
    """The HTTP status an error code stands for: ``400`` or ``"400"`` as such, names by table."""
    if type(code) is int:
        if 400 <= code <= 599:
            return code
    elif isinstance(code, str):
        if len(code) == 3 and code.isdigit() and 400 <= int(code) <= 599:
            return int(code)
        status = _CODE_STATUS.get(code)
        if status is not None:
            return status
    return _CODE_STATUS.get(kind) if kind is not None else None


def _classify(
    status: int,
    label: str,
    fields: ErrorFields,
    *,
    retry_after: float | None,
    model: str | None,
    base_url: str | None,
) -> tuple[type[ProviderError], bool, str]:
    """(class, retryable, advice) for an error that means HTTP ``status``; ``label`` names it."""
    what = f"model {model!r}" if model else "the model"
    if status == 401:
        return (
            AuthenticationError,
            False,
            f"authentication failed ({label}): check the API key: pass openai(api_key=...) or set "
            "OPENAI_API_KEY (for Azure-style servers pass headers={'api-key': ...}).",
        )
    if status == 403:
        return (
            AuthenticationError,
            False,
            f"permission denied ({label}): the API key was accepted but may not use {what}; "
            "check that the key belongs to the right organization and project, and its permissions.",
        )
    if status == 404:
        where = f" ({base_url})" if base_url else ""
        return (
            NotFoundError,
            False,
            f"not found ({label}): {what} does not exist or this key cannot use it, or the "
            f"base_url{where} is not an OpenAI-compatible API (most base URLs end in /v1).",
        )
    if status == 408:
        return (
            ProviderTimeoutError,
            True,
            f"the server timed out waiting for the request ({label}); retrying may succeed.",
        )
    if status == 409:
        return (
            ConflictError,
            True,
            f"conflict ({label}): a conflicting request was in flight; retrying may succeed.",
        )
    if status == 429:
        if "insufficient_quota" in (fields.code, fields.kind):
            return (
                RateLimitError,
                False,
                f"out of quota ({label}): the account has no credit left or hit its "
                "spending limit; retrying will not help until that is fixed.",
            )
        wait = f" The server asks to wait {retry_after:g}s." if retry_after is not None else ""
        return (
            RateLimitError,
            True,
            f"rate limited ({label}): too many requests or tokens; slow down.{wait}",
        )
    if status == 402:
        return (
            BadRequestError,
            False,
            f"payment required ({label}): the account or API key has no credit left; add credit, "
            "retrying will not help until then.",
        )
    if 500 <= status <= 599:
        return ServerError, True, f"the server failed ({label}); retrying later may succeed."
    if 400 <= status <= 499:
        return BadRequestError, False, f"the server rejected the request for {what} ({label})."
    return ProviderError, False, f"unexpected HTTP status {status} from the model server."


def _said(fields: ErrorFields) -> str:
    said = f" The server said: {fields.message}" if fields.message else " The server gave no message."
    if fields.param:
        said += f" (parameter {fields.param!r})"
    if fields.details:
        said += f" Details: {clip(fields.details)}"
    return said


def from_openai_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes | str | Mapping[str, Any] | None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    now: float | None = None,
    redact: Iterable[str] = (),
) -> ProviderError:
    """The exception for a failed HTTP response; the caller raises it.

    The message says what went wrong and what to do, quotes the server's own
    message (also kept as ``provider_message``) and the other fields of its
    error object (kept as ``details``), and ends with the request id. Every
    string in ``redact`` becomes ``[REDACTED]``, and the kernel scrubber masks
    anything else that looks like a key.

    ================  ==========================  =========
    status            exception                   retryable
    ================  ==========================  =========
    400, 422, 4xx     `BadRequestError`            no
    401, 403          `AuthenticationError`        no
    404               `NotFoundError`              no
    408               `ProviderTimeoutError`       yes
    409               `ConflictError`              yes
    429               `RateLimitError`             yes, except ``insufficient_quota``
    5xx               `ServerError`                yes
    ================  ==========================  =========

    An error object in a 200 body or in a stream, where the status says
    nothing, is classified the same way by its ``code`` (see `in_band_error`).

    >>> err = from_openai_error(429, {"retry-after": "2", "x-request-id": "req_1"},
    ...                         b'{"error": {"message": "Slow down", "type": "requests", "code": "rate_limit_exceeded"}}')
    >>> type(err).__name__, err.retry_after, err.retryable, err.code, err.request_id
    ('RateLimitError', 2.0, True, 'rate_limit_exceeded', 'req_1')
    """
    h = {k.lower(): val for k, val in headers.items()}
    secrets = tuple(s for s in redact if s and len(s) >= 4)
    fields = error_fields(body, secrets)
    request_id = h.get("x-request-id") or h.get("request-id") or h.get("apim-request-id")
    retry_after = retry_after_from_headers(h, now=now)
    code_part = f", {fields.code}" if fields.code is not None else ""
    cls, retryable, advice = _classify(
        status, f"HTTP {status}{code_part}", fields, retry_after=retry_after, model=model, base_url=base_url
    )
    tail = f" [request id {request_id}]" if request_id else ""
    return cls(
        advice + _said(fields) + tail,
        status=status,
        code=fields.code,
        request_id=request_id,
        retry_after=retry_after,
        retryable=retryable,
        provider_message=fields.message,
        details=fields.details,
    )


def in_band_error(err: Any, *, where: str) -> ProviderError:
    """The exception for an error object the server sent with a 200: in the body, or in a stream.

    The HTTP status says nothing here, so the error's ``code`` decides: an int
    (or numeric string) that is an HTTP status counts as that status, a name
    (``"rate_limit_exceeded"``, ``"invalid_request_error"``, its ``type``
    otherwise) by a table, and anything else is a server failure. The class
    and retryability then follow `from_openai_error`'s table; ``status`` is
    ``None`` (the HTTP status was 200), so retry layers go by ``retryable``.

    >>> err = in_band_error({"code": 400, "message": "bad tool schema"}, where="in the middle of the stream")
    >>> type(err).__name__, err.code, err.retryable
    ('BadRequestError', 400, False)
    >>> err = in_band_error({"code": 502, "message": "Provider returned error",
    ...                      "metadata": {"provider_name": "X", "raw": "upstream timeout"}}, where="in the body")
    >>> type(err).__name__, err.retryable, err.details
    ('ServerError', True, '{"metadata":{"provider_name":"X","raw":"upstream timeout"}}')
    """
    fields = error_fields({"error": err})
    status = _status_of_code(fields.code, fields.kind)
    if fields.code is None:
        label = "no error code"
    elif type(fields.code) is int and fields.kind is not None:
        label = f"code {fields.code}, {fields.kind}"
    else:
        label = f"code {fields.code}"
    cls, retryable, advice = _classify(
        status if status is not None else 500, label, fields, retry_after=None, model=None, base_url=None
    )
    return cls(
        f"the server sent an error {where}: {advice}{_said(fields)}",
        code=fields.code,
        retryable=retryable,
        provider_message=fields.message,
        details=fields.details,
    )


def stream_error(err: Any) -> ProviderError:
    """`in_band_error` for an error inside a stream."""
    return in_band_error(err, where="in the middle of the stream")


def body_error(err: Any) -> ProviderError:
    """`in_band_error` for a 200 response whose body is an error object."""
    return in_band_error(err, where="in a 200 response instead of a completion")


# --------------------------------------------------------------------------- cut bodies

_NUMBER_TAIL = re.compile(r"\.|[eE][-+]?")
_ESCAPE_TAIL = re.compile(r"u[0-9a-fA-F]{0,4}")


def is_cut_json(text: str) -> bool:
    """Whether ``text`` is an object or array that stops before its end: a cut, not garbage.

    True for an empty body too (cut after 0 bytes). It relies on where
    ``json`` stops: at the end of the text, inside an unterminated string or
    escape, or inside a literal or number the end cut off.

    >>> is_cut_json('{"choices": [{"index": 0, "message": {"content": "Hel'), is_cut_json("<html>")
    (True, False)
    >>> is_cut_json('{"a": 1}'), is_cut_json('{"a": 1 2'), is_cut_json('{"a": tr')
    (False, False, True)
    """
    start = text.lstrip()
    if not start:
        return True
    if start[0] not in "{[":
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        rest = text[exc.pos :]
        if exc.msg.startswith("Unterminated string"):
            return True
        if exc.msg.startswith("Invalid \\uXXXX escape"):
            return _ESCAPE_TAIL.fullmatch(rest) is not None
        if not rest.strip():
            return True
        if exc.msg == "Expecting value":
            return rest == "-" or any(w.startswith(rest) and w != rest for w in ("true", "false", "null"))
        if exc.msg == "Expecting ',' delimiter":
            return text[exc.pos - 1 : exc.pos].isdigit() and _NUMBER_TAIL.fullmatch(rest) is not None
        return False
    except (ValueError, RecursionError):
        return False
    return False


def body_text(body: bytes) -> str | None:
    """The UTF-8 text of a body, without a last character the end cut in two.

    ``None`` when the body is not UTF-8 (a byte sequence that is invalid, not
    merely cut off at the end).
    """
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end == len(body) and exc.reason == "unexpected end of data":
            try:
                return body[: exc.start].decode("utf-8")
            except UnicodeDecodeError:
                return None
        return None


def cut_body(size: int) -> StreamInterrupted:
    """The error for a JSON body that stops before its document ends."""
    return StreamInterrupted(
        f"the reply body was cut after {size} bytes: it is the start of a JSON document that never "
        "ends (a dropped connection, or a proxy that cut it); the model call failed and may be retried",
        retryable=True,
    )


def not_json(body: str | bytes) -> ProviderError:
    """The error for a reply body that does not parse: a cut (retryable) or not JSON at all."""
    if isinstance(body, bytes):
        text = body_text(body)
        if text is None:
            return malformed_response("the body is not UTF-8 text", body)
        size = len(body)
    else:
        text = body
        size = len(body.encode("utf-8", "surrogatepass"))
    if is_cut_json(text):
        return cut_body(size)
    return malformed_response("the body is not JSON", body)
