"""Console translations: gettext catalogs (Babel ``.po`` files) chosen per request.

Message ids are English; ``locale/zh_CN/LC_MESSAGES/messages.po`` translates them. The ``.po`` file
is compiled in memory at start-up, so there is no build step and no stale ``.mo`` to forget.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = [
    "LANGUAGES",
    "N_",
    "Catalogs",
    "current_language",
    "gettext_",
    "ngettext_",
    "pick_language",
]

# The language codes offered in the console, with their own names.
LANGUAGES: dict[str, str] = {"zh_CN": "中文", "en": "English"}

current_language: ContextVar[str] = ContextVar("taihu_language", default="zh_CN")


class Catalogs:
    """Every shipped catalog, loaded once."""

    def __init__(self) -> None:
        self._by_language: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
        root = resources.files("taihu.web") / "locale"
        for language in LANGUAGES:
            po = root / language / "LC_MESSAGES" / "messages.po"
            if language == "en" or not po.is_file():
                continue
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=language)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            self._by_language[language] = gettext.GNUTranslations(buffer)

    def get(self, language: str) -> gettext.NullTranslations:
        """The translations of a language (English when unknown)."""
        return self._by_language.get(language, self._by_language["en"])


_catalogs: Catalogs | None = None


def catalogs() -> Catalogs:
    """The process-wide catalogs."""
    global _catalogs  # noqa: PLW0603 - loaded lazily once per process, read-only afterwards
    if _catalogs is None:
        _catalogs = Catalogs()
    return _catalogs


def gettext_(message: str) -> str:
    """Translate a message into the current request's language."""
    return catalogs().get(current_language.get()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    """Translate a message with a plural form into the current request's language."""
    return catalogs().get(current_language.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a message for extraction; it is translated later, where it is shown."""
    return message


def pick_language(cookie: str | None, default: str) -> str:
    """The language for a request: the user's choice, else the node's default (zh_CN).

    The browser's Accept-Language is deliberately not consulted: a district console is Chinese
    first, and English is an explicit choice that the cookie remembers.
    """
    return cookie if cookie in LANGUAGES else default
