"""Provider dialects: what each OpenAI-compatible API wants back, as one row of data each.

Theory of operation: a reasoning model's assistant message carries provider
fields (``reasoning_content``, ``reasoning``, ``reasoning_details``, Gemini's
thought signature on a tool call) that ``Reasoning.raw`` and the ``extra`` of
messages and tool calls keep verbatim. Providers disagree about what a later
request must do with them: DeepSeek rejects a tool-calling turn sent back
without its ``reasoning_content``, Gemini rejects a function call without its
signature, and Groq (by public issue reports) rejects a message that has a
``reasoning_content`` key. A `Dialect` states one provider's rules,
`DIALECTS` holds one row per provider (each citing the documentation it rests
on), and ``_resend.prepare_messages`` applies a row's re-send rule to a
conversation just before it is encoded.

Pure: no I/O, nothing imported from ``interpreters``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, TypeAlias, final

import attrs
from attrs import validators as v

from tower_llm_fx._errors import ConfigurationError

__all__ = ["DIALECTS", "Dialect", "ResendRule", "StreamUsage", "dialect"]

ResendRule: TypeAlias = Literal["must", "may", "must_not", "tool_turns"]
"""What a later request does with the reasoning fields of earlier assistant messages.

* ``"must"``: send them back on every assistant message (the API rejects or
  degrades without them);
* ``"may"``: the API accepts them and decides itself what to use, so they are
  kept (nothing is lost);
* ``"must_not"``: strip them (the API does not take them on input, or its
  documentation says nothing and stripping is the safe choice);
