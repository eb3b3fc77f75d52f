"""`tower_llm_fx._errors`: the exception tree, checked against the tree its docstring draws.

Covers: every class in the docstring's diagram subclasses the parent it is drawn under and the
built-in exception it says it "also" is; every exception class of the library is in the diagram;
the other built-in bases that let callers write ``except TypeError`` / ``except TimeoutError``;
that the docstrings of the provider and session errors say what to do; the attributes of
`ProviderError`, `ReplayMismatch`, `SessionConflict`, `EffectTimeout` and `CircuitOpen`; and that
errors survive pickling (type, message and attributes), as errors crossing a process boundary must.
`DecodeError` pickling is in test_serde.py, next to its module.
"""

from __future__ import annotations

import importlib
import pickle
import re

import pytest

import tower_llm_fx as fx
import tower_llm_fx._errors as errors_module
import tower_llm_fx.group
import tower_llm_fx.resilience
import tower_llm_fx.sessions
import tower_llm_fx.testing
import tower_llm_fx.trace
import tower_llm_fx.validation

_HOMES = (
    "tower_llm_fx._errors",
    "tower_llm_fx._serde",
    "tower_llm_fx.trace",
    "tower_llm_fx.validation",
    "interpreters",  # the shell's own (MCPSessionClosed); importing it also defines them for the walk
)


def _classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for home in _HOMES:
        module = importlib.import_module(home)
        for name in dir(module):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, fx.TowerLLMFXError):
                found[name] = obj
    return found


CLASSES = _classes()


def _diagram() -> list[tuple[str, str | None, str]]:
    """``(name, parent, description)`` for each line of the docstring's tree."""
    doc = errors_module.__doc__
    assert doc is not None
    lines = doc.split("Hierarchy::", 1)[1].strip("\n").splitlines()
    base = len(lines[0]) - len(lines[0].lstrip())  # the diagram's own indentation
    root = lines[0].split()[0]
    rows: list[tuple[str, str | None, str]] = [(root, None, lines[0].strip()[len(root) :].strip())]
    stack = [root]
    for line in lines[1:]:
        match = re.match(r"^(?P<indent>[ │]*)[├└]── (?P<name>\w+)\s*(?P<text>.*)$", line)
        if match is None:
            break  # the end of the diagram
        depth = len(match["indent"][base:]) // 4 + 1
        del stack[depth:]
        rows.append((match["name"], stack[depth - 1], match["text"]))
        stack.append(match["name"])
    return rows


DIAGRAM = _diagram()


def test_the_diagram_was_read() -> None:
    names = [name for name, _, _ in DIAGRAM]
    assert names[0] == "TowerLLMFXError"
    assert len(names) == len(set(names)) >= 35
    assert ("TraceNotFound", "TraceStoreError") in {(n, p) for n, p, _ in DIAGRAM}
    assert ("EffectTimeout", "LayerError") in {(n, p) for n, p, _ in DIAGRAM}


@pytest.mark.parametrize(("name", "parent", "text"), DIAGRAM[1:], ids=[row[0] for row in DIAGRAM[1:]])
def test_each_class_subclasses_the_parent_it_is_drawn_under(name: str, parent: str, text: str) -> None:
    cls = CLASSES[name]
    assert CLASSES[parent] in cls.__bases__, f"{name} should derive from {parent} directly"


@pytest.mark.parametrize(("name", "parent", "text"), DIAGRAM, ids=[row[0] for row in DIAGRAM])
def test_what_a_class_is_also_is_a_base(name: str, parent: str | None, text: str) -> None:
    import builtins

    for also in re.findall(r"also an? (\w+)", text):
        assert issubclass(CLASSES[name], getattr(builtins, also)), f"{name} should also be a {also}"


def test_every_exception_of_the_library_is_in_the_diagram() -> None:
    def walk(cls: type[BaseException]) -> set[type[BaseException]]:
        out = {cls}
        for sub in cls.__subclasses__():
            out |= walk(sub)
        return out

    ours = {
        c.__name__
        for c in walk(fx.TowerLLMFXError)
        if c.__module__.startswith(("tower_llm_fx", "interpreters"))
    }
    assert ours == {name for name, _, _ in DIAGRAM}


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (fx.ConfigurationError, ValueError),
        (fx.ToolSchemaError, ValueError),
        (fx.StepError, TypeError),
        (fx.WrongResultType, TypeError),
        (fx.ProviderTimeoutError, TimeoutError),
        (fx.ProviderConnectionError, ConnectionError),
        (tower_llm_fx.testing.SequenceMismatch, AssertionError),
        (tower_llm_fx.group.UnknownAgent, LookupError),
        (tower_llm_fx.trace.TraceNotFound, LookupError),
        (fx.EffectTimeout, TimeoutError),
        (fx.DecodeError, ValueError),
        (tower_llm_fx.validation.InvalidConversation, ValueError),
    ],
)
def test_builtin_bases_let_callers_catch_by_kind(
    cls: type[BaseException], builtin: type[BaseException]
) -> None:
    assert issubclass(cls, builtin)
    assert issubclass(cls, fx.TowerLLMFXError)


