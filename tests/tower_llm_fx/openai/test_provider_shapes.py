"""Issue 14, "Real traffic, nothing lost": one fixture per provider shape.

Each fixture is written from the provider's public API documentation (the URL
is in the comment above it). Requests must round-trip exactly through
`from_openai_request` / `to_openai_request` (up to the normalisations the
codec documents), replies must decode into typed fields and re-encode to the
fixture (nulls mean absent; ``object`` is implied), and streams must fold to
the reply the same completion decodes to unstreamed, with events that add up.

The fixtures are module constants so the shell's tests
(``tests/interpreters/test_openai_shapes.py``) send the very same bytes
through the real HTTP path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
from tower_llm_fx.openai import (
    OpenAIStream,
    dialect,
    from_openai_request,
    from_openai_response,
    to_openai_request,
    to_openai_response,
)

Json = dict[str, Any]

# --------------------------------------------------------------------------- helpers


def without_nulls(value: Any) -> Any:
    """``value`` with every object key whose value is ``null`` left out (null means absent)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def round_trip_request(body: Json) -> fx.ModelCall:
    """Decode ``body``, assert it encodes back exactly, and return the call."""
    call = from_openai_request(copy.deepcopy(body))
    assert to_openai_request(call, stream=body.get("stream", False)) == body
    assert fx.from_json(fx.to_json(call)) == call
    return call


def reply_of(body: Json) -> fx.ModelReply:
    """Decode ``body``, assert it re-encodes to the fixture (nulls = absent, ``object`` implied)."""
    reply = from_openai_response(copy.deepcopy(body))
    back = to_openai_response(reply)
    expected = without_nulls({**body, "object": "chat.completion"})
    assert without_nulls(back) == expected
    assert from_openai_response(back) == reply
    assert fx.from_json(fx.to_json(reply)) == reply
    return reply


def fold(chunks: list[Json], *, step: int = 1) -> tuple[list[fx.RunEvent], fx.ModelReply]:
    """Feed ``chunks`` (then ``[DONE]``) through `OpenAIStream`."""
    stream = OpenAIStream(step=step)
    events: list[fx.RunEvent] = []
    for chunk in chunks:
        events.extend(stream.feed(json.dumps(chunk)))
    events.extend(stream.feed("[DONE]"))
    return events, stream.reply()


def text_of_events(events: list[fx.RunEvent], kind: type[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def extra_of(value: str | None) -> Json:
    return {} if value is None else json.loads(value)


def chunk(base: Json, delta: Json, finish: str | None = None, **choice: Any) -> Json:
    return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **choice}]}


# =========================================================================== requests

# https://platform.openai.com/docs/guides/images-vision (image_url parts, detail)
OPENAI_VISION_REQUEST: Json = {
    "model": "gpt-4.1-mini",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "text", "text": "Answer in one line."},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://upload.wikimedia.org/boardwalk.jpg", "detail": "high"},
                },
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},
            ],
        }
    ],
}

# https://platform.openai.com/docs/guides/audio (input_audio parts) and
# https://platform.openai.com/docs/api-reference/chat/create (modalities, audio)
OPENAI_AUDIO_REQUEST: Json = {
    "model": "gpt-4o-audio-preview",
    "modalities": ["text", "audio"],
    "audio": {"voice": "alloy", "format": "wav"},
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this recording?"},
                {"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}},
            ],
        }
    ],
}

# https://platform.openai.com/docs/guides/pdf-files (file parts: file_data + filename, or file_id)
OPENAI_FILE_REQUEST: Json = {
    "model": "gpt-4.1",
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "type": "file",
                    "file": {
                        "filename": "draconomicon.pdf",
                        "file_data": "data:application/pdf;base64,JVBERi0=",
                    },
                },
                {"type": "file", "file": {"file_id": "file-6F2ksmvXxt4VdoqmHRw6kL"}},
                {"type": "text", "text": "What is the first dragon in the book?"},
            ],
        }
    ],
}

# https://platform.openai.com/docs/api-reference/chat/create (developer role, reasoning_effort,
# max_completion_tokens, store, prediction)
OPENAI_DEVELOPER_REQUEST: Json = {
    "model": "o4-mini",
    "messages": [
        {"role": "developer", "content": "You are a helpful assistant."},
        {"role": "developer", "content": [{"type": "text", "text": "Formatting re-enabled"}], "name": "ops"},
        {"role": "user", "content": "Hello!"},
    ],
    "reasoning_effort": "high",
    "max_completion_tokens": 2000,
    "store": True,
    "prediction": {"type": "content", "content": "Hello"},
}

# https://docs.vllm.ai/en/stable/features/multimodal_inputs.html (video_url parts) and
# https://docs.mistral.ai/capabilities/document_ai/basic_ocr/ (document_url chunks in chat)
VIDEO_AND_DOCUMENT_REQUEST: Json = {
    "model": "Qwen/Qwen2.5-VL-7B-Instruct",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What's in this video and this document?"},
                {"type": "video_url", "video_url": {"url": "https://example.com/baby_reading.mp4"}},
                {"type": "document_url", "document_url": "https://arxiv.org/pdf/1805.04770"},
            ],
        }
    ],
}

# https://docs.mistral.ai/guides/prefix/ (assistant prefix: true, last message)
MISTRAL_PREFIX_REQUEST: Json = {
    "model": "mistral-small-latest",
    "messages": [
        {"role": "system", "content": "Answer like a pirate."},
        {"role": "user", "content": "Who is the best French painter? Answer in one short sentence."},
        {"role": "assistant", "content": "Arr, matey!", "prefix": True},
    ],
    "safe_prompt": False,
}

# https://docs.mistral.ai/capabilities/function_calling/ (tool_choice "any", parallel_tool_calls)
MISTRAL_TOOLS_REQUEST: Json = {
    "model": "mistral-large-latest",
    "messages": [{"role": "user", "content": "What's the status of my transaction T1001?"}],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "retrieve_payment_status",
                "description": "Get payment status of a transaction",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "transaction_id": {"type": "string", "description": "The transaction id."}
                    },
                    "required": ["transaction_id"],
                },
            },
        }
    ],
    "tool_choice": "any",
    "parallel_tool_calls": False,
}

# https://docs.mistral.ai/capabilities/reasoning/ (thinking chunks go back in the assistant's content;
# prompt_mode), with a tool call and its result
MISTRAL_THINKING_HISTORY_REQUEST: Json = {
    "model": "magistral-medium-latest",
    "prompt_mode": "reasoning",
    "messages": [
        {"role": "user", "content": "John is one of 4 children. How many siblings?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "thinking",
                    "thinking": [{"type": "text", "text": "4 children, John is one of them."}],
                },
                {"type": "text", "text": "John has 3 siblings."},
            ],
        },
        {"role": "user", "content": "And with a half-brother?"},
    ],
}

