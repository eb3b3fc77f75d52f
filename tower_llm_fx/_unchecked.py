"""Build a frozen attrs value without running its checks: `unchecked`.

Theory of operation: an attrs ``__init__`` runs every converter and validator,
and ``__attrs_post_init__``. That is what a value built from outside input
needs, and it is the right default everywhere. The hot paths of a run
(``advance``, ``Agent.model_call``, the OpenAI decoder, the session and trace
fast decoders) build values from fields that are valid by construction: they
come from another validated value, or the caller has just checked them. For
those, and only those, ``unchecked(cls, **fields)`` builds the same value
without the checks.

The caller vouches for the fields: ``unchecked`` does not run validators,
converters, ``__attrs_pre_init__`` or ``__attrs_post_init__``, so a value that
``cls(**fields)`` would refuse or convert is stored as given. Passing anything
but already-valid (already-converted) values builds an instance that breaks
its class's invariants. ``tests/tower_llm_fx/test_unchecked.py`` checks, for
every class built this way in the library, that on valid fields the result
equals ``cls(**fields)``.

What it does do, like ``__init__``: it sets every init field (by its attrs
alias, the ``__init__`` keyword), fills a missing init field from its default
(``attrs.Factory`` defaults included), sets the non-init fields that have a
default, and raises ``TypeError`` naming the field for an unknown field or a
missing one without a default.

Speed: each class is planned once (cached in a dict keyed by class); a call
that passes every init field sets the slots through their descriptors with no
other work. `unchecked_factory` returns a compiled per-class constructor that
takes the fields positionally (or by keyword) for the very hottest sites.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MemberDescriptorType
from typing import Any, TypeVar

import attrs

__all__ = ["unchecked", "unchecked_factory"]

T = TypeVar("T")

_new = object.__new__
_set = object.__setattr__
_NOTHING = attrs.NOTHING
_HASH_CACHE = "_attrs_cached_hash"  # the slot attrs adds for cache_hash=True; __init__ clears it
_FACTORY: type[Any] = type(attrs.Factory(list))  # attrs types Factory as a function

_Setter = Callable[[Any, Any], None]
# (count of init fields, or -1 to always take the exact path; (alias, setter) per init field;
#  (setter, default, kind) per non-init field with a default: kind 0 value, 1 factory, 2 takes_self)
_Plan = tuple[int, tuple[tuple[str, _Setter], ...], tuple[tuple[_Setter, Any, int], ...]]

_PLANS: dict[type[Any], _Plan] = {}
_FACTORIES: dict[tuple[type[Any], tuple[str, ...]], Callable[..., Any]] = {}
_NAMES: dict[type[Any], tuple[tuple[str, ...], tuple[str, ...]]] = {}  # (init aliases, required)


def unchecked(cls: type[T], /, **fields: Any) -> T:
    """An instance of the frozen attrs class ``cls`` with ``fields``, built without running
    its validators, converters or ``__attrs_post_init__``.

    Only for fields the caller already knows are valid (see the module docstring): the
    result then equals ``cls(**fields)``. Missing init fields take their defaults.

    >>> import attrs
    >>> @attrs.frozen
    ... class Point:
    ...     x: int = attrs.field(validator=attrs.validators.gt(0))
    ...     tags: tuple[str, ...] = attrs.field(factory=tuple, converter=tuple)
    >>> unchecked(Point, x=1)
    Point(x=1, tags=())
    >>> unchecked(Point, x=1) == Point(x=1)
    True
    >>> unchecked(Point, x=-1)  # not checked: the caller vouches for its values
    Point(x=-1, tags=())
    >>> unchecked(Point, y=2)
    Traceback (most recent call last):
        ...
    TypeError: unchecked(Point): unknown field 'y'; its init fields are x, tags

    Raises:
        TypeError: ``cls`` is not an attrs class, a field name is unknown, or a field
            without a default is missing.
    """
    try:
        count, init, rest = _PLANS[cls]
    except KeyError:
        count, init, rest = _plan(cls)
    if len(fields) == count:
        obj = _new(cls)
        try:
            for name, setter in init:
                setter(obj, fields[name])
        except KeyError:
            pass  # a missing field and an unknown one: let the exact path explain
        else:
            for setter, default, kind in rest:
                setter(obj, default if kind == 0 else default(obj) if kind == 2 else default())
            return obj
    return _exact(cls, fields)


def unchecked_factory(cls: type[T], /, *names: str) -> Callable[..., T]:
    """The compiled constructor behind ``unchecked(cls, ...)``, for the hottest call sites.

    ``unchecked_factory(cls, "a", "b")`` takes exactly the fields ``a`` and ``b``, in that
    order, positionally or by keyword, and fills every other field from its default; with
    no names it takes every init field in attrs order. Either way it builds exactly what
    ``unchecked(cls, **fields)`` builds (same trust, same defaults). Naming the fields at
    the call site keeps a positional call right if the class's fields are reordered, and
    a field gaining no default fails here, when the factory is made. Cached per
    ``(cls, names)``.

    >>> import attrs
    >>> @attrs.frozen
    ... class Pair:
    ...     left: int
    ...     right: int = 0
    >>> make_pair = unchecked_factory(Pair)
    >>> make_pair(1, 2), make_pair(3), make_pair(left=4, right=5)
    (Pair(left=1, right=2), Pair(left=3, right=0), Pair(left=4, right=5))
    >>> unchecked_factory(Pair, "right", "left")(1, 2)
    Pair(left=2, right=1)
    >>> unchecked_factory(Pair, "right")
    Traceback (most recent call last):
        ...
    TypeError: unchecked_factory(Pair, ...): field 'left' has no default, so it must be named

    Raises:
        TypeError: ``cls`` is not an attrs class, or ``names`` names an unknown field,
            names one twice, or leaves out a field that has no default.
    """
    key = (cls, names)
    try:
        return _FACTORIES[key]
    except KeyError:
        factory = _FACTORIES[key] = _compile(cls, names or None)
        return factory


def _fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    if not isinstance(cls, type) or not attrs.has(cls):
        raise TypeError(f"unchecked() needs an attrs class, got {cls!r}")
    return tuple(attrs.fields(cls))


def _setter(cls: type[Any], name: str) -> _Setter:
    """The cheapest way to fill field ``name`` of a ``cls`` instance: its slot's ``__set__``."""
    for klass in cls.__mro__:
        slot = klass.__dict__.get(name)
        if slot is not None:
            if type(slot) is MemberDescriptorType:
                setter: _Setter = slot.__set__
                return setter
            break

    def set_attribute(obj: Any, value: Any) -> None:  # a dict class (slots=False)
        _set(obj, name, value)

    return set_attribute


