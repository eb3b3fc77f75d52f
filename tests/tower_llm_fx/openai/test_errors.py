"""tower_llm_fx.openai._errors: HTTP error mapping, redaction, retry hints.

Bodies are checked against the official ``openai`` package's types
(``tests/support/openai_reference.py``).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai


def _body(
    message: str, *, type: str = "invalid_request_error", code: str | None = None, param: str | None = None
) -> bytes:
    return json.dumps({"error": {"message": message, "type": type, "param": param, "code": code}}).encode()


@pytest.mark.parametrize(
    ("status", "cls", "retryable", "words"),
    [
        (400, fx.BadRequestError, False, "rejected the request for model 'gpt-x' (HTTP 400"),
        (422, fx.BadRequestError, False, "HTTP 422"),
        (413, fx.BadRequestError, False, "HTTP 413"),
        (401, fx.AuthenticationError, False, "check the API key"),
        (403, fx.AuthenticationError, False, "permission denied"),
        (404, fx.NotFoundError, False, "model 'gpt-x' does not exist"),
        (408, fx.ProviderTimeoutError, True, "HTTP 408"),
        (409, fx.ConflictError, True, "HTTP 409"),
        (429, fx.RateLimitError, True, "rate limited"),
        (500, fx.ServerError, True, "HTTP 500"),
        (503, fx.ServerError, True, "HTTP 503"),
        (302, fx.ProviderError, False, "unexpected HTTP status 302"),
    ],
)
def test_status_mapping(status: int, cls: type[fx.ProviderError], retryable: bool, words: str) -> None:
    err = fx.openai.from_openai_error(
        status, {"X-Request-Id": "req_123"}, _body("the reason", code="some_code"), model="gpt-x"
    )
    assert type(err) is cls
    assert err.status == status
    assert err.retryable is retryable
    assert err.code == "some_code"
    assert err.request_id == "req_123"
    assert err.provider_message == "the reason"
    assert words in str(err)
    assert "The server said: the reason" in str(err)
    assert str(err).endswith("[request id req_123]")


def test_bad_request_names_the_parameter() -> None:
    err = fx.openai.from_openai_error(400, {}, _body("Invalid value for 'temperature'.", param="temperature"))
    assert "Invalid value for 'temperature'. (parameter 'temperature')" in str(err)


def test_insufficient_quota_is_not_retryable() -> None:
    err = fx.openai.from_openai_error(
        429, {}, _body("You exceeded your current quota", code="insufficient_quota")
    )
    assert isinstance(err, fx.RateLimitError)
    assert not err.retryable
    assert "retrying will not help" in str(err)


def test_keys_are_redacted() -> None:
    body = _body(
        "Incorrect API key provided: sk-proj-abc1********************wxyz. You can find your key at ..."
    )
    err = fx.openai.from_openai_error(401, {}, body, redact=["topsecret-token"])
    assert "sk-proj" not in str(err)
    assert "wxyz" not in str(err)
    assert "sk-***" in str(err)
    err = fx.openai.from_openai_error(
        401, {}, b"bad header Authorization: Bearer abc.def and topsecret-token", redact=["topsecret-token"]
    )
    assert "abc.def" not in str(err) and "topsecret" not in str(err)
    assert err.provider_message is not None and "topsecret" not in err.provider_message


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (
            b'{"object": "error", "message": "vllm says no", "type": "BadRequestError", "code": 400}',
            "vllm says no",
            "BadRequestError",
        ),
        (b'{"error": "plain string error"}', "plain string error", None),
        (
            b'{"detail": [{"loc": ["body", "model"], "msg": "field required"}]}',
            '[{"loc": ["body", "model"], "msg": "field required"}]',
            None,
        ),
        (b"Service Unavailable", "Service Unavailable", None),
        (b"", None, None),
    ],
)
def test_error_bodies_of_other_servers(body: bytes, message: str | None, code: str | None) -> None:
    err = fx.openai.from_openai_error(400, {}, body)
    assert err.provider_message == message
    assert err.code == code


@pytest.mark.parametrize(
    ("headers", "now", "expected"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, None, 1.5),
        ({"Retry-After": "7"}, None, 7.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 1445412480.0, 30.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1445412500.0, 0.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, None, None),
        ({"retry-after": "soon"}, 0.0, None),
        ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}, None, 1.0),
        (
            {
                "x-ratelimit-reset-requests": "1s",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "6m0s",
            },
            None,
            360.0,
        ),
        ({"x-ratelimit-reset-tokens": "20ms"}, None, 0.02),
        ({"x-ratelimit-reset-tokens": "1h2m3.5s"}, None, 3723.5),
        ({"x-ratelimit-reset-tokens": "later"}, None, None),
        ({}, None, None),
    ],
)
def test_retry_after_from_headers(headers: dict[str, str], now: float | None, expected: float | None) -> None:
    assert fx.openai.retry_after_from_headers(headers, now=now) == pytest.approx(expected)


def test_retry_hint_reaches_the_error() -> None:
    err = fx.openai.from_openai_error(
        429, {"retry-after": "2"}, _body("slow down", code="rate_limit_exceeded")
    )
    assert err.retry_after == 2.0
    assert "wait 2s" in str(err)


@given(st.integers(0, 10**6), st.integers(0, 59), st.integers(0, 999))
def test_duration_headers(minutes: int, seconds: int, millis: int) -> None:
    text = f"{minutes}m{seconds}s" if millis == 0 else f"{minutes}m{seconds}.{millis:03d}s"
    got = fx.openai.retry_after_from_headers({"x-ratelimit-reset-requests": text})
    assert got == pytest.approx(minutes * 60 + seconds + millis / 1000)
