"""OpenTelemetry GenAI semantic-convention names we emit, as our own constants.

We depend only on ``opentelemetry-api`` at run time; the incubating semconv
package is a dev dependency, and ``tests/interpreters/layers/test_semconv.py``
checks every name below against it, so a rename upstream fails our tests
instead of silently breaking dashboards. Names under ``tower_llm_fx.`` are
ours (there is no convention for agent steps yet).
"""

from __future__ import annotations

from typing import Final

# Attributes (gen_ai.*, error.*)
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
TOKEN_TYPE: Final = "gen_ai.token.type"
AGENT_NAME: Final = "gen_ai.agent.name"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_TYPE: Final = "gen_ai.tool.type"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
ERROR_TYPE: Final = "error.type"

# Values of gen_ai.operation.name and gen_ai.token.type
OP_CHAT: Final = "chat"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
TOKEN_INPUT: Final = "input"
TOKEN_OUTPUT: Final = "output"

# Metrics
CLIENT_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
CLIENT_TOKEN_USAGE: Final = "gen_ai.client.token.usage"

# Our own (no convention exists)
STEP: Final = "tower_llm_fx.step"
STEPS: Final = "tower_llm_fx.steps"
STOP_KIND: Final = "tower_llm_fx.stop.kind"
STOP_DETAIL: Final = "tower_llm_fx.stop.detail"
EFFECT_TYPE: Final = "tower_llm_fx.effect.type"
TOOL_ERROR_KIND: Final = "tower_llm_fx.tool.error.kind"
METRIC_CALLS: Final = "tower_llm_fx.effect.calls"
METRIC_ERRORS: Final = "tower_llm_fx.effect.errors"
