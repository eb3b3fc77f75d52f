"""tower_llm_fx.openai._dialects: the provider table and its lookup (the re-send rule: test_resend.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from tower_llm_fx._errors import ConfigurationError
from tower_llm_fx.openai._dialects import DIALECTS, Dialect, dialect

DOCS = Path(__file__).resolve().parents[3] / "docs" / "dialects.md"


# --- the table -----------------------------------------------------------------------------------------

REQUIRED = {
    "openai",
    "groq",
    "openrouter",
    "mistral",
    "deepseek",
    "gemini",
    "cerebras",
    "huggingface",
    "ollama",
    "snowflake",
    "zai",
    "crusoe",
    "azure",
}
CHOOSABLE = {"together", "fireworks", "xai", "vllm", "lmstudio", "perplexity"}


def test_the_table_has_seventeen_rows_keyed_by_their_names() -> None:
    assert len(DIALECTS) == 17
    assert all(key == row.name for key, row in DIALECTS.items())
    assert set(DIALECTS) >= REQUIRED
    assert set(DIALECTS) - REQUIRED <= CHOOSABLE


@pytest.mark.parametrize("row", DIALECTS.values(), ids=list(DIALECTS))
def test_every_row_cites_documentation_and_keeps_rule_3(row: Dialect) -> None:
    assert row.source and all(url.startswith("https://") for url in row.source)
    assert row.notes.strip()
    # a row that keeps reasoning must name the fields it keeps (Mistral keeps its thinking in content)
    if row.resend_reasoning in ("must", "tool_turns"):
        assert row.reasoning_fields
    assert len(set(row.reasoning_fields)) == len(row.reasoning_fields)


def test_documented_cells() -> None:
    deepseek, gemini, openrouter = dialect("deepseek"), dialect("gemini"), dialect("openrouter")
    assert (deepseek.reasoning_fields, deepseek.resend_reasoning) == (("reasoning_content",), "tool_turns")
    assert not deepseek.json_schema
    assert gemini.resend_thought_signature
    assert [r.name for r in DIALECTS.values() if r.resend_thought_signature] == ["gemini"]
    assert openrouter.resend_reasoning == "must"
    assert set(openrouter.reasoning_fields) == {"reasoning", "reasoning_details"}
    assert openrouter.stream_usage == "always"
    assert dialect("mistral").tool_choice_required == "any"
    assert dialect("groq").stream_usage == "x_groq"
    assert dialect("groq").resend_reasoning == "must_not"
    assert (dialect("zai").resend_reasoning, dialect("zai").tool_choice_required) == ("must", None)
    assert dialect("openai").tool_choice_required == "required"


def test_an_unknown_name_is_a_configuration_error_listing_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        dialect("deep-seek")
    message = str(info.value)
    assert "'deep-seek'" in message
    assert all(name in message for name in DIALECTS)
    with pytest.raises(ConfigurationError):
        dialect(None)  # type: ignore[arg-type]


def test_the_table_and_its_rows_are_read_only() -> None:
    with pytest.raises(TypeError):
        DIALECTS["mine"] = dialect("openai")  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        dialect("openai").name = "x"  # type: ignore[misc]
    assert attrs.evolve(dialect("openai"), name="mine").name == "mine"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"resend_reasoning": "sometimes"}, ValueError),
        ({"stream_usage": "trailer"}, ValueError),
        ({"source": ()}, TypeError),
        ({"source": ("http://example.com",)}, ValueError),
        ({"reasoning_fields": ("reasoning", 3)}, TypeError),
        ({"reasoning_fields": "reasoning"}, TypeError),
        ({"name": ""}, ValueError),
    ],
)
def test_a_malformed_row_is_refused(change: dict[str, Any], error: type[Exception]) -> None:
    base: dict[str, Any] = {
        "name": "mine",
        "reasoning_fields": ("reasoning",),
        "resend_reasoning": "may",
        "source": ("https://example.com/docs",),
    }
    with pytest.raises(error):
        Dialect(**{**base, **change})


def _docs_rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 6:
            rows[cells[0].strip("`")] = cells
    return rows


def test_the_docs_table_says_what_the_data_says() -> None:
    rows = _docs_rows()
    assert set(rows) == set(DIALECTS)
    for name, cells in rows.items():
        row = DIALECTS[name]
        _, fields, rule, tool_choice, usage, schema, source = cells[:7]
        assert fields == (", ".join(f"`{f}`" for f in row.reasoning_fields) or "—"), name
        assert rule.startswith(f"`{row.resend_reasoning}`"), name
        assert ("thought signature" in rule) == row.resend_thought_signature, name
        assert tool_choice == (f"`{row.tool_choice_required}`" if row.tool_choice_required else "none"), name
        assert usage == f"`{row.stream_usage}`", name
        assert schema == ("yes" if row.json_schema else "no"), name
        assert re.findall(r"\((https://[^)]+)\)", source) == list(row.source), name
