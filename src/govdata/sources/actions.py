"""Operations on registered source systems: register, change, remove, list, test, discover,
preview, upload files, propose catalog items.

A source belongs to a department; its scope is ``Scope(region path, department id)``.
``source.read`` shows it (officers their department's, region operators their region's,
the operator all); ``source.manage`` changes, tests and discovers it; rows (preview,
proposals that sample values) need ``data.preview`` over the department, which only the
department's officers hold. A source the actor may not read answers 404, so its existence
does not leak. Secrets are sealed on the way in (``sources/secrets.py``) and never come
back out, in outputs, audit details or error messages.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
import os
import secrets as pysecrets
import shutil
import time
from decimal import Decimal
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, event, false, func, or_, select, true, update
from sqlalchemy.orm import Session

from govdata.catalog.standards import actions as standards
from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.errors import Conflict, GovDataError, InvalidInput, NotFound
from govdata.core.ids import new_id
from govdata.core.pagination import paginate
from govdata.exchange.models import Mount, Pipeline
from govdata.exchange.vocab import PipelineKind
from govdata.identity import queries as org
from govdata.identity.models import Department, Region
from govdata.security.context import ActionContext
from govdata.security.context_types import Actor
from govdata.security.permissions import ROLE_PERMISSIONS, Perm, Scope
from govdata.sources import proposals, registry
from govdata.sources import secrets as sealing
from govdata.sources.base import SourceConnector, TableInfo, table_unknown, unreachable
from govdata.sources.http import HttpConnector
from govdata.sources.models import SourceSystem
from govdata.sources.schemas import (
    CONFIG_MODELS,
    SECRET_KEYS,
    ColumnOut,
    DiscoveryOut,
    PreviewColumn,
    PreviewOut,
    ProposalOut,
    SourceCreate,
    SourceKind,
    SourceOut,
    SourcePage,
    SourceSecret,
    SourceStatus,
    SourceTestOut,
    SourceUpdate,
    TableOut,
    UploadOut,
)

_CHUNK = 1 << 20


# Errors ---------------------------------------------------------------------------------------


def source_not_found(source_id: str) -> NotFound:
    return NotFound(
        "数据源不存在或无权查看",
        "Source system not found",
        code="source_not_found",
        details={"source_id": source_id},
    )


def _config_invalid(kind: SourceKind, exc: ValidationError) -> InvalidInput:
    # loc/msg/type only: pydantic's "input" would echo what was typed.
    errors = [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]
    fields = "、".join(".".join(e["loc"]) or "config" for e in errors)
    return InvalidInput(
        f"{kind.value} 数据源的连接配置不正确：{fields}",
        f"The connection settings of a {kind.value} source are invalid: {fields}",
        code="source_config_invalid",
        details={"kind": kind.value, "errors": errors},
    )


# Scope and visibility -------------------------------------------------------------------------


def _scope(dept: org.DepartmentFacts) -> Scope:
    return Scope(region_path=dept.region_path, department_id=dept.id)


def _department(s: Session, department_id: str) -> org.DepartmentFacts:
    dept = org.department_by_id(s, department_id)
    if dept is None:
        raise InvalidInput(
            "部门不存在",
            "Department not found",
            code="department_not_found",
            details={"department_id": department_id},
        )
    return dept


def _visible(ctx: ActionContext, source_id: str) -> tuple[SourceSystem, org.DepartmentFacts]:
    """The source if the actor may read it; 404 otherwise."""
    ctx.require(Perm.SOURCE_READ)
    src = ctx.session.get(SourceSystem, source_id)
    if src is None:
        raise source_not_found(source_id)
    dept = _department(ctx.session, src.department_id)
    if not ctx.actor.can(Perm.SOURCE_READ, _scope(dept)):
        raise source_not_found(source_id)
    return src, dept


def _visible_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause over ``SourceSystem`` keeping what ``source.read`` lets the actor see."""
    if actor.kind == "system":
        return true()
    if actor.token_scopes is not None and Perm.SOURCE_READ.value not in actor.token_scopes:
        return false()
    clauses: list[ColumnElement[bool]] = []
    for grant in actor.grants:
        if Perm.SOURCE_READ not in ROLE_PERMISSIONS[grant.role]:
            continue
        if grant.department_id is not None:
            clauses.append(SourceSystem.department_id == grant.department_id)
        elif grant.region_path is not None:
            path = grant.region_path
            in_region = (
                select(Department.id)
                .join(Region, Region.id == Department.region_id)
                .where(or_(Region.path == path, Region.path.like(path + "/%")))
            )
            clauses.append(SourceSystem.department_id.in_(in_region))
        else:
            return true()
    return or_(*clauses) if clauses else false()