def _plan(cls: type[Any]) -> _Plan:
    fields = _fields(cls)
    init: list[tuple[str, _Setter]] = []
    rest: list[tuple[_Setter, Any, int]] = []
    exact_only = False
    for f in fields:
        if f.init:
            if rest:  # a non-init default before an init field: keep attrs' order exactly
                exact_only = True
            init.append((f.alias or f.name, _setter(cls, f.name)))
        elif f.default is not _NOTHING:
            default = f.default
            if isinstance(default, _FACTORY):
                kind = 2 if default.takes_self else 1
                default = default.factory
            else:
                kind = 0
            rest.append((_setter(cls, f.name), default, kind))
    if _has_hash_cache(cls):
        rest.append((_setter(cls, _HASH_CACHE), None, 0))
    plan: _Plan = (-1 if exact_only else len(init), tuple(init), tuple(rest))
    _PLANS[cls] = plan
    return plan


def _has_hash_cache(cls: type[Any]) -> bool:
    props = getattr(cls, "__attrs_props__", None)  # attrs >= 25.4
    if props is not None:
        return str(props.hashability.value) == "hashable_cache"
    return any(_HASH_CACHE in getattr(klass, "__slots__", ()) for klass in cls.__mro__)


def _exact(cls: type[T], fields: dict[str, Any]) -> T:
    """The path for calls that leave fields to their defaults (or get a name wrong)."""
    try:
        known, required = _NAMES[cls]
    except KeyError:
        init = [f for f in _fields(cls) if f.init]
        known = tuple(f.alias or f.name for f in init)
        required = tuple(f.alias or f.name for f in init if f.default is _NOTHING)
        _NAMES[cls] = known, required
    for name in fields:
        if name not in known:
            raise TypeError(
                f"unchecked({cls.__name__}): unknown field {name!r}; its init fields are {', '.join(known)}"
            )
    for name in required:
        if name not in fields:
            raise TypeError(f"unchecked({cls.__name__}): missing field {name!r}, which has no default")
    factory: Callable[..., T] = unchecked_factory(cls)
    return factory(**fields)


