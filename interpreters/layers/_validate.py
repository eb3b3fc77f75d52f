"""`validate`: a layer that checks every outgoing ``ModelCall`` before it is sent.

The decision is pure (``tower_llm_fx.validation.validate_model_call``); this layer only
applies it: a call that breaks a rule raises ``InvalidConversation`` and the
inner interpreter never sees it, so no request is made, no tokens are spent
and the error names the offending message instead of a provider's 400.
Other effects pass through untouched.
"""

from __future__ import annotations

from typing import TypeVar, final

import attrs

from interpreters._types import Interpreter
from tower_llm_fx import Effect, ModelCall
from tower_llm_fx.validation import InvalidConversation, ValidationPolicy, validate_model_call

__all__ = ["validate"]

R = TypeVar("R")


@final
@attrs.frozen(eq=False)
class _Validating:
    inner: Interpreter
    policy: ValidationPolicy

    async def __call__(self, effect: Effect[R], /) -> R:
        if type(effect) is ModelCall:
            violations = validate_model_call(effect, self.policy)
            if violations:
                raise InvalidConversation(violations, f"the ModelCall to {effect.model!r}")
        return await self.inner(effect)

    def __repr__(self) -> str:
        return f"validate(...)({self.inner!r})"


@final
@attrs.frozen
class _ValidateLayer:
    policy: ValidationPolicy

    def __call__(self, inner: Interpreter) -> Interpreter:
        if not callable(inner):
            raise TypeError(f"validate() wraps an interpreter, got {inner!r}")
        return _Validating(inner, self.policy)

    def __repr__(self) -> str:
        return "validate()" if self.policy == ValidationPolicy() else f"validate({self.policy!r})"


def validate(policy: ValidationPolicy | None = None) -> _ValidateLayer:
    """A layer that raises ``InvalidConversation`` for a ``ModelCall`` breaking ``policy``.

    The default policy is what the OpenAI API accepts, so the error comes
    before the network call instead of as a 400 after it. Put it next to the
    model interpreter: ``stack(validate(), retry(...))(interp)`` (retrying an
    invalid request cannot help).

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import fixed
    >>> interp = validate()(fixed("hi"))
    >>> call = fx.ModelCall(model="m", messages=[fx.user("hi"), fx.ToolMessage(tool_call_id="c9", content="?")])
    >>> trio.run(interp, call)
    Traceback (most recent call last):
      ...
    tower_llm_fx.validation.InvalidConversation: the ModelCall to 'm' would be rejected by the model API (1 violation):
      messages[1]: tool message (tool_call_id 'c9') answers no tool call: the assistant message before it made none [orphan_tool_message]
    Fix the step or code that built these messages, or validate with a laxer ValidationPolicy if your provider accepts them.
    """
    if policy is not None and not isinstance(policy, ValidationPolicy):
        raise TypeError(f"validate() takes a ValidationPolicy, got {policy!r}")
    return _ValidateLayer(policy if policy is not None else ValidationPolicy())
