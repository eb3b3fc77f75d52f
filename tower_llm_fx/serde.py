"""tower_llm_fx.serde: the JSON codec (`Codec`, the library's `DEFAULT`) and its compact writer.

Every serialisable library value has a stable *wire name* (``"message.user"``,
``"effect.tool_call"``, ``"group.state"``, ...) that never changes when a class
is renamed or moved; `tower_llm_fx.to_json` / `tower_llm_fx.from_json` encode
and decode with `DEFAULT`, and also read format v1 (class-name tags). For types
of your own, make a new codec with `Codec.with_types` and pass it as
``codec=`` (to ``to_json``, ``from_json``, the trace codec and the stores).

    >>> import attrs, tower_llm_fx as fx
    >>> from tower_llm_fx.serde import DEFAULT
    >>> @attrs.frozen
    ... class Ticket:
    ...     id: int
    >>> codec = DEFAULT.with_types({"acme.ticket": Ticket})
    >>> fx.to_json(Ticket(id=7), codec=codec)
    {'type': 'acme.ticket', 'id': 7}
    >>> fx.from_json({"type": "acme.ticket", "id": 7}, codec=codec)
    Ticket(id=7)
"""

from ._json import MAX_JSON_DEPTH as MAX_JSON_DEPTH
from ._json import JSONDepthError as JSONDepthError
from ._json import compact_json as compact_json
from ._json import loads_bounded as loads_bounded
from ._publish import publish as _publish
from ._serde import DEFAULT as DEFAULT
from ._serde import Codec as Codec

__all__ = [
    "Codec",
    "DEFAULT",
    "JSONDepthError",
    "MAX_JSON_DEPTH",
    "compact_json",
    "loads_bounded",
]

_publish(__name__, globals(), __all__)
