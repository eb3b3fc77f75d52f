"""Helpers for durable-run tests: a journal that dies like a killed process, counting tools, a
deterministic model, and the "resume ≡ uninterrupted, except outcome-unknown answers" comparison."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import tower_llm_fx as fx
from interpreters import function
from interpreters.stores import JournalStore
from tower_llm_fx.durable import Entry, ToolContext
from tower_llm_fx.trace import Trace


class Killed(BaseException):
    """The process died here (nothing after it runs: not even the journal's failure entry)."""


class DyingJournal:
    """A journal store that writes ``lives`` entries and then dies: every later append raises `Killed`
    and writes nothing, as if the process had been killed with SIGKILL just before that write."""

    def __init__(self, inner: JournalStore, lives: int) -> None:
        self.inner = inner
        self.lives = lives
        self.died = False

    async def entries(self, run_id: str, /) -> tuple[Entry, ...]:
        return await self.inner.entries(run_id)

    async def append(self, run_id: str, index: int, entry: Entry, /) -> None:
        if self.lives <= 0:
            self.died = True
            raise Killed(f"killed before entry #{index} ({type(entry).__name__})")
        self.lives -= 1
        await self.inner.append(run_id, index, entry)

    async def load(self, run_id: str, /, *, allow_truncated: bool = False) -> Trace:
        return await self.inner.load(run_id)

    async def list(self) -> tuple[str, ...]:
        return await self.inner.list()


class SideEffects:
    """Tools whose side effects are counted per idempotency key (``pay``) or per call (``add``)."""

    def __init__(self) -> None:
        self.payments: Counter[str] = Counter()
        self.adds = 0

        @fx.tool
        def pay(amount: int, ctx: ToolContext) -> str:
            """Pay an amount (not idempotent)."""
            self.payments[ctx.idempotency_key or ctx.call_id] += 1
            return f"paid {amount}"

        @fx.tool(idempotent=True)
        def add(a: int, b: int) -> int:
            """Add two integers (idempotent)."""
            self.adds += 1
            return a + b

        @fx.tool
        def explode(reason: str = "boom") -> str:
            """Always fails."""
            raise RuntimeError(reason)

        self.tools = (pay, add, explode)


def scripted(replies: Sequence[fx.ModelReply]) -> Any:
    """A model whose n-th reply answers the call with n assistant messages before it (so a resumed
    run, which starts its model anew, gets the reply the uninterrupted run got at that point)."""
    script = tuple(replies)

    def answer(call: fx.ModelCall) -> fx.ModelReply:
        n = sum(isinstance(m, fx.AssistantMessage) for m in call.messages)
        return script[n] if n < len(script) else fx.ModelReply(message=fx.assistant("Done."))

    return function(answer)


def is_unknown(message: fx.Message) -> bool:
    return isinstance(message, fx.ToolMessage) and str(message.content).startswith("error (outcome_unknown)")


def same_but_unknown(resumed: fx.RunState, uninterrupted: fx.RunState) -> bool:
    """Whether ``resumed`` is ``uninterrupted`` except tool results answered ``outcome_unknown``."""
    a, b = resumed.messages, uninterrupted.messages
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        if not (
            is_unknown(x)
            and isinstance(x, fx.ToolMessage)
            and isinstance(y, fx.ToolMessage)
            and x.tool_call_id == y.tool_call_id
        ):
            return False
    return (resumed.steps, resumed.model_calls, resumed.tool_invocations, resumed.stop, resumed.usage) == (
        uninterrupted.steps,
        uninterrupted.model_calls,
        uninterrupted.tool_invocations,
        uninterrupted.stop,
        uninterrupted.usage,
    )
