"""Exact JSON encoding of library values, and `Codec`: the table of wire names it uses.

Theory of operation:

* A `Codec` is a value: a table of wire names (``"message.user"``) → classes.
  `DEFAULT` is the library's: every entry of ``_wire.WIRE_NAMES``, held as
  ``"module:QualName"`` paths and imported on first use (the kernel never
  imports the families). `Codec.with_types` returns a *new* codec that also
  knows attrs classes and enums of yours. Nothing is registered at import time.
* Format v2: an attrs value encodes as ``{"type": <wire name>, <field>: ...}``
  with one key per init field (its alias), an enum as ``{"type": <wire name>,
  "value": ...}``; tuples encode as lists and decode back as tuples (core values
  never hold lists). Field defaults are *not* omitted, so old files keep their
  meaning if a default changes; a missing field that has a default decodes to
  the default, an unknown field is an error naming it.
* The decoder reads v2 wire names *and* format v1 tags (the class names v1
  wrote, ``_wire.V1_TAGS``): data written by v1 still loads, as the same values.
* So for any value ``v`` the codec knows: ``codec.decode(codec.encode(v)) == v``,
  the property traces, sessions and resume-after-crash rely on.
* Decoding has one meaning and two speeds. Each attrs class gets a decoder
  compiled from its own ``attrs.fields`` the first time it is decoded (so a
  field added to a class is decoded with no change here): it checks the keys,
  decodes nested values, runs every converter, default and validator the way
  ``cls(**fields)`` would (``instance_of`` checks inline, any other validator
  called as attrs calls it) and fills the slots. Whenever it meets anything
  unusual (a missing or unknown key, an invalid value, a class with its own
  ``__init__``), it gives up and the careful decoder decodes the *whole* value
  again, building ``cls(**fields)`` and naming the path of any error. So the
  fast decoder only ever returns what the careful one would.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeAlias, final

import attrs

from ._decoders import fast_decoder
from ._errors import ConfigurationError, TowerLLMFXError
from ._wire import RESERVED, V1_TAGS, WIRE_NAME, WIRE_NAMES

__all__ = ["Codec", "DEFAULT", "DecodeError", "Target", "from_json", "to_json"]

Target: TypeAlias = "str | type[Any]"
"""What a wire name stands for: a class, or the ``"module:QualName"`` path of one."""


class DecodeError(TowerLLMFXError, ValueError):
    """JSON data does not describe a known value; ``path`` says where (``$.a[2].b``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"at {path}: {problem}")
        self.path = path
        self.problem = problem


def _path_of(cls: type[Any]) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _serialisable(cls: object) -> bool:
    return isinstance(cls, type) and (attrs.has(cls) or issubclass(cls, enum.Enum))


def _pairs(value: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    if isinstance(value, Mapping):
        return tuple(value.items())
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"a codec table is a mapping of wire names, got {value!r}")
    return tuple(value)


def _check_entry(name: object, target: object) -> None:
    if type(name) is not str:
        raise TypeError(f"wire names are strings, got {name!r} (for {target!r})")
    if not WIRE_NAME.fullmatch(name):
        raise ConfigurationError(
            f"wire name {name!r} is not allowed: use lowercase words joined by dots, like 'acme.ticket' "
            "(wire names are stored in files, so pick one that never changes)"
        )
    if name in RESERVED:
        raise ConfigurationError(
            f"wire name {name!r} is reserved: the library writes it for {RESERVED[name]}; "
            "pick another name for your type"
        )
    if isinstance(target, str):
        module, _, qualname = target.partition(":")
        if not module or not qualname:
            raise ConfigurationError(f"{name!r} names {target!r}, which is not a 'module:QualName' path")
    elif not _serialisable(target):
        raise TypeError(f"{name!r}: a codec takes attrs classes and enums, got {target!r}")


