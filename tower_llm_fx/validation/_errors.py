"""The validation family's exception (the rest of the tree is in ``tower_llm_fx._errors``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

from tower_llm_fx._errors import TowerLLMFXError

from ._violations import Violation

__all__ = ["InvalidConversation"]


@final
class InvalidConversation(TowerLLMFXError, ValueError):
    """A conversation (or the ``ModelCall`` carrying it) breaks rules the model API
    enforces; raised by the ``validate()`` layer *before* anything is sent.

    The message lists each violation with the index of the offending message.
    The step that built the conversation has a bug, or the policy is stricter
    than the provider (pass a laxer ``ValidationPolicy``).

    Attributes:
        violations: the ``Violation`` values found (never empty).
    """

    def __init__(self, violations: Sequence[Violation], context: str = "the conversation") -> None:
        self.violations: tuple[Violation, ...] = tuple(violations)
        self.context = context
        shown = "\n".join(f"  {v}" for v in self.violations[:20])
        more = len(self.violations) - 20
        if more > 0:
            shown += f"\n  ... and {more} more"
        count = len(self.violations)
        super().__init__(
            f"{context} would be rejected by the model API ({count} violation{'s' * (count != 1)}):\n"
            f"{shown}\nFix the step or code that built these messages, or validate with a laxer "
            "ValidationPolicy if your provider accepts them."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.violations, self.context))