# https://api-docs.deepseek.com/guides/thinking_mode (reasoning_content sent back on a tool turn)
DEEPSEEK_TOOL_TURN_REQUEST: Json = {
    "model": "deepseek-reasoner",
    "messages": [
        {"role": "user", "content": "What's the weather in Hangzhou tomorrow?"},
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": "The user wants tomorrow's weather; I need the date first.",
            "tool_calls": [
                {"id": "call_00_a", "type": "function", "function": {"name": "get_date", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_00_a", "content": "2025-12-02"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_date",
                "description": "Get the current date",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ],
    "thinking": {"type": "enabled"},
}

# https://openrouter.ai/docs/use-cases/reasoning-tokens#preserving-reasoning-blocks (reasoning +
# reasoning_details back on the assistant), https://openrouter.ai/docs/features/web-search
# (openrouter:web_search server tool), https://openrouter.ai/docs/use-cases/usage-accounting
OPENROUTER_REQUEST: Json = {
    "model": "anthropic/claude-sonnet-4",
    "messages": [
        {"role": "user", "content": "What's the weather like in Boston?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "toolu_01",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Boston"}'},
                }
            ],
            "reasoning": "I should call the weather tool.",
            "reasoning_details": [
                {
                    "type": "reasoning.text",
                    "text": "I should call the weather tool.",
                    "signature": "EqQBCkgIARABGAIiQL",
                    "id": None,
                    "format": "anthropic-claude-v1",
                    "index": 0,
                },
                {
                    "type": "reasoning.encrypted",
                    "data": "eyJlbmNyeXB0ZWQiOnRydWV9",
                    "format": "anthropic-claude-v1",
                    "index": 1,
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_01", "content": "72F, sunny"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
            },
        },
        {"type": "openrouter:web_search", "parameters": {"max_results": 3}},
    ],
    "reasoning": {"effort": "high"},
    "usage": {"include": True},
    "provider": {"order": ["anthropic"], "allow_fallbacks": False},
}

# https://openrouter.ai/docs/features/prompt-caching (Anthropic cache_control on text parts, via
# OpenRouter) and https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching (cache_control
# on a tool), https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/fine-grained-tool-streaming
# (eager_input_streaming on a tool)
CACHE_CONTROL_REQUEST: Json = {
    "model": "anthropic/claude-3.7-sonnet",
    "messages": [
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "You are a historian studying the fall of the Roman Empire."},
                {"type": "text", "text": "HUGE TEXT BODY", "cache_control": {"type": "ephemeral"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "What triggered the collapse?",
                    "cache_control": {"type": "ephemeral", "ttl": "1h"},
                }
            ],
        },
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "search_archive",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
            "cache_control": {"type": "ephemeral"},
            "eager_input_streaming": True,
        }
    ],
}

# https://ai.google.dev/gemini-api/docs/openai (reasoning_effort; thought signatures on tool calls
# in extra_content.google) and https://ai.google.dev/gemini-api/docs/thought-signatures
GEMINI_REQUEST: Json = {
    "model": "gemini-3-pro-preview",
    "reasoning_effort": "low",
    "messages": [
        {"role": "user", "content": "Check flight status for AA100 and book a taxi."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "function-call-1",
                    "type": "function",
                    "function": {"name": "check_flight", "arguments": '{"flight":"AA100"}'},
                    "extra_content": {"google": {"thought_signature": "<Signature A>"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "function-call-1", "content": '{"status":"delayed"}'},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "check_flight",
                "parameters": {"type": "object", "properties": {"flight": {"type": "string"}}},
            },
        }
    ],
    "extra_body": {"google": {"thinking_config": {"include_thoughts": True}}},
}

# https://console.groq.com/docs/reasoning (reasoning_format) and
# https://console.groq.com/docs/browser-search (a built-in tool: {"type": "browser_search"})
GROQ_REQUEST: Json = {
    "model": "openai/gpt-oss-20b",
    "messages": [{"role": "user", "content": "What happened in AI last week?"}],
    "reasoning_format": "parsed",
    "reasoning_effort": "medium",
    "tools": [{"type": "browser_search"}],
    "tool_choice": "required",
}

# https://docs.z.ai/guides/capabilities/thinking-mode (thinking, reasoning_content sent back)
ZAI_REQUEST: Json = {
    "model": "glm-4.6",
    "thinking": {"type": "enabled", "clear_thinking": False},
    "messages": [
        {"role": "user", "content": "Plan a trip."},
        {
            "role": "assistant",
            "content": "Here is a plan.",
            "reasoning_content": "The user wants a trip plan.",
        },
        {"role": "user", "content": "Make it shorter."},
    ],
}

# https://docs.vllm.ai/en/stable/features/reasoning_outputs/ (chat_template_kwargs, reasoning back)
VLLM_REQUEST: Json = {
    "model": "Qwen/Qwen3-8B",
    "messages": [
        {"role": "user", "content": "9.11 and 9.8, which is greater?"},
        {"role": "assistant", "content": "9.8", "reasoning": "Compare 0.11 and 0.8."},
        {"role": "user", "content": "Why?"},
    ],
    "chat_template_kwargs": {"enable_thinking": True},
    "top_k": 20,
}

# https://inference-docs.cerebras.ai/capabilities/reasoning (reasoning_format, reasoning_effort)
CEREBRAS_REQUEST: Json = {
    "model": "gpt-oss-120b",
    "messages": [{"role": "user", "content": "Solve 12*13."}],
    "reasoning_format": "parsed",
    "reasoning_effort": "low",
}

# https://docs.ollama.com/api/openai-compatibility (reasoning_effort, reasoning back on the message)
OLLAMA_REQUEST: Json = {
    "model": "gpt-oss:20b",
    "messages": [
        {"role": "user", "content": "Why is the sky blue?"},
        {"role": "assistant", "content": "Rayleigh scattering.", "reasoning": "Short answer wanted."},
        {"role": "user", "content": "More detail."},
    ],
    "reasoning_effort": "low",
}

# https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options and
# https://docs.vllm.ai/en/stable/serving/openai_compatible_server.html (continuous_usage_stats)
STREAM_OPTIONS_OFF_REQUEST: Json = {
    "model": "gpt-4.1-mini",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": True,
    "stream_options": {"include_usage": False},
}
STREAM_OPTIONS_VLLM_REQUEST: Json = {
    "model": "Qwen/Qwen3-8B",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": True,
    "stream_options": {"include_usage": True, "continuous_usage_stats": True},
}
STREAM_OPTIONS_DEFAULT_REQUEST: Json = {
    "model": "gpt-4.1-mini",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": True,
    "stream_options": {"include_usage": True},
}

