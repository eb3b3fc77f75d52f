"""tower_llm_fx.trace: traces (ordered ``(effect, result)`` exchanges), their JSON Lines codec, redaction and views.

The ``record`` layer writes traces and the ``replay`` interpreter reads them
(both in ``interpreters``); everything here is pure.

    >>> import tower_llm_fx as fx
    >>> from tower_llm_fx.trace import Exchange, Trace, decode_trace, encode_trace
    >>> call = fx.ModelCall(model="m", messages=(fx.user("hi"),))
    >>> trace = Trace(exchanges=(Exchange(effect=call, result=fx.ModelReply(message=fx.assistant("Hi!"))),))
    >>> decode_trace(encode_trace(trace)) == trace
    True
"""

from tower_llm_fx._errors import ReplayMismatch as ReplayMismatch
from tower_llm_fx._errors import TraceExists as TraceExists
from tower_llm_fx._errors import TraceNotFound as TraceNotFound
from tower_llm_fx._errors import TraceStoreError as TraceStoreError
from tower_llm_fx._publish import publish as _publish

from ._codec import DeltaBase as DeltaBase
from ._codec import decode_trace as decode_trace
from ._codec import encode_exchange as encode_exchange
from ._codec import encode_header as encode_header
from ._codec import encode_trace as encode_trace
from ._codec import next_base as next_base
from ._codec import trace_from_json as trace_from_json
from ._codec import trace_to_json as trace_to_json
from ._model import TRACE_FORMAT_VERSION as TRACE_FORMAT_VERSION
from ._model import Exchange as Exchange
from ._model import Trace as Trace
from ._model import TraceDecodeError as TraceDecodeError
from ._model import TraceMeta as TraceMeta
from ._model import check_result as check_result
from ._model import check_trace_id as check_trace_id
from ._model import new_exchange as new_exchange
from ._redact import REDACTED as REDACTED
from ._redact import Redactor as Redactor
from ._redact import redact_exchange as redact_exchange
from ._redact import scrub_exchanges as scrub_exchanges
from ._redact import scrub_json as scrub_json
from ._redact import scrub_text as scrub_text
from ._view import TraceStats as TraceStats
from ._view import describe_effect as describe_effect
from ._view import describe_result as describe_result
from ._view import start_messages as start_messages
from ._view import trace_stats as trace_stats

__all__ = [
    "DeltaBase",
    "Exchange",
    "REDACTED",
    "Redactor",
    "ReplayMismatch",
    "TRACE_FORMAT_VERSION",
    "Trace",
    "TraceDecodeError",
    "TraceExists",
    "TraceMeta",
    "TraceNotFound",
    "TraceStats",
    "TraceStoreError",
    "check_result",
    "check_trace_id",
    "decode_trace",
    "describe_effect",
    "describe_result",
    "encode_exchange",
    "encode_header",
    "encode_trace",
    "new_exchange",
    "next_base",
    "redact_exchange",
    "scrub_exchanges",
    "scrub_json",
    "scrub_text",
    "start_messages",
    "trace_from_json",
    "trace_stats",
    "trace_to_json",
]

_publish(__name__, globals(), __all__)
