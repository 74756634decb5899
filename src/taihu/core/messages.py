"""Sentences for people: an English message id with named values, rendered in the reader's language.

Services never build user-facing sentences by concatenation. They return or raise a ``Message``
(``Message(N_("no local enterprise in {segment}"), segment=name)``); whoever shows it (console,
API, CLI) translates the id with its catalog and fills in the values. Values that are themselves
``Message``s (a segment's name, a status) are rendered in the same language.

Routes that build their own answers (the Handle.Net REST and SNMS envelopes, a device's
refusals) find the request's language through ``reader_translation``: the web layer sets it for
each request; elsewhere (the CLI, the Handle wire server) it is English.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = ["N_", "Message", "Translate", "reader_translation", "render_text", "translating"]

Translate = Callable[[str], str]


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a message id for extraction; it is translated later, where it is shown."""
    return message


def _same(text: str) -> str:
    return text


_reader: ContextVar[Translate] = ContextVar("taihu_reader_translation", default=_same)


def reader_translation() -> Translate:
    """The current reader's translation (English outside a request that chose a language)."""
    return _reader.get()


@contextmanager
def translating(translate: Translate) -> Iterator[None]:
    """Within the block, ``reader_translation`` is ``translate`` (set once per web request)."""
    token = _reader.set(translate)
    try:
        yield
    finally:
        _reader.reset(token)


@dataclass(frozen=True, slots=True)
class Message:
    """A message id (English, with ``{name}`` fields) and the values that fill it."""

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, id: str, /, **params: Any) -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "params", params)

    def render(self, translate: Translate = _same) -> str:
        """The sentence in the language ``translate`` belongs to (English by default)."""
        return render_text(self.id, self.params, translate)

    def __str__(self) -> str:
        return self.render()


Datum = Callable[[Any, str], str]


class _Rendered(str):
    """A nested message already rendered: a sentence of ours, not a value to mark as data."""

    __slots__ = ()


class _Fields(string.Formatter):
    """Fills ``{name}`` fields; an unknown field stays as written instead of failing.

    ``datum`` sees each value (after its ``!r``/``!s`` conversion and format spec), so a renderer
    can escape or mark it; it is applied to the finished text, never before the conversion,
    so ``{name!r}`` quotes the value itself and not a wrapper of it.
    """

    def __init__(self, translate: Translate, datum: Datum | None) -> None:
        self._translate = translate
        self._datum = datum

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:  # noqa: ARG002 - Formatter's signature
        if isinstance(key, str) and key in kwargs:
            value = kwargs[key]
            if isinstance(value, Message):
                return _Rendered(render_text(value.id, value.params, self._translate, self._datum))
            return value
        return _Rendered("{" + str(key) + "}")

    def format_field(self, value: Any, format_spec: str) -> Any:
        text = super().format_field(value, format_spec)
        if self._datum is None or isinstance(value, _Rendered):
            return text
        return self._datum(value, text)


def render_text(
    template: str,
    params: Mapping[str, Any],
    translate: Translate = _same,
    datum: Datum | None = None,
) -> str:
    """Translate ``template`` and fill its fields from ``params`` (each through ``datum``)."""
    text = translate(template) if template else template
    if not params or "{" not in text:
        return text
    try:
        return str(_Fields(translate, datum).vformat(text, (), params))
    except (ValueError, IndexError, AttributeError):
        # A sentence holding literal braces (user text pasted in): shown as written.
        return text
