"""Turn format-v2 JSON data into the format-v1 data older versions wrote, to test reading old files.

Format v1 tagged a value with its class name (``"UserMessage"``) where v2 writes its wire name
(``"message.user"``); everything else is the same. `as_v1` renames every tag that is a library wire
name (other ``"type"`` keys, such as a JSON schema's, are left alone) and, with ``drop``, removes
fields v1 data does not have (e.g. ``{"effect.tool_call": {"agent"}}``, added after v1 files were
written).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tower_llm_fx.serde import DEFAULT

V1_OF = {name: tag for tag, name in DEFAULT.v1_tags().items()}
"""Wire name → the v1 tag of the same class."""


def as_v1(data: Any, drop: Mapping[str, set[str]] | None = None) -> Any:
    """``data`` (JSON made by ``to_json``) as format v1 wrote it."""
    if isinstance(data, list):
        return [as_v1(x, drop) for x in data]
    if isinstance(data, dict):
        tag = data.get("type")
        gone = (drop or {}).get(tag, set()) if isinstance(tag, str) else set()
        out = {k: as_v1(v, drop) for k, v in data.items() if k not in gone}
        if isinstance(tag, str) and tag in V1_OF:
            out["type"] = V1_OF[tag]
        return out
    return data