REQUESTS: dict[str, Json] = {
    "openai_vision": OPENAI_VISION_REQUEST,
    "openai_audio": OPENAI_AUDIO_REQUEST,
    "openai_file": OPENAI_FILE_REQUEST,
    "openai_developer": OPENAI_DEVELOPER_REQUEST,
    "video_and_document": VIDEO_AND_DOCUMENT_REQUEST,
    "mistral_prefix": MISTRAL_PREFIX_REQUEST,
    "mistral_tools": MISTRAL_TOOLS_REQUEST,
    "mistral_thinking_history": MISTRAL_THINKING_HISTORY_REQUEST,
    "deepseek_tool_turn": DEEPSEEK_TOOL_TURN_REQUEST,
    "openrouter": OPENROUTER_REQUEST,
    "cache_control": CACHE_CONTROL_REQUEST,
    "gemini": GEMINI_REQUEST,
    "groq": GROQ_REQUEST,
    "zai": ZAI_REQUEST,
    "vllm": VLLM_REQUEST,
    "cerebras": CEREBRAS_REQUEST,
    "ollama": OLLAMA_REQUEST,
    "stream_options_off": STREAM_OPTIONS_OFF_REQUEST,
    "stream_options_vllm": STREAM_OPTIONS_VLLM_REQUEST,
    "stream_options_default": STREAM_OPTIONS_DEFAULT_REQUEST,
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_every_request_fixture_round_trips_exactly(name: str) -> None:
    round_trip_request(REQUESTS[name])


def test_openai_parts_are_typed() -> None:
    vision = round_trip_request(OPENAI_VISION_REQUEST).messages[0]
    assert isinstance(vision, fx.UserMessage) and isinstance(vision.content, tuple)
    assert [type(p) for p in vision.content] == [fx.TextPart, fx.TextPart, fx.ImagePart, fx.ImagePart]
    assert vision.content[1] == fx.TextPart(text="Answer in one line.")  # two text parts stay two
    assert vision.content[2] == fx.ImagePart(url="https://upload.wikimedia.org/boardwalk.jpg", detail="high")
    audio = round_trip_request(OPENAI_AUDIO_REQUEST)
    assert audio.messages[0].content[1] == fx.AudioPart(data="UklGRiQAAABXQVZF", format="wav")  # type: ignore[index]
    assert extra_of(audio.params.extra) == {
        "modalities": ["text", "audio"],
        "audio": {"voice": "alloy", "format": "wav"},
    }
    files = round_trip_request(OPENAI_FILE_REQUEST).messages[0].content
    assert files[0] == fx.FilePart(data="data:application/pdf;base64,JVBERi0=", filename="draconomicon.pdf")  # type: ignore[index]
    assert files[1] == fx.FilePart(file_id="file-6F2ksmvXxt4VdoqmHRw6kL")  # type: ignore[index]


def test_developer_role_and_reasoning_effort_are_typed() -> None:
    call = round_trip_request(OPENAI_DEVELOPER_REQUEST)
    assert [type(m) for m in call.messages] == [fx.DeveloperMessage, fx.DeveloperMessage, fx.UserMessage]
    assert call.messages[1].name == "ops"  # type: ignore[union-attr]
    assert call.params.reasoning_effort == "high"
    assert call.params.max_completion_tokens == 2000
    assert extra_of(call.params.extra) == {
        "store": True,
        "prediction": {"type": "content", "content": "Hello"},
    }


def test_video_and_document_parts_are_kept_verbatim() -> None:
    parts = round_trip_request(VIDEO_AND_DOCUMENT_REQUEST).messages[0].content
    assert isinstance(parts, tuple)
    assert parts[1] == fx.OtherPart(
        kind="video_url", extra={"video_url": {"url": "https://example.com/baby_reading.mp4"}}
    )
    assert parts[2] == fx.OtherPart(
        kind="document_url", extra={"document_url": "https://arxiv.org/pdf/1805.04770"}
    )


def test_mistral_prefix_tool_choice_any_and_thinking_history() -> None:
    prefix = round_trip_request(MISTRAL_PREFIX_REQUEST)
    last = prefix.messages[-1]
    assert isinstance(last, fx.AssistantMessage) and extra_of(last.extra) == {"prefix": True}
    assert extra_of(prefix.params.extra) == {"safe_prompt": False}
    tools = round_trip_request(MISTRAL_TOOLS_REQUEST)
    assert tools.params.tool_choice == fx.ToolChoice(mode="any")
    assert tools.params.parallel_tool_calls is False
    assert [s.name for s in tools.tools] == ["retrieve_payment_status"]
    thinking = round_trip_request(MISTRAL_THINKING_HISTORY_REQUEST).messages[1]
    assert isinstance(thinking, fx.AssistantMessage) and isinstance(thinking.content, tuple)
    assert thinking.content[0] == fx.OtherPart(
        kind="thinking", extra={"thinking": [{"type": "text", "text": "4 children, John is one of them."}]}
    )
    assert thinking.text == "John has 3 siblings."  # the thinking is not the answer


def test_a_tool_without_type_decodes_as_a_function_and_is_written_with_it() -> None:
    # https://docs.mistral.ai/capabilities/function_calling/ ("type" is optional in Mistral's schema:
    # https://docs.rs/crate/mistral-openapi-client/latest/source/src/models/tool.rs)
    body = copy.deepcopy(MISTRAL_TOOLS_REQUEST)
    del body["tools"][0]["type"]
    call = from_openai_request(body)
    assert [s.name for s in call.tools] == ["retrieve_payment_status"]
    assert to_openai_request(call) == MISTRAL_TOOLS_REQUEST  # the documented normalisation


def test_deepseek_reasoning_content_on_a_tool_turn() -> None:
    call = round_trip_request(DEEPSEEK_TOOL_TURN_REQUEST)
    said = call.messages[1]
    assert isinstance(said, fx.AssistantMessage) and said.reasoning is not None
    assert said.reasoning.text == "The user wants tomorrow's weather; I need the date first."
    assert said.content == ""  # a request keeps "" next to tool calls as sent
    # DeepSeek's dialect keeps it on the tool turn
    prepared = fx.openai.prepare_messages(call.messages, dialect("deepseek"))
    assert prepared == call.messages


def test_openrouter_reasoning_details_and_provider_tools() -> None:
    call = round_trip_request(OPENROUTER_REQUEST)
    said = call.messages[1]
    assert isinstance(said, fx.AssistantMessage) and said.reasoning is not None
    assert said.reasoning.text == "I should call the weather tool."
    raw = json.loads(said.reasoning.raw or "{}")
    assert raw["reasoning_details"][1] == {
        "type": "reasoning.encrypted",
        "data": "eyJlbmNyeXB0ZWQiOnRydWV9",
        "format": "anthropic-claude-v1",
        "index": 1,
    }
    assert [s.name for s in call.tools] == ["get_weather"]
    assert [json.loads(t) for t in call.provider_tools] == [
        {"type": "openrouter:web_search", "parameters": {"max_results": 3}}
    ]
    assert extra_of(call.params.extra)["reasoning"] == {"effort": "high"}
    assert fx.openai.prepare_messages(call.messages, dialect("openrouter")) == call.messages


def test_a_null_inside_reasoning_details_is_kept_as_sent() -> None:
    # OpenRouter's documented reasoning_details carry "id": null; a null nested inside
    # a kept value is part of the value, not an absent top-level key.
    call = from_openai_request(copy.deepcopy(OPENROUTER_REQUEST))
    assert to_openai_request(call) == OPENROUTER_REQUEST


def test_cache_control_on_parts_and_tools() -> None:
    call = round_trip_request(CACHE_CONTROL_REQUEST)
    system = call.messages[0]
    assert isinstance(system, fx.SystemMessage) and isinstance(system.content, tuple)
    assert system.content[1] == fx.TextPart(
        text="HUGE TEXT BODY", extra={"cache_control": {"type": "ephemeral"}}
    )
    (spec,) = call.tools
    assert extra_of(spec.extra) == {"cache_control": {"type": "ephemeral"}, "eager_input_streaming": True}


def test_gemini_thought_signature_rides_on_the_tool_call() -> None:
    call = round_trip_request(GEMINI_REQUEST)
    said = call.messages[1]
    assert isinstance(said, fx.AssistantMessage)
    assert extra_of(said.tool_calls[0].extra) == {
        "extra_content": {"google": {"thought_signature": "<Signature A>"}}
    }
    assert call.params.reasoning_effort == "low"
    assert fx.openai.prepare_messages(call.messages, dialect("gemini")) == call.messages
    # every other dialect strips the signature
    stripped = fx.openai.prepare_messages(call.messages, dialect("openai"))[1]
    assert isinstance(stripped, fx.AssistantMessage) and stripped.tool_calls[0].extra is None


def test_groq_builtin_tool_and_reasoning_format() -> None:
    call = round_trip_request(GROQ_REQUEST)
    assert call.tools == () and [json.loads(t) for t in call.provider_tools] == [{"type": "browser_search"}]
    assert call.params.tool_choice == fx.ToolChoice(mode="required")
    assert extra_of(call.params.extra) == {"reasoning_format": "parsed"}


@pytest.mark.parametrize(
    ("name", "field", "text"),
    [
        ("zai", "reasoning_content", "The user wants a trip plan."),
        ("vllm", "reasoning", "Compare 0.11 and 0.8."),
        ("ollama", "reasoning", "Short answer wanted."),
    ],
)
def test_reasoning_sent_back_is_typed(name: str, field: str, text: str) -> None:
    call = round_trip_request(REQUESTS[name])
    said = call.messages[1]
    assert isinstance(said, fx.AssistantMessage) and said.reasoning is not None
    assert said.reasoning.text == text
    assert json.loads(said.reasoning.raw or "{}") == {field: text}
    # the provider's own dialect keeps it
    assert fx.openai.prepare_messages(call.messages, dialect(name)) == call.messages


def test_stream_options_the_user_set_are_kept_and_never_replaced() -> None:
    off = round_trip_request(STREAM_OPTIONS_OFF_REQUEST)
    assert extra_of(off.params.extra) == {"stream_options": {"include_usage": False}}
    vllm = round_trip_request(STREAM_OPTIONS_VLLM_REQUEST)
    assert extra_of(vllm.params.extra) == {
        "stream_options": {"include_usage": True, "continuous_usage_stats": True}
    }
    # with any dialect, and with stream_usage off, the user's value is what is sent
    for name in ("openai", "mistral", "groq", "openrouter"):
        for usage in (True, False):
            body = to_openai_request(off, stream=True, stream_usage=usage, dialect=dialect(name))
            assert body["stream_options"] == {"include_usage": False}
    # the codec's own default is recognised as the codec's
    default = round_trip_request(STREAM_OPTIONS_DEFAULT_REQUEST)
    assert default.params.extra is None
    # a provider that reports usage without being asked gets no stream_options
    for name in ("mistral", "groq", "openrouter", "cerebras", "zai"):
        assert "stream_options" not in to_openai_request(default, stream=True, dialect=dialect(name))
    assert to_openai_request(default, stream=True, dialect=dialect("deepseek"))["stream_options"] == {
        "include_usage": True
    }
    # unstreamed, no stream_options is added
    assert "stream_options" not in to_openai_request(default)


def test_a_request_the_library_cannot_represent_raises_a_typed_error_naming_the_field() -> None:
    body = {"model": "m", "messages": [{"role": "function", "name": "f", "content": "x"}]}
    with pytest.raises(fx.DecodeError, match=r"\$\.messages\[0\]\.role"):
        from_openai_request(body)


# =========================================================================== replies

# https://platform.openai.com/docs/api-reference/chat/object (usage details, service_tier,
# system_fingerprint) and https://platform.openai.com/docs/guides/tools-web-search?api-mode=chat
# (annotations: url_citation)
OPENAI_REPLY: Json = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-search-preview-2025-03-11",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "A positive news story from today is ... (theguardian.com)",
                "refusal": None,
                "annotations": [
                    {
                        "type": "url_citation",
                        "url_citation": {
                            "end_index": 985,
                            "start_index": 764,
                            "title": "Positive News",
                            "url": "https://www.theguardian.com/good-news",
                        },
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 1117,
        "completion_tokens": 46,
        "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}

# https://api-docs.deepseek.com/api/create-chat-completion (reasoning_content; prompt_cache_hit_tokens)
DEEPSEEK_REPLY: Json = {
    "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e",
    "object": "chat.completion",
    "created": 1705651092,
    "model": "deepseek-reasoner",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "9.11 is smaller than 9.8.",
                "reasoning_content": "Compare the tenths: 1 < 8.",
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 16,
        "completion_tokens": 10,
        "total_tokens": 26,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 6},
        "prompt_cache_hit_tokens": 0,
        "prompt_cache_miss_tokens": 16,
    },
    "system_fingerprint": "fp_a1b2c3",
}

# https://console.groq.com/docs/reasoning (reasoning_format=parsed -> message.reasoning) and
# https://console.groq.com/docs/api-reference#chat-create (usage timings, x_groq)
GROQ_REPLY: Json = {
    "id": "chatcmpl-7f1e",
    "object": "chat.completion",
    "created": 1737000000,
    "model": "openai/gpt-oss-20b",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Paris.",
                "reasoning": "The capital of France is Paris.",
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "queue_time": 0.037,
        "prompt_tokens": 18,
        "prompt_time": 0.000212,
        "completion_tokens": 12,
        "completion_time": 0.02,
        "total_tokens": 30,
        "total_time": 0.0202,
    },
    "system_fingerprint": "fp_179b0f92c9",
    "x_groq": {"id": "req_01jbd6g2qdfw2adyrt2az8hz4w"},
}

