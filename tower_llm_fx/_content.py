"""Content parts: what a message holds when it is more than one string.

Theory of operation: a message's ``content`` is either a ``str`` (the common
case, and what the wire's ``"content": "..."`` means) or a tuple of parts, the
wire's ``"content": [{"type": ...}, ...]``. The two are kept apart on purpose:
a one-part list and a plain string are different requests, and a tuple of two
text parts is not their concatenation. Rule 1 (nothing dropped): each part
keeps the wire keys it does not name in ``extra`` (canonical JSON text of an
object, deep-merged into the part on encode, e.g. ``{"cache_control": ...}``),
and a part of a type the library does not know is an `OtherPart` holding every
key verbatim. Rule 2: parts are frozen values, like messages, so ``==``,
``hash`` and the JSON codec work on them.

    >>> import tower_llm_fx as fx
    >>> m = fx.user("What is in this picture?", fx.image("https://example.com/cat.png", detail="low"))
    >>> [type(p).__name__ for p in m.content]
    ['TextPart', 'ImagePart']
    >>> fx.text_of(m.content)
    'What is in this picture?'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias, final

import attrs
from attrs import validators as v

from ._json import canonical_json, loads_bounded
from ._repr import quiet_repr

__all__ = [
    "AudioPart",
    "Content",
    "ContentPart",
    "FilePart",
    "ImagePart",
    "OtherPart",
    "TextPart",
    "audio",
    "file",
    "image",
    "json_object_or_none",
    "text_of",
    "transcript_text",
]

_str = v.instance_of(str)
_opt_str = v.optional(_str)


def json_object_or_none(value: object) -> str | None:
    """Converter for ``extra`` fields: a JSON object (a mapping, or its JSON text) as
    canonical JSON text; ``None`` and the empty object mean "nothing extra" (``None``).

    >>> json_object_or_none({"b": 1, "a": {}}), json_object_or_none({}), json_object_or_none(None)
    ('{"a":{},"b":1}', None, None)
    """
    if value is None:
        return None
    text = canonical_json(value)
    if not text.startswith("{"):
        raise ValueError(f"extra must be a JSON object of wire keys, got {text[:80]}")
    return None if text == "{}" else text


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class TextPart:
    """A text part: ``{"type": "text", "text": ...}``.

    >>> TextPart(text="hi")
    TextPart(text='hi')
    """

    text: str = attrs.field(validator=_str)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)


_DETAILS = ("auto", "low", "high")


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class ImagePart:
    """An image by URL or ``data:`` URL: ``{"type": "image_url", "image_url": {"url", "detail"}}``.

    ``detail`` is ``"auto"``, ``"low"``, ``"high"`` or ``None`` (not sent).
    """

    url: str = attrs.field(validator=_str)
    detail: str | None = attrs.field(default=None, validator=_opt_str)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class AudioPart:
    """Base64 audio: ``{"type": "input_audio", "input_audio": {"data", "format"}}`` (``"wav"``, ``"mp3"``)."""

    data: str = attrs.field(validator=_str)
    format: str = attrs.field(validator=_str)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)


def _one_source(part: FilePart, _attr: object, _value: object) -> None:
    if part.file_id is None and part.data is None:
        raise ValueError("a FilePart needs file_id (an uploaded file) or data (a base64 data URL), or both")


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class FilePart:
    """A file by upload id or inline data: ``{"type": "file", "file": {"file_id" | "file_data", "filename"}}``."""

    file_id: str | None = attrs.field(default=None, validator=_opt_str)
    data: str | None = attrs.field(default=None, validator=_opt_str)
    filename: str | None = attrs.field(default=None, validator=[_opt_str, _one_source])
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class OtherPart:
    """A part of a type the library does not model (``video_url``, ``document_url``,
    Mistral's ``thinking``, ...), kept verbatim: its ``type`` as ``kind``, every
    other key in ``extra``.

    >>> OtherPart(kind="video_url", extra={"video_url": {"url": "https://v/1.mp4"}}).extra
    '{"video_url":{"url":"https://v/1.mp4"}}'
    """

    kind: str = attrs.field(validator=_str)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)

    def fields(self) -> dict[str, Any]:
        """The part's wire keys other than ``type``, as a dict."""
        return {} if self.extra is None else dict(loads_bounded(self.extra))


ContentPart: TypeAlias = TextPart | ImagePart | AudioPart | FilePart | OtherPart
"""Any content part."""

Content: TypeAlias = "str | tuple[ContentPart, ...]"
"""A message's content: one string, or a tuple of parts."""

PART_TYPES: tuple[type[Any], ...] = (TextPart, ImagePart, AudioPart, FilePart, OtherPart)
_PART_TYPES = frozenset(PART_TYPES)


def parts(value: object, what: str = "content") -> tuple[ContentPart, ...]:
    """A sequence of parts (``str`` items become `TextPart`) as a tuple; raises ``TypeError``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{what} must be a str or a sequence of content parts, got {type(value).__name__}")
    out: list[ContentPart] = []
    for i, part in enumerate(value):
        if type(part) in _PART_TYPES:
            out.append(part)
        elif isinstance(part, str):
            out.append(TextPart(text=part))
        else:
            raise TypeError(
                f"{what}[{i}] is a {type(part).__name__}, not a content part; use a str, "
                "TextPart, ImagePart (fx.image), AudioPart (fx.audio), FilePart (fx.file) or OtherPart"
            )
    return tuple(out)


def content(value: str | Sequence[ContentPart | str]) -> str | tuple[ContentPart, ...]:
    """Converter for a required ``content``: a ``str`` stays, a sequence becomes a tuple of parts."""
    if type(value) is str:
        return value
    if type(value) is tuple and _PART_TYPES.issuperset(map(type, value)):
        return value
    return parts(value)


def optional_content(value: str | Sequence[ContentPart | str] | None) -> str | tuple[ContentPart, ...] | None:
    """Converter for an assistant's ``content``, which may be ``None``."""
    return None if value is None else content(value)


def text_of(value: str | Sequence[ContentPart] | None) -> str:
    """The text of some content: a ``str`` as is, the text parts of a tuple joined by
    newlines (other parts are left out), ``""`` for ``None``.

    >>> text_of((TextPart(text="a"), ImagePart(url="https://x/y.png"), TextPart(text="b")))
    'a\\nb'
    """
    if value is None:
        return ""
    if type(value) is str:
        return value
    return "\n".join(p.text for p in value if isinstance(p, TextPart))


def image(url: str, *, detail: str | None = None) -> ImagePart:
    """An image part for a URL or a ``data:image/...;base64,`` URL.

    >>> image("https://example.com/a.png", detail="high").detail
    'high'
    """
    if detail is not None and detail not in _DETAILS:
        raise ValueError(f"detail must be one of {_DETAILS} or None, got {detail!r}")
    return ImagePart(url=url, detail=detail)


def audio(data: str, format: str) -> AudioPart:
    """An audio part: base64 ``data`` in ``format`` (``"wav"`` or ``"mp3"``)."""
    return AudioPart(data=data, format=format)


def file(*, file_id: str | None = None, data: str | None = None, filename: str | None = None) -> FilePart:
    """A file part: an uploaded file's id, or inline base64 ``data`` with its ``filename``.

    >>> file(file_id="file-abc").file_id
    'file-abc'
    """
    return FilePart(file_id=file_id, data=data, filename=filename)


def transcript_text(value: str | Sequence[ContentPart] | None) -> str:
    """Content as one line of a transcript: text as is, other parts as placeholders.

    >>> transcript_text((TextPart(text="look"), ImagePart(url="https://x/cat.png")))
    'look [image https://x/cat.png]'
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    pieces = []
    for p in value:
        if isinstance(p, TextPart):
            pieces.append(p.text)
        elif isinstance(p, ImagePart):
            shown = p.url if not p.url.startswith("data:") else p.url.split(",", 1)[0] + ",..."
            pieces.append(f"[image {shown}]")
        elif isinstance(p, AudioPart):
            pieces.append(f"[audio {p.format}]")
        elif isinstance(p, FilePart):
            pieces.append(f"[file {p.filename or p.file_id or 'inline'}]")
        else:
            pieces.append(f"[{p.kind}]")
    return " ".join(pieces)