def test_errors_are_not_confused_with_each_other() -> None:
    assert not issubclass(fx.ProviderError, fx.InterpreterError)
    assert not issubclass(fx.EffectTimeout, fx.ProviderError)
    assert not issubclass(fx.ProviderTimeoutError, fx.LayerError)
    assert not issubclass(fx.ConfigurationError, TypeError)


@pytest.mark.parametrize("name", [row[0] for row in DIAGRAM])
def test_every_class_explains_itself(name: str) -> None:
    doc = CLASSES[name].__doc__
    assert doc and doc.strip() and doc != Exception.__doc__


@pytest.mark.parametrize(
    ("cls", "advice"),
    [
        (fx.AuthenticationError, ("API key", "OPENAI_API_KEY", "organization", "project")),
        (fx.NotFoundError, ("base_url", "/v1")),
        (fx.ProviderTimeoutError, ("timeout",)),
        (fx.ProviderConnectionError, ("base_url",)),
        (fx.RateLimitError, ("retry_after", "insufficient_quota")),
        (fx.BadRequestError, ("Not retryable",)),
        (tower_llm_fx.sessions.SessionConflict, ("Reload",)),
        (tower_llm_fx.trace.ReplayMismatch, ("NOT FOUND", "NEXT EXPECTED")),
        (tower_llm_fx.group.UnknownAgent, ("lists the group's agents",)),
    ],
)
def test_docstrings_say_what_to_do(cls: type[BaseException], advice: tuple[str, ...]) -> None:
    doc = " ".join((cls.__doc__ or "").split())
    for words in advice:
        assert words in doc


# ---------------------------------------------------------------- attributes


def test_provider_error_attributes_default_to_unknown() -> None:
    err = fx.ProviderError("the API failed")
    assert str(err) == err.message == "the API failed"
    assert (err.status, err.code, err.request_id, err.retry_after, err.retryable, err.provider_message) == (
        None,
        None,
        None,
        None,
        False,
        None,
    )


def test_provider_error_subclasses_keep_what_the_server_said() -> None:
    err = fx.RateLimitError(
        "slow down",
        status=429,
        code="rate_limit_exceeded",
        request_id="req_1",
        retry_after=2.5,
        retryable=True,
        provider_message="Rate limit reached",
    )
    assert isinstance(err, fx.ProviderError)
    assert (err.status, err.code, err.request_id, err.retry_after, err.retryable) == (
        429,
        "rate_limit_exceeded",
        "req_1",
        2.5,
        True,
    )
    assert err.provider_message == "Rate limit reached"
    with pytest.raises(TypeError):
        fx.RateLimitError("x", 429)  # type: ignore[call-arg]  # the details are keyword-only


def test_the_other_errors_with_details_keep_them() -> None:
    replay = tower_llm_fx.trace.ReplayMismatch("diverged", index=3, expected="e", actual="a")
    assert (str(replay), replay.index, replay.expected, replay.actual) == ("diverged", 3, "e", "a")
    assert tower_llm_fx.trace.ReplayMismatch("ended", index=0).expected is None
    conflict = tower_llm_fx.sessions.SessionConflict("raced", session_id="s1", expected_seq=4, actual_seq=6)
    assert (conflict.message, conflict.session_id, conflict.expected_seq, conflict.actual_seq) == (
        "raced",
        "s1",
        4,
        6,
    )
    timeout = fx.EffectTimeout("too slow", effect_type="ModelCall", seconds=1.5)
    assert (str(timeout), timeout.effect_type, timeout.seconds) == ("too slow", "ModelCall", 1.5)
    breaker = tower_llm_fx.resilience.CircuitOpen("open", retry_in=4.0, consecutive_failures=5)
    assert (str(breaker), breaker.retry_in, breaker.consecutive_failures) == ("open", 4.0, 5)


# ---------------------------------------------------------------- pickling