@final
@attrs.frozen(repr=False)
class Codec:
    """The JSON codec: wire names → classes; `encode` and `decode` values with it.

    `DEFAULT` knows every library value. For types of your own, make a new
    codec with `with_types` and pass it (``codec=``) wherever values are
    encoded or decoded: `tower_llm_fx.to_json`, the trace codec, the stores.
    ``Codec(types={wire name: class or "module:QualName"}, v1_tags={v1 tag:
    wire name})`` builds one from scratch, knowing only that table. Codecs
    with the same tables are equal.

    Raises:
        TypeError: a wire name is not a string, or a class is neither an attrs
            class nor an enum.
        ConfigurationError: a wire name is malformed, reserved or used twice, a class
            appears under two names, or a v1 tag is malformed or names no entry.

    >>> import attrs, tower_llm_fx as fx
    >>> from tower_llm_fx.serde import DEFAULT
    >>> @attrs.frozen
    ... class Ticket:
    ...     id: int
    >>> codec = DEFAULT.with_types({"acme.ticket": Ticket})
    >>> codec.encode((Ticket(id=7), fx.user("hi")))
    [{'type': 'acme.ticket', 'id': 7}, {'type': 'message.user', 'content': 'hi', 'name': None, 'extra': None}]
    >>> codec.decode(codec.encode(Ticket(id=7)))
    Ticket(id=7)
    """

    _table: tuple[tuple[str, Target], ...] = attrs.field(alias="types", converter=_pairs)
    _v1: tuple[tuple[str, str], ...] = attrs.field(alias="v1_tags", default=(), converter=_pairs)
    # Indexes and memos (derived from the two tables; filled as the codec is used).
    _targets: dict[str, Target] = attrs.field(init=False, eq=False)
    _v1_names: dict[str, str] = attrs.field(init=False, eq=False)
    _by_path: dict[str, str] = attrs.field(init=False, eq=False)
    _classes: dict[str, type[Any]] = attrs.field(init=False, eq=False)
    _names: dict[type[Any], str] = attrs.field(init=False, eq=False)
    _fast: Callable[[Any], Any] = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        targets: dict[str, Target] = {}
        by_path: dict[str, str] = {}
        names: dict[type[Any], str] = {}
        for name, target in self._table:
            _check_entry(name, target)
            if name in targets:
                raise ConfigurationError(
                    f"wire name {name!r} is used twice: by {_shown(targets[name])} and by {_shown(target)}; "
                    "pick another name for yours, e.g. 'yourapp.<thing>'"
                )
            path = target if isinstance(target, str) else _path_of(target)
            if path in by_path:
                raise ConfigurationError(
                    f"{_shown(target)} is already in the codec as {by_path[path]!r}; a class has one wire name"
                )
            targets[name] = target
            by_path[path] = name
            if not isinstance(target, str):
                names[target] = name
        v1_names: dict[str, str] = {}
        for tag, name in self._v1:
            if type(tag) is not str or not tag or "." in tag:
                raise ConfigurationError(f"v1 tags are class names (no dots), got {tag!r}")
            if name not in targets:
                raise ConfigurationError(f"v1 tag {tag!r} maps to {name!r}, which is not a wire name here")
            if tag in v1_names and v1_names[tag] != name:
                raise ConfigurationError(f"v1 tag {tag!r} maps to both {v1_names[tag]!r} and {name!r}")
            v1_names[tag] = name
        set_ = object.__setattr__
        set_(self, "_targets", targets)
        set_(self, "_v1_names", v1_names)
        set_(self, "_by_path", by_path)
        set_(self, "_classes", {})
        set_(self, "_names", names)
        set_(self, "_fast", fast_decoder(self.class_of))

    def __repr__(self) -> str:
        return f"Codec(<{len(self._targets)} types, {len(self._v1_names)} v1 tags>)"

    def encode(self, value: Any) -> Any:
        """``value`` (a known value, a JSON scalar, or a tuple, list or dict of them) as JSON data.

        Raises:
            TypeError: something in ``value`` is not of a type this codec knows, or
                it nests too deep to encode.
        """
        try:
            return _encode(self, value)
        except RecursionError:
            raise TypeError("the value nests too deep to encode as JSON") from None

    def decode(self, data: Any, path: str = "$") -> Any:
        """Decode JSON data made by `encode` (v2) or by format v1.

        Raises:
            DecodeError: unknown type tag, missing or unexpected field, an invalid
                value, or data nested too deep to decode; the message names the
                path (``path`` is the root's name).
        """
        try:
            return self._fast(data)
        except Exception:  # anything unusual: the careful decoder decides (and explains)
            pass
        try:
            return _decode(self, data, path)
        except RecursionError:
            raise DecodeError(path, "the data nests too deep to decode (hostile input?)") from None

    def with_types(
        self, types: Mapping[str, type[Any]], *, v1_tags: Mapping[str, str] | None = None
    ) -> Codec:
        """A new codec that also knows ``types`` (wire name → attrs class or enum).

        ``v1_tags`` maps the tags format v1 wrote for your classes (their class
        names, ``{"Ticket": "acme.ticket"}``) to their wire names, to read old data.

        Raises:
            TypeError: ``types`` is not a mapping, a name is not a string, or a class
                is neither an attrs class nor an enum.
            ConfigurationError: a name is malformed, reserved or already used, or a class is
                already in the codec (under any name).

        >>> import enum
        >>> class Colour(enum.Enum):
        ...     RED = "red"
        >>> DEFAULT.with_types({"acme.colour": Colour}).encode(Colour.RED)
        {'type': 'acme.colour', 'value': 'red'}
        >>> DEFAULT.with_types({"message.user": Colour})
        Traceback (most recent call last):
        ...
        tower_llm_fx.ConfigurationError: wire name 'message.user' is used twice: ...
        """
        if not isinstance(types, Mapping):
            raise TypeError(f"with_types() takes a mapping of wire name to class, got {types!r}")
        v1 = () if v1_tags is None else _pairs(v1_tags)
        return Codec(types=(*self._table, *types.items()), v1_tags=(*self._v1, *v1))

    def types(self) -> dict[str, str]:
        """A copy of the table: wire name → ``"module:QualName"`` of its class.

        >>> DEFAULT.types()["message.user"]
        'tower_llm_fx:UserMessage'
        """
        return {name: t if isinstance(t, str) else _path_of(t) for name, t in self._targets.items()}

    def v1_tags(self) -> dict[str, str]:
        """A copy of the v1 table: the tag format v1 wrote → wire name.

        >>> DEFAULT.v1_tags()["UserMessage"]
        'message.user'
        """
        return dict(self._v1_names)

    def class_of(self, name: str) -> type[Any]:
        """The class a wire name (or a v1 tag) stands for, imported if need be.

        Raises:
            KeyError: the codec has no such name or tag.
            ImportError: the class's module cannot be imported (e.g. an optional
                dependency is missing), or it has no such class.

        >>> DEFAULT.class_of("message.user") is DEFAULT.class_of("UserMessage")
        True
        """
        cls = self._classes.get(name)
        if cls is not None:
            return cls
        target = self._targets.get(self._v1_names.get(name, name))
        if target is None:
            raise KeyError(name)
        cls = _import(self._v1_names.get(name, name), target) if isinstance(target, str) else target
        self._classes[name] = cls
        return cls

    def name_of(self, cls: type[Any]) -> str:
        """The wire name of ``cls``.

        Raises:
            TypeError: ``cls`` is not in this codec.

        >>> import tower_llm_fx as fx
        >>> DEFAULT.name_of(fx.ToolCall)
        'effect.tool_call'
        """
        name = self._names.get(cls)
        if name is None:
            name = self._learn(cls)
        return name

    def _learn(self, cls: type[Any]) -> str:
        name = self._by_path.get(_path_of(cls))
        candidates = [name] if name is not None else []
        # A class whose __module__ is not (yet) its public namespace: match by qualname.
        qual = ":" + getattr(cls, "__qualname__", "?")
        candidates += [n for n, t in self._targets.items() if isinstance(t, str) and t.endswith(qual)]
        for candidate in candidates:
            try:
                found = self.class_of(candidate)
            except ImportError:
                continue
            if found is cls:
                self._names[cls] = candidate
                return candidate
        raise TypeError(
            f"{getattr(cls, '__name__', cls)!r} is not in this codec: give it a wire name with "
            f"codec = tower_llm_fx.serde.DEFAULT.with_types({{'yourapp.<name>': {getattr(cls, '__name__', cls)}}}) "
            "and pass codec=codec where values are encoded and decoded"
        )


