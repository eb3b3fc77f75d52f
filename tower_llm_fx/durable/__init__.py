"""tower_llm_fx.durable: the effect journal of a durable run and the pure decisions of a resume.

A durable run (``interpreters.run(program, interpreter, input,
journal=store, run_id=...)``) journals an `Intent` before each effect and an
`Outcome` or `Failure` after it. Resuming replays the completed prefix from
the journal and continues live; `decide` says what happens to an effect whose
outcome a crash lost (performed again if that is safe, else answered with an
`outcome_unknown` tool result or by your reconciler). The stores and the
runner live in ``interpreters``; everything here is pure.

    >>> from tower_llm_fx import ToolCall
    >>> from tower_llm_fx.durable import Intent, RunBegun, decide, fold_journal
    >>> call = ToolCall(id="c1", name="pay")
    >>> slots = fold_journal([RunBegun(run_id="r"), Intent(at=0, effect=call)])
    >>> decide((0, None), call, slots[(0, None)])
    Reconcile(attempt=2)
"""

from tower_llm_fx._context import ToolContext as ToolContext
from tower_llm_fx._context import idempotency_key as idempotency_key
from tower_llm_fx._publish import publish as _publish

from ._delta import CallBase as CallBase
from ._delta import compact_entry as compact_entry
from ._delta import expand_entry as expand_entry
from ._delta import next_call_base as next_call_base
from ._journal import Entry as Entry
from ._journal import Failure as Failure
from ._journal import FailureKind as FailureKind
from ._journal import Intent as Intent
from ._journal import Key as Key
from ._journal import Outcome as Outcome
from ._journal import OutcomeHow as OutcomeHow
from ._journal import RunBegun as RunBegun
from ._journal import Slot as Slot
from ._journal import fold_journal as fold_journal
from ._journal import journal_input as journal_input
from ._journal import journal_trace as journal_trace
from ._journal import new_intent as new_intent
from ._journal import new_outcome as new_outcome
from ._journal import new_run_begun as new_run_begun
from ._keyed import context_of as context_of
from ._keyed import keyed as keyed
from ._resume import CheckSaved as CheckSaved
from ._resume import Decision as Decision
from ._resume import Perform as Perform
from ._resume import Reconcile as Reconcile
from ._resume import Replay as Replay
from ._resume import context_free_tools as context_free_tools
from ._resume import decide as decide
from ._resume import idempotent_tools as idempotent_tools
from ._resume import outcome_unknown as outcome_unknown
from ._resume import reconcile_save as reconcile_save

__all__ = [
    "CallBase",
    "CheckSaved",
    "Decision",
    "Entry",
    "Failure",
    "FailureKind",
    "Intent",
    "Key",
    "Outcome",
    "OutcomeHow",
    "Perform",
    "Reconcile",
    "Replay",
    "RunBegun",
    "Slot",
    "ToolContext",
    "compact_entry",
    "context_free_tools",
    "context_of",
    "decide",
    "expand_entry",
    "fold_journal",
    "idempotency_key",
    "idempotent_tools",
    "journal_input",
    "journal_trace",
    "keyed",
    "new_intent",
    "new_outcome",
    "new_run_begun",
    "next_call_base",
    "outcome_unknown",
    "reconcile_save",
]

_publish(__name__, globals(), __all__)