# Checking what comes in -----------------------------------------------------------------------


def _check_config(settings: Settings, kind: SourceKind, raw: dict[str, Any]) -> dict[str, Any]:
    try:
        model = CONFIG_MODELS[kind].model_validate(raw)
    except ValidationError as exc:
        raise _config_invalid(kind, exc) from None
    config = model.model_dump(by_alias=True)
    if kind in (SourceKind.SQLITE, SourceKind.FILE) and config.get("path"):
        config["path"] = str(registry.server_path(settings, config["path"]))
    if kind == SourceKind.HTTP:
        # The connector checks each endpoint's shape (paging, paths, unique names).
        HttpConnector(config["base_url"], config["endpoints"])
    return config


def _check_secret(kind: SourceKind, given: dict[str, Any]) -> dict[str, Any]:
    extra = sorted(set(given) - SECRET_KEYS[kind])
    if extra:
        allowed = sorted(SECRET_KEYS[kind])
        raise InvalidInput(
            f"{kind.value} 数据源不接受这些凭据字段：{'、'.join(extra)}",
            f"A {kind.value} source takes no secret {', '.join(extra)}",
            code="source_secret_invalid",
            details={"kind": kind.value, "refused": extra, "allowed": allowed},
        )
    return given


def _given_secret(secret: SourceSecret) -> dict[str, Any]:
    """The keys the caller set, with None for keys set to null (to remove them)."""
    plain = secret.plain()
    return {key: plain.get(key) for key in secret.model_fields_set}


def _name_taken(s: Session, department_id: str, name: str, except_id: str | None = None) -> None:
    stmt = select(SourceSystem.id).where(
        SourceSystem.department_id == department_id, SourceSystem.name == name
    )
    if except_id is not None:
        stmt = stmt.where(SourceSystem.id != except_id)
    if s.scalars(stmt).first() is not None:
        raise Conflict(
            f"本部门已有名为“{name}”的数据源",
            f"The department already has a source named '{name}'",
            code="source_name_taken",
            details={"name": name},
        )


# Output ----------------------------------------------------------------------------------------


def _encode_error(exc: GovDataError) -> str:
    """``last_error`` keeps the code and both messages, one per line."""
    zh = exc.message_zh.replace("\n", " ")[:480]
    en = exc.message_en.replace("\n", " ")[:480]
    return f"{exc.code}\n{zh}\n{en}"


def _decode_error(stored: str | None, locale: str) -> tuple[str | None, str | None]:
    if not stored:
        return None, None
    code, _, rest = stored.partition("\n")
    zh, _, en = rest.partition("\n")
    return code, (en if locale.startswith("en") else zh) or None


def _source_out(
    ctx: ActionContext, src: SourceSystem, dept: org.DepartmentFacts | None = None
) -> SourceOut:
    dept = dept or _department(ctx.session, src.department_id)
    code, message = _decode_error(src.last_error, ctx.locale)
    return SourceOut(
        id=src.id,
        kind=SourceKind(src.kind),
        name=src.name,
        description=src.description,
        department_id=dept.id,
        department_code=dept.code,
        department_name=dept.name,
        config=dict(src.config or {}),
        secret_keys=_secret_keys(ctx.settings, src),
        status=SourceStatus(src.status),
        last_checked_at=src.last_checked_at,
        last_error_code=code,
        last_error=message,
        created_by=src.created_by,
        created_at=src.created_at,
        updated_at=src.updated_at,
    )


