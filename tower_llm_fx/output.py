"""tower_llm_fx.output: structured output, ``Agent(output=T)``, in parts.

`output_spec` derives an `OutputSpec` (name, strict JSON schema, validation)
from ``T``; `output_mode` chooses ``response_format`` json_schema or the
`FINAL_ANSWER` tool for a provider `OutputDialect`; `retry_output` bounds the
corrections and `output_feedback` words them; `OutputReady` is the streamed
event carrying the validated value. The run's value is in
``RunState.value_json``; ``Agent.value(state)`` gives it as ``T``.

    >>> import tower_llm_fx as fx
    >>> from tower_llm_fx.output import output_spec
    >>> output_spec(bool).check('{"value": true}')
    ('true', ())
"""

from ._output import FINAL_ANSWER as FINAL_ANSWER
from ._output import OutputDialect as OutputDialect
from ._output import OutputMode as OutputMode
from ._output import OutputReady as OutputReady
from ._output import OutputSpec as OutputSpec
from ._output import output_feedback as output_feedback
from ._output import output_mode as output_mode
from ._output import output_spec as output_spec
from ._output import retry_output as retry_output
from ._publish import publish as _publish

__all__ = [
    "FINAL_ANSWER",
    "OutputDialect",
    "OutputMode",
    "OutputReady",
    "OutputSpec",
    "output_feedback",
    "output_mode",
    "output_spec",
    "retry_output",
]

_publish(__name__, globals(), __all__)
