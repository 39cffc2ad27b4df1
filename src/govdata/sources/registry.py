"""From a registered source system to a live connector, and where its files may live.

Other domains (mounts, pipelines, CDC readers) reach a source through these functions and
``source_facts``; they never open ``secret`` themselves. No permission check happens
here: the calling action has already authorised its operation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.errors import InvalidInput
from govdata.sources import secrets
from govdata.sources.base import SourceConnector
from govdata.sources.files import FORMATS, FileConnector
from govdata.sources.http import HttpConnector
from govdata.sources.models import SourceSystem
from govdata.sources.schemas import DATABASE_KINDS, SourceKind
from govdata.sources.sql import MariaDBConnector, PostgresConnector, SQLiteConnector

UPLOADS = "uploads"
# Files an officer may upload into a file source: what the file connector reads.
UPLOAD_SUFFIXES = frozenset(FORMATS)
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


class SourceLike(Protocol):
    """A ``SourceSystem`` row or a ``SourceFacts`` snapshot."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def secret(self) -> str | None: ...


@dataclass(frozen=True)
class SourceFacts:
    """A detached snapshot of a source, safe to carry outside the transaction that read it."""

    id: str
    department_id: str
    name: str
    kind: str
    config: dict[str, Any]
    secret: str | None
    status: str


def source_facts(s: Session, source_id: str) -> SourceFacts | None:
    src = s.get(SourceSystem, source_id)
    if src is None:
        return None
    return SourceFacts(
        id=src.id,
        department_id=src.department_id,
        name=src.name,
        kind=src.kind,
        config=dict(src.config or {}),
        secret=src.secret,
        status=src.status,
    )


# Files on the server ---------------------------------------------------------------------------


def uploads_dir(settings: Settings, source_id: str) -> Path:
    """The folder a file source without a configured path reads, and uploads go into."""
    return settings.data_dir / UPLOADS / source_id


def _path_refused(raw: str, reason_zh: str, reason_en: str) -> InvalidInput:
    return InvalidInput(
        f"数据源路径“{raw}”不可用：{reason_zh}",
        f"The source path '{raw}' cannot be used: {reason_en}",
        code="source_path_refused",
        details={"path": raw},
    )


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def allowed_roots(settings: Settings) -> list[Path]:
    return [Path(p.strip()).resolve() for p in settings.source_path_roots.split(",") if p.strip()]


def demo_sources_dir(settings: Settings) -> Path:
    """Where ``govdata demo`` builds the departments' systems (stand-ins for their servers)."""
    return settings.data_dir / "sources"


def server_path(settings: Settings, raw: str) -> Path:
    """A configured server path, checked: absolute, inside ``source_path_roots`` if set, and
    outside the platform's own data (its store, keys, lake and uploads).

    A folder named in ``source_path_roots`` is trusted even inside the data directory, as
    is the demo's folder of source systems in demo mode. Checked again whenever a connector
    is built, since links on disk can change.
    """
    path = Path(raw)
    if not path.is_absolute():
        raise _path_refused(raw, "须为服务器上的绝对路径", "it must be an absolute server path")
    resolved = path.resolve()
    roots = allowed_roots(settings)
    if roots and not any(_inside(resolved, root) for root in roots):
        raise _path_refused(
            raw,
            "不在允许的目录内（GOVDATA_SOURCE_PATH_ROOTS）",
            "it is outside the allowed folders (GOVDATA_SOURCE_PATH_ROOTS)",
        )
    trusted = [*roots, *([demo_sources_dir(settings).resolve()] if settings.demo_mode else [])]
    own = [settings.data_dir.resolve(), settings.lake_dir.resolve()]
    if any(_inside(resolved, root) for root in own) and not any(
        _inside(resolved, root) for root in trusted
    ):
        raise _path_refused(
            raw, "不得指向平台自身的数据目录", "it points into the platform's own data directory"
        )
    return resolved


def file_root(settings: Settings, source: SourceLike) -> Path:
    raw = str(source.config.get("path") or "")
    return server_path(settings, raw) if raw else uploads_dir(settings, source.id)