# https://console.groq.com/docs/compound (executed_tools on the message of groq/compound)
GROQ_COMPOUND_REPLY: Json = {
    "id": "stub-compound",
    "object": "chat.completion",
    "created": 1752000000,
    "model": "groq/compound",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Bitcoin trades at $67,000.",
                "reasoning": "<tool>search(bitcoin price)</tool>",
                "executed_tools": [
                    {
                        "index": 0,
                        "type": "search",
                        "arguments": '{"query": "bitcoin price"}',
                        "output": "Title: BTC ...",
                        "search_results": {
                            "results": [
                                {"title": "BTC", "url": "https://example.com", "content": "...", "score": 0.9}
                            ]
                        },
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 300, "completion_tokens": 40, "total_tokens": 340},
    "usage_breakdown": {"models": [{"model": "llama-3.3-70b-versatile", "usage": {"prompt_tokens": 300}}]},
    "x_groq": {"id": "req_compound"},
}

# https://openrouter.ai/docs/use-cases/reasoning-tokens (reasoning, reasoning_details) and
# https://openrouter.ai/docs/use-cases/usage-accounting (usage.cost, cost_details, is_byok),
# https://openrouter.ai/docs/api-reference/overview (provider, native_finish_reason)
OPENROUTER_REPLY: Json = {
    "id": "gen-1748000000-abc",
    "provider": "Anthropic",
    "model": "anthropic/claude-sonnet-4",
    "object": "chat.completion",
    "created": 1748000000,
    "choices": [
        {
            "logprobs": None,
            "finish_reason": "tool_calls",
            "native_finish_reason": "tool_use",
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "",
                "refusal": None,
                "reasoning": "I should call the weather tool.",
                "reasoning_details": [
                    {
                        "type": "reasoning.text",
                        "text": "I should call the weather tool.",
                        "signature": "EqQBCkgIARABGAIiQL",
                        "format": "anthropic-claude-v1",
                        "index": 0,
                    }
                ],
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_01",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location": "Boston"}'},
                    }
                ],
            },
        }
    ],
    "usage": {
        "prompt_tokens": 194,
        "completion_tokens": 52,
        "total_tokens": 246,
        "cost": 0.00136,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "cost_details": {"upstream_inference_cost": None},
        "completion_tokens_details": {"reasoning_tokens": 12, "image_tokens": 0},
    },
}

# https://ai.google.dev/gemini-api/docs/openai and https://ai.google.dev/gemini-api/docs/thought-signatures
# (extra_content.google.thought_signature on a tool call; total_tokens counts the thought tokens)
GEMINI_REPLY: Json = {
    "id": "Rz5YaeO6Jd2",
    "object": "chat.completion",
    "created": 1767000000,
    "model": "gemini-3-pro-preview",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "function-call-1",
                        "type": "function",
                        "function": {"name": "check_flight", "arguments": '{"flight":"AA100"}'},
                        "extra_content": {"google": {"thought_signature": "<Signature A>"}},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"completion_tokens": 20, "prompt_tokens": 60, "total_tokens": 190},
}

