"""journal_attempts: a retry layer's attempts, each journalled, in a durable run (trio and asyncio)."""

from __future__ import annotations

from typing import Any

import pytest

import tower_llm_fx as fx
from interpreters import agent_interpreter, by_type, function, local_tools, run, sequence, stack
from interpreters.layers import journal_attempts, retry
from interpreters.stores import MemoryJournal
from tower_llm_fx.durable import Entry, Failure, Intent, Outcome, ToolContext
from tower_llm_fx.resilience import RetryPolicy

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(initial_delay=0.0, max_attempts=3)


def attempts(entries: tuple[Entry, ...], at: int) -> list[tuple[str, int]]:
    return [
        (type(e).__name__, e.attempt)
        for e in entries
        if isinstance(e, (Intent, Outcome, Failure)) and e.at == at
    ]


async def test_each_attempt_of_a_retried_model_call_is_journalled() -> None:
    failures = [fx.ProviderError("busy", status=503), fx.ProviderError("still busy", status=503)]

    def flaky(call: fx.ModelCall) -> str:
        if failures:
            raise failures.pop(0)
        return "hi"

    agent = fx.Agent(model="m")
    journal = MemoryJournal()
    interp = stack(retry(FAST), journal_attempts())(agent_interpreter(agent, model=function(flaky)))
    final = await run(agent, interp, "Go.", journal=journal, run_id="r")
    assert final.output == "hi"
    entries = await journal.entries("r")
    assert attempts(entries, 0) == [
        ("Intent", 1),
        ("Failure", 1),
        ("Intent", 2),
        ("Failure", 2),
        ("Intent", 3),
        ("Outcome", 3),
    ]
    messages = [e.message for e in entries if isinstance(e, Failure)]
    assert messages == ["ProviderError: busy", "ProviderError: still busy"]


async def test_a_retry_that_gives_up_journals_each_failure_once() -> None:
    def down(call: fx.ModelCall) -> str:
        raise fx.ProviderError("down", status=503)

    agent = fx.Agent(model="m")
    journal = MemoryJournal()
    interp = stack(retry(FAST), journal_attempts())(agent_interpreter(agent, model=function(down)))
    with pytest.raises(fx.ProviderError):
        await run(agent, interp, "Go.", journal=journal, run_id="r")
    assert attempts(await journal.entries("r"), 0) == [
        ("Intent", 1),
        ("Failure", 1),
        ("Intent", 2),
        ("Failure", 2),
        ("Intent", 3),
        ("Failure", 3),
    ]


async def test_a_retried_idempotent_tool_sees_its_attempt_and_each_failed_result_is_journalled() -> None:
    seen: list[int] = []

    @fx.tool(idempotent=True)
    def look(q: str, ctx: ToolContext) -> str:
        """Look something up; fails the first time."""
        seen.append(ctx.attempt)
        if len(seen) == 1:
            raise RuntimeError("flaky")
        return "found"

    agent = fx.Agent(model="m", tools=(look,))
    reply = fx.assistant(None, fx.ToolCallRequest(id="c1", name="look", arguments='{"q": "x"}'))
    policy = RetryPolicy(initial_delay=0.0, max_attempts=3, retry_tool_errors=("tool_raised",))
    tools = stack(retry(policy, tools=[look]), journal_attempts())(local_tools([look]))
    interp = by_type({fx.ModelCall: sequence([reply, "done"]), fx.ToolCall: tools})
    journal = MemoryJournal()
    final = await run(agent, interp, "Go.", journal=journal, run_id="r")
    assert final.messages[2].content == "found"
    assert seen == [1, 2]
    entries = await journal.entries("r")
    assert attempts(entries, 1) == [("Intent", 1), ("Failure", 1), ("Intent", 2), ("Outcome", 2)]
    (failure,) = [e for e in entries if isinstance(e, Failure)]
    assert failure.message.startswith("error (tool_raised): RuntimeError: flaky")


async def test_a_retried_tool_that_takes_no_context_goes_down_as_it_came() -> None:
    # Its first attempt carried no ToolContext (context_free_tools); its retry carries none either,
    # while the journal still records each attempt under the call's idempotency key.
    seen: list[fx.ToolCall] = []

    @fx.tool(idempotent=True)
    def look(q: str) -> str:
        """Look something up; fails the first time."""
        if len(seen) == 1:
            raise RuntimeError("flaky")
        return "found"

    inner = local_tools([look])

    async def watching(effect: fx.Effect[Any]) -> Any:
        assert isinstance(effect, fx.ToolCall)
        seen.append(effect)
        return await inner(effect)

    agent = fx.Agent(model="m", tools=(look,))
    reply = fx.assistant(None, fx.ToolCallRequest(id="c1", name="look", arguments='{"q": "x"}'))
    policy = RetryPolicy(initial_delay=0.0, max_attempts=3, retry_tool_errors=("tool_raised",))
    tools = stack(retry(policy, tools=[look]), journal_attempts())(watching)
    interp = by_type({fx.ModelCall: sequence([reply, "done"]), fx.ToolCall: tools})
    journal = MemoryJournal()
    final = await run(agent, interp, "Go.", journal=journal, run_id="r")
    assert final.messages[2].content == "found"
    assert [c.context for c in seen] == [None, None]
    entries = await journal.entries("r")
    assert attempts(entries, 1) == [("Intent", 1), ("Failure", 1), ("Intent", 2), ("Outcome", 2)]
    assert {e.idempotency_key for e in entries if isinstance(e, Intent) and e.at == 1} == {"r/1/c1"}


async def test_outside_a_durable_run_it_only_passes_effects_on() -> None:
    agent = fx.Agent(model="m")
    interp = journal_attempts()(agent_interpreter(agent, model=sequence(["hi"])))
    assert (await run(agent, interp, "Go.")).output == "hi"
    assert repr(journal_attempts()) == "journal_attempts()"
    with pytest.raises(TypeError, match="wraps an interpreter"):
        journal_attempts()(42)  # type: ignore[arg-type]
