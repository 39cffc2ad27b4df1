"""Input and output shapes of registered source systems, discovery, preview and proposals.

Connection settings that are not secret travel in ``config`` and are checked per kind
(``CONFIG_MODELS``); passwords, tokens and secret headers travel only in ``secret`` on the
way in (as ``SecretStr``, so no repr or log line shows them) and never come back out:
outputs say which secret keys are set, not what they hold.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from govdata.catalog.schemas import ItemIn


class SourceKind(StrEnum):
    MARIADB = "mariadb"  # also MySQL
    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"
    FILE = "file"  # CSV / XLSX / JSON files in a folder, uploaded or on the server
    HTTP = "http"  # paged JSON APIs


class SourceStatus(StrEnum):
    UNTESTED = "untested"
    OK = "ok"
    FAILED = "failed"


DATABASE_KINDS = frozenset({SourceKind.MARIADB, SourceKind.POSTGRESQL})
# Which secret keys each kind takes; anything else is refused so nothing is kept by accident.
SECRET_KEYS: dict[SourceKind, frozenset[str]] = {
    SourceKind.MARIADB: frozenset({"password"}),
    SourceKind.POSTGRESQL: frozenset({"password"}),
    SourceKind.SQLITE: frozenset(),
    SourceKind.FILE: frozenset(),
    SourceKind.HTTP: frozenset({"token", "headers"}),
}

KIND_LABELS: dict[SourceKind, tuple[str, str]] = {
    SourceKind.MARIADB: ("MariaDB / MySQL 数据库", "MariaDB / MySQL database"),
    SourceKind.POSTGRESQL: ("PostgreSQL 数据库", "PostgreSQL database"),
    SourceKind.SQLITE: ("SQLite 数据库文件", "SQLite database file"),
    SourceKind.FILE: ("文件（CSV、Excel、JSON）", "Files (CSV, Excel, JSON)"),
    SourceKind.HTTP: ("HTTP 接口", "HTTP API"),
}
STATUS_LABELS: dict[SourceStatus, tuple[str, str]] = {
    SourceStatus.UNTESTED: ("未测试", "Not tested"),
    SourceStatus.OK: ("连接正常", "Connected"),
    SourceStatus.FAILED: ("连接失败", "Connection failed"),
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Per-kind configuration (non-secret) -------------------------------------------------------


class MariaDBConfig(_In):
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=3306, ge=1, le=65535)
    database: str = Field(min_length=1, max_length=128)
    user: str = Field(min_length=1, max_length=128)


class PostgresConfig(_In):
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(min_length=1, max_length=128)
    user: str = Field(min_length=1, max_length=128)
    # Discovery lists this schema's tables; CDC publishes them.
    schema_: str = Field(default="public", min_length=1, max_length=128, alias="schema")

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


class SqliteConfig(_In):
    path: str = Field(min_length=1, max_length=1000)


class FileConfig(_In):
    # A folder or a file on the server; empty means the source's own uploads folder.
    path: str = Field(default="", max_length=1000)
    # Files declare no keys; the officer may, per table: {"people.csv": ["id"]}.
    keys: dict[str, list[str]] = Field(default_factory=dict, max_length=1000)
    # Detected from the content when empty (UTF-8, GBK/GB18030, …; comma, tab, …).
    encoding: str | None = Field(default=None, max_length=32)
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)


class HttpConfig(_In):
    base_url: str = Field(min_length=1, max_length=1000, pattern=r"^https?://[^\s/?#]+")
    # One object per API the source serves: name, path and paging (see sources/http.py).
    endpoints: list[dict[str, Any]] = Field(min_length=1, max_length=100)
    # Headers sent with every request that are not secret (Accept, an app id, …).
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    timeout: float = Field(default=10.0, gt=0, le=300)


CONFIG_MODELS: dict[SourceKind, type[_In]] = {
    SourceKind.MARIADB: MariaDBConfig,
    SourceKind.POSTGRESQL: PostgresConfig,
    SourceKind.SQLITE: SqliteConfig,
    SourceKind.FILE: FileConfig,
    SourceKind.HTTP: HttpConfig,
}


class SourceSecret(_In):
    """Credentials; each kind takes only its own keys (``SECRET_KEYS``)."""

    password: SecretStr | None = Field(default=None, max_length=1024)
    token: SecretStr | None = Field(default=None, max_length=4096)
    headers: dict[str, SecretStr] | None = Field(default=None, max_length=50)

    def plain(self) -> dict[str, Any]:
        """The values to seal, without the keys left empty."""
        out: dict[str, Any] = {}
        if self.password is not None:
            out["password"] = self.password.get_secret_value()
        if self.token is not None:
            out["token"] = self.token.get_secret_value()
        if self.headers is not None:
            out["headers"] = {k: v.get_secret_value() for k, v in self.headers.items()}
        return out


# Sources ------------------------------------------------------------------------------------


class SourceCreate(_In):
    """A new source system. ``department_id`` defaults to the officer's own department."""

    kind: SourceKind
    name: str = Field(min_length=1, max_length=128)
    department_id: str | None = Field(default=None, max_length=36)
    description: str | None = Field(default=None, max_length=500)
    config: dict[str, Any] = Field(default_factory=dict)
    secret: SourceSecret | None = None


