"""The retry layer: what it retries, how often, and how long it waits.

Tests marked with the ``trio_mock_clock`` backend run on trio only: they use
trio's ``MockClock`` (autojump) to check the exact waiting schedule without
waiting. Everything else runs on trio and asyncio.
"""

from __future__ import annotations

import itertools
from typing import Any

import anyio
import pytest
import trio
import trio.testing

import tower_llm_fx as fx
import tower_llm_fx.resilience
from interpreters import agent_interpreter, by_type, fixed, function, local_tools, openai, perform, stream
from interpreters.layers import retry
from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.anyio

MOCK_CLOCK = pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio-mockclock")],
)
CALL = fx.ModelCall(model="m", messages=(fx.user("hi"),))
FAST = fx.resilience.RetryPolicy(initial_delay=0.0)


class Flaky:
    """A model that raises the given errors first, then answers."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, call: fx.ModelCall) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_transient_model_errors_are_retried_until_success() -> None:
    model = Flaky(fx.ProviderError("busy", status=503), fx.ProviderError("slow down", status=429))
    reply = await retry(FAST)(function(model))(CALL)
    assert reply.message.content == "ok" and model.calls == 3


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    model = Flaky(*(fx.ProviderError(f"busy {i}", status=503) for i in range(5)))
    with pytest.raises(fx.ProviderError, match="busy 2"):
        await retry(fx.resilience.RetryPolicy(max_attempts=3, initial_delay=0.0))(function(model))(CALL)
    assert model.calls == 3


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_are_not_retried(status: int) -> None:
    model = Flaky(fx.ProviderError("no", status=status))
    with pytest.raises(fx.ProviderError):
        await retry(FAST)(function(model))(CALL)
    assert model.calls == 1


async def test_model_retries_can_be_switched_off() -> None:
    model = Flaky(fx.ProviderError("busy", status=503))
    with pytest.raises(fx.ProviderError):
        await retry(FAST, models=False)(function(model))(CALL)
    assert model.calls == 1


def counting_tools(fail_first: int, *, idempotent: bool, raises: bool = False) -> tuple[Any, list[str]]:
    log: list[str] = []

    @fx.tool(idempotent=idempotent)
    def lookup(key: str) -> str:
        """Look a key up."""
        log.append(key)
        if len(log) <= fail_first:
            raise RuntimeError(f"flaky #{len(log)}")
        return key.upper()

    return lookup, log


async def test_tool_calls_are_retried_only_for_idempotent_tools() -> None:
    lookup, log = counting_tools(2, idempotent=True)
    tools = retry(FAST, tools=[lookup])(local_tools([lookup]))
    result = await tools(fx.ToolCall(id="c1", name="lookup", arguments='{"key": "a"}'))
    assert result.content == "A" and log == ["a", "a", "a"]

    unsafe, unsafe_log = counting_tools(2, idempotent=False)
    tools = retry(FAST, tools=[unsafe])(local_tools([unsafe]))  # passed, but not declared idempotent
    result = await tools(fx.ToolCall(id="c1", name="lookup", arguments='{"key": "a"}'))
    assert result.error is not None and result.error.kind == "tool_raised" and unsafe_log == ["a"]


async def test_tool_names_can_be_vouched_for() -> None:
    lookup, log = counting_tools(1, idempotent=False)
    tools = retry(FAST, tools=["lookup"])(local_tools([lookup]))
    assert (await tools(fx.ToolCall(id="c1", name="lookup", arguments='{"key": "z"}'))).content == "Z"
    assert log == ["z", "z"]


async def test_non_retryable_tool_errors_are_returned_at_once() -> None:
    lookup, log = counting_tools(0, idempotent=True)
    tools = retry(FAST, tools=[lookup])(local_tools([lookup]))
    result = await tools(fx.ToolCall(id="c1", name="lookup", arguments='{"key": 3}'))
    assert result.error is not None and result.error.kind == "invalid_arguments" and log == []


async def test_parallel_retries_only_the_failed_idempotent_calls() -> None:
    attempts: dict[str, int] = {}

    @fx.tool(idempotent=True)
    def safe(key: str) -> str:
        """Idempotent and flaky on its first call per key."""
        attempts[key] = attempts.get(key, 0) + 1
        if attempts[key] == 1 and key == "b":
            raise RuntimeError("flaky")
        return key

    @fx.tool
    def unsafe(key: str) -> str:
        """Not idempotent, always fails."""
        attempts["unsafe"] = attempts.get("unsafe", 0) + 1
        raise RuntimeError("nope")

    seen: list[str] = []
    tools = local_tools([safe, unsafe])

    async def spy(effect: fx.ToolCall) -> fx.ToolResult:
        seen.append(effect.id)
        return await tools(effect)

    batch = fx.Parallel(
        calls=[
            fx.ToolCall(id="1", name="safe", arguments='{"key": "a"}'),
            fx.ToolCall(id="2", name="safe", arguments='{"key": "b"}'),
            fx.ToolCall(id="3", name="unsafe", arguments='{"key": "c"}'),
        ]
    )
    results = await perform(retry(FAST, tools=[safe, unsafe])(spy), batch)  # type: ignore[arg-type]
    assert [r.call_id for r in results] == ["1", "2", "3"]
    assert [r.content for r in results[:2]] == ["a", "b"]
    assert results[2].error is not None and results[2].error.kind == "tool_raised"
    assert sorted(seen) == ["1", "2", "2", "3"]  # each call retried on its own
    assert attempts == {"a": 1, "b": 2, "unsafe": 1}


async def test_a_raising_call_is_repeated_only_if_it_is_idempotent() -> None:
    raised: list[str] = []

    async def broken(effect: fx.ToolCall) -> fx.ToolResult:
        raised.append(effect.name)
        raise ConnectionError("tool server unreachable")

    batch = fx.Parallel(calls=[fx.ToolCall(id="1", name="a"), fx.ToolCall(id="2", name="b")], limit=1)
    with pytest.raises(ConnectionError):
        await perform(retry(FAST, tools=["b"])(broken), batch)  # type: ignore[arg-type]
    assert raised == ["a"]  # "a" is not idempotent: it raises at once and the batch stops
    raised.clear()
    with pytest.raises(ConnectionError):
        await perform(retry(FAST, tools=["a", "b"])(broken), batch)  # type: ignore[arg-type]
    assert raised == ["a"] * 3


async def test_other_effects_pass_through_untouched() -> None:
    interp = retry(FAST)(by_type({fx.ModelCall: fixed("hi")}))
    with pytest.raises(fx.UnhandledEffect):
        await interp(fx.ToolCall(id="c", name="t"))


def test_bad_configuration() -> None:
    with pytest.raises(fx.ConfigurationError):
        retry(tools=[42])  # type: ignore[list-item]
    with pytest.raises(fx.ConfigurationError):
        retry(fx.max_steps(3))  # type: ignore[arg-type]
    assert "tools=['lookup']" in repr(retry(tools=["lookup"]))


@MOCK_CLOCK
async def test_schedule_is_exponential_and_honours_retry_after() -> None:
    """trio only: MockClock makes the schedule exact and instant."""
    stamps: list[float] = []
    errors = [
        fx.ProviderError("busy", status=503),
        fx.ProviderError("busy", status=503),
        fx.ProviderError("slow down", status=429, retry_after=10.0),
    ]

    def model(call: fx.ModelCall) -> str:
        stamps.append(trio.current_time())
        if errors:
            raise errors.pop(0)
        return "ok"

    policy = fx.resilience.RetryPolicy(max_attempts=4, initial_delay=1.0, multiplier=2.0, jitter=False)
    start = trio.current_time()
    await retry(policy)(function(model))(CALL)
    assert [round(t - start, 9) for t in stamps] == [0.0, 1.0, 3.0, 13.0]


@MOCK_CLOCK
async def test_jittered_waits_are_reproducible() -> None:
    """trio only: the same seed gives the same waits, every run."""

    async def waits(seed: int) -> list[float]:
        stamps: list[float] = []
        model = Flaky(*(fx.ProviderError("busy", status=503) for _ in range(3)))

        def timed(call: fx.ModelCall) -> str:
            stamps.append(trio.current_time())
            return model(call)

        await retry(fx.resilience.RetryPolicy(max_attempts=4, initial_delay=1.0, seed=seed))(function(timed))(
            CALL
        )
        return [b - a for a, b in itertools.pairwise(stamps)]

    first, again, other = await waits(7), await waits(7), await waits(8)
    assert first == pytest.approx(again) and first != pytest.approx(other)
    policy = fx.resilience.RetryPolicy(max_attempts=4, initial_delay=1.0, seed=7)
    assert first == pytest.approx([policy.backoff(a, key=0) for a in (1, 2, 3)])
    assert all(0 <= w < cap for w, cap in zip(first, (1.0, 2.0, 4.0), strict=True))


async def test_cancellation_is_never_retried() -> None:
    calls = 0

    async def hangs(effect: fx.ModelCall) -> fx.ModelReply:
        nonlocal calls
        calls += 1
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    with anyio.move_on_after(0.05):
        await retry(FAST)(hangs)(CALL)  # type: ignore[arg-type]
    assert calls == 1


async def test_a_retried_stream_reports_its_failed_attempt_as_discarded(fake_openai: FakeOpenAI) -> None:
    """Issue 15.4: the deltas of a failed attempt must not run into the retry's."""
    fake_openai.reply("Hello there!", size=6, done=False, cut=True)  # breaks mid-stream
    fake_openai.reply("Hello there!", size=6)
    agent = fx.Agent(model="m")
    events: list[fx.RunEvent] = []
    async with openai(base_url=fake_openai.base_url, api_key="sk-test-key-0123456789") as model:
        interp = retry(FAST, models=True)(agent_interpreter(agent, model=model))
        async with stream(agent, interp, "hi") as reading:
            events = [e async for e in reading]
    texts = [e.text if isinstance(e, fx.TokenDelta) else type(e).__name__ for e in events[1:]]
    # The first attempt streamed its text, then the connection broke: its deltas are void.
    assert texts[:6] == ["Hello ", "there!", "AttemptDiscarded", "Hello ", "there!", "ModelReplied"], texts
    discarded = next(e for e in events if isinstance(e, fx.AttemptDiscarded))
    assert discarded == fx.AttemptDiscarded(step=1, error="StreamInterrupted")
    # What a reader keeps: the deltas after the last discard spell the reply exactly once.
    kept: list[str] = []
    for e in events:
        if isinstance(e, fx.AttemptDiscarded):
            kept.clear()
        elif isinstance(e, fx.TokenDelta):
            kept.append(e.text)
    assert "".join(kept) == "Hello there!" == reading.final.output  # type: ignore[union-attr]


async def test_a_retry_that_streamed_nothing_reports_nothing_discarded() -> None:
    failures = [fx.ProviderError("busy", status=503)]

    def flaky(call: fx.ModelCall) -> fx.AssistantMessage:
        if failures:
            raise failures.pop()
        return fx.assistant("ok")

    agent = fx.Agent(model="m")
    interp = retry(FAST, models=True)(agent_interpreter(agent, model=function(flaky)))
    async with stream(agent, interp, "hi") as reading:
        names = [type(e).__name__ async for e in reading]
    assert "AttemptDiscarded" not in names and names.count("TokenDelta") == 1
