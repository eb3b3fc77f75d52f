"""Hypothesis strategies for tower_llm_fx values, and mutators for property tests.

Importing this module imports hypothesis (``import tower_llm_fx`` never does).
Every function here returns a strategy, except the re-exported pure
mutator API (`mutate`, `Mutation`, `MUTABLE_KINDS`, `checked_kinds`).

The two properties this module exists for::

    from hypothesis import given
    import tower_llm_fx as fx
    from tower_llm_fx import strategies as fxst

    @given(fxst.conversations())
    def test_generated_conversations_are_valid(messages):
        assert fx.validation.validate_conversation(messages) == ()

    @given(fxst.mutations())
    def test_each_mutation_breaks_exactly_one_rule(m):
        assert fx.validation.validate_conversation(m.messages) == (m.violation,)

`conversations` draws conversations that are valid under the policy you pass
and *use what it permits* (out-of-order tool results when order is not
enforced, repeated roles when allowed, ...). `mutations` breaks one rule of
such a conversation and says which. `model_scripts` draws misbehaving model
replies (tool-call storms, duplicate and empty ids, unknown tools, malformed
arguments, empty replies, refusals) to fuzz an agent loop through the
scripted interpreters.

Messages come in the widened model's shapes too (content parts of the kinds
each role accepts, developer messages, reasoning, ``extra`` wire keys, usage
details, reply extras, provider tools), in a minority of draws so plain text
stays common; `content_parts`, `contents`, `developer_messages` and
`reasonings` draw those pieces alone.

The strategies live in private modules by concept (``_messages``,
``_tools``, ``_conversations``, ``_effects``,
``_behaviour``); this module is their one public namespace.
"""

from __future__ import annotations

try:
    import hypothesis as _hypothesis  # noqa: F401  (fail here, with advice, not deep inside a submodule)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the public-API test
    raise ImportError(
        "tower_llm_fx.strategies needs hypothesis, an optional extra: pip install 'tower-llm-fx[testing]' "
        "(the rest of tower_llm_fx works without it)"
    ) from exc

from tower_llm_fx._publish import publish as _publish

from ._behaviour import model_scripts as model_scripts
from ._conversations import conversations as conversations
from ._conversations import mutations as mutations
from ._conversations import validation_policies as validation_policies
from ._effects import effects as effects
from ._effects import exchanges as exchanges
from ._effects import model_calls as model_calls
from ._effects import model_params as model_params
from ._effects import model_replies as model_replies
from ._effects import parallels as parallels
from ._effects import results as results
from ._effects import run_items as run_items
from ._effects import run_states as run_states
from ._effects import stop_reasons as stop_reasons
from ._effects import tool_calls as tool_calls
from ._effects import tool_results as tool_results
from ._effects import traces as traces
from ._effects import usages as usages
from ._messages import assistant_messages as assistant_messages
from ._messages import content_parts as content_parts
from ._messages import contents as contents
from ._messages import developer_messages as developer_messages
from ._messages import messages as messages
from ._messages import reasonings as reasonings
from ._messages import system_messages as system_messages
from ._messages import tool_call_requests as tool_call_requests
from ._messages import tool_messages as tool_messages
from ._messages import user_messages as user_messages
from ._mutations import MUTABLE_KINDS as MUTABLE_KINDS
from ._mutations import Mutation as Mutation
from ._mutations import checked_kinds as checked_kinds
from ._mutations import mutate as mutate
from ._outputs import bad_output_texts as bad_output_texts
from ._outputs import output_json as output_json
from ._outputs import output_replies as output_replies
from ._tools import arguments_for as arguments_for
from ._tools import tool_specs as tool_specs

__all__ = [
    "MUTABLE_KINDS",
    "Mutation",
    "arguments_for",
    "assistant_messages",
    "bad_output_texts",
    "checked_kinds",
    "content_parts",
    "contents",
    "conversations",
    "developer_messages",
    "effects",
    "exchanges",
    "messages",
    "model_calls",
    "model_params",
    "model_replies",
    "model_scripts",
    "mutate",
    "mutations",
    "output_json",
    "output_replies",
    "parallels",
    "reasonings",
    "results",
    "run_items",
    "run_states",
    "stop_reasons",
    "system_messages",
    "tool_call_requests",
    "tool_calls",
    "tool_messages",
    "tool_results",
    "tool_specs",
    "traces",
    "usages",
    "user_messages",
    "validation_policies",
]

_publish(__name__, globals(), __all__)
