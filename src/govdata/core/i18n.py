"""UI translations with Babel: message ids are English, zh-CN is the default locale.

Catalogs are the ``.po`` files under ``web/locale``; they are compiled in
memory at start-up, so an install needs no separate compile step.
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "web" / "locale"
SUPPORTED = ("zh_CN", "en")
DEFAULT = "zh_CN"

_current: ContextVar[str] = ContextVar("govdata_locale", default=DEFAULT)


def normalize(locale: str | None) -> str:
    if not locale:
        return DEFAULT
    locale = locale.replace("-", "_")
    if locale.lower().startswith("en"):
        return "en"
    if locale.lower().startswith("zh"):
        return "zh_CN"
    return DEFAULT


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def set_locale(locale: str | None) -> None:
    _current.set(normalize(locale))


def current_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext
