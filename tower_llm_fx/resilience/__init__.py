"""tower_llm_fx.resilience: the pure decisions behind the resilience layers.

Retry schedules, circuit-breaker transitions, token-bucket pacing, budgets and
approval decisions are values and functions here; the layers in
``interpreters.layers`` only sleep, cancel and count.

    >>> import tower_llm_fx as fx
    >>> from tower_llm_fx.resilience import RetryPolicy
    >>> RetryPolicy(max_attempts=3, initial_delay=1.0, jitter=False).decide(1, fx.ServerError("busy", status=503))
    1.0
"""

from tower_llm_fx._errors import ApprovalError as ApprovalError
from tower_llm_fx._errors import CircuitOpen as CircuitOpen
from tower_llm_fx._publish import publish as _publish

from ._approvals import Approve as Approve
from ._approvals import Decision as Decision
from ._approvals import allow as allow
from ._approvals import apply_decision as apply_decision
from ._approvals import deny as deny
from ._approvals import modify as modify
from ._breaker import BreakerPolicy as BreakerPolicy
from ._breaker import BreakerState as BreakerState
from ._budgets import Budget as Budget
from ._budgets import Price as Price
from ._budgets import rough_token_estimate as rough_token_estimate
from ._budgets import with_budget as with_budget
from ._rate import BucketState as BucketState
from ._rate import TokenBucket as TokenBucket
from ._retry import DEFAULT_RETRY_STATUSES as DEFAULT_RETRY_STATUSES
from ._retry import NON_RETRYABLE_CODES as NON_RETRYABLE_CODES
from ._retry import RetryPolicy as RetryPolicy
from ._retry import is_transient as is_transient

__all__ = [
    "ApprovalError",
    "Approve",
    "BreakerPolicy",
    "BreakerState",
    "BucketState",
    "Budget",
    "CircuitOpen",
    "DEFAULT_RETRY_STATUSES",
    "Decision",
    "NON_RETRYABLE_CODES",
    "Price",
    "RetryPolicy",
    "TokenBucket",
    "allow",
    "apply_decision",
    "deny",
    "is_transient",
    "modify",
    "rough_token_estimate",
    "with_budget",
]

_publish(__name__, globals(), __all__)
