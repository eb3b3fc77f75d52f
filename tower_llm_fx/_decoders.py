"""The compiled decoders behind `Codec.decode`: one generated per attrs class, from its fields.

Theory of operation:

* `fast_decoder` returns a function from JSON data to a value that builds exactly
  what the careful decoder in ``_serde`` builds (``cls(**fields)``), or raises
  (anything) to say "not for me": then the careful decoder decodes the whole
  value again and names the path of any error. Rule: this module only ever
  *accepts* what the careful decoder accepts, and builds the same value.
* Each class gets its decoder the first time it is decoded, generated from its
  own ``attrs.fields``: a field added to a class is decoded with no change here.
  Classes whose ``__init__`` cannot be mirrored exactly (their own ``__init__``,
  ``__attrs_pre_init__`` / ``__attrs_post_init__``, ``takes_self`` defaults or
  converters) go through their ``__init__``.
* Pure: no I/O; imports only attrs, ``_content`` and ``_messages`` (for `_KEEPS`, `_KEEPS_ONE`).
"""

from __future__ import annotations

import enum
import keyword
from collections.abc import Callable
from types import MemberDescriptorType
from typing import Any, Final, TypeAlias

import attrs

from ._content import content, optional_content
from ._messages import ToolCallRequest, tool_call_tuple

__all__ = ["fast_decoder"]

# Why compiled: a long session or trace decodes hundreds of thousands of values, and
# ``cls(**fields)`` behind a generic loop costs several microseconds each. The decoder
# generated for a class does what attrs' ``__init__`` does, field by field, with the
# field names and defaults baked in; the common case (every field present, as
# ``encode`` writes them) takes one length check and no per-field bookkeeping. The
# empty tuple is a singleton in CPython (``() is ()``), which the generated code uses.

_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
_MISSING: Final = object()


class _Slow(Exception):
    """Not something the compiled decoders take: the careful decoder decides."""


_Decoder: TypeAlias = Callable[[dict[str, Any], Callable[[Any], Any]], Any]
_DECODERS: dict[type[Any], _Decoder] = {}  # per class (the same for every codec)


def fast_decoder(class_of: Callable[[str], type[Any]]) -> Callable[[Any], Any]:
    """The fast ``decode`` of a codec whose ``class_of`` is given: JSON data → value, or an
    exception (any) to give up and let the careful decoder decide.

    >>> import tower_llm_fx as fx
    >>> from tower_llm_fx.serde import DEFAULT
    >>> decode = fast_decoder(DEFAULT.class_of)
    >>> decode({"type": "message.user", "content": "hi"}) == fx.user("hi")
    True
    """
    by_tag: dict[str, _Decoder] = {}  # wire name or v1 tag → the decoder of its class
    scalars = _SCALARS

    def fast(data: Any) -> Any:
        t = data.__class__
        if t is dict:
            decoder = by_tag.get(data.get("type"))
            if decoder is None:
                tag = data.get("type")
                if tag.__class__ is not str:
                    raise _Slow
                cls = class_of(tag)  # KeyError / ImportError: the careful decoder explains
                decoder = _DECODERS.get(cls)
                if decoder is None:
                    decoder = _DECODERS[cls] = _compile_decoder(cls)
                by_tag[tag] = decoder
            return decoder(data, fast)
        if t is list:  # the hot loop of a long log: objects of known tags go straight to their decoder
            try:  # the common case (objects of tags seen before) in one comprehension
                return tuple([by_tag[v["type"]](v, fast) for v in data])
            except Exception:  # not that: the same again, one element at a time (pure, so no harm)
                pass
            out = []
            for v in data:
                c = v.__class__
                if c is dict:
                    known = by_tag.get(v.get("type"))
                    out.append(fast(v) if known is None else known(v, fast))
                else:
                    out.append(v if c in scalars else fast(v))
            return tuple(out)
        if t in scalars:
            return data
        raise _Slow

    return fast


def _decode_enum(cls: type[enum.Enum]) -> _Decoder:
    def decode(data: dict[str, Any], _fast: Callable[[Any], Any]) -> Any:
        return cls(data.get("value"))

    return decode