# https://learn.microsoft.com/en-us/azure/ai-foundry/openai/concepts/content-filter
# (prompt_filter_results on the body, content_filter_results on the choice)
_FILTER = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}
AZURE_REPLY: Json = {
    "id": "chatcmpl-AzAzure",
    "object": "chat.completion",
    "created": 1730000000,
    "model": "gpt-4o-2024-08-06",
    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _FILTER}],
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": None,
            "message": {"role": "assistant", "content": "Hello! How can I help?", "refusal": None},
            "content_filter_results": _FILTER,
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
    "system_fingerprint": "fp_azure",
}

# https://docs.mistral.ai/capabilities/reasoning/ (magistral: content is a list with a thinking chunk)
MISTRAL_THINKING_REPLY: Json = {
    "id": "cf79f7daaee244b1a0ae5c7b1444424a",
    "object": "chat.completion",
    "created": 1759000000,
    "model": "magistral-medium-latest",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "tool_calls": None,
                "content": [
                    {
                        "type": "thinking",
                        "thinking": [{"type": "text", "text": "4 children, so 3 siblings."}],
                    },
                    {"type": "text", "text": "John has 3 siblings."},
                ],
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50},
}

# https://docs.vllm.ai/en/stable/features/reasoning_outputs/ (reasoning_content on the message) and
# https://huggingface.co/docs/inference-providers/tasks/chat-completion (router, same shape)
VLLM_REPLY: Json = {
    "id": "chatcmpl-vllm",
    "object": "chat.completion",
    "created": 1750000000,
    "model": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "9.8 is greater.",
                "reasoning_content": "0.8 > 0.11",
                "tool_calls": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
            "stop_reason": None,
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21, "prompt_tokens_details": None},
    "prompt_logprobs": None,
}

# https://docs.ollama.com/api/openai-compatibility (thinking comes back as message.reasoning)
OLLAMA_REPLY: Json = {
    "id": "chatcmpl-245",
    "object": "chat.completion",
    "created": 1755000000,
    "model": "gpt-oss:20b",
    "system_fingerprint": "fp_ollama",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Rayleigh scattering.", "reasoning": "Short answer."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 70, "completion_tokens": 40, "total_tokens": 110},
}

# https://inference-docs.cerebras.ai/capabilities/reasoning (message.reasoning) and
# https://inference-docs.cerebras.ai/api-reference/chat-completions (time_info)
CEREBRAS_REPLY: Json = {
    "id": "chatcmpl-cerebras",
    "object": "chat.completion",
    "created": 1756000000,
    "model": "gpt-oss-120b",
    "system_fingerprint": "fp_cb",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "156", "reasoning": "12*13 = 156"},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 15,
        "completion_tokens": 12,
        "total_tokens": 27,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 8},
    },
    "time_info": {
        "queue_time": 0.0001,
        "prompt_time": 0.001,
        "completion_time": 0.01,
        "total_time": 0.02,
        "created": 1756000000.1,
    },
}

# https://docs.z.ai/api-reference/llm/chat-completion (reasoning_content; usage cached_tokens)
ZAI_REPLY: Json = {
    "id": "20250101-zai",
    "request_id": "req-zai-1",
    "created": 1757000000,
    "model": "glm-4.6",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "A short plan.",
                "reasoning_content": "Make it shorter.",
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 40,
        "completion_tokens": 20,
        "total_tokens": 60,
        "prompt_tokens_details": {"cached_tokens": 32},
    },
}

REPLIES: dict[str, Json] = {
    "openai": OPENAI_REPLY,
    "deepseek": DEEPSEEK_REPLY,
    "groq": GROQ_REPLY,
    "groq_compound": GROQ_COMPOUND_REPLY,
    "openrouter": OPENROUTER_REPLY,
    "gemini": GEMINI_REPLY,
    "azure": AZURE_REPLY,
    "mistral_thinking": MISTRAL_THINKING_REPLY,
    "vllm": VLLM_REPLY,
    "ollama": OLLAMA_REPLY,
    "cerebras": CEREBRAS_REPLY,
    "zai": ZAI_REPLY,
}

# Where the codec's documented normalisations make a re-encoded reply differ from the fixture.
_REPLY_NORMALISED: dict[str, Callable[[Json], Json]] = {
    # "" next to tool calls is no content (OpenAI streams "" but returns null), so it comes back null
    "openrouter": lambda body: _set_content(body, None),
    # "tool_calls": [] decodes like no tool calls
    "vllm": lambda body: _drop_message_key(body, "tool_calls"),
}


def _set_content(body: Json, value: Any) -> Json:
    out = copy.deepcopy(body)
    out["choices"][0]["message"]["content"] = value
    return out


def _drop_message_key(body: Json, key: str) -> Json:
    out = copy.deepcopy(body)
    del out["choices"][0]["message"][key]
    return out


def _without_call_index(body: Json) -> Json:
    out = copy.deepcopy(body)
    for call in out["choices"][0]["message"].get("tool_calls") or []:
        call.pop("index", None)
    return out


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_every_reply_fixture_re_encodes_to_itself(name: str) -> None:
    body = REPLIES[name]
    reply = from_openai_response(copy.deepcopy(body))
    normalise = _REPLY_NORMALISED.get(name)
    expected = _without_call_index(body)
    if normalise is not None:
        expected = normalise(expected)
    assert without_nulls(to_openai_response(reply)) == without_nulls(
        {**expected, "object": "chat.completion"}
    )
    assert fx.from_json(fx.to_json(reply)) == reply