def _shown(target: Target) -> str:
    return target if isinstance(target, str) else _path_of(target)


def _import(name: str, path: str) -> type[Any]:
    module, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ImportError(f"wire name {name!r} stands for {path}, which cannot be imported: {exc}") from exc
    if not _serialisable(obj):
        raise ImportError(f"wire name {name!r} stands for {path}, which is not an attrs class or an enum")
    return obj  # type: ignore[no-any-return]


DEFAULT: Final = Codec(types=WIRE_NAMES, v1_tags=V1_TAGS)
"""The library's codec: every library value, by the wire names of ``_wire.WIRE_NAMES``."""


def to_json(value: Any, *, codec: Codec = DEFAULT) -> Any:
    """Encode a value (or a JSON scalar, or a tuple, list or dict of them) as JSON data.

    ``codec`` says which types are known (default: the library's; see `Codec.with_types`).

    Raises:
        TypeError: something in ``value`` is of a type the codec does not know.

    >>> from tower_llm_fx import UserMessage
    >>> to_json(UserMessage(content="hi"))
    {'type': 'message.user', 'content': 'hi', 'name': None, 'extra': None}
    """
    return codec.encode(value)


def from_json(data: Any, path: str = "$", *, codec: Codec = DEFAULT) -> Any:
    """Decode JSON data made by `to_json`, or by format v1 (class-name tags).

    Raises:
        DecodeError: unknown type tag, missing or unexpected field, or an invalid value;
            the message names the path.

    >>> from tower_llm_fx import UserMessage
    >>> from_json({"type": "message.user", "content": "hi", "name": None}) == UserMessage(content="hi")
    True
    >>> from_json({"type": "UserMessage", "content": "hi", "name": None}) == UserMessage(content="hi")
    True
    """
    return codec.decode(data, path)


