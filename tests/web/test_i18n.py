"""The zh-CN catalog covers every message the portal shows."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

import govdata

SRC = Path(govdata.__file__).resolve().parent
PORTAL_SOURCES = [
    ("web/templates/**.html", "jinja2"),
    ("web/*.py", "python"),
    ("identity/pages.py", "python"),
    ("core/jobs/pages.py", "python"),
    ("catalog/pages/*.py", "python"),
    ("catalog/forms.py", "python"),
    ("catalog/standards/pages.py", "python"),
    ("notifications/pages.py", "python"),
    ("sources/pages.py", "python"),
    ("exchange/pages/*.py", "python"),
]
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}


def portal_messages() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SRC),
        PORTAL_SOURCES,
        keywords=keywords,
        options_map={"web/templates/**.html": JINJA_OPTIONS},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_portal_message_has_a_chinese_translation() -> None:
    messages = portal_messages()
    assert len(messages) > 150  # the extraction really read the templates
    with (SRC / "web/locale/zh_CN/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string or ()))
    }
    assert sorted(messages - translated) == []
