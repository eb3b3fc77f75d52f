"""`approvals`: ask before a tool runs (and, optionally, before a model reply stands).

The layer performs an `tower_llm_fx.resilience.Approve` effect and applies the `Decision`
with the pure `tower_llm_fx.resilience.apply_decision`: a denied tool call is answered with
an error result of kind ``"denied"`` (the model reads the reason; the
conversation stays valid), a modified one runs with the edited arguments. The
inner interpreter never sees a denied call.

The approver is any of:

* a plain function ``(Approve) -> Decision``;
* an async function (or any interpreter) ``async (Approve) -> Decision``;
* ``None``: the ``Approve`` effect goes to the inner interpreter, so route it
  with ``by_type({..., Approve: ...})`` (and it is recorded like any effect);
* `approval_channel`: a human in the loop, who receives `PendingApproval`s on an
  anyio memory object stream and answers each one.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeAlias, TypeVar, cast, final

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from interpreters._types import Interpreter
from tower_llm_fx import Effect, ModelCall, ModelReply, ToolCall, ToolResult
from tower_llm_fx.resilience import ApprovalError, Approve, Decision, allow, apply_decision, deny, modify

__all__ = ["Approver", "PendingApproval", "approval_channel", "approvals"]

R = TypeVar("R")

Approver: TypeAlias = Callable[[Approve], Decision | Awaitable[Decision]]
"""Decides an `Approve` request: a sync or async function, or an interpreter."""


@final
@attrs.frozen
class _Approvals:
    approver: Approver | None
    tools: bool | frozenset[str]
    models: bool

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _ApprovalsInterpreter(inner, self)

    def needs_approval(self, call: ToolCall) -> bool:
        return self.tools if isinstance(self.tools, bool) else call.name in self.tools

    def __repr__(self) -> str:
        who = getattr(self.approver, "__name__", None) or repr(self.approver)
        tools = self.tools if isinstance(self.tools, bool) else sorted(self.tools)
        return f"approvals({who}, tools={tools}, models={self.models})"


@final
@attrs.frozen
class _ApprovalsInterpreter:
    inner: Interpreter
    layer: _Approvals

    def __repr__(self) -> str:
        return f"{self.layer!r}({self.inner!r})"

    async def __call__(self, effect: Effect[R], /) -> R:
        layer = self.layer
        if isinstance(effect, ToolCall) and layer.needs_approval(effect):
            return cast("R", await self._tool(effect))
        if isinstance(effect, ModelCall) and layer.models:
            reply = await self.inner(effect)
            if not isinstance(reply, ModelReply):
                return reply  # the runtime reports the contract breach
            decision = await self._ask(Approve(subject=reply, request=effect))
            return cast("R", apply_decision(reply, decision))
        return await self.inner(effect)

    async def _ask(self, request: Approve) -> Decision:
        approver = self.layer.approver
        if approver is None:
            decision: object = await self.inner(request)
        else:
            decision = approver(request)
            if inspect.isawaitable(decision):
                decision = await decision
        if not isinstance(decision, Decision):
            raise ApprovalError(
                f"the approver returned {decision!r} for {request.subject!r}; it must return a Decision: "
                "allow(), deny(reason) or modify(...)"
            )
        return decision

    async def _tool(self, call: ToolCall) -> ToolResult:
        out = apply_decision(call, await self._ask(Approve(subject=call)))
        if isinstance(out, ToolResult):
            return out
        return await self.inner(out)


def approvals(
    approver: Approver | None = None, *, tools: bool | Iterable[str] = True, models: bool = False
) -> _Approvals:
    """A layer asking ``approver`` before tool calls run (and model replies stand).

    Args:
        approver: see the module docs; ``None`` sends ``Approve`` to the inner interpreter.
        tools: ``True`` (every tool call), ``False``, or the names of the tools
            that need approval (e.g. only the ones that write).
        models: also approve each model reply (deny → the reply becomes a refusal
            ``"denied: <reason>"``; modify → the approver's replacement reply).

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import local_tools
    >>> @fx.tool
    ... def rm(path: str) -> str:
    ...     "Delete a file."
    ...     return f"deleted {path}"
    >>> def policy(request):
    ...     if request.subject.name == "rm" and '"/"' in request.subject.arguments:
    ...         return fx.resilience.deny("refusing to delete /")
    ...     return fx.resilience.allow()
    >>> tools = approvals(policy)(local_tools([rm]))
    >>> trio.run(tools, fx.ToolCall(id="c1", name="rm", arguments='{"path": "/"}')).content
    'error (denied): refusing to delete /'
    """
    if approver is not None and not callable(approver):
        raise TypeError(f"approver must be a function or an interpreter taking an Approve, got {approver!r}")
    names: bool | frozenset[str]
    if isinstance(tools, bool):
        names = tools
    elif isinstance(tools, str):
        raise TypeError(f"tools= takes a list of names, not one string; did you mean tools=[{tools!r}]?")
    else:
        names = frozenset(tools)
    return _Approvals(approver=approver, tools=names, models=bool(models))


@final
@attrs.define(eq=False)
class PendingApproval:
    """A request waiting for a human's decision; answer it exactly once."""

    request: Approve
    _reply: MemoryObjectSendStream[Decision] = attrs.field(repr=False, alias="reply")

    async def decide(self, decision: Decision) -> None:
        """Send the decision to the waiting run.

        Raises:
            ApprovalError: it was already decided, or the run stopped waiting
                (cancelled or timed out).
        """
        if not isinstance(decision, Decision):
            raise TypeError(
                f"decide() takes a Decision (allow(), deny(reason), modify(...)), got {decision!r}"
            )
        try:
            self._reply.send_nowait(decision)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise ApprovalError(
                f"nobody waits for a decision on {self.request.subject!r} any more: it was already "
                "decided, or the run was cancelled or timed out"
            ) from None
        finally:
            self._reply.close()

    async def allow(self) -> None:
        """Shorthand for ``decide(allow())``."""
        await self.decide(allow())

    async def deny(self, reason: str) -> None:
        """Shorthand for ``decide(deny(reason))``."""
        await self.decide(deny(reason))

    async def modify(
        self, *, arguments: str | Mapping[str, Any] | None = None, reply: ModelReply | None = None
    ) -> None:
        """Shorthand for ``decide(modify(...))``."""
        await self.decide(modify(arguments=arguments, reply=reply))

    async def aclose(self) -> None:
        """Give up without deciding; the run waiting for it fails with `ApprovalError`."""
        self._reply.close()


@final
@attrs.define(eq=False)
class _ChannelApprover:
    requests: MemoryObjectSendStream[PendingApproval]

    async def __call__(self, request: Approve) -> Decision:
        reply_send, reply_receive = anyio.create_memory_object_stream[Decision](1)
        with reply_receive:
            try:
                await self.requests.send(PendingApproval(request, reply=reply_send))
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                reply_send.close()
                raise ApprovalError(
                    "nobody reads the approval channel (its receiving end is closed); keep "
                    "`async for pending in requests:` running while agents need approvals"
                ) from None
            try:
                return await reply_receive.receive()
            except anyio.EndOfStream:
                raise ApprovalError(
                    f"the approval request for {request.subject!r} was closed without a decision"
                ) from None

    async def aclose(self) -> None:
        """Close the channel: the reviewer's ``async for`` loop ends."""
        await self.requests.aclose()

    def __repr__(self) -> str:
        return "approval_channel()"


def approval_channel(
    buffer: int = 0,
) -> tuple[_ChannelApprover, MemoryObjectReceiveStream[PendingApproval]]:
    """A human-in-the-loop approver and the stream its requests arrive on.

    Returns ``(approver, requests)``: give ``approver`` to `approvals`; a reviewer
    task reads ``requests`` and answers each `PendingApproval` with ``decide``
    (or ``allow``/``deny``/``modify``). Close the approver to end the reviewer's loop.

    >>> import trio, tower_llm_fx as fx
    >>> async def main():
    ...     approver, requests = approval_channel()
    ...     async def reviewer():
    ...         async with requests:
    ...             async for pending in requests:
    ...                 await pending.deny("not today")
    ...     async with trio.open_nursery() as nursery:
    ...         nursery.start_soon(reviewer)
    ...         decision = await approver(fx.resilience.Approve(subject=fx.ToolCall(id="c1", name="rm")))
    ...         await approver.aclose()
    ...     return decision.reason
    >>> trio.run(main)
    'not today'
    """
    send, receive = anyio.create_memory_object_stream[PendingApproval](buffer)
    return _ChannelApprover(send), receive