def test_openai_usage_details_and_annotations_are_typed() -> None:
    reply = reply_of(OPENAI_REPLY)
    usage = reply.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1117, 46, 1163)
    assert usage.cached_tokens == 1024 and usage.reasoning_tokens == 0
    assert usage.prompt_audio_tokens == 0 and usage.completion_audio_tokens == 0
    assert extra_of(usage.extra) == {
        "completion_tokens_details": {"accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    }
    assert extra_of(reply.message.extra)["annotations"][0]["url_citation"]["title"] == "Positive News"
    assert extra_of(reply.extra) == {
        "created": 1741570283,
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }
    assert reply.id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"


def test_deepseek_reasoning_and_cache_hit_usage() -> None:
    reply = reply_of(DEEPSEEK_REPLY)
    assert reply.message.reasoning == fx.Reasoning(
        text="Compare the tenths: 1 < 8.", raw={"reasoning_content": "Compare the tenths: 1 < 8."}
    )
    assert reply.usage.reasoning_tokens == 6 and reply.usage.cached_tokens == 0
    assert extra_of(reply.usage.extra) == {"prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 16}


def test_groq_reasoning_timings_and_executed_tools() -> None:
    reply = reply_of(GROQ_REPLY)
    assert (
        reply.message.reasoning is not None
        and reply.message.reasoning.text == "The capital of France is Paris."
    )
    assert reply.usage.total_tokens == 30 and extra_of(reply.usage.extra)["queue_time"] == 0.037
    assert extra_of(reply.extra)["x_groq"] == {"id": "req_01jbd6g2qdfw2adyrt2az8hz4w"}
    compound = reply_of(GROQ_COMPOUND_REPLY)
    tools = extra_of(compound.message.extra)["executed_tools"]
    assert tools[0]["type"] == "search" and tools[0]["search_results"]["results"][0]["score"] == 0.9
    assert "usage_breakdown" in extra_of(compound.extra)


def test_openrouter_reasoning_details_cost_and_provider() -> None:
    reply = from_openai_response(copy.deepcopy(OPENROUTER_REPLY))
    m = reply.message
    assert m.content is None and m.tool_calls[0].name == "get_weather"
    assert m.tool_calls[0].extra is None  # the reply's "index" is the call's position, not a key of it
    assert m.reasoning is not None and m.reasoning.text == "I should call the weather tool."
    assert json.loads(m.reasoning.raw or "{}")["reasoning_details"][0]["signature"] == "EqQBCkgIARABGAIiQL"
    assert reply.usage.cached_tokens == 0 and reply.usage.reasoning_tokens == 12
    usage_extra = extra_of(reply.usage.extra)
    assert usage_extra["cost"] == 0.00136 and usage_extra["is_byok"] is False
    assert usage_extra["completion_tokens_details"] == {"image_tokens": 0}
    assert extra_of(reply.extra)["provider"] == "Anthropic"
    assert extra_of(reply.choice_extra) == {"native_finish_reason": "tool_use"}


def test_gemini_signature_and_reported_total() -> None:
    reply = reply_of(GEMINI_REPLY)
    (call,) = reply.message.tool_calls
    assert extra_of(call.extra) == {"extra_content": {"google": {"thought_signature": "<Signature A>"}}}
    assert reply.usage.reported_total_tokens == 190 and reply.usage.total_tokens == 190
    assert reply.usage.prompt_tokens + reply.usage.completion_tokens == 80
    # the next request sends the signature back to Gemini exactly as received
    call_back = fx.ModelCall(model="gemini-3-pro-preview", messages=(fx.user("go"), reply.message))
    sent = to_openai_request(call_back, dialect=dialect("gemini"))
    assert sent["messages"][1]["tool_calls"][0]["extra_content"] == {
        "google": {"thought_signature": "<Signature A>"}
    }


def test_azure_filter_results_are_kept() -> None:
    reply = reply_of(AZURE_REPLY)
    assert extra_of(reply.extra)["prompt_filter_results"][0]["content_filter_results"] == _FILTER
    assert extra_of(reply.choice_extra) == {"content_filter_results": _FILTER}


def test_mistral_thinking_content_list() -> None:
    reply = reply_of(MISTRAL_THINKING_REPLY)
    content = reply.message.content
    assert isinstance(content, tuple)
    assert content[0] == fx.OtherPart(
        kind="thinking", extra={"thinking": [{"type": "text", "text": "4 children, so 3 siblings."}]}
    )
    assert reply.message.text == "John has 3 siblings."


@pytest.mark.parametrize(
    ("name", "field", "text"),
    [
        ("vllm", "reasoning_content", "0.8 > 0.11"),
        ("ollama", "reasoning", "Short answer."),
        ("cerebras", "reasoning", "12*13 = 156"),
        ("zai", "reasoning_content", "Make it shorter."),
    ],
)
def test_reasoning_replies_are_typed(name: str, field: str, text: str) -> None:
    reply = from_openai_response(copy.deepcopy(REPLIES[name]))
    assert reply.message.reasoning == fx.Reasoning(text=text, raw={field: text})
    if name == "zai":
        assert reply.usage.cached_tokens == 32
        assert extra_of(reply.extra) == {"created": 1757000000, "request_id": "req-zai-1"}
    if name == "cerebras":
        assert reply.usage.reasoning_tokens == 8 and "time_info" in extra_of(reply.extra)


# =========================================================================== streams

# https://platform.openai.com/docs/api-reference/chat-streaming/streaming (chunks; with
# stream_options.include_usage a last chunk with empty choices carries the usage)
_OA = {
    "id": "chatcmpl-stream1",
    "object": "chat.completion.chunk",
    "created": 1741570283,
    "model": "gpt-4.1-mini",
    "system_fingerprint": "fp_1",
    "service_tier": "default",
    "usage": None,  # "All other chunks will also include a usage field, but with a null value."
}
OPENAI_STREAM: list[Json] = [
    chunk(_OA, {"role": "assistant", "content": "", "refusal": None}, logprobs=None),
    chunk(_OA, {"content": "Hello"}, logprobs=None),
    chunk(_OA, {"content": " there!"}, logprobs=None),
    chunk(_OA, {}, "stop", logprobs=None),
    {
        **_OA,
        "choices": [],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 3,
            "total_tokens": 12,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
    },
]
OPENAI_STREAM_REPLY: Json = {
    **{k: v for k, v in _OA.items() if k != "object"},
    "object": "chat.completion",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello there!", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": OPENAI_STREAM[-1]["usage"],
}

# Groq streams report usage in x_groq.usage of the last chunk, not in "usage":
# https://console.groq.com/docs/api-reference#chat-create (x_groq) and the dialect row's notes
_GQ = {
    "id": "chatcmpl-groq1",
    "object": "chat.completion.chunk",
    "created": 1737000000,
    "model": "openai/gpt-oss-20b",
    "system_fingerprint": "fp_179b0f92c9",
}
GROQ_STREAM: list[Json] = [
    {**chunk(_GQ, {"role": "assistant", "content": ""}, logprobs=None), "x_groq": {"id": "req_01jbd6g2"}},
    chunk(_GQ, {"reasoning": "The capital"}, logprobs=None),
    chunk(_GQ, {"reasoning": " is Paris."}, logprobs=None),
    chunk(_GQ, {"content": "Paris."}, logprobs=None),
    {
        **chunk(_GQ, {}, "stop", logprobs=None),
        "x_groq": {
            "id": "req_01jbd6g2",
            "usage": {
                "queue_time": 0.03,
                "prompt_tokens": 18,
                "prompt_time": 0.0002,
                "completion_tokens": 12,
                "completion_time": 0.02,
                "total_tokens": 30,
                "total_time": 0.0202,
            },
        },
    },
]
GROQ_STREAM_REPLY: Json = {
    **{k: v for k, v in _GQ.items() if k != "object"},
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Paris.", "reasoning": "The capital is Paris."},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": GROQ_STREAM[-1]["x_groq"]["usage"],
    "x_groq": {"id": "req_01jbd6g2"},
}

# https://docs.mistral.ai/capabilities/reasoning/ (streamed magistral: delta.content is a list of
# thinking chunks, then the answer); Mistral sends usage on the last chunk unasked
_MI = {
    "id": "b2c3d4",
    "object": "chat.completion.chunk",
    "created": 1759000000,
    "model": "magistral-medium-latest",
}
MISTRAL_STREAM: list[Json] = [
    chunk(_MI, {"role": "assistant", "content": ""}),
    chunk(_MI, {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "4 children, "}]}]}),
    chunk(_MI, {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "so 3 siblings."}]}]}),
    chunk(_MI, {"content": "John has "}),
    chunk(_MI, {"content": "3 siblings."}),
    {
        **chunk(_MI, {"content": ""}, "stop"),
        "usage": {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50},
    },
]
MISTRAL_STREAM_REPLY: Json = MISTRAL_THINKING_REPLY | {
    "id": "b2c3d4",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": MISTRAL_THINKING_REPLY["choices"][0]["message"]["content"],
            },
            "finish_reason": "stop",
        }
    ],
}