class SourceUpdate(_In):
    """Changes to a source. ``config`` replaces the whole configuration; ``secret`` replaces
    the credentials only when given; ``clear_secret`` removes them."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=500)
    config: dict[str, Any] | None = None
    secret: SourceSecret | None = None
    clear_secret: bool = False


class SourceOut(_Out):
    id: str
    kind: SourceKind
    name: str
    description: str | None
    department_id: str
    department_code: str
    department_name: str
    config: dict[str, Any]
    # The secret keys that are set (e.g. ["password"]); their values never leave the server.
    secret_keys: list[str]
    status: SourceStatus
    last_checked_at: datetime | None
    last_error_code: str | None
    last_error: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class SourcePage(BaseModel):
    items: list[SourceOut]
    total: int
    next_cursor: str | None


class SourceTestOut(BaseModel):
    """The outcome of a connection test; a failure is an answer here, not an error."""

    source_id: str
    status: SourceStatus
    checked_at: datetime
    elapsed_ms: int
    error_code: str | None = None
    error: str | None = None
    error_details: dict[str, Any] | None = None


# Discovery and preview ---------------------------------------------------------------------


class ColumnOut(BaseModel):
    name: str
    type: str  # native, as the source spells it
    arrow_type: str
    nullable: bool
    is_key: bool
    comment: str | None


class TableOut(BaseModel):
    schema_: str = Field(alias="schema", serialization_alias="schema")
    name: str
    qualified_name: str
    columns: list[ColumnOut]
    primary_key: list[str]
    row_estimate: int | None
    comment: str | None

    model_config = ConfigDict(populate_by_name=True)


class DiscoveryOut(BaseModel):
    source_id: str
    tables: list[TableOut]


class PreviewColumn(BaseModel):
    name: str
    arrow_type: str


class PreviewOut(BaseModel):
    source_id: str
    table: str
    columns: list[PreviewColumn]
    # Row values as JSON: decimals, dates and times as strings, binary as base64.
    rows: list[list[Any]]
    row_count: int


class UploadOut(BaseModel):
    source_id: str
    file_name: str
    size: int
    sha256: str
    replaced: bool


# Proposals -----------------------------------------------------------------------------------


class Reason(BaseModel):
    """Why a proposal says what it says (shown to the officer, who decides)."""

    code: str
    message: str
    message_en: str


class ProposedItem(BaseModel):
    column: str
    # Ready to use as one of ``EntryCreate.items``.
    item: ItemIn
    reasons: list[Reason]


class ProposalOut(BaseModel):
    source_id: str
    table: str
    items: list[ProposedItem]
    # The entry's grade: the highest of its items' (an entry is graded upward, 就高定级).
    grade: int
    grade_reasons: list[Reason]
    sampled_rows: int
