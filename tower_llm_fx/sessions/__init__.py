"""tower_llm_fx.sessions: stored conversations (append-only logs) and auto-compaction.

`with_session` wraps a step so that it loads a session once and appends each
completed step; compaction policies decide when and how to shorten what the
model sees. The stores that perform ``LoadSession``/``SaveSession`` live in
``interpreters.stores``.

    >>> import tower_llm_fx as fx
    >>> from tower_llm_fx.sessions import with_session
    >>> step = with_session(fx.Agent(model="m").step, "s1")
    >>> step(step.start("hi"))
    LoadSession(session_id='s1')
"""

from tower_llm_fx._errors import CompactionError as CompactionError
from tower_llm_fx._errors import SessionConflict as SessionConflict
from tower_llm_fx._errors import SessionError as SessionError
from tower_llm_fx._publish import publish as _publish

from ._compaction import DEFAULT_SUMMARY_PROMPT as DEFAULT_SUMMARY_PROMPT
from ._compaction import CompactionPlan as CompactionPlan
from ._compaction import CompactionPolicy as CompactionPolicy
from ._compaction import CompactionStrategy as CompactionStrategy
from ._compaction import Summarise as Summarise
from ._compaction import apply_compaction as apply_compaction
from ._compaction import compact as compact
from ._compaction import custom_compaction as custom_compaction
from ._compaction import drop_oldest as drop_oldest
from ._compaction import estimate_tokens as estimate_tokens
from ._compaction import plan_compaction as plan_compaction
from ._compaction import summarise as summarise
from ._compaction import summary_message as summary_message
from ._compaction import summary_request as summary_request
from ._log import Compaction as Compaction
from ._log import LoadSession as LoadSession
from ._log import Record as Record
from ._log import Saved as Saved
from ._log import SaveSession as SaveSession
from ._log import SessionLog as SessionLog
from ._log import decode_record as decode_record
from ._log import fold_log as fold_log
from ._session import SessionState as SessionState
from ._session import SessionStep as SessionStep
from ._session import with_session as with_session

__all__ = [
    "Compaction",
    "CompactionError",
    "CompactionPlan",
    "CompactionPolicy",
    "CompactionStrategy",
    "DEFAULT_SUMMARY_PROMPT",
    "LoadSession",
    "Record",
    "SaveSession",
    "Saved",
    "SessionConflict",
    "SessionError",
    "SessionLog",
    "SessionState",
    "SessionStep",
    "Summarise",
    "apply_compaction",
    "compact",
    "custom_compaction",
    "decode_record",
    "drop_oldest",
    "estimate_tokens",
    "fold_log",
    "plan_compaction",
    "summarise",
    "summary_message",
    "summary_request",
    "with_session",
]

_publish(__name__, globals(), __all__)
