"""Our attribute and metric names match the OpenTelemetry semantic-conventions package."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from opentelemetry.semconv.attributes import error_attributes

from interpreters.layers import _semconv as ours

ATTRIBUTES = {
    "OPERATION_NAME": gen_ai.GEN_AI_OPERATION_NAME,
    "PROVIDER_NAME": gen_ai.GEN_AI_PROVIDER_NAME,
    "REQUEST_MODEL": gen_ai.GEN_AI_REQUEST_MODEL,
    "REQUEST_TEMPERATURE": gen_ai.GEN_AI_REQUEST_TEMPERATURE,
    "REQUEST_TOP_P": gen_ai.GEN_AI_REQUEST_TOP_P,
    "REQUEST_MAX_TOKENS": gen_ai.GEN_AI_REQUEST_MAX_TOKENS,
    "REQUEST_SEED": gen_ai.GEN_AI_REQUEST_SEED,
    "REQUEST_STOP_SEQUENCES": gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES,
    "RESPONSE_MODEL": gen_ai.GEN_AI_RESPONSE_MODEL,
    "RESPONSE_ID": gen_ai.GEN_AI_RESPONSE_ID,
    "RESPONSE_FINISH_REASONS": gen_ai.GEN_AI_RESPONSE_FINISH_REASONS,
    "USAGE_INPUT_TOKENS": gen_ai.GEN_AI_USAGE_INPUT_TOKENS,
    "USAGE_OUTPUT_TOKENS": gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS,
    "TOKEN_TYPE": gen_ai.GEN_AI_TOKEN_TYPE,
    "AGENT_NAME": gen_ai.GEN_AI_AGENT_NAME,
    "TOOL_NAME": gen_ai.GEN_AI_TOOL_NAME,
    "TOOL_CALL_ID": gen_ai.GEN_AI_TOOL_CALL_ID,
    "TOOL_TYPE": gen_ai.GEN_AI_TOOL_TYPE,
    "TOOL_CALL_ARGUMENTS": gen_ai.GEN_AI_TOOL_CALL_ARGUMENTS,
    "TOOL_CALL_RESULT": gen_ai.GEN_AI_TOOL_CALL_RESULT,
    "INPUT_MESSAGES": gen_ai.GEN_AI_INPUT_MESSAGES,
    "OUTPUT_MESSAGES": gen_ai.GEN_AI_OUTPUT_MESSAGES,
    "ERROR_TYPE": error_attributes.ERROR_TYPE,
    "OP_CHAT": gen_ai.GenAiOperationNameValues.CHAT.value,
    "OP_EXECUTE_TOOL": gen_ai.GenAiOperationNameValues.EXECUTE_TOOL.value,
    "OP_INVOKE_AGENT": gen_ai.GenAiOperationNameValues.INVOKE_AGENT.value,
    "TOKEN_INPUT": gen_ai.GenAiTokenTypeValues.INPUT.value,
    "TOKEN_OUTPUT": gen_ai.GenAiTokenTypeValues.OUTPUT.value,
    "CLIENT_OPERATION_DURATION": gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
    "CLIENT_TOKEN_USAGE": gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
}


def test_every_convention_name_matches_the_semconv_package() -> None:
    for name, expected in ATTRIBUTES.items():
        assert getattr(ours, name) == expected, name


def test_every_constant_is_checked_or_in_our_own_namespace() -> None:
    constants = {n: v for n, v in vars(ours).items() if n.isupper()}
    unchecked = {n: v for n, v in constants.items() if n not in ATTRIBUTES}
    assert all(v.startswith("tower_llm_fx.") for v in unchecked.values()), unchecked
