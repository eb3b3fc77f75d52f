"""tower_llm_fx.serde: the JSON codec's registry and writer, for types of your own.

`tower_llm_fx.to_json` / `tower_llm_fx.from_json` encode every registered
value exactly; `register` adds an attrs class or an enum of yours.

    >>> import attrs, tower_llm_fx as fx
    >>> from tower_llm_fx.serde import register
    >>> @register
    ... @attrs.frozen
    ... class Ticket:
    ...     id: int
    >>> fx.from_json(fx.to_json(Ticket(id=7)))
    Ticket(id=7)
"""

from ._json import compact_json as compact_json
from ._publish import publish as _publish
from ._serde import register as register
from ._serde import registered as registered

__all__ = [
    "compact_json",
    "register",
    "registered",
]

_publish(__name__, globals(), __all__)
