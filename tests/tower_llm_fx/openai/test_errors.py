"""tower_llm_fx.openai._errors: error mapping (HTTP, 200 bodies, streams), redaction, retry hints, cut bodies.

Bodies are checked against the official ``openai`` package's types
(``tests/support/openai_reference.py``).
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
from tower_llm_fx._secrets import scrub_text
from tower_llm_fx.openai._errors import in_band_error, is_cut_json


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
    body = _body("Incorrect API key provided: sk-proj-abcdefgh12345678wxyz. You can find your key at ...")
    err = fx.openai.from_openai_error(401, {}, body, redact=["topsecret-token"])
    assert "sk-proj" not in str(err)
    assert "wxyz" not in str(err)
    assert "[REDACTED]" in str(err)
    err = fx.openai.from_openai_error(
        401,
        {},
        b"bad header Authorization: Bearer abc.def.ghi and topsecret-token",
        redact=["topsecret-token"],
    )
    assert "abc.def" not in str(err) and "topsecret" not in str(err)
    assert err.provider_message is not None and "topsecret" not in err.provider_message


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (
            b'{"object": "error", "message": "vllm says no", "type": "BadRequestError", "code": 400}',
            "vllm says no",
            400,
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
def test_error_bodies_of_other_servers(body: bytes, message: str | None, code: int | str | None) -> None:
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


# --------------------------------------------------------------------------- one classifier (issue 14)

scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=10)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
CODES = [400, 401, 402, 403, 404, 408, 409, 422, 429, 500, 502, 503, 529, 200, 1001]
NAMES = [
    "rate_limit_exceeded",
    "insufficient_quota",
    "invalid_request_error",
    "server_error",
    "tool_use_failed",
]
codes = (
    st.none()
    | st.sampled_from([*CODES, *(str(c) for c in CODES), *NAMES, "", "whatever"])
    | st.integers(-5, 1000)
    | st.text(max_size=5)
)
error_objects = (
    st.fixed_dictionaries(
        {},
        optional={
            "message": st.text(max_size=20) | json_values,
            "code": codes,
            "type": st.none() | st.sampled_from(NAMES) | st.text(max_size=8),
            "param": st.none() | st.text(max_size=5),
            "metadata": json_values,
            "failed_generation": st.text(max_size=20),
            "object": st.just("error"),
        },
    )
    | st.text(max_size=20)
    | json_values.filter(lambda v: v is not None)
)


def _raised(fn: Any, *args: Any) -> fx.ProviderError:
    with pytest.raises(fx.ProviderError) as info:
        fn(*args)
    return info.value


def _same(a: fx.ProviderError, b: fx.ProviderError) -> None:
    assert type(a) is type(b)
    assert (a.retryable, a.code, a.details, a.provider_message, a.status) == (
        b.retryable,
        b.code,
        b.details,
        b.provider_message,
        b.status,
    )


@given(error_objects)
def test_a_200_error_body_and_the_same_error_in_a_stream_are_the_same_error(error: Any) -> None:
    body = json.dumps({"error": error})
    plain = _raised(fx.openai.from_openai_response, body.encode())
    streamed = _raised(fx.openai.OpenAIStream().feed, body)
    _same(plain, streamed)
    assert type(plain) is not fx.MalformedResponse
    assert plain.status is None  # the HTTP status was 200: retry layers go by `retryable`


@pytest.mark.parametrize(
    ("code", "cls", "retryable"),
    [
        (400, fx.BadRequestError, False),
        ("400", fx.BadRequestError, False),
        (401, fx.AuthenticationError, False),
        (402, fx.BadRequestError, False),
        (403, fx.AuthenticationError, False),
        (404, fx.NotFoundError, False),
        (408, fx.ProviderTimeoutError, True),
        (409, fx.ConflictError, True),
        (429, fx.RateLimitError, True),
        ("429", fx.RateLimitError, True),
        (500, fx.ServerError, True),
        (503, fx.ServerError, True),
        ("rate_limit_exceeded", fx.RateLimitError, True),
        ("insufficient_quota", fx.RateLimitError, False),
        ("invalid_request_error", fx.BadRequestError, False),
        ("tool_use_failed", fx.BadRequestError, False),
        ("something_new", fx.ServerError, True),
        (None, fx.ServerError, True),
        (1001, fx.ServerError, True),
    ],
)
def test_an_error_without_a_status_is_classified_by_its_code(
    code: int | str | None, cls: type[fx.ProviderError], retryable: bool
) -> None:
    err = in_band_error({"code": code, "message": "why"}, where="in the middle of the stream")
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.code == code
    assert err.status is None
    assert "in the middle of the stream" in str(err) and "The server said: why" in str(err)


@given(st.sampled_from(CODES[:-2]), st.booleans())
def test_a_code_that_is_a_status_classifies_as_that_status(status: int, as_text: bool) -> None:
    code: int | str = str(status) if as_text else status
    by_status = fx.openai.from_openai_error(status, {}, json.dumps({"error": {"message": "m"}}))
    by_code = in_band_error({"code": code, "message": "m"}, where="in the body")
    assert type(by_code) is type(by_status)
    assert by_code.retryable is by_status.retryable


def test_the_http_status_wins_over_the_code() -> None:
    err = fx.openai.from_openai_error(503, {}, json.dumps({"error": {"code": 400, "message": "m"}}))
    assert type(err) is fx.ServerError and err.retryable and err.code == 400 and err.status == 503


def test_the_type_stands_in_for_a_missing_code() -> None:
    err = in_band_error({"message": "m", "type": "rate_limit_error", "code": None}, where="here")
    assert type(err) is fx.RateLimitError and err.code == "rate_limit_error"
    err = in_band_error({"message": "m", "type": "BadRequestError", "code": 400}, where="here")
    assert err.code == 400 and "code 400, BadRequestError" in str(err)


def test_openrouter_metadata_and_groq_failed_generation_are_kept() -> None:
    openrouter = {
        "error": {
            "code": 502,
            "message": "Provider returned error",
            "metadata": {"provider_name": "Venice", "raw": '{"error": "overloaded"}'},
        },
        "user_id": "user_1",
    }
    err = fx.openai.from_openai_error(502, {}, json.dumps(openrouter))
    assert err.code == 502
    assert err.details == '{"metadata":{"provider_name":"Venice","raw":"{\\"error\\": \\"overloaded\\"}"}}'
    assert "Details: {" in str(err) and "overloaded" in str(err)
    groq = {
        "error": {
            "message": "Failed to call a function.",
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "failed_generation": "<function=f>{}</function>",
        }
    }
    err = fx.openai.from_openai_error(400, {}, json.dumps(groq))
    assert type(err) is fx.BadRequestError and err.code == "tool_use_failed"
    assert err.details == '{"failed_generation":"<function=f>{}</function>"}'
    plain = fx.openai.from_openai_error(400, {}, _body("m", code="c", param="p"))
    assert plain.details is None  # OpenAI's own four fields are not details


def test_details_are_scrubbed_and_redacted() -> None:
    body = {
        "error": {
            "message": "m",
            "metadata": {
                "raw": "upstream said: Authorization: Bearer abcdefgh12345678 for sk-abcdefgh12345678",
                "api_key": "plain-value-1",
                "note": "the caller's secret my-own-secret-42",
            },
        }
    }
    err = fx.openai.from_openai_error(500, {}, json.dumps(body), redact=["my-own-secret-42"])
    for text in (err.details or "", str(err), repr(err)):
        assert "abcdefgh12345678" not in text
        assert "plain-value-1" not in text
        assert "my-own-secret-42" not in text
    assert err.details is not None and json.loads(err.details)["metadata"]["api_key"] == "[REDACTED]"
    err = in_band_error(body["error"], where="in the middle of the stream")
    assert err.details is not None and "abcdefgh12345678" not in err.details + str(err)


key_texts = st.lists(
    st.sampled_from(
        ["sk-", "sk-proj-", "Bearer ", "abc", "12345678", "XYZ_", "-", " ", "*", ":", "@", "https://u:p"]
    ),
    max_size=8,
).map("".join)


@given(key_texts)
def test_secrets_are_masked_by_the_kernel_scrubber_alone(message: str) -> None:
    """Issue 15: one place scrubs: what the server said comes out exactly as `scrub_text` leaves it."""
    err = fx.openai.from_openai_error(400, {}, _body(message))
    assert err.provider_message == scrub_text(message)


def test_a_caller_secret_is_redacted_wherever_the_server_echoes_it() -> None:
    err = fx.openai.from_openai_error(
        401,
        {},
        _body("no such key: custom-token-9"),
        redact=["custom-token-9", "abc"],  # too short: kept
    )
    assert "custom-token-9" not in str(err) and err.provider_message == "no such key: [REDACTED]"


def test_errors_with_int_codes_and_details_pickle() -> None:
    err = in_band_error({"code": 429, "message": "m", "metadata": {"a": 1}}, where="in the body")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err) and str(back) == str(err)
    assert (back.code, back.details, back.retryable) == (429, '{"metadata":{"a":1}}', True)


# --------------------------------------------------------------------------- 200 bodies


def test_a_null_error_field_is_not_an_error() -> None:
    body = {"choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}], "error": None}
    assert fx.openai.from_openai_response(body).message.content == "hi"
    stream = fx.openai.OpenAIStream()
    assert stream.feed(json.dumps({**body, "choices": [{"index": 0, "delta": {"content": "hi"}}]}))


def test_an_error_next_to_choices_is_an_error() -> None:
    body = {
        "choices": [{"index": 0, "message": {"content": ""}, "finish_reason": "error"}],
        "error": {"code": 502},
    }
    with pytest.raises(fx.ServerError, match="in a 200 response"):
        fx.openai.from_openai_response(body)


def test_a_vllm_error_object_as_the_body() -> None:
    body = {"object": "error", "message": "context too long", "type": "BadRequestError", "code": 400}
    err = _raised(fx.openai.from_openai_response, json.dumps(body))
    assert type(err) is fx.BadRequestError and err.provider_message == "context too long"
    _same(err, _raised(fx.openai.OpenAIStream().feed, json.dumps(body)))


# --------------------------------------------------------------------------- cut bodies

documents = st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=4) | st.lists(
    json_values, min_size=1, max_size=4
)


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("", True),
        ("  ", True),
        ('{"a": 1', True),
        ('{"a": "xy', True),
        ('{"a": tr', True),
        ('{"a": 1.', True),
        ('{"a": 1e+', True),
        ('{"a": "\\u12', True),
        ('{"a": "\\ud83d\\ude', True),
        ("[1, -", True),
        ('{"a": 1}', False),
        ('{"a": 1 2', False),
        ('{"a": 1}x', False),
        ('{"a": "\x01', False),
        ('{"a": tx', False),
        ("<html>502 Bad Gateway</html>", False),
        ("Service Unavailable", False),
        ('"just a string', False),
    ],
)
def test_is_cut_json(text: str, cut: bool) -> None:
    assert is_cut_json(text) is cut


@given(documents, st.data())
def test_every_prefix_of_a_document_is_cut_and_the_document_is_not(doc: Any, data: st.DataObject) -> None:
    text = json.dumps(doc, ensure_ascii=data.draw(st.booleans()))
    assert not is_cut_json(text)
    end = data.draw(st.integers(0, len(text) - 1))
    assert is_cut_json(text[:end])


@given(documents, st.data())
def test_a_cut_body_is_a_retryable_stream_interrupted(doc: Any, data: st.DataObject) -> None:
    raw = json.dumps(doc, ensure_ascii=False).encode()
    end = data.draw(st.integers(0, len(raw) - 1))  # may cut a character in two
    with pytest.raises(fx.StreamInterrupted, match=f"cut after {end} bytes") as info:
        fx.openai.from_openai_response(raw[:end])
    assert info.value.retryable and info.value.status is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b'{"choices": [{"message": {"content": "caf\xe9"}}]}', "not UTF-8"),
        (b'{"choices": [] } trailing', "not JSON"),
    ],
)
def test_garbage_stays_malformed(body: bytes, words: str) -> None:
    with pytest.raises(fx.MalformedResponse, match=words) as info:
        fx.openai.from_openai_response(body)
    assert not info.value.retryable