def _encode(codec: Codec, value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (tuple, list)):
        return [_encode(codec, v) for v in value]
    cls = type(value)
    if isinstance(value, enum.Enum):
        return {"type": codec.name_of(cls), "value": value.value}
    if attrs.has(cls):
        out: dict[str, Any] = {"type": codec.name_of(cls)}
        for f in attrs.fields(cls):
            if not f.init:
                continue
            out[f.alias or f.name] = _encode(codec, getattr(value, f.name))
        return out
    if isinstance(value, dict):
        return {str(k): _encode(codec, v) for k, v in value.items()}
    raise TypeError(
        f"cannot encode a {cls.__name__} as JSON: only JSON scalars, tuples, lists, dicts and the "
        "attrs classes and enums of the codec can be (add yours with tower_llm_fx.serde.DEFAULT.with_types)"
    )


def _unknown(tag: str) -> str:
    if WIRE_NAME.fullmatch(tag):
        return (
            f"unknown type {tag!r}: written by a newer tower_llm_fx, or a type of your own (decode with "
            f"codec=tower_llm_fx.serde.DEFAULT.with_types({{{tag!r}: YourClass}}))"
        )
    return (
        f"unknown type {tag!r}: neither a wire name nor a v1 tag (corrupted? or a v1 type of your own: "
        f"decode with codec=tower_llm_fx.serde.DEFAULT.with_types({{'yourapp.<name>': YourClass}}, "
        f"v1_tags={{{tag!r}: 'yourapp.<name>'}}))"
    )


def _decode(codec: Codec, data: Any, path: str) -> Any:
    if data is None or isinstance(data, (str, bool, int, float)):
        return data
    if isinstance(data, list):
        return tuple(_decode(codec, v, f"{path}[{i}]") for i, v in enumerate(data))
    if not isinstance(data, dict):
        raise DecodeError(path, f"expected JSON data, got {type(data).__name__}")
    tag = data.get("type")
    if not isinstance(tag, str):
        raise DecodeError(path, "object has no string 'type' tag")
    try:
        cls = codec.class_of(tag)
    except KeyError:
        raise DecodeError(path, _unknown(tag)) from None
    except ImportError as exc:
        raise DecodeError(path, f"{exc}; install what it needs to read this data") from None
    name = cls.__name__
    if issubclass(cls, enum.Enum):
        try:
            return cls(data.get("value"))
        except ValueError:
            raise DecodeError(path, f"{data.get('value')!r} is not a valid {name}") from None
    kwargs: dict[str, Any] = {}
    known = {f.alias or f.name for f in attrs.fields(cls) if f.init}
    unexpected = set(data) - known - {"type"}
    if unexpected:
        raise DecodeError(path, f"{name} has no field(s) {sorted(unexpected)}")
    for key in known:
        if key in data:
            kwargs[key] = _decode(codec, data[key], f"{path}.{key}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DecodeError(path, f"invalid {name}: {exc}") from None