* ``"tool_turns"``: keep them on the assistant messages of every user turn
  (the messages from one user message to the next) in which the model called
  a tool, strip them in turns without tool calls (DeepSeek's thinking mode).
"""

StreamUsage: TypeAlias = Literal["stream_options", "always", "x_groq", "none"]
"""How a streamed reply reports token usage.

* ``"stream_options"``: only when the request sets ``stream_options.include_usage``;
* ``"always"``: the last chunk carries ``usage`` without being asked;
* ``"x_groq"``: the last chunk carries it under ``x_groq.usage``;
* ``"none"``: streamed replies carry no usage.
"""

_RESEND_RULES: Final = ("must", "may", "must_not", "tool_turns")
_STREAM_USAGES: Final = ("stream_options", "always", "x_groq", "none")
_REQUIRED: str | None = "required"  # typed, so the field is str | None rather than str


def _field_names(value: object) -> tuple[str, ...]:
    if not isinstance(value, (tuple, list)) or not all(isinstance(x, str) and x for x in value):
        raise TypeError(f"reasoning_fields must be a tuple of non-empty field names, got {value!r}")
    return tuple(value)


def _urls(value: object) -> tuple[str, ...]:
    if not isinstance(value, (tuple, list)) or not value:
        raise TypeError(f"source must be a non-empty tuple of documentation URLs, got {value!r}")
    for url in value:
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ValueError(f"source must hold https:// URLs of the provider's documentation, got {url!r}")
    return tuple(value)


@final
@attrs.frozen(kw_only=True)
class Dialect:
    """One provider's rules for reasoning data, forced tool calls, streamed usage and JSON schemas.

    ``reasoning_fields`` names the assistant-message keys the provider uses
    for reasoning (the keys of ``Reasoning.raw`` it understands);
    ``resend_reasoning`` says what later requests do with them (see
    `ResendRule`); ``resend_thought_signature`` keeps Gemini's
    ``extra_content.google.thought_signature`` on messages and tool calls
    (it is stripped otherwise). ``tool_choice_required`` is the
    ``tool_choice`` value that forces a tool call, ``None`` when the provider
    has none. ``source`` lists the documentation the row rests on and
    ``notes`` what is not documented and what was chosen instead.

    >>> from tower_llm_fx.openai._dialects import dialect
    >>> d = dialect("mistral")
    >>> d.tool_choice_required, d.stream_usage
    ('any', 'always')
    """

    name: str = attrs.field(validator=v.and_(v.instance_of(str), v.min_len(1)))
    reasoning_fields: tuple[str, ...] = attrs.field(converter=_field_names)
    resend_reasoning: ResendRule = attrs.field(validator=v.in_(_RESEND_RULES))
    resend_thought_signature: bool = attrs.field(default=False, validator=v.instance_of(bool))
    tool_choice_required: str | None = attrs.field(
        default=_REQUIRED, validator=v.optional(v.instance_of(str))
    )
    stream_usage: StreamUsage = attrs.field(default="stream_options", validator=v.in_(_STREAM_USAGES))
    json_schema: bool = attrs.field(default=False, validator=v.instance_of(bool))
    source: tuple[str, ...] = attrs.field(converter=_urls)
    notes: str = attrs.field(default="", validator=v.instance_of(str))


# --- the table ---------------------------------------------------------------------------------------
# One row per provider. A cell the provider's documentation does not state is
# said so in ``notes``, with the safe choice taken; nothing here is invented.

_ROWS: Final = (
    Dialect(
        name="openai",
        reasoning_fields=(),
        resend_reasoning="must_not",
        stream_usage="stream_options",
        json_schema=True,
        source=("https://platform.openai.com/docs/api-reference",),
        notes=(
            "Chat Completions returns no reasoning text and its assistant message defines no reasoning "
            "field, so reasoning keys from other providers are stripped. stream_options.include_usage "
            "adds a last chunk with usage and empty choices."
        ),
    ),
    Dialect(
        name="azure",
        reasoning_fields=(),
        resend_reasoning="must_not",
        stream_usage="stream_options",
        json_schema=True,
        source=(
            "https://learn.microsoft.com/en-us/azure/foundry/openai/how-to/reasoning",
            "https://learn.microsoft.com/en-us/azure/ai-services/openai/how-to/reasoning",
        ),
        notes=(
            "Azure OpenAI serves OpenAI's models on OpenAI's chat schema; its reasoning models return "
            "no reasoning field on Chat Completions, so the openai row's rules apply. Not verified "
            "here: stream usage and json_schema (taken from the OpenAI schema)."
        ),
    ),
    Dialect(
        name="deepseek",
        reasoning_fields=("reasoning_content",),
        resend_reasoning="tool_turns",
        stream_usage="stream_options",
        json_schema=False,
        source=(
            "https://api-docs.deepseek.com/guides/thinking_mode",
            "https://api-docs.deepseek.com/zh-cn/guides/thinking_mode",
        ),
        notes=(
            "Thinking mode: between two user messages, if the model called tools, reasoning_content "
            "must be passed back in all later requests (400 'The reasoning_content in the thinking "
            "mode must be passed back to the API' otherwise); if it did not, reasoning_content is "
            "ignored, so it is stripped there. The page lists JSON Output (json_object) and no "
            "json_schema. Not verified here: stream usage (stream_options, as OpenAI)."
        ),
    ),
    Dialect(
        name="gemini",
        reasoning_fields=(),
        resend_reasoning="must_not",
        resend_thought_signature=True,
        stream_usage="stream_options",
        json_schema=True,
        source=(
            "https://ai.google.dev/gemini-api/docs/openai",
            "https://ai.google.dev/gemini-api/docs/thought-signatures",
        ),
        notes=(
            "Thought signatures arrive as extra_content.google.thought_signature on tool calls (and "
            "on the message) and must be returned exactly as received: Gemini 3 answers 400 when a "
            "function call of the current turn lacks one. They are kept on every message; every "
            "other dialect strips them. The compatibility endpoint defines no reasoning field on "
            "assistant messages, so other providers' reasoning keys are stripped. Not verified here: "
            "stream usage and json_schema."
        ),
    ),
    Dialect(
        name="openrouter",
        reasoning_fields=("reasoning", "reasoning_details"),
        resend_reasoning="must",
        stream_usage="always",
        json_schema=True,
        source=(
            "https://openrouter.ai/docs/use-cases/reasoning-tokens#preserving-reasoning-blocks",
            "https://openrouter.ai/docs/client-sdks/python/components/chatstreamoptions",
        ),
        notes=(
            "When continuing a conversation, preserve the complete reasoning_details (text, summary "
            "and encrypted blocks, in order) on the assistant messages passed back, above all across "
            "tool calls; reasoning is the plain-text form. Full usage is always included "
            "(stream_options.include_usage is deprecated and has no effect). json_schema depends on "
            "the routed model (not verified here)."
        ),
    ),
    Dialect(
        name="groq",
        reasoning_fields=("reasoning",),
        resend_reasoning="must_not",
        stream_usage="x_groq",
        json_schema=True,
        source=(
            "https://console.groq.com/docs/reasoning",
            "https://console.groq.com/docs/structured-outputs",
        ),
        notes=(
            "reasoning_format=parsed returns the text in message.reasoning. The documentation does "
            "not say a request may carry it back (undocumented), and Groq validates message keys "
            "strictly (\"property 'reasoning_content' is unsupported\" -> 400, seen in public issue "
            "reports), so reasoning is stripped. json_schema with strict: true only on the models "
            "the structured-outputs page lists. Not verified here: usage in x_groq.usage of the last "
            "chunk (observed behaviour)."
        ),
    ),
    Dialect(
        name="mistral",
        reasoning_fields=(),
        resend_reasoning="may",
        tool_choice_required="any",
        stream_usage="always",
        json_schema=True,
        source=(
            "https://docs.mistral.ai/capabilities/reasoning/",
            "https://docs.mistral.ai/capabilities/reasoning/native",
            "https://docs.rs/crate/mistral-openapi-client/latest/source/src/models/tool_choice.rs",
        ),
        notes=(
            "Thinking arrives as a content part {'type': 'thinking', ...} inside content, not as a "
            "message field, and goes back the same way (Mistral's SDK multi-turn example keeps the "
            "thinking chunks; dropping them degrades Medium 3.5); prepare_messages never touches "
            "content. Other providers' reasoning keys are stripped. Mistral's OpenAPI spec: 'any' or "
            "'required' forces a tool call. Not verified here: usage in the last stream chunk "
            "without stream_options, json_schema."
        ),
    ),
    Dialect(
        name="cerebras",
        reasoning_fields=("reasoning",),
        resend_reasoning="must_not",
        stream_usage="always",
        json_schema=True,
        source=(
            "https://inference-docs.cerebras.ai/capabilities/reasoning",
            "https://inference-docs.cerebras.ai/resources/openai",
        ),
        notes=(
            "reasoning_format=parsed returns message.reasoning. Reasoning is not retained across "
            "requests; the documented way to give it back is inside the assistant's content, not "
            "the reasoning field, so the field is stripped (moving it into content would change "
            "content, which prepare_messages never does). Not verified here: stream usage, "
            "json_schema."
        ),
    ),
    Dialect(
        name="huggingface",
        reasoning_fields=(),
        resend_reasoning="must_not",
        stream_usage="stream_options",
        json_schema=True,
        source=("https://huggingface.co/docs/inference-providers/index",),
        notes=(
            "Undocumented: the router forwards to many providers and documents no reasoning field "
            "for requests, so reasoning is stripped (the safe default). A model whose upstream needs "
            "its reasoning back (DeepSeek thinking with tools) should be called with the upstream's "
            "own dialect. Not verified here: stream usage, json_schema (both depend on the upstream)."
        ),
    ),
    Dialect(
        name="ollama",
        reasoning_fields=("reasoning",),
        resend_reasoning="may",
        stream_usage="stream_options",
        json_schema=True,
        source=("https://docs.ollama.com/api/openai-compatibility",),
        notes=(
            "The compatibility page lists reasoning / reasoning_effort (thinking control), "
            "response_format and stream_options.include_usage; thinking comes back as "
            "message.reasoning. That the endpoint reads message.reasoning on input (gpt-oss needs it "
            "to remember why it called tools) is implemented but undocumented; it is kept. "
            "reasoning_content is not accepted and is stripped."
        ),
    ),
    Dialect(
        name="snowflake",
        reasoning_fields=(),
        resend_reasoning="must_not",
        stream_usage="stream_options",
        json_schema=True,
        source=("https://docs.snowflake.com/user-guide/snowflake-cortex/open_ai_sdk",),
        notes=(
            "Undocumented: the Cortex Chat Completions API (a superset of OpenAI's) documents no "
            "reasoning field on messages, so reasoning is stripped (the safe default). Not verified "
            "here: stream usage, json_schema."
        ),
    ),
    Dialect(
        name="zai",
        reasoning_fields=("reasoning_content",),
        resend_reasoning="must",
        tool_choice_required=None,
        stream_usage="always",
        json_schema=False,
        source=(
            "https://docs.z.ai/guides/capabilities/thinking-mode",
            "https://docs.bigmodel.cn/cn/guide/capabilities/thinking-mode",
        ),
        notes=(
            "Interleaved thinking: thinking blocks must be preserved and returned with the tool "
            "results. Preserved thinking (clear_thinking: false; the default on the Coding Plan "
            "endpoint) needs all earlier reasoning_content back, complete, unmodified and in order; "
            "with clear_thinking true the server drops old reasoning itself, so keeping all of it is "
            "right in both modes. Not verified here: tool_choice only 'auto' (no forced call) and "
            "response_format json_object only (as integrations report), stream usage."
        ),
    ),
    Dialect(
        name="crusoe",
        reasoning_fields=("reasoning", "reasoning_content"),
        resend_reasoning="may",
        stream_usage="stream_options",
        json_schema=True,
        source=(
            "https://docs.vllm.ai/en/latest/deployment/frameworks/crusoe/",
            "https://docs.crusoecloud.com/quickstart/getting-started-with-managed-inference",
        ),
        notes=(
            "Crusoe Managed Inference is powered by vLLM and documented as a drop-in for a vLLM "
            "server; its own pages state no reasoning rule, so the vllm row's rule is taken "
            "(undocumented for Crusoe itself)."
        ),
    ),
    Dialect(
        name="fireworks",
        reasoning_fields=("reasoning_content",),
        resend_reasoning="may",
        stream_usage="stream_options",
        json_schema=True,
        source=(
            "https://docs.fireworks.ai/guides/reasoning",
            "https://docs.fireworks.ai/fine-tuning/thinking-history",
        ),
        notes=(
            "reasoning_content on the message; the serving API's reasoning_history setting "
            "('interleaved' drops thinking across user turns, keeps the current turn's trajectory; "
            "'preserved' keeps it all) decides what earlier reasoning the model sees, so everything "
            "is sent and the server chooses. Not verified here: stream usage, json_schema."
        ),
    ),
    Dialect(
        name="together",
        reasoning_fields=("reasoning",),
        resend_reasoning="must_not",
        stream_usage="stream_options",
        json_schema=True,
        source=(
            "https://docs.together.ai/docs/inference/chat/reasoning",
            "https://docs.together.ai/docs/reasoning-overview",
        ),
        notes=(
            "Reasoning models return message.reasoning; the documentation does not say a request "
            "may carry it back (undocumented), so it is stripped (the safe default). Not verified "
            "here: stream usage, json_schema."
        ),
    ),
    Dialect(
        name="vllm",
        reasoning_fields=("reasoning", "reasoning_content"),
        resend_reasoning="may",
        stream_usage="stream_options",
        json_schema=True,
        source=(
            "https://docs.vllm.ai/en/stable/features/reasoning_outputs/",
            "https://docs.vllm.ai/en/v0.17.1/features/interleaved_thinking/",
        ),
        notes=(
            "reasoning (formerly reasoning_content, still accepted) on the message; for "
            "interleaved-thinking models the reasoning goes back with the tool results, and the "
            "model's chat template decides what earlier reasoning reaches the prompt, so both keys "
            "are kept. Not verified here: stream usage, json_schema (structured outputs)."
        ),
    ),
    Dialect(
        name="xai",
        reasoning_fields=("reasoning_content",),
        resend_reasoning="must_not",
        stream_usage="stream_options",
        json_schema=True,
        source=(
            "https://docs.x.ai/developers/model-capabilities/text/best-practices",
            "https://docs.x.ai/developers/advanced-api-usage/troubleshooting-reasoning",
        ),
        notes=(
            "Chat Completions is deprecated and has no field for Grok's encrypted reasoning (so "
            "every multi-turn conversation through it discards earlier thinking; use the Responses "
            "API to keep it). No input rule for reasoning_content is documented, so it is stripped "
            "(the safe default). Not verified here: stream usage, json_schema."
        ),
    ),
)

DIALECTS: Final[Mapping[str, Dialect]] = MappingProxyType({row.name: row for row in _ROWS})
"""Every known dialect by name, one row per provider (read-only)."""


def dialect(name: str) -> Dialect:
    """Return the dialect called ``name``.

    Raises:
        ConfigurationError: no dialect has that name; the message lists the known ones.

    >>> dialect("deepseek").resend_reasoning
    'tool_turns'
    """
    try:
        return DIALECTS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(DIALECTS))
        raise ConfigurationError(
            f"unknown dialect {name!r}: the known dialects are {known}. Pass one of these names, "
            "or build a Dialect(...) for your provider."
        ) from None