ERRORS = [
    pytest.param(fx.ConfigurationError("bad agent"), id="ConfigurationError"),
    pytest.param(fx.StepError("not an effect"), id="StepError"),
    pytest.param(fx.WrongResultType("wrong result"), id="WrongResultType"),
    pytest.param(
        fx.RateLimitError("slow", status=429, code="c", request_id="r", retry_after=1.5, retryable=True),
        id="RateLimitError",
    ),
    pytest.param(fx.ProviderTimeoutError("late", retryable=True), id="ProviderTimeoutError"),
    pytest.param(tower_llm_fx.group.UnknownAgent("no 'x'"), id="UnknownAgent"),
    pytest.param(tower_llm_fx.trace.TraceNotFound("no trace"), id="TraceNotFound"),
    pytest.param(fx.DecodeError("$.a[2]", "bad value"), id="DecodeError"),
    pytest.param(
        tower_llm_fx.trace.TraceDecodeError("torn", line=3, field="result", source="t.jsonl"),
        id="TraceDecodeError",
    ),
    pytest.param(fx.MalformedResponse("not JSON: sk-abcdefgh12345678", status=200), id="MalformedResponse"),
    pytest.param(
        tower_llm_fx.trace.ReplayMismatch("diverged", index=2, expected="e", actual="a"),
        id="ReplayMismatch",
    ),
    pytest.param(
        tower_llm_fx.sessions.SessionConflict("raced", session_id="s", expected_seq=1, actual_seq=2),
        id="SessionConflict",
    ),
    pytest.param(
        fx.EffectTimeout("late", effect_type="ToolCall", seconds=2.0),
        id="EffectTimeout",
    ),
    pytest.param(
        tower_llm_fx.resilience.CircuitOpen("open", retry_in=3.0, consecutive_failures=4),
        id="CircuitOpen",
    ),
]


@pytest.mark.parametrize("err", ERRORS)
def test_errors_survive_pickling(err: BaseException) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert back.args == err.args
    assert vars(back) == vars(err)


# ---------------------------------------------------------------- secrets

SECRET_MESSAGE = 'sent Bearer sk-abc12345 to https://u:p@host/v1, body {"token": "x"}'
SECRETS = ("sk-abc12345", "u:p@", '"token": "x"')


def _built_with(message: str) -> list[BaseException]:
    return [
        fx.ConfigurationError(message),
        fx.StepError(message),
        fx.UnhandledEffect(message),
        fx.MalformedResponse(message, provider_message=message),
        fx.ServerError(message, status=500),
        tower_llm_fx.group.UnknownAgent(message),
        fx.DecodeError("$.a", message),
        tower_llm_fx.trace.TraceDecodeError(message, line=2, source="t.jsonl"),
        tower_llm_fx.trace.ReplayMismatch(message, index=0),
        tower_llm_fx.trace.TraceNotFound(message),
        tower_llm_fx.sessions.SessionConflict(message, session_id="s", expected_seq=1, actual_seq=2),
        fx.EffectTimeout(message, effect_type="ModelCall", seconds=1.0),
        tower_llm_fx.resilience.CircuitOpen(message, retry_in=1.0, consecutive_failures=3),
        tower_llm_fx.validation.InvalidConversation(
            [tower_llm_fx.validation.Violation(kind="invalid_name", index=0, explanation=message)]
        ),
    ]


@pytest.mark.parametrize("err", _built_with(SECRET_MESSAGE), ids=lambda e: type(e).__name__)
def test_no_error_shows_a_secret_its_message_quoted(err: BaseException) -> None:
    back = pickle.loads(pickle.dumps(err))
    texts = [str(err), repr(err), str(back), repr(back), repr(err.args), str(getattr(err, "message", ""))]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, (secret, text)
    assert "[REDACTED]" in str(err) and str(back) == str(err)


def test_scrubbing_is_done_once_and_keeps_what_is_harmless() -> None:
    err = fx.StepError(SECRET_MESSAGE)
    assert str(err) == 'sent Bearer [REDACTED] to https://[REDACTED]@host/v1, body {"token": "[REDACTED]"}'
    # errors that scrub their own text first come out the same: scrubbing is idempotent
    assert str(fx.ServerError(SECRET_MESSAGE)) == str(err) == fx.ServerError(SECRET_MESSAGE).message
    assert str(fx.StepError("steps are plain functions")) == "steps are plain functions"
    assert fx.StepError(3, "x").args == (3, "x")  # non-text arguments pass as they are
    with pytest.raises(AttributeError, match="has no 'message' attribute; use str"):
        _ = fx.StepError("no message attribute").message
