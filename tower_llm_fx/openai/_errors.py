"""OpenAI errors: failed HTTP responses, errors inside a stream, malformed replies.

Theory: the codec never raises what the server sent as-is. Every exception
built from wire data is built here, so its message says what went wrong and
what to do, quotes the server (clipped, with secrets redacted), and keeps the
fields a retry layer needs. `from_openai_error` maps a failed HTTP response
(status, headers, body) to the right ``ProviderError`` subclass, with the retry
hint from `retry_after_from_headers`. Reading the clock is the shell's job: an
HTTP-date ``Retry-After`` needs ``now``. The overview of the whole codec is in
``tower_llm_fx.openai._messages``.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

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
)
from tower_llm_fx._json import loads_bounded

__all__ = ["from_openai_error", "retry_after_from_headers"]


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


_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{3,}|Bearer\s+\S+)")


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_LIKE.sub(lambda m: "Bearer ***" if m.group(0).startswith("Bearer") else "sk-***", text)


def _error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, code, param) from the error bodies servers send."""
    data: Any = body
    if isinstance(body, (bytes, str)):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            data = loads_bounded(text)
        except ValueError:
            return (clip(text.strip(), 1000) or None, None, None)
    if not isinstance(data, Mapping):
        return (clip(json.dumps(data)), None, None) if data is not None else (None, None, None)
    err = data.get("error", data)
    if isinstance(err, str):
        return err, None, None
    if not isinstance(err, Mapping):
        return clip(json.dumps(err, default=str)), None, None
    message = err.get("message", err.get("detail"))
    if message is not None and not isinstance(message, str):
        message = json.dumps(message, default=str)
    code = err.get("code")
    if not isinstance(code, str):
        kind = err.get("type")
        code = kind if isinstance(kind, str) else None
    param = err.get("param")
    return message, code, param if isinstance(param, str) else None


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
    message (also kept as ``provider_message``), and ends with the request id.
    Anything that looks like an API key, and every string in ``redact``, is
    replaced by ``***``.

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

    >>> err = from_openai_error(429, {"retry-after": "2", "x-request-id": "req_1"},
    ...                         b'{"error": {"message": "Slow down", "type": "requests", "code": "rate_limit_exceeded"}}')
    >>> type(err).__name__, err.retry_after, err.retryable, err.code, err.request_id
    ('RateLimitError', 2.0, True, 'rate_limit_exceeded', 'req_1')
    """
    h = {k.lower(): val for k, val in headers.items()}
    secrets = tuple(redact)
    raw_message, code, param = _error_fields(body)
    server = _redact(raw_message, secrets) if raw_message else None
    request_id = h.get("x-request-id") or h.get("request-id") or h.get("apim-request-id")
    retry_after = retry_after_from_headers(h, now=now)
    said = f" The server said: {server}" if server else " The server gave no message."
    if param:
        said += f" (parameter {param!r})"
    tail = f" [request id {request_id}]" if request_id else ""
    what = f"model {model!r}" if model else "the model"
    code_part = f", {code}" if code else ""
    cls: type[ProviderError]
    retryable = False
    if status == 401 or status == 403:
        cls = AuthenticationError
        advice = (
            "authentication failed (HTTP 401): check the API key: pass openai(api_key=...) or set "
            "OPENAI_API_KEY (for Azure-style servers pass headers={'api-key': ...})."
            if status == 401
            else f"permission denied (HTTP 403): the API key was accepted but may not use {what}; "
            "check that the key belongs to the right organization and project, and its permissions."
        )
    elif status == 404:
        cls = NotFoundError
        where = f" ({base_url})" if base_url else ""
        advice = (
            f"not found (HTTP 404{code_part}): {what} does not exist or this key cannot use it, or the "
            f"base_url{where} is not an OpenAI-compatible API (most base URLs end in /v1)."
        )
    elif status == 408:
        cls, retryable = ProviderTimeoutError, True
        advice = "the server timed out waiting for the request (HTTP 408); retrying may succeed."
    elif status == 409:
        cls, retryable = ConflictError, True
        advice = f"conflict (HTTP 409{code_part}): a conflicting request was in flight; retrying may succeed."
    elif status == 429:
        cls = RateLimitError
        if code == "insufficient_quota":
            advice = (
                "out of quota (HTTP 429, insufficient_quota): the account has no credit left or hit its "
                "spending limit; retrying will not help until that is fixed."
            )
        else:
            retryable = True
            wait = f" The server asks to wait {retry_after:g}s." if retry_after is not None else ""
            advice = f"rate limited (HTTP 429{code_part}): too many requests or tokens; slow down.{wait}"
    elif 500 <= status <= 599:
        cls, retryable = ServerError, True
        advice = f"the server failed (HTTP {status}{code_part}); retrying later may succeed."
    elif 400 <= status <= 499:
        cls = BadRequestError
        advice = f"the server rejected the request for {what} (HTTP {status}{code_part})."
    else:
        cls = ProviderError
        advice = f"unexpected HTTP status {status} from the model server."
    return cls(
        advice + said + tail,
        status=status,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
        retryable=retryable,
        provider_message=server,
    )


_STREAM_ERRORS: dict[str, type[ProviderError]] = {
    "invalid_request_error": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": AuthenticationError,
    "not_found_error": NotFoundError,
    "rate_limit_exceeded": RateLimitError,
    "rate_limit_error": RateLimitError,
    "requests": RateLimitError,
    "tokens": RateLimitError,
}


def stream_error(err: Any) -> ProviderError:
    message, code, _param = _error_fields({"error": err})
    kind = err.get("type") if isinstance(err, Mapping) else None
    cls = _STREAM_ERRORS.get(code or "") or _STREAM_ERRORS.get(kind if isinstance(kind, str) else "")
    cls = cls or ServerError
    server = _redact(message, ()) if message else None
    return cls(
        f"the server sent an error in the middle of the stream ({code or kind or 'no code'}): "
        f"{server or 'no message'}",
        code=code,
        retryable=cls in (ServerError, RateLimitError),
        provider_message=server,
    )