def _compile(cls: type[Any], names: tuple[str, ...] | None) -> Callable[..., Any]:
    """Generate ``def make(a, b=default, ...)`` that fills a new ``cls`` field by field.

    With ``names``, the parameters are exactly those fields (no defaults) and every other
    init field is filled from its default."""
    fields = _fields(cls)
    if names is not None:
        _check_factory_names(cls, fields, names)
    namespace: dict[str, Any] = {
        "__name__": __name__,
        "_uc_new": _new,
        "_uc_cls": cls,
        "_uc_NOTHING": _NOTHING,
    }
    params: list[str] = [] if names is None else list(names)
    body = ["_uc_o = _uc_new(_uc_cls)"]
    defaulted = False  # a required field after a defaulted one cannot be a plain positional parameter
    for i, f in enumerate(fields):
        setter, default = f"_uc_s{i}", f"_uc_d{i}"
        namespace[setter] = _setter(cls, f.name)
        factory = f.default if isinstance(f.default, _FACTORY) else None
        if factory is not None:
            namespace[default] = factory.factory
            make = f"{default}(_uc_o)" if factory.takes_self else f"{default}()"
        else:
            namespace[default] = f.default
            make = default
        arg = f.alias or f.name
        if not f.init or (names is not None and arg not in names):
            if f.default is not _NOTHING:
                body.append(f"{setter}(_uc_o, {make})")
            continue
        if names is None:  # with names, the parameters are the names, all required
            if f.default is _NOTHING and not defaulted:
                params.append(arg)
            elif f.default is _NOTHING:
                namespace[f"_uc_missing{i}"] = (
                    f"unchecked({cls.__name__}): missing field {arg!r}, which has no default"
                )
                params.append(f"{arg}=_uc_NOTHING")
                body += [f"if {arg} is _uc_NOTHING:", f"    raise TypeError(_uc_missing{i})"]
            elif factory is not None:
                defaulted = True
                params.append(f"{arg}=_uc_NOTHING")
                body += [f"if {arg} is _uc_NOTHING:", f"    {arg} = {make}"]
            else:
                defaulted = True
                params.append(f"{arg}={default}")
        body.append(f"{setter}(_uc_o, {arg})")
    if _has_hash_cache(cls):
        namespace["_uc_hash"] = _setter(cls, _HASH_CACHE)
        body.append("_uc_hash(_uc_o, None)")
    body.append("return _uc_o")
    source = f"def make({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(source, f"<unchecked {cls.__qualname__}>", "exec"), namespace)
    make_fn: Callable[..., Any] = namespace["make"]
    make_fn.__qualname__ = make_fn.__name__ = f"unchecked_{cls.__name__}"
    make_fn.__code__ = make_fn.__code__.replace(co_name=make_fn.__name__, co_qualname=make_fn.__name__)
    make_fn.__doc__ = f"Build a {cls.__qualname__} without checks; see tower_llm_fx._unchecked."
    return make_fn


def _check_factory_names(
    cls: type[Any], fields: tuple[attrs.Attribute[Any], ...], names: tuple[str, ...]
) -> None:
    where = f"unchecked_factory({cls.__name__}, ...)"
    init = {f.alias or f.name: f for f in fields if f.init}
    for name in names:
        if name not in init:
            raise TypeError(f"{where}: unknown field {name!r}; its init fields are {', '.join(init)}")
    if len(set(names)) != len(names):
        raise TypeError(f"{where}: a field is named twice in {names}")
    for name, f in init.items():
        if name not in names and f.default is _NOTHING:
            raise TypeError(f"{where}: field {name!r} has no default, so it must be named")