def _by_init(cls: type[Any]) -> _Decoder:
    """For classes the compiled path cannot mirror exactly: check the keys, then ``cls(**fields)``."""
    known = frozenset(f.alias or f.name for f in attrs.fields(cls) if f.init) | {"type"}

    def decode(data: dict[str, Any], fast: Callable[[Any], Any]) -> Any:
        if not known.issuperset(data):
            raise _Slow
        return cls(**{k: v if v.__class__ in _SCALARS else fast(v) for k, v in data.items() if k != "type"})

    return decode


def _failure(validator: Any, name: str, ns: dict[str, Any], key: str) -> str | None:
    """An expression, true when ``validator`` would refuse ``name``, if it is an
    ``instance_of``, ``optional`` or ``and_`` of those; ``None`` if it must be called."""
    kind = type(validator).__name__
    if kind == "_InstanceOfValidator":
        ns[key] = validator.type
        if isinstance(validator.type, type):  # the exact type first: no call in the common case
            return f"(type({name}) is not {key} and not isinstance({name}, {key}))"
        return f"not isinstance({name}, {key})"
    if kind == "_AndValidator":
        parts: list[str] = []
        for i, inner in enumerate(validator._validators):
            part = _failure(inner, name, ns, f"{key}_{i}")
            if part is None:
                return None
            parts.append(part)
        return f"({' or '.join(parts)})" if parts else "False"
    if kind == "_OptionalValidator":
        inner_failure = _failure(validator.validator, name, ns, f"{key}_o")
        if inner_failure is None:
            return None
        return f"({name} is not None and {inner_failure})"
    return None


_JSON_SCALAR_TYPES: Final = (str, int, float, bool)


def _requires_scalar(validator: Any) -> bool:
    """Whether ``validator`` refuses every value but a JSON scalar (so nested data needs no decoding)."""
    kind = type(validator).__name__
    if kind == "_InstanceOfValidator":
        types = validator.type if isinstance(validator.type, tuple) else (validator.type,)
        return all(isinstance(t, type) and issubclass(t, _JSON_SCALAR_TYPES) for t in types)
    if kind == "_AndValidator":
        return any(_requires_scalar(inner) for inner in validator._validators)
    if kind == "_OptionalValidator":
        return _requires_scalar(validator.validator)
    return False


def _constant_results(converter: Callable[[Any], Any]) -> dict[Any, Any]:
    """``converter``'s results for ``None`` and ``()`` (the values of most optional
    fields), where they are immutable scalars or ``()``, worked out once.

    Converters are functions of their value, so calling one again on ``None`` or
    ``()`` gives the same result; skipping the call saves a function call per field.
    """
    out: dict[Any, Any] = {}
    for value in (None, ()):
        try:
            result = converter(value)
        except Exception:
            continue
        if result.__class__ in _SCALARS or result == ():
            out[value] = result
    return out


