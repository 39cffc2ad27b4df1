"""Secrets never reach a log: every log record is scrubbed as it is made.

Installed by the web app and the ``govdata`` command (``install``). It works
as a log-record factory rather than a filter on handlers, so it also covers
handlers configured later (uvicorn replaces its own when it starts) and every
library's loggers. It removes passwords in URLs (``scheme://user:***@host``),
``Bearer``/``Basic`` credentials, the values of ``key=value`` and
``"key": "value"`` pairs whose key names a secret (password, token, secret,
key, otp, csrf, session, cookie, authorization, signature, credential), app
tokens (``gdt_…``) and signed JWTs — in the message, its arguments and the
formatted traceback. Over-redacting a harmless ``key=`` in a log line is the
accepted price.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

MASK = "***"

_SENSITIVE_KEYS = (
    r"[\w.\-]*?(?:password|passwd|pwd|secret|token|api[_\-]?key|key|otp|csrf|signature"
    r"|session|cookie|authorization|credential)[\w.\-]*"
)
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # The password of a URL: postgresql://user:pw@host, mysql+pymysql://u:pw@h/db.
    (re.compile(r"(\b[a-zA-Z][\w+.\-]*://[^\s:/?#@]*:)[^\s@/]+(?=@)"), rf"\1{MASK}"),
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[\w.~+/=\-]+"), rf"\1\2{MASK}"),
    # A quoted value may hold spaces: "password": "two words", password='x y'.
    (
        re.compile(rf"(?i)(\b{_SENSITIVE_KEYS}['\"]?\s*[=:]\s*)(['\"])(?:\\.|(?!\2).)*\2"),
        rf"\1\2{MASK}\2",
    ),
    (
        re.compile(rf"(?i)(\b{_SENSITIVE_KEYS}['\"]?\s*[=:]\s*)(?!['\"]|\*\*\*)[^\s'\"&,;)}}\]]+"),
        rf"\1{MASK}",
    ),
    (re.compile(r"\bgdt_[\w\-]{8,}"), f"gdt_{MASK}"),
    (re.compile(r"\beyJ[\w\-]+\.[\w\-]+\.[\w\-]*"), MASK),
)
_PLAIN = (str, int, float, bool, type(None))


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


# Loggers whose formatter reads the arguments one by one (uvicorn's access log unpacks
# client, method, path, version, status): their arguments are scrubbed in place.
_ARGUMENT_READERS = frozenset({"uvicorn.access"})


def _scrubbed_args(args: Any) -> Any | None:
    """Plain arguments with secrets removed; None when they are not all plain."""
    if isinstance(args, tuple) and all(isinstance(a, _PLAIN) for a in args):
        return tuple(redact(a) if isinstance(a, str) else a for a in args)
    if isinstance(args, Mapping) and all(isinstance(v, _PLAIN) for v in args.values()):
        return {k: redact(v) if isinstance(v, str) else v for k, v in args.items()}
    return None


def scrub(record: logging.LogRecord) -> None:
    args = _scrubbed_args(record.args) if record.args else None
    if record.args and record.name in _ARGUMENT_READERS and args is not None:
        record.args = args
    else:
        # Rendered first: a key in the format and its value in an argument
        # ("password=%s") are only recognised together.
        try:
            message = record.getMessage()
        except Exception:  # logging reports a bad format itself, later: keep the text
            message = str(record.msg)
        record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


_lock = threading.Lock()
_installed: Callable[..., logging.LogRecord] | None = None


def install() -> None:
    """Scrub every record from now on, in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed is not None and logging.getLogRecordFactory() is _installed:
            return
        base = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = base(*args, **kwargs)
            scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = factory
        # SQLAlchemy logs statements with their parameters and, at DEBUG, the rows it reads
        # (password hashes, session tokens) once its logger is enabled — as a root logger
        # at DEBUG does. It stays at WARNING unless an operator set it on purpose.
        engine_log = logging.getLogger("sqlalchemy.engine")
        if engine_log.level == logging.NOTSET:
            engine_log.setLevel(logging.WARNING)
