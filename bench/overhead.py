"""In-process overhead of an agent run on the scripted interpreter.

One run = model call -> tool `add` -> final answer (2 model calls + 1 tool call),
repeated N times inside one trio.run. Prints runs/s and microseconds per model call,
and the cost of building `agent_interpreter(agent, model=...)` for a 5-tool agent
(target <= 50 us: tool validators are built once per ToolSpec and shared).

    uv run python bench/overhead.py [N]
"""

from __future__ import annotations

import sys
import time

import trio

import tower_llm_fx as fx
from interpreters import agent_interpreter, function, run


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


CALL = fx.AssistantMessage(
    tool_calls=(fx.ToolCallRequest(id="call_1", name="add", arguments='{"a": 2, "b": 3}'),)
)
TOOL_REPLY = fx.ModelReply(
    message=CALL, finish_reason="tool_calls", usage=fx.Usage(prompt_tokens=20, completion_tokens=5)
)
FINAL_REPLY = fx.ModelReply(
    message=fx.AssistantMessage(content="5"), usage=fx.Usage(prompt_tokens=30, completion_tokens=1)
)


def scripted(call: fx.ModelCall) -> fx.ModelReply:
    # Stateless script: answer the tool result with the final text.
    return FINAL_REPLY if isinstance(call.messages[-1], fx.ToolMessage) else TOOL_REPLY


def _five_tools() -> tuple[fx.Tool, ...]:
    @fx.tool
    def search(query: str, limit: int = 5) -> str:
        """Search the notes."""
        return query * limit

    @fx.tool
    def weather(city: str, celsius: bool = True) -> str:
        """Today's weather in a city."""
        return city

    @fx.tool
    def convert(amount: float, currency: str) -> float:
        """Convert an amount to euros."""
        return amount

    @fx.tool
    def remind(text: str, minutes: int) -> str:
        """Set a reminder."""
        return text

    return (add, search, weather, convert, remind)


def construction_us(rounds: int = 2000) -> tuple[float, float]:
    """Microseconds per agent_interpreter(...) for a 5-tool agent: the first (cold) and the best warm."""
    agent = fx.Agent(model="bench", instructions="You help.", tools=_five_tools())
    model = function(scripted)
    start = time.perf_counter()
    agent_interpreter(agent, model=model)
    cold = time.perf_counter() - start
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            agent_interpreter(agent, model=model)
        best = min(best, (time.perf_counter() - start) / rounds)
    return cold * 1e6, best * 1e6


async def main(n: int) -> None:
    agent = fx.Agent(model="bench", instructions="You add numbers.", tools=(add,))
    interp = agent_interpreter(agent, model=function(scripted))
    for _ in range(min(n // 10, 2000)):  # warm-up
        await run(agent, interp, "What is 2 + 3?")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            final = await run(agent, interp, "What is 2 + 3?")
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        assert final.output == "5"
        assert final.model_calls == 2
        assert final.tool_invocations == 1
    runs_per_s = n / best
    print(f"runs:                 {n} (best of 3)")
    print(f"runs/s:               {runs_per_s:,.0f}   (target >= 20,000)")
    print(f"us per run:           {best / n * 1e6:.1f}")
    print(f"us per model call:    {best / n / 2 * 1e6:.1f}   (2 model calls + 1 tool call per run)")
    cold, warm = construction_us()
    print(
        f"agent_interpreter():  {warm:.1f} us for a 5-tool agent (target <= 50 us); first build {cold:.0f} us"
    )


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
