"""Approvals: the `Approve` effect, the `Decision` an approver returns, and what it means.

Theory of operation: before a tool call runs (or after a model replies), the
approvals layer performs an ``Approve`` effect and gets a `Decision` back:
allow, deny (with a reason) or modify. *Applying* a decision is pure and lives
here (`apply_decision`); asking is the shell's job. The rules keep the
conversation valid, which tower-llm's approvals did not:

* a denied tool call is answered with an error ``ToolResult`` of kind
  ``"denied"`` carrying the reason, so the model reads why and every tool call
  is still answered exactly once;
* a modified tool call keeps its id and name; only the arguments change;
* a denied model reply is replaced by an assistant *refusal* saying
  ``"denied: <reason>"`` (nothing is wiped; the tokens spent stay counted);
* a modified model reply replaces the message, keeping the usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias, final, overload

import attrs
from attrs import validators as v

from tower_llm_fx._effects import Effect, ModelCall, ToolCall
from tower_llm_fx._errors import ApprovalError
from tower_llm_fx._json import canonical_json
from tower_llm_fx._messages import AssistantMessage
from tower_llm_fx._results import ModelReply, ToolResult

__all__ = ["Approve", "Decision", "DecisionKind", "allow", "apply_decision", "deny", "modify"]

DecisionKind: TypeAlias = Literal["allow", "deny", "modify"]


def _arguments(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return canonical_json(value)
    raise TypeError(f"modified arguments must be JSON text or a dict, got {type(value).__name__}")


@final
@attrs.frozen(kw_only=True)
class Decision:
    """An approver's answer. Build it with `allow`, `deny` or `modify`.

    >>> deny("writes outside the sandbox")
    Decision(kind='deny', reason='writes outside the sandbox', arguments=None, reply=None)
    """

    kind: DecisionKind = attrs.field(validator=v.in_(("allow", "deny", "modify")))
    reason: str = attrs.field(default="", validator=v.instance_of(str))
    arguments: str | None = attrs.field(default=None, converter=_arguments)
    reply: ModelReply | None = attrs.field(default=None, validator=v.optional(v.instance_of(ModelReply)))

    def __attrs_post_init__(self) -> None:
        if self.kind == "deny" and not self.reason.strip():
            raise ValueError("deny() needs a reason: the model (or the user) reads it")
        if self.kind == "modify" and (self.arguments is None) == (self.reply is None):
            raise ValueError(
                "modify() takes exactly one of arguments=... (a tool call) or reply=... (a model reply)"
            )
        if self.kind != "modify" and (self.arguments is not None or self.reply is not None):
            raise ValueError(f"a {self.kind!r} decision carries no arguments or reply; use modify()")


def allow() -> Decision:
    """Let the tool call run, or the model reply stand, as it is."""
    return Decision(kind="allow")


def deny(reason: str) -> Decision:
    """Refuse, saying why; the reason becomes part of the conversation."""
    return Decision(kind="deny", reason=reason)


def modify(
    *, arguments: str | Mapping[str, Any] | None = None, reply: ModelReply | None = None, reason: str = ""
) -> Decision:
    """Go ahead with edits: new ``arguments`` for a tool call, or a new ``reply``.

    >>> modify(arguments={"path": "/tmp/sandbox/a.txt"}).arguments
    '{"path":"/tmp/sandbox/a.txt"}'
    """
    return Decision(kind="modify", arguments=_arguments(arguments), reply=reply, reason=reason)


def _subject(value: object) -> ToolCall | ModelReply:
    if isinstance(value, (ToolCall, ModelReply)):
        return value
    raise TypeError(f"Approve.subject must be a ToolCall or a ModelReply, got {type(value).__name__}")


@final
@attrs.frozen(kw_only=True)
class Approve(Effect[Decision]):
    """Ask whether a tool call may run (``subject`` is the ``ToolCall``) or a model
    reply may stand (``subject`` is the ``ModelReply``, ``request`` the call that
    produced it).

    **Result:** `Decision`.
    **Performed by:** the approver given to ``interpreters.layers.approvals``
    (a function, an async function, or ``approval_channel()`` for a human), or
    any interpreter it is routed to with ``by_type``.
    """

    subject: ToolCall | ModelReply = attrs.field(converter=_subject)
    request: ModelCall | None = attrs.field(default=None, validator=v.optional(v.instance_of(ModelCall)))


@overload
def apply_decision(subject: ToolCall, decision: Decision) -> ToolCall | ToolResult: ...
@overload
def apply_decision(subject: ModelReply, decision: Decision) -> ModelReply: ...
def apply_decision(subject: ToolCall | ModelReply, decision: Decision) -> ToolCall | ToolResult | ModelReply:
    """What ``decision`` turns ``subject`` into (pure).

    For a tool call: the call to run (maybe with new arguments), or, if denied,
    the error result that answers it. For a model reply: the reply to keep.

    Raises:
        ApprovalError: ``decision`` is not a `Decision`, or does not fit the subject.

    >>> from tower_llm_fx import ToolCall
    >>> call = ToolCall(id="c1", name="rm", arguments='{"path": "/"}')
    >>> apply_decision(call, deny("too broad")).content
    'error (denied): too broad'
    >>> apply_decision(call, modify(arguments={"path": "/tmp/x"})).arguments
    '{"path":"/tmp/x"}'
    """
    if not isinstance(decision, Decision):
        raise ApprovalError(
            f"the approver returned {decision!r}; it must return a Decision: allow(), deny(reason) "
            "or modify(...)"
        )
    if isinstance(subject, ToolCall):
        if decision.kind == "allow":
            return subject
        if decision.kind == "deny":
            return ToolResult.failure(
                call_id=subject.id, name=subject.name, kind="denied", message=decision.reason
            )
        if decision.arguments is None:
            raise ApprovalError(
                f"the approver modified tool call {subject.name!r} with a reply; edit a tool call "
                "with modify(arguments=...)"
            )
        return attrs.evolve(subject, arguments=decision.arguments)
    if decision.kind == "allow":
        return subject
    if decision.kind == "deny":
        return ModelReply(
            message=AssistantMessage(refusal=f"denied: {decision.reason}"),
            usage=subject.usage,
            finish_reason="denied",
            model=subject.model,
            id=subject.id,
        )
    if decision.reply is None:
        raise ApprovalError(
            "the approver modified a model reply with arguments; replace a reply with modify(reply=...)"
        )
    return attrs.evolve(
        decision.reply,
        usage=subject.usage,
        model=decision.reply.model if decision.reply.model is not None else subject.model,
        id=decision.reply.id if decision.reply.id is not None else subject.id,
    )