def _secret_values(settings: Settings, src: SourceSystem) -> list[str]:
    try:
        return sealing.hidden_values(registry.credentials(settings, src))
    except GovDataError:
        return []


def _secret_keys(settings: Settings, src: SourceSystem) -> list[str]:
    if not src.secret:
        return []
    try:
        return sorted(sealing.open_(settings, src.secret))
    except GovDataError:
        # Sealed under another key: it is there, but nobody can say which keys it holds.
        return ["?"]


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def _table_out(info: TableInfo) -> TableOut:
    return TableOut(
        schema_=info.schema,
        name=info.name,
        qualified_name=info.qualified_name,
        columns=[
            ColumnOut(
                name=c.name,
                type=c.type,
                arrow_type=str(c.arrow_type),
                nullable=c.nullable,
                is_key=c.is_key,
                comment=c.comment,
            )
            for c in info.columns
        ],
        primary_key=list(info.primary_key),
        row_estimate=info.row_estimate,
        comment=info.comment,
    )


# Register, change, remove, read ---------------------------------------------------------------


def create_source(ctx: ActionContext, data: SourceCreate) -> SourceOut:
    """Register a source system for a department (``source.manage`` over it).

    ``config`` is checked per kind (422 ``source_config_invalid`` lists the fields;
    ``source_path_refused`` for a server path outside what the node allows); ``secret``
    takes ``password`` (MariaDB, PostgreSQL) or ``token`` / ``headers`` (HTTP) and is
    sealed with SM4 before it is stored. 409 ``source_name_taken``.
    """
    ctx.require(Perm.SOURCE_MANAGE)
    s = ctx.session
    department_id = data.department_id or ctx.actor.department_id
    if not department_id:
        raise InvalidInput(
            "请指定数据源所属部门",
            "Name the department the source belongs to",
            code="department_required",
        )
    dept = _department(s, department_id)
    ctx.require(Perm.SOURCE_MANAGE, _scope(dept))
    config = _check_config(ctx.settings, data.kind, data.config)
    secret = _check_secret(data.kind, data.secret.plain() if data.secret else {})
    _name_taken(s, dept.id, data.name)
    src = SourceSystem(
        id=new_id(),
        department_id=dept.id,
        name=data.name,
        kind=data.kind.value,
        description=data.description,
        config=config,
        secret=sealing.seal(ctx.settings, secret) if secret else None,
        status=SourceStatus.UNTESTED.value,
        created_by=ctx.actor.id if ctx.actor.kind == "user" else None,
    )
    s.add(src)
    s.flush()
    ctx.audit(
        "source.create",
        target_type="source",
        target_id=src.id,
        details={
            "name": src.name,
            "kind": src.kind,
            "department_id": dept.id,
            "config": config,
            "secret_keys": sorted(secret),
        },
    )
    return _source_out(ctx, src, dept)


def update_source(ctx: ActionContext, source_id: str, data: SourceUpdate) -> SourceOut:
    """Change a source's name, description, configuration or credentials.

    ``config`` replaces the configuration (checked as on registration); the keys given in
    ``secret`` replace those credentials (a key set to null removes it) and the others are
    kept; ``clear_secret`` drops them all. A changed connection is untested again.
    """
    src, dept = _visible(ctx, source_id)
    ctx.require(Perm.SOURCE_MANAGE, _scope(dept), target_id=src.id)
    s, settings = ctx.session, ctx.settings
    kind = SourceKind(src.kind)
    changed: list[str] = []
    if data.name is not None and data.name != src.name:
        _name_taken(s, src.department_id, data.name, except_id=src.id)
        src.name = data.name
        changed.append("name")
    if "description" in data.model_fields_set and data.description != src.description:
        src.description = data.description
        changed.append("description")
    if data.config is not None:
        config = _check_config(settings, kind, data.config)
        if config != src.config:
            src.config = config
            changed.append("config")
    secret_keys: list[str] = []
    if data.clear_secret:
        if src.secret is not None:
            src.secret = None
            changed.append("secret")
    elif data.secret is not None:
        given = _check_secret(kind, _given_secret(data.secret))
        try:
            kept = registry.credentials(settings, src)
        except GovDataError:
            # Sealed under a key this node no longer has: what is given now replaces it all.
            kept = {}
        merged = {k: v for k, v in {**kept, **given}.items() if v is not None}
        src.secret = sealing.seal(settings, merged) if merged else None
        secret_keys = sorted(given)
        changed.append("secret")
    if {"config", "secret"} & set(changed):
        src.status = SourceStatus.UNTESTED.value
        src.last_error = None
    if changed:
        src.updated_at = now()
        s.flush()
        details: dict[str, Any] = {"name": src.name}
        if "config" in changed:
            details["config"] = src.config
        if secret_keys:
            details["secret_keys"] = secret_keys
        ctx.audit(
            "source.update",
            target_type="source",
            target_id=src.id,
            fields=changed,
            details=details,
        )
    return _source_out(ctx, src, dept)