# https://api-docs.deepseek.com/guides/reasoning_model (streamed reasoning_content, then content)
_DS = {
    "id": "ds-stream",
    "object": "chat.completion.chunk",
    "created": 1705651092,
    "model": "deepseek-reasoner",
    "system_fingerprint": "fp_a1b2c3",
}
DEEPSEEK_STREAM: list[Json] = [
    chunk(_DS, {"role": "assistant", "content": None, "reasoning_content": ""}, logprobs=None),
    chunk(_DS, {"content": None, "reasoning_content": "Compare the tenths:"}, logprobs=None),
    chunk(_DS, {"content": None, "reasoning_content": " 1 < 8."}, logprobs=None),
    chunk(_DS, {"content": "9.11 is smaller", "reasoning_content": None}, logprobs=None),
    chunk(_DS, {"content": " than 9.8.", "reasoning_content": None}, logprobs=None),
    chunk(_DS, {"content": "", "reasoning_content": None}, "stop", logprobs=None),
    {**_DS, "choices": [], "usage": DEEPSEEK_REPLY["usage"]},
]

# https://openrouter.ai/docs/use-cases/reasoning-tokens#streaming-response (delta.reasoning and
# delta.reasoning_details pieces, each with the index of the block it continues) and
# https://openrouter.ai/docs/api-reference/streaming (usage on the last chunk, unasked)
_OR = {
    "id": "gen-1748000000-abc",
    "provider": "Anthropic",
    "model": "anthropic/claude-sonnet-4",
    "object": "chat.completion.chunk",
    "created": 1748000000,
}


def _or_piece(text: str, **more: Any) -> Json:
    return {
        "reasoning": text,
        "reasoning_details": [
            {"type": "reasoning.text", "text": text, "format": "anthropic-claude-v1", "index": 0, **more}
        ],
    }


OPENROUTER_STREAM: list[Json] = [
    chunk(_OR, {"role": "assistant", "content": ""}, native_finish_reason=None, logprobs=None),
    chunk(_OR, _or_piece("I should call"), native_finish_reason=None, logprobs=None),
    chunk(_OR, _or_piece(" the weather tool."), native_finish_reason=None, logprobs=None),
    chunk(
        _OR,
        {
            "role": "assistant",
            "content": "",
            "reasoning": None,
            "reasoning_details": [
                {
                    "type": "reasoning.text",
                    "signature": "EqQBCkgIARABGAIiQL",
                    "format": "anthropic-claude-v1",
                    "index": 0,
                }
            ],
        },
        native_finish_reason=None,
        logprobs=None,
    ),
    chunk(
        _OR,
        {
            "content": "",
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_01",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ],
        },
        native_finish_reason=None,
        logprobs=None,
    ),
    chunk(
        _OR,
        {"content": "", "tool_calls": [{"index": 0, "function": {"arguments": '{"location": '}}]},
        native_finish_reason=None,
        logprobs=None,
    ),
    chunk(
        _OR,
        {"content": "", "tool_calls": [{"index": 0, "function": {"arguments": '"Boston"}'}}]},
        native_finish_reason=None,
        logprobs=None,
    ),
    chunk(_OR, {"content": ""}, "tool_calls", native_finish_reason="tool_use", logprobs=None),
    {**_OR, "choices": [], "usage": OPENROUTER_REPLY["usage"]},
]

# https://ai.google.dev/gemini-api/docs/thought-signatures ("Streaming": the signature arrives on the
# tool-call fragment that carries the call)
_GE = {
    "id": "Rz5YaeO6Jd2",
    "object": "chat.completion.chunk",
    "created": 1767000000,
    "model": "gemini-3-pro-preview",
}
GEMINI_STREAM: list[Json] = [
    chunk(
        _GE,
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "index": 0,
                    "id": "function-call-1",
                    "type": "function",
                    "function": {"name": "check_flight", "arguments": '{"flight":"AA100"}'},
                    "extra_content": {"google": {"thought_signature": "<Signature A>"}},
                }
            ],
        },
    ),
    {**chunk(_GE, {"role": "assistant"}, "tool_calls"), "usage": GEMINI_REPLY["usage"]},
]

# https://learn.microsoft.com/en-us/azure/ai-foundry/openai/concepts/content-streaming (the first chunk
# holds only prompt_filter_results, with empty id and model; each content chunk has its
# content_filter_results)
_AZ = {
    "id": "chatcmpl-AzAzure",
    "object": "chat.completion.chunk",
    "created": 1730000000,
    "model": "gpt-4o-2024-08-06",
    "system_fingerprint": "fp_azure",
}
AZURE_STREAM: list[Json] = [
    {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _FILTER}],
    },
    chunk(
        _AZ, {"role": "assistant", "content": "", "refusal": None}, content_filter_results={}, logprobs=None
    ),
    chunk(_AZ, {"content": "Hello! "}, content_filter_results=_FILTER, logprobs=None),
    chunk(_AZ, {"content": "How can I help?"}, content_filter_results=_FILTER, logprobs=None),
    chunk(_AZ, {}, "stop", content_filter_results={}, logprobs=None),
    {**_AZ, "choices": [], "usage": AZURE_REPLY["usage"]},
]

# A server that writes the choice index as a string ("index": "0", seen from some proxies)
_IX = {"id": "chatcmpl-idx", "object": "chat.completion.chunk", "created": 1, "model": "m"}
STRING_INDEX_STREAM: list[Json] = [
    {
        **_IX,
        "choices": [{"index": "0", "delta": {"role": "assistant", "content": "ok"}, "finish_reason": None}],
    },
    {**_IX, "choices": [{"index": "0", "delta": {}, "finish_reason": "stop"}]},
]

STREAMS: dict[str, list[Json]] = {
    "openai": OPENAI_STREAM,
    "groq": GROQ_STREAM,
    "mistral": MISTRAL_STREAM,
    "deepseek": DEEPSEEK_STREAM,
    "openrouter": OPENROUTER_STREAM,
    "gemini": GEMINI_STREAM,
    "azure": AZURE_STREAM,
    "string_index": STRING_INDEX_STREAM,
}

# The same completion unstreamed, as the provider documents it.
STREAM_REPLIES: dict[str, Json] = {
    "openai": OPENAI_STREAM_REPLY,
    "groq": GROQ_STREAM_REPLY,
    "mistral": MISTRAL_STREAM_REPLY,
    "deepseek": {**DEEPSEEK_REPLY, "id": "ds-stream"},
    "openrouter": OPENROUTER_REPLY,
    "gemini": GEMINI_REPLY,
    "azure": AZURE_REPLY,
    "string_index": {
        **_IX,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    },
}


# Bugs found by these fixtures (the lead removes the marker with the fix).
@pytest.mark.parametrize("name", sorted(STREAMS))
def test_every_stream_folds_to_the_reply_the_same_completion_decodes_to(name: str) -> None:
    _events, streamed = fold(STREAMS[name])
    assert streamed == from_openai_response(copy.deepcopy(STREAM_REPLIES[name]))


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_stream_events_add_up_to_the_reply(name: str) -> None:
    events, reply = fold(STREAMS[name], step=4)
    assert all(e.step == 4 for e in events)  # type: ignore[attr-defined]
    m = reply.message
    content = m.content
    answer = content if isinstance(content, str) else m.text if content is not None else ""
    assert text_of_events(events, fx.TokenDelta) == (answer or "")
    thought = text_of_events(events, fx.ReasoningDelta)
    if m.reasoning is not None:
        assert thought == m.reasoning.text
    elif isinstance(content, tuple):
        thinking = [p for p in content if isinstance(p, fx.OtherPart) and p.kind == "thinking"]
        assert thought == "".join(t["text"] for p in thinking for t in p.fields()["thinking"])
    else:
        assert thought == ""
    started = [e for e in events if isinstance(e, fx.ToolCallStarted)]
    assert [(e.index, e.id, e.name) for e in started] == [
        (i, c.id, c.name) for i, c in enumerate(m.tool_calls)
    ]
    for call in m.tool_calls:
        deltas = [e.text for e in events if isinstance(e, fx.ToolCallArgumentsDelta) and e.id == call.id]
        assert "".join(deltas) == call.arguments


