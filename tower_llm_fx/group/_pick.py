"""Group members and pickers: who is in a group, and who takes the conversation first.

A picker is an agent name, a pure function of the input messages, or a
`ModelPicker`: a model asked which agent fits, as an ordinary ``ModelCall``
(so it is recorded and replayed like any other call).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias, final

import attrs
from attrs import validators as v

from tower_llm_fx._agent import Agent
from tower_llm_fx._effects import ModelCall, ModelParams
from tower_llm_fx._errors import UnknownAgent
from tower_llm_fx._messages import Message, SystemMessage

__all__ = ["GroupMember", "ModelPicker", "Picker", "llm_picker"]


@final
@attrs.frozen(kw_only=True)
class GroupMember:
    """An agent of a group, with the description other agents and pickers read."""

    agent: Agent = attrs.field(validator=v.instance_of(Agent))
    description: str = attrs.field(default="", validator=v.instance_of(str))

    @property
    def name(self) -> str:
        """The agent's name: its key in the group."""
        return self.agent.name


_DEFAULT_PICK = "Choose the agent best suited to handle the conversation below."


@final
@attrs.frozen(kw_only=True)
class ModelPicker:
    """Pick the first agent by asking a model (a recorded ``ModelCall``).

    The model sees the agents' names and descriptions and answers with a name.
    An answer naming no agent (or several) selects ``fallback``, or raises
    `UnknownAgent` when there is none. Build one with `llm_picker`.
    """

    model: str = attrs.field(validator=v.instance_of(str))
    instructions: str = attrs.field(default=_DEFAULT_PICK, validator=v.instance_of(str))
    params: ModelParams = attrs.field(factory=ModelParams, validator=v.instance_of(ModelParams))
    fallback: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))

    def model_call(self, members: Sequence[GroupMember], messages: Sequence[Message]) -> ModelCall:
        """The ``ModelCall`` that asks the model to pick."""
        lines = [f"- {m.name}: {m.description}" if m.description else f"- {m.name}" for m in members]
        prompt = f"{self.instructions}\nAgents:\n" + "\n".join(lines) + "\nAnswer with the agent's name only."
        return ModelCall(
            model=self.model, messages=(SystemMessage(content=prompt), *messages), params=self.params
        )

    def choose(self, answer: str | None, names: Sequence[str]) -> str:
        """The agent the model's ``answer`` names.

        >>> ModelPicker(model="m").choose(" 'Billing'. ", ["triage", "billing"])
        'billing'
        """
        text = (answer or "").strip().strip("\"'`.!").strip()
        folded = {n.casefold(): n for n in names}
        if text.casefold() in folded:
            return folded[text.casefold()]
        words = {w.strip("\"'`.,:;!?()*").casefold() for w in text.split()}
        found = [n for n in names if n.casefold() in words]
        if len(found) == 1:
            return found[0]
        if self.fallback is not None:
            return self.fallback
        raise UnknownAgent(
            f"the picker model answered {answer!r}, which names {'several' if found else 'none'} of the "
            f"agents {', '.join(names)}; give llm_picker(...) a fallback= agent, or clearer instructions"
        )


def llm_picker(
    model: str,
    *,
    instructions: str = _DEFAULT_PICK,
    params: ModelParams | None = None,
    fallback: str | None = None,
) -> ModelPicker:
    """A picker that asks ``model`` which agent should take the conversation first."""
    return ModelPicker(
        model=model, instructions=instructions, params=params or ModelParams(), fallback=fallback
    )


Picker: TypeAlias = str | Callable[[tuple[Message, ...]], str] | ModelPicker | None
"""How a group picks its first agent: a name, a pure function of the input
messages, a `ModelPicker`, or ``None`` (the first agent added)."""
