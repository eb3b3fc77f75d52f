"""tower_llm_fx.testing: synchronous test helpers for step authors (no event loop, no interpreter).

`run_sequence` drives a step with the exact ``(effect, result)`` pairs you
expect, in the spirit of the effect library's ``perform_sequence``: on a
mismatch it raises `SequenceMismatch` with the log so far, ``NEXT EXPECTED``
and a `field_diff`.

    >>> import tower_llm_fx as fx
    >>> from tower_llm_fx.testing import run_sequence
    >>> agent = fx.Agent(model="m")
    >>> call = agent.step(fx.RunState.start("hi"))
    >>> run_sequence(agent.step, fx.RunState.start("hi"), [(call, fx.ModelReply(message=fx.assistant("Hello!")))]).output
    'Hello!'
"""

from ._diff import field_diff as field_diff
from ._errors import SequenceMismatch as SequenceMismatch
from ._publish import publish as _publish
from ._testing import check_step_output as check_step_output
from ._testing import run_sequence as run_sequence

__all__ = [
    "SequenceMismatch",
    "check_step_output",
    "field_diff",
    "run_sequence",
]

_publish(__name__, globals(), __all__)