def delete_source(ctx: ActionContext, source_id: str) -> None:
    """Remove a source and its uploaded files. 409 ``source_in_use`` while a mount reads it
    or a return-flow pipeline delivers into it."""
    src, dept = _visible(ctx, source_id)
    ctx.require(Perm.SOURCE_MANAGE, _scope(dept), target_id=src.id)
    s = ctx.session
    mounts = s.scalar(select(func.count()).select_from(Mount).where(Mount.source_id == src.id))
    deliveries = [
        p.id
        for p in s.scalars(select(Pipeline).where(Pipeline.kind == PipelineKind.RETURN.value))
        if src.id in (p.options or {}).values()
    ]
    if mounts or deliveries:
        raise Conflict(
            f"数据源“{src.name}”仍被 {mounts} 个挂载和 {len(deliveries)} 个回流任务使用，不能删除",
            f"The source '{src.name}' is still used by {mounts} mount(s) and "
            f"{len(deliveries)} return-flow pipeline(s)",
            code="source_in_use",
            details={"mounts": mounts, "pipelines": deliveries},
        )
    folder = registry.uploads_dir(ctx.settings, src.id)
    s.delete(src)
    s.flush()
    ctx.audit(
        "source.delete",
        target_type="source",
        target_id=src.id,
        details={"name": src.name, "kind": src.kind, "department_id": src.department_id},
    )

    # The uploads go only once the row is gone for good, not when the transaction rolls back.
    def _remove_uploads(_session: Session) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    event.listen(s, "after_commit", _remove_uploads, once=True)


def get_source(ctx: ActionContext, source_id: str) -> SourceOut:
    """One source: its settings, which secret keys are set (never their values), status."""
    src, dept = _visible(ctx, source_id)
    return _source_out(ctx, src, dept)