def _compile_decoder(cls: type[Any]) -> _Decoder:
    """A decoder for ``cls``, generated from its attrs fields (see the module docstring)."""
    if issubclass(cls, enum.Enum):
        return _decode_enum(cls)
    fields = attrs.fields(cls)
    init_code = getattr(cls.__init__, "__code__", None)
    generated = init_code is not None and init_code.co_filename.startswith("<attrs generated")
    if not generated or hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return _by_init(cls)
    ns: dict[str, Any] = {
        "_Slow": _Slow,
        "_MISSING": _MISSING,
        "_SCALARS": _SCALARS,
        "_EMPTY": (),
        "_new": object.__new__,
    }
    ns["_cls"] = cls
    keys: list[str] = ["type"]
    exact: list[str] = []  # every key present: the common case
    general = ["n = 1"]  # some missing (they take their defaults), or unknown ones
    after: list[str] = []  # conversions (of the general case)
    sets: list[tuple[str, str]] = []  # (attribute, expression): what the new instance holds
    checks: list[str] = []  # inline validators: before the instance is made
    calls: list[str] = []  # other validators: called with the instance, as attrs does
    for i, f in enumerate(fields):
        default = f.default
        factory = default if isinstance(default, attrs.Factory) else None  # type: ignore[arg-type]
        if factory is not None and factory.takes_self:
            return _by_init(cls)
        converter = f.converter
        if isinstance(converter, attrs.Converter):
            if converter.takes_self or converter.takes_field:  # type: ignore[attr-defined]
                return _by_init(cls)
            converter = converter.converter  # type: ignore[attr-defined]
        if factory is not None:
            ns[f"_factory{i}"] = factory.factory
            make_default = f"_factory{i}()"
        else:
            ns[f"_default{i}"] = default
            make_default = f"_default{i}"
        if not f.init:
            if converter is not None or f.validator is not None:
                return _by_init(cls)
            if default is not attrs.NOTHING:
                sets.append((f.name, make_default))
            continue
        v = f"v{i}"
        key = f.alias or f.name
        keys.append(key)
        # An empty list is the empty tuple with no call, a list of one its element's.
        decode_nested = (
            f"if {v} is not None and {v}.__class__ not in _SCALARS: {v} = (((fast({v}[0]),) "
            f"if len({v}) == 1 else fast({v})) if {v} else ()) if {v}.__class__ is list else fast({v})"
        )
        if converter is None and _requires_scalar(f.validator):
            decode_nested = ""  # a list or an object fails the check below, and the careful path explains
        general += [
            f"{v} = data.get({key!r}, _MISSING)",
            f"if {v} is _MISSING:",
            "    raise _Slow" if default is attrs.NOTHING else f"    {v} = {make_default}",
            "else:",
            "    n += 1",
            *([f"    {decode_nested}"] if decode_nested else []),
        ]
        exact.append(f"{v} = data[{key!r}]")
        if converter is None:
            exact += [decode_nested] if decode_nested else []
        else:
            convert = _conversion(converter, v, ns, i)
            after.append(f"{v} = {convert}")
            # The values the converter returns as they are need neither decoding nor the call.
            kept = [_KEPT[k].format(v=v) for k in _kept(converter, ns, i)]
            nested = decode_nested.replace(f"{v} is not None and ", "")
            work = [f"    {nested if kept else decode_nested}", f"    {v} = {convert}"]
            exact += [f"if {' and '.join(kept)}:", *work] if kept else [line[4:] for line in work]
        sets.append((f.name, v))
        if f.validator is not None:
            failure = _failure(f.validator, v, ns, f"_type{i}")
            if failure is None:
                ns[f"_validate{i}"] = f.validator
                ns[f"_field{i}"] = f
                calls.append(f"_validate{i}(o, _field{i}, {v})")
            else:
                checks.append(f"if {failure}: raise _Slow")
    if has_hash_cache(cls):
        sets.append(("_attrs_cached_hash", "None"))
    body = [
        # As many keys as fields (and "type"): if each field's key is there, no other is.
        f"if len(data) == {len(keys)}:",
        *(f"    {line}" for line in exact or ["pass"]),
        "else:",
        *(f"    {line}" for line in general),
        "    if n != len(data): raise _Slow",
        *(f"    {line}" for line in after),
        *checks,
        *_construction(cls, sets, ns),
        *calls,
        "return o",
    ]
    source = "def decode(data, fast):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(source, f"<decoder {cls.__qualname__}>", "exec"), ns)
    decoder: _Decoder = ns["decode"]
    return decoder


def _construction(cls: type[Any], sets: list[tuple[str, str]], ns: dict[str, Any]) -> list[str]:
    """The lines that make ``o``, a ``cls`` instance holding ``sets`` (attribute, expression),
    past a frozen ``__setattr__`` as attrs' ``__init__`` does."""
    builder = _builder(cls, [name for name, _ in sets])
    if builder is not None:
        ns["_builder"] = builder
        return ["o = _new(_builder)", *(f"o.{name} = {value}" for name, value in sets), "o.__class__ = _cls"]
    lines = ["o = _new(_cls)"]
    for i, (name, value) in enumerate(sets):
        ns[f"_set{i}"] = slot_setter(cls, name)
        lines.append(f"_set{i}(o, {value})")
    return lines


