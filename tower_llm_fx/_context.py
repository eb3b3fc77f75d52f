"""`ToolContext`: what a tool may ask to know about the call it is answering.

Theory of operation: a tool function that declares a parameter annotated
``ToolContext`` gets one when it runs (the parameter is not part of the
schema the model sees). A durable run (``interpreters.run(...,
journal=...)``) fills in its run id and a deterministic idempotency key,
the same on every attempt and after a resume, so a tool calling a
payment-like API can pass it on and let the backend de-duplicate. Pure data;
the shell builds it.
"""

from __future__ import annotations

from typing import final

import attrs
from attrs import validators as v

__all__ = ["ToolContext", "idempotency_key"]


def idempotency_key(run_id: str, at: int, call_id: str) -> str:
    """The idempotency key of tool call ``call_id`` made by effect number ``at`` of run ``run_id``.

    Deterministic: a resumed run derives the same key for the same call.

    >>> idempotency_key("order-7", 3, "call_a")
    'order-7/3/call_a'
    """
    return f"{run_id}/{at}/{call_id}"


@final
@attrs.frozen(kw_only=True)
class ToolContext:
    """The call a tool is answering: its id and, in a durable run, the run id and idempotency key.

    Declare a parameter of this type to receive it; the model never sees it.
    Outside a durable run ``run_id`` and ``idempotency_key`` are ``None``.
    ``attempt`` counts the times the call was started (2 after a resume
    performed it again).

    >>> ctx = ToolContext(call_id="c1", run_id="r", idempotency_key="r/1/c1")
    >>> ctx.idempotency_key, ctx.attempt
    ('r/1/c1', 1)
    """

    call_id: str = attrs.field(validator=v.instance_of(str))
    run_id: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    idempotency_key: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    attempt: int = attrs.field(default=1, validator=[v.instance_of(int), v.ge(1)])