def list_sources(
    ctx: ActionContext,
    *,
    department_id: str | None = None,
    kind: SourceKind | None = None,
    status: SourceStatus | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> SourcePage:
    """The sources the actor may read, ordered by name; ``q`` matches the name."""
    ctx.require(Perm.SOURCE_READ)
    s = ctx.session
    stmt: Select[Any] = select(SourceSystem).where(_visible_clause(ctx.actor))
    if department_id:
        stmt = stmt.where(SourceSystem.department_id == department_id)
    if kind is not None:
        stmt = stmt.where(SourceSystem.kind == kind.value)
    if status is not None:
        stmt = stmt.where(SourceSystem.status == status.value)
    if q:
        stmt = stmt.where(SourceSystem.name.contains(q, autoescape=True))
    page = paginate(s, stmt, [SourceSystem.name, SourceSystem.id], limit=limit, cursor=cursor)
    depts: dict[str, org.DepartmentFacts] = {}
    items = []
    for src in page.items:
        if src.department_id not in depts:
            depts[src.department_id] = _department(s, src.department_id)
        items.append(_source_out(ctx, src, depts[src.department_id]))
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return SourcePage(items=items, total=total, next_cursor=page.next_cursor)


# Reaching the source ----------------------------------------------------------------------------


def _connector(settings: Settings, src: SourceSystem) -> SourceConnector:
    return registry.connector_for(settings, src)


def _table_name(src: SourceSystem, table: str) -> str:
    """PostgreSQL sources name bare tables within their configured schema."""
    if src.kind == SourceKind.POSTGRESQL and "." not in table:
        return f"{src.config.get('schema') or 'public'}.{table}"
    return table


def test_source(ctx: ActionContext, source_id: str) -> SourceTestOut:
    """Connect and run a trivial query; record the outcome on the source.

    A failure is the answer, not an error: ``status`` is ``failed`` with the error's code
    (``source_auth_failed``, ``source_unreachable``, ``source_database_missing``,
    ``source_secret_unreadable``, …) and message, which never contain a secret.
    """
    src, dept = _visible(ctx, source_id)
    ctx.require(Perm.SOURCE_MANAGE, _scope(dept), target_id=src.id)
    hidden = _secret_values(ctx.settings, src)
    started = time.monotonic()
    failure: GovDataError | None = None
    try:
        _connector(ctx.settings, src).test_connection()
    except GovDataError as exc:
        failure = sealing.scrubbed(exc, hidden)
    except OSError as exc:
        failure = sealing.scrubbed(unreachable(src.name, type(exc).__name__), hidden)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    checked = now()
    # A test is not an edit: updated_at keeps saying when the settings last changed.
    ctx.session.execute(
        update(SourceSystem)
        .where(SourceSystem.id == src.id)
        .values(
            status=(SourceStatus.FAILED if failure else SourceStatus.OK).value,
            last_checked_at=checked,
            last_error=_encode_error(failure) if failure else None,
            updated_at=SourceSystem.updated_at,
        )
        .execution_options(synchronize_session="fetch")
    )
    ctx.session.refresh(src)
    ctx.audit(
        "source.test",
        target_type="source",
        target_id=src.id,
        details={"status": src.status, "error_code": failure.code if failure else None},
    )
    return SourceTestOut(
        source_id=src.id,
        status=SourceStatus(src.status),
        checked_at=checked,
        elapsed_ms=elapsed_ms,
        error_code=failure.code if failure else None,
        error=failure.message(ctx.locale) if failure else None,
        error_details=failure.details if failure and isinstance(failure.details, dict) else None,
    )


def discover_source(ctx: ActionContext, source_id: str) -> DiscoveryOut:
    """Tables and views with their columns (native and Arrow types), keys, row estimates
    and comments. A PostgreSQL source lists its configured schema."""
    src, dept = _visible(ctx, source_id)
    ctx.require(Perm.SOURCE_MANAGE, _scope(dept), target_id=src.id)
    hidden = _secret_values(ctx.settings, src)
    try:
        tables = _connector(ctx.settings, src).discover()
    except GovDataError as exc:
        raise sealing.scrubbed(exc, hidden) from None
    if src.kind == SourceKind.POSTGRESQL:
        schema = src.config.get("schema") or "public"
        tables = [t for t in tables if t.schema == schema]
    return DiscoveryOut(source_id=src.id, tables=[_table_out(t) for t in tables])


def preview_source(ctx: ActionContext, source_id: str, table: str, limit: int = 20) -> PreviewOut:
    """The first ``limit`` rows of a table (by primary key where there is one).

    Rows are the department's data: ``data.preview`` over the department, held by its
    officers only; every preview is audited with its row count.
    """
    src, dept = _visible(ctx, source_id)
    ctx.require(Perm.DATA_PREVIEW, _scope(dept), target_id=src.id)
    hidden = _secret_values(ctx.settings, src)
    try:
        rows = _connector(ctx.settings, src).preview(_table_name(src, table), limit)
    except GovDataError as exc:
        raise sealing.scrubbed(exc, hidden) from None
    out = PreviewOut(
        source_id=src.id,
        table=table,
        columns=[PreviewColumn(name=f.name, arrow_type=str(f.type)) for f in rows.schema],
        rows=[[_json_value(v) for v in row.values()] for row in rows.to_pylist()],
        row_count=rows.num_rows,
    )
    ctx.audit(
        "source.preview",
        target_type="source",
        target_id=src.id,
        fields=rows.schema.names,
        row_count=rows.num_rows,
        details={"table": table},
    )
    return out


def propose_items(
    ctx: ActionContext, source_id: str, table: str, sample_rows: int = 200
) -> ProposalOut:
    """Catalog items proposed for a new entry from a discovered table: Chinese names (column
    comments, a dictionary of common column names), types and lengths, keys, standard data
    elements, and sensitivity and grade guesses from names and sampled values, each with its
    reasons. Samples rows, so it needs ``data.preview`` as well as ``source.manage``."""
    src, dept = _visible(ctx, source_id)
    scope = _scope(dept)
    ctx.require(Perm.SOURCE_MANAGE, scope, target_id=src.id)
    ctx.require(Perm.DATA_PREVIEW, scope, target_id=src.id)
    hidden = _secret_values(ctx.settings, src)
    name = _table_name(src, table)
    try:
        connector = _connector(ctx.settings, src)
        info = _find_table(connector.discover(), name)
        sample = connector.preview(name, sample_rows)
    except GovDataError as exc:
        raise sealing.scrubbed(exc, hidden) from None
    elements = _data_elements(ctx)
    out = proposals.propose(info, sample, elements)
    ctx.audit(
        "source.propose",
        target_type="source",
        target_id=src.id,
        fields=sample.schema.names,
        row_count=sample.num_rows,
        details={"table": table},
    )
    return ProposalOut(source_id=src.id, table=table, sampled_rows=sample.num_rows, **out)


def _find_table(tables: list[TableInfo], name: str) -> TableInfo:
    for t in tables:
        if name in (t.name, t.qualified_name):
            return t
    raise table_unknown(name)


def _data_elements(ctx: ActionContext) -> list[proposals.ElementRef]:
    """The current standard data elements (the registry is small: a few hundred at most)."""
    found: list[proposals.ElementRef] = []
    cursor: str | None = None
    while True:
        page = standards.list_data_elements(ctx, status="current", limit=200, cursor=cursor)
        found.extend(
            proposals.ElementRef(e.identifier, e.name, e.name_en, e.data_type, e.max_length)
            for e in page.items
        )
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


# Files -------------------------------------------------------------------------------------------


def upload_file(
    ctx: ActionContext, source_id: str, file_name: str | None, content: BinaryIO
) -> UploadOut:
    """Store an uploaded file in a file source's own folder (``<data_dir>/sources/<id>/``),
    replacing a file of the same name. Up to ``source_upload_max_mb`` (422
    ``source_file_too_large``); only file sources without a server path take uploads."""
    src, dept = _visible(ctx, source_id)
    ctx.require(Perm.SOURCE_MANAGE, _scope(dept), target_id=src.id)
    if src.kind != SourceKind.FILE or (src.config or {}).get("path"):
        raise InvalidInput(
            "只有未指定服务器路径的文件类数据源可以上传文件",
            "Only file sources without a server path take uploads",
            code="source_upload_unsupported",
            details={"kind": src.kind},
        )
    name = registry.safe_file_name(file_name)
    limit = ctx.settings.source_upload_max_mb * 1024 * 1024
    folder = registry.uploads_dir(ctx.settings, src.id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    tmp = folder / f".upload-{pysecrets.token_hex(8)}"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "xb") as out:
            while chunk := content.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InvalidInput(
                        f"文件超过 {ctx.settings.source_upload_max_mb} MB 的上限",
                        f"The file is larger than the {ctx.settings.source_upload_max_mb} MB limit",
                        code="source_file_too_large",
                        details={"limit_mb": ctx.settings.source_upload_max_mb},
                    )
                digest.update(chunk)
                out.write(chunk)
        replaced = target.exists()
        ctx.audit(
            "source.upload",
            target_type="source",
            target_id=src.id,
            details={
                "file": name,
                "size": size,
                "sha256": digest.hexdigest(),
                "replaced": replaced,
            },
        )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return UploadOut(
        source_id=src.id, file_name=name, size=size, sha256=digest.hexdigest(), replaced=replaced
    )
