"""The ToolContext a tool receives in the shell: the one its call carries (its own in each call of a
batch), or a bare one; journal_attempts sees what is in flight only once it exists."""

from __future__ import annotations

import json

import anyio
import pytest

import tower_llm_fx as fx
from interpreters import agent_interpreter, local_tools, run, sequence
from interpreters.stores import MemoryJournal
from tower_llm_fx.durable import ToolContext, keyed

pytestmark = pytest.mark.anyio


async def test_each_call_of_a_parallel_batch_gets_its_own_key() -> None:
    seen: dict[str, str | None] = {}

    @fx.tool
    async def pay(amount: int, ctx: ToolContext) -> str:
        """Pay."""
        await anyio.sleep(0.001 * amount)  # interleave the calls
        seen[ctx.call_id] = ctx.idempotency_key
        return "ok"

    agent = fx.Agent(model="m", tools=(pay,), parallel_tools=True)
    calls = [
        fx.ToolCallRequest(id=f"p{i}", name="pay", arguments=json.dumps({"amount": 3 - i})) for i in range(3)
    ]
    model = sequence([fx.assistant(None, *calls), "done"])
    await run(agent, agent_interpreter(agent, model=model), "Go.", journal=MemoryJournal(), run_id="r")
    assert seen == {"p0": "r/1/p0", "p1": "r/1/p1", "p2": "r/1/p2"}


async def test_local_tools_passes_the_context_by_the_declared_name() -> None:
    @fx.tool
    def whoami(context: ToolContext) -> str:
        """Say which call this is."""
        return f"{context.call_id} {context.idempotency_key} {context.attempt}"

    tools = local_tools([whoami])
    result = await tools(keyed(fx.ToolCall(id="c9", name="whoami"), "r", "r/2/c9", 2))
    assert result.content == "c9 r/2/c9 2"
    bare = await tools(fx.ToolCall(id="c9", name="whoami"))
    assert bare.content == "c9 None 1"
    # The model cannot pass it: it is not in the schema, so the argument is rejected.
    forged = await tools(fx.ToolCall(id="c9", name="whoami", arguments='{"context": {}}'))
    assert forged.error is not None and forged.error.kind == "invalid_arguments"


async def test_what_is_in_flight_is_published_once_a_journal_attempts_layer_exists() -> None:
    from interpreters._in_flight import DEMAND, current
    from interpreters.layers import journal_attempts

    seen: list[object] = []

    @fx.tool
    def probe() -> str:
        """Look at what is in flight."""
        flight = current.get()
        seen.append(None if flight is None else (flight.run_id, flight.at, flight.idempotency_key))
        return "ok"

    agent = fx.Agent(model="m", tools=(probe,))
    script: list[fx.AssistantMessage | str] = [
        fx.assistant(None, fx.ToolCallRequest(id="c1", name="probe")),
        "done",
    ]
    interp = journal_attempts()(agent_interpreter(agent, model=sequence(script)))
    assert DEMAND.attempts  # set for good when the layer wrapped an interpreter
    await run(agent, interp, "Go.", journal=MemoryJournal(), run_id="r")
    assert seen == [("r", 1, "r/1/c1")]
    assert current.get() is None  # reset after the effect