def _builder(cls: type[Any], names: list[str]) -> type[Any] | None:
    """A subclass of ``cls`` that adds nothing but the plain ``__setattr__``, or ``None``
    where one could do more than that (a metaclass, an ``__init_subclass__``, an exception).

    An instance is made as a builder, filled with ``o.name = value`` (a bytecode store
    CPython specialises for slots: several times cheaper than calling each slot's
    ``__set__``), then made a ``cls`` (``o.__class__ = cls``; the layout is the same, so
    CPython allows it) before any validator or caller sees it. The result is an
    ordinary ``cls`` instance: ``type(o) is cls``. (The builder is listed by
    ``cls.__subclasses__()``.)
    """
    if type(cls) is not type or issubclass(cls, BaseException):
        return None
    if any("__init_subclass__" in vars(klass) for klass in cls.__mro__[:-1]):
        return None
    if not all(name.isidentifier() and not keyword.iskeyword(name) for name in names):
        return None
    namespace = {
        "__slots__": (),
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
        "__module__": cls.__module__,
        "__qualname__": f"{cls.__qualname__}.<decoder builder>",
        "__doc__": f"Builds {cls.__qualname__} values for tower_llm_fx._decoders (never seen outside it).",
    }
    try:
        builder = type(cls.__name__, (cls,), namespace)
        probe: Any = object.__new__(builder)
        probe.__class__ = cls  # refused (TypeError) if the layouts differ after all
    except Exception:
        return None
    return builder


# Converters known to return some values unchanged (their code starts by returning them):
# the generated code skips the call for those. ``test_decoders`` checks each entry.
_KEEPS: Final[dict[Callable[[Any], Any], tuple[str, ...]]] = {
    content: ("str",),
    optional_content: ("str", "None"),
}
_KEPT: Final = {"str": "type({v}) is not str", "None": "{v} is not None"}  # "needs work" tests
# Converters known to return a tuple of one instance of the class given as it is (an
# assistant message's ``tool_calls``, most often one call). ``test_decoders`` checks them.
_KEEPS_ONE: Final[dict[Callable[[Any], Any], type[Any]]] = {tool_call_tuple: ToolCallRequest}


def _kept(converter: Callable[[Any], Any], ns: dict[str, Any], i: int) -> tuple[str, ...]:
    """Which of ``"str"`` (any str) and ``"None"`` ``converter`` returns as they are."""
    kept = _KEEPS.get(converter, ())
    if "None" not in kept and ns.get(f"_none{i}", _MISSING) is None:
        kept += ("None",)  # worked out by calling it once (see _constant_results)
    return kept


def _conversion(converter: Callable[[Any], Any], value: str, ns: dict[str, Any], i: int) -> str:
    """The expression converting ``value`` (a converter's results for ``None`` and ``()``
    worked out once, when they are constants)."""
    ns[f"_convert{i}"] = converter
    constants = _constant_results(converter)
    call = f"_convert{i}({value})"
    item = _KEEPS_ONE.get(converter)
    if item is not None:  # a tuple of one such item (as decoded) needs no call
        ns[f"_item{i}"] = item
        one = f"{value}.__class__ is tuple and len({value}) == 1 and {value}[0].__class__ is _item{i}"
        call = f"{value} if {one} else {call}"
    if () in constants:
        ns[f"_empty{i}"] = constants[()]
        call = f"_empty{i} if {value} is _EMPTY else {call}"
    if None in constants:
        ns[f"_none{i}"] = constants[None]
        call = f"_none{i} if {value} is None else {call}"
    return call


def slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    """The cheapest way to fill field ``name`` of a ``cls`` instance: its slot's ``__set__``.

    (The same plan as ``_unchecked``'s; kept here so the two stay independent.)
    """
    for klass in cls.__mro__:
        slot = klass.__dict__.get(name)
        if slot is not None:
            if type(slot) is MemberDescriptorType:
                setter: Callable[[Any, Any], None] = slot.__set__
                return setter
            break

    def set_attribute(obj: Any, value: Any) -> None:  # a dict class (slots=False)
        object.__setattr__(obj, name, value)

    return set_attribute


def has_hash_cache(cls: type[Any]) -> bool:
    """Whether ``cls`` caches its hash in a slot (``cache_hash=True``), which ``__init__`` clears."""
    props = getattr(cls, "__attrs_props__", None)  # attrs >= 25.4
    if props is not None:
        return str(props.hashability.value) == "hashable_cache"
    return any("_attrs_cached_hash" in getattr(klass, "__slots__", ()) for klass in cls.__mro__)