def safe_file_name(raw: str | None) -> str:
    """The last path component of ``raw``, checked: no control or reserved characters, no
    leading dot, at most 200 characters, and a suffix the file connector reads."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    suffix = Path(name).suffix.lower()
    if (
        not name
        or name.startswith(".")
        or _UNSAFE_NAME.search(name)
        or len(name) > 200
        or suffix not in UPLOAD_SUFFIXES
    ):
        raise InvalidInput(
            f"文件名“{name[:100]}”不可用：须为 {'、'.join(sorted(UPLOAD_SUFFIXES))} 文件，"
            "不含路径和特殊字符，不以点开头",
            f"The file name '{name[:100]}' cannot be used: it must be a "
            f"{', '.join(sorted(UPLOAD_SUFFIXES))} file, without path or special characters, "
            "not starting with a dot",
            code="source_file_name_invalid",
            details={"file_name": name[:200], "suffixes": sorted(UPLOAD_SUFFIXES)},
        )
    return name


# Connectors ------------------------------------------------------------------------------------


def credentials(settings: Settings, source: SourceLike) -> dict[str, Any]:
    """The opened secret of ``source`` (empty when it has none)."""
    return secrets.open_(settings, source.secret) if source.secret else {}


def _kind(source: SourceLike) -> SourceKind:
    try:
        return SourceKind(source.kind)
    except ValueError:
        raise InvalidInput(
            f"不支持的数据源类型 {source.kind}",
            f"Unsupported source kind {source.kind}",
            code="source_kind_unsupported",
            details={"kind": source.kind},
        ) from None


def connector_for(settings: Settings, source: SourceLike) -> SourceConnector:
    """A connector reaching ``source`` with its credentials opened (they stay in memory)."""
    kind = _kind(source)
    cfg = source.config
    secret = credentials(settings, source)
    if kind == SourceKind.MARIADB:
        return MariaDBConnector(
            host=cfg["host"],
            port=int(cfg.get("port") or 3306),
            database=cfg["database"],
            user=cfg["user"],
            password=secret.get("password") or "",
        )
    if kind == SourceKind.POSTGRESQL:
        return PostgresConnector(
            host=cfg["host"],
            port=int(cfg.get("port") or 5432),
            database=cfg["database"],
            user=cfg["user"],
            password=secret.get("password") or None,
        )
    if kind == SourceKind.SQLITE:
        return SQLiteConnector(server_path(settings, str(cfg["path"])))
    if kind == SourceKind.FILE:
        return FileConnector(
            file_root(settings, source),
            keys=cfg.get("keys") or None,
            encoding=cfg.get("encoding") or None,
            delimiter=cfg.get("delimiter") or None,
        )
    headers = {**(cfg.get("headers") or {}), **(secret.get("headers") or {})}
    return HttpConnector(
        cfg["base_url"],
        cfg["endpoints"],
        headers=headers or None,
        token=secret.get("token"),
        timeout=float(cfg.get("timeout") or 10.0),
    )


def connection_params(settings: Settings, source: SourceLike) -> dict[str, Any]:
    """Host, port, database, user and password of a MariaDB or PostgreSQL source (and its
    ``schema`` for PostgreSQL), for readers that open their own connections (CDC, bulk)."""
    kind = _kind(source)
    if kind not in DATABASE_KINDS:
        raise InvalidInput(
            f"{kind.value} 类型的数据源没有数据库连接参数",
            f"A {kind.value} source has no database connection parameters",
            code="source_kind_unsupported",
            details={"kind": kind.value},
        )
    cfg = source.config
    params: dict[str, Any] = {
        "host": cfg["host"],
        "port": int(cfg.get("port") or (3306 if kind == SourceKind.MARIADB else 5432)),
        "database": cfg["database"],
        "user": cfg["user"],
        "password": credentials(settings, source).get("password") or "",
    }
    if kind == SourceKind.POSTGRESQL:
        params["schema"] = cfg.get("schema") or "public"
    return params
