"""interpreters.layers: interpreter transformers for resilience, observability and control.

Each factory returns a layer, ``Callable[[Interpreter], Interpreter]``; compose
them with `interpreters.stack`, outermost first:

    >>> import tower_llm_fx as fx
    >>> from interpreters import stack
    >>> from interpreters.layers import retry, timeout, tracing
    >>> stack(tracing(), retry(fx.resilience.RetryPolicy(max_attempts=4)), timeout({fx.ModelCall: 60}))
    stack(tracing(capture_content=False), retry(RetryPolicy(max_attempts=4, initial_delay=0.5, multiplier=2.0, max_delay=30.0, jitter=True, seed=0), models=True), timeout({ModelCall: 60.0}))

Decisions (retry schedule, breaker transitions, pacing, budgets, what an
approval means) are pure values in `tower_llm_fx`; these layers only sleep,
cancel, count and export.
"""

from interpreters._publish import publish as _publish

from ._approvals import Approver as Approver
from ._approvals import PendingApproval as PendingApproval
from ._approvals import approval_channel as approval_channel
from ._approvals import approvals as approvals
from ._attempts import journal_attempts as journal_attempts
from ._breaker import CircuitBreaker as CircuitBreaker
from ._breaker import circuit_breaker as circuit_breaker
from ._chaos import Chaos as Chaos
from ._chaos import Fault as Fault
from ._chaos import FaultKind as FaultKind
from ._chaos import chaos as chaos
from ._fallback import fallback as fallback
from ._limit import limit as limit
from ._metrics import MetricRecord as MetricRecord
from ._metrics import metrics as metrics
from ._record import new_trace_id as new_trace_id
from ._record import record as record
from ._retry import retry as retry
from ._sessions import with_store as with_store
from ._timeout import timeout as timeout
from ._tracing import Tracing as Tracing
from ._tracing import tracing as tracing
from ._validate import validate as validate

__all__ = [
    "Approver",
    "Chaos",
    "CircuitBreaker",
    "Fault",
    "FaultKind",
    "MetricRecord",
    "PendingApproval",
    "Tracing",
    "approval_channel",
    "approvals",
    "chaos",
    "circuit_breaker",
    "fallback",
    "journal_attempts",
    "limit",
    "metrics",
    "new_trace_id",
    "record",
    "retry",
    "timeout",
    "tracing",
    "validate",
    "with_store",
]

_publish(__name__, globals(), __all__)