def test_groq_stream_usage_comes_from_x_groq() -> None:
    _, reply = fold(GROQ_STREAM)
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (
        18,
        12,
        30,
    )
    assert extra_of(reply.usage.extra)["queue_time"] == 0.03
    assert extra_of(reply.extra)["x_groq"] == {"id": "req_01jbd6g2"}  # kept once, usage taken out
    assert reply.message.reasoning == fx.Reasoning(
        text="The capital is Paris.", raw={"reasoning": "The capital is Paris."}
    )


def test_deepseek_stream_reasoning_and_usage() -> None:
    events, reply = fold(DEEPSEEK_STREAM)
    assert text_of_events(events, fx.ReasoningDelta) == "Compare the tenths: 1 < 8."
    assert reply.usage.reasoning_tokens == 6
    assert extra_of(reply.usage.extra)["prompt_cache_miss_tokens"] == 16


def test_gemini_stream_keeps_the_signature_on_the_call() -> None:
    _, reply = fold(GEMINI_STREAM)
    (call,) = reply.message.tool_calls
    assert extra_of(call.extra) == {"extra_content": {"google": {"thought_signature": "<Signature A>"}}}
    assert reply.usage.total_tokens == 190


def test_mistral_stream_thinking_parts_merge_into_one() -> None:
    events, reply = fold(MISTRAL_STREAM)
    assert isinstance(reply.message.content, tuple)
    assert reply.message.content[0] == fx.OtherPart(
        kind="thinking", extra={"thinking": [{"type": "text", "text": "4 children, so 3 siblings."}]}
    )
    assert [e.text for e in events if isinstance(e, fx.ReasoningDelta)] == ["4 children, ", "so 3 siblings."]
    assert reply.usage.total_tokens == 50


def test_openrouter_stream_reasoning_details_merge_by_index() -> None:
    _, reply = fold(OPENROUTER_STREAM)
    assert reply.message.reasoning is not None
    assert json.loads(reply.message.reasoning.raw or "{}")["reasoning_details"] == [
        {
            "type": "reasoning.text",
            "text": "I should call the weather tool.",
            "signature": "EqQBCkgIARABGAIiQL",
            "format": "anthropic-claude-v1",
            "index": 0,
        }
    ]


def test_azure_stream_id_and_model_are_the_real_ones() -> None:
    _, reply = fold(AZURE_STREAM)
    assert (reply.id, reply.model) == ("chatcmpl-AzAzure", "gpt-4o-2024-08-06")


def test_azure_stream_content_filter_results_are_kept_as_sent() -> None:
    _, reply = fold(AZURE_STREAM)
    assert extra_of(reply.choice_extra) == {"content_filter_results": _FILTER}


def test_azure_stream_keeps_the_prompt_filter_results() -> None:
    _, reply = fold(AZURE_STREAM)
    assert extra_of(reply.extra)["prompt_filter_results"][0]["content_filter_results"] == _FILTER
    assert reply.message.content == "Hello! How can I help?"


def test_string_choice_index_is_choice_zero() -> None:
    _, reply = fold(STRING_INDEX_STREAM)
    assert reply.message.content == "ok" and reply.finish_reason == "stop"
    with pytest.raises(fx.MalformedResponse, match="choice '1'"):
        fold([{**_IX, "choices": [{"index": "1", "delta": {"content": "x"}, "finish_reason": None}]}])


# https://platform.openai.com/docs/guides/function-calling#allowed-tools (tool_choice allowed_tools)
ALLOWED_TOOLS_REQUEST: Json = {
    "model": "gpt-5",
    "messages": [{"role": "user", "content": "hi"}],
    "tool_choice": {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "auto",
            "tools": [{"type": "function", "function": {"name": "get_weather"}}],
        },
    },
}


def test_an_allowed_tools_choice_is_kept_verbatim() -> None:
    call = round_trip_request(ALLOWED_TOOLS_REQUEST)
    assert call.params.tool_choice is not None and call.params.tool_choice.mode == "other"


_CUSTOM_CALL = {"id": "call_c", "type": "custom", "custom": {"name": "code_exec", "input": "print(1)"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # https://platform.openai.com/docs/guides/function-calling#custom-tools (a custom tool call)
        (
            {
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": None, "tool_calls": [_CUSTOM_CALL]},
                        "finish_reason": "tool_calls",
                    }
                ]
            },
            "message.tool_calls[0]",
        ),
        (
            {
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": 5}, "finish_reason": "stop"}
                ]
            },
            "$.choices[0].message.content",
        ),
        (
            {
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": "3"},
            },
            "usage.prompt_tokens",
        ),
    ],
)
def test_a_reply_the_library_cannot_represent_is_a_typed_error_naming_the_field(
    body: Json, field: str
) -> None:
    with pytest.raises(fx.MalformedResponse) as info:
        from_openai_response(body)
    assert field in str(info.value)


def test_a_custom_tool_call_in_a_request_is_a_typed_error_naming_the_field() -> None:
    body = {
        "model": "gpt-5",
        "messages": [{"role": "assistant", "content": None, "tool_calls": [_CUSTOM_CALL]}],
    }
    with pytest.raises(fx.DecodeError, match=r"\$\.messages\[0\]\.tool_calls\[0\]\.type"):
        from_openai_request(body)


@given(name=st.sampled_from(sorted(REPLIES)), size=st.integers(1, 12), interleave=st.booleans())
def test_every_reply_shape_streams_and_folds_back_exactly(name: str, size: int, interleave: bool) -> None:
    reply = from_openai_response(copy.deepcopy(REPLIES[name]))
    chunks = fx.openai.to_openai_chunks(reply, size=size, interleave=interleave)
    events, streamed = fold(list(chunks))
    assert streamed == reply
    assert text_of_events(events, fx.TokenDelta) == (reply.message.text or "")


# https://platform.openai.com/docs/api-reference/chat/create#chat_create-stream_options-include_obfuscation
# (on by default: every chunk carries an "obfuscation" string of random characters)
OPENAI_OBFUSCATED_STREAM: list[Json] = [
    {**c, "obfuscation": pad}
    for c, pad in zip(OPENAI_STREAM, ["k3", "Jx9Q", "a", "Zp0", "mW7e2"], strict=True)
]


def test_a_default_openai_stream_with_obfuscation_folds_to_the_unstreamed_reply() -> None:
    _, streamed = fold(OPENAI_OBFUSCATED_STREAM)
    assert streamed == from_openai_response(copy.deepcopy(OPENAI_STREAM_REPLY))


def test_a_string_choice_index_in_a_json_reply_is_choice_zero() -> None:
    body = {**STREAM_REPLIES["string_index"]}
    body["choices"] = [{**body["choices"][0], "index": "0"}]
    assert from_openai_response(body) == from_openai_response(STREAM_REPLIES["string_index"])


def test_a_stream_choice_without_an_index_is_choice_zero() -> None:
    chunks = [
        {**c, "choices": [{k: v for k, v in c["choices"][0].items() if k != "index"}]}
        for c in STRING_INDEX_STREAM
    ]
    assert fold(chunks)[1] == fold(STRING_INDEX_STREAM)[1]


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_a_folded_stream_re_encodes_and_folds_back_exactly(name: str) -> None:
    _, reply = fold(STREAMS[name])
    assert from_openai_response(to_openai_response(reply)) == reply
    assert fold(list(fx.openai.to_openai_chunks(reply, size=5)))[1] == reply
