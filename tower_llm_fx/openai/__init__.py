"""tower_llm_fx.openai: the pure OpenAI chat-completions codec (sans-io).

Encode a `ModelCall` as a request body, decode a response body or a stream of
SSE chunks into a `ModelReply`, and classify error bodies as typed
`ProviderError`s. Nothing here does I/O; ``interpreters.openai`` POSTs the
bytes.

    >>> import tower_llm_fx as fx
    >>> from tower_llm_fx.openai import to_openai_request
    >>> to_openai_request(fx.ModelCall(model="gpt-4o-mini", messages=(fx.user("hi"),)))["messages"]
    [{'role': 'user', 'content': 'hi'}]
"""

from tower_llm_fx._publish import publish as _publish

from ._chunks import to_openai_chunks as to_openai_chunks
from ._dialects import DIALECTS as DIALECTS
from ._dialects import Dialect as Dialect
from ._dialects import ResendRule as ResendRule
from ._dialects import StreamUsage as StreamUsage
from ._dialects import dialect as dialect
from ._errors import from_openai_error as from_openai_error
from ._errors import retry_after_from_headers as retry_after_from_headers
from ._messages import from_openai_message as from_openai_message
from ._messages import to_openai_message as to_openai_message
from ._messages import to_openai_tool as to_openai_tool
from ._reply import from_openai_response as from_openai_response
from ._reply import to_openai_response as to_openai_response
from ._request import from_openai_request as from_openai_request
from ._request import to_openai_request as to_openai_request
from ._resend import prepare_messages as prepare_messages
from ._stream import OpenAIStream as OpenAIStream

__all__ = [
    "DIALECTS",
    "Dialect",
    "OpenAIStream",
    "ResendRule",
    "StreamUsage",
    "dialect",
    "from_openai_error",
    "from_openai_message",
    "from_openai_request",
    "from_openai_response",
    "prepare_messages",
    "retry_after_from_headers",
    "to_openai_chunks",
    "to_openai_message",
    "to_openai_request",
    "to_openai_response",
    "to_openai_tool",
]

_publish(__name__, globals(), __all__)
