"""tower_llm_fx.group: several agents sharing one conversation, with handoffs between them.

`Group` is a program like `Agent`; handoff policies synthesise the handoff
tools and decide who speaks next. Run it with ``interpreters.run`` (or ``stream``).

    >>> import tower_llm_fx as fx
    >>> from tower_llm_fx.group import Group, handoff_to
    >>> triage, billing = fx.Agent(name="triage", model="m"), fx.Agent(name="billing", model="m")
    >>> group = Group.builder().agent(triage).agent(billing).handoffs(handoff_to("billing")).build()
    >>> group.start("I was charged twice").active
    'triage'
"""

from tower_llm_fx._errors import UnknownAgent as UnknownAgent
from tower_llm_fx._publish import publish as _publish

from ._filters import InputFilter as InputFilter
from ._filters import check_tool_pairs as check_tool_pairs
from ._filters import last_messages as last_messages
from ._filters import without_tool_calls as without_tool_calls
from ._group import Group as Group
from ._group import GroupBuilder as GroupBuilder
from ._group import group_advance as group_advance
from ._group import group_step as group_step
from ._handoff import CombinableHandoffPolicy as CombinableHandoffPolicy
from ._handoff import HandoffPolicy as HandoffPolicy
from ._handoff import HandoffRoute as HandoffRoute
from ._handoff import compacting_handoff as compacting_handoff
from ._handoff import composite_handoff as composite_handoff
from ._handoff import conditional_handoff as conditional_handoff
from ._handoff import explicit_handoffs as explicit_handoffs
from ._handoff import filtered_handoff as filtered_handoff
from ._handoff import handoff_to as handoff_to
from ._handoff import no_handoffs as no_handoffs
from ._handoff import sequential_handoff as sequential_handoff
from ._pick import GroupMember as GroupMember
from ._pick import ModelPicker as ModelPicker
from ._pick import Picker as Picker
from ._pick import llm_picker as llm_picker
from ._state import GroupState as GroupState
from ._state import HandedOff as HandedOff
from ._state import Handoff as Handoff
from ._state import HandoffRecord as HandoffRecord
from ._state import handoff_events as handoff_events

__all__ = [
    "CombinableHandoffPolicy",
    "Group",
    "GroupBuilder",
    "GroupMember",
    "GroupState",
    "HandedOff",
    "Handoff",
    "HandoffPolicy",
    "HandoffRecord",
    "HandoffRoute",
    "InputFilter",
    "ModelPicker",
    "Picker",
    "UnknownAgent",
    "check_tool_pairs",
    "compacting_handoff",
    "composite_handoff",
    "conditional_handoff",
    "explicit_handoffs",
    "filtered_handoff",
    "group_advance",
    "group_step",
    "handoff_events",
    "handoff_to",
    "last_messages",
    "llm_picker",
    "no_handoffs",
    "sequential_handoff",
    "without_tool_calls",
]

_publish(__name__, globals(), __all__)
