"""Portal pages of source systems (templates under ``web/templates/sources``).

List, register and edit per kind, and one source's page: its settings, a connection
test, the discovered tables, a preview of rows (``data.preview`` only), the catalog items
proposed for a table, and uploads for file sources. Every page calls the actions in
``sources/actions.py``; nothing here reaches a source directly.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Response
from starlette.datastructures import UploadFile

from govdata.core.errors import GovDataError, InvalidInput
from govdata.identity import actions as identity_actions
from govdata.identity import queries as org
from govdata.security.permissions import Perm, Scope
from govdata.sources import actions
from govdata.sources.schemas import (
    KIND_LABELS,
    STATUS_LABELS,
    SourceCreate,
    SourceKind,
    SourceOut,
    SourceStatus,
    SourceUpdate,
)
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

PAGE_SIZE = 25
PREVIEW_ROWS = 20
STATUS_TONE = {"untested": "gray", "ok": "green", "failed": "red"}
# The form's fields per kind, in the order they are shown; secrets are never pre-filled.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "mariadb": ("host", "port", "database", "user"),
    "postgresql": ("host", "port", "database", "user", "schema"),
    "sqlite": ("path",),
    "file": ("path", "encoding", "delimiter"),
    "http": ("base_url", "timeout"),
}
SECRET_FIELD = {"mariadb": "password", "postgresql": "password", "http": "token"}
FIELD_LABELS = {
    "name": N_("Name"),
    "description": N_("Description"),
    "kind": N_("Kind"),
    "department_id": N_("Department"),
    "host": N_("Host"),
    "port": N_("Port"),
    "database": N_("Database"),
    "user": N_("User name"),
    "schema": N_("Schema"),
    "path": N_("Path on the server"),
    "encoding": N_("Encoding"),
    "delimiter": N_("Delimiter"),
    "base_url": N_("Base URL"),
    "timeout": N_("Timeout (seconds)"),
    "endpoints": N_("Endpoints (JSON)"),
    "headers": N_("Headers (JSON)"),
    "password": N_("Password"),
    "token": N_("Access token"),
    "config": N_("Connection settings"),
    "secret": N_("Credentials"),
}


def labelled(labels: dict[Any, tuple[str, str]], value: Any, locale: str) -> str:
    pair = labels.get(value)
    if pair is None:
        return str(value)
    return pair[1] if locale == "en" else pair[0]


def refusal(exc: GovDataError) -> bool:
    return exc.status in (401, 403, 404)


def helpers(page: Page) -> dict[str, Any]:
    locale = page.locale
    return {
        "kind_label": lambda k: labelled(KIND_LABELS, SourceKind(k), locale),
        "source_status_label": lambda s: labelled(STATUS_LABELS, SourceStatus(s), locale),
        "source_tone": lambda s: STATUS_TONE.get(str(s), "gray"),
        "kinds": [(k.value, labelled(KIND_LABELS, k, locale)) for k in SourceKind],
        "statuses": [(s.value, labelled(STATUS_LABELS, s, locale)) for s in SourceStatus],
        "field_label": FIELD_LABELS,
        "kind_fields": KIND_FIELDS,
        "secret_field": SECRET_FIELD,
    }


def can_preview(page: Page, source: SourceOut) -> bool:
    """Rows are the department's data: only ``data.preview`` over its department shows them."""
    with page.act() as ctx:
        dept = org.department_by_id(ctx.session, source.department_id)
    if dept is None:
        return False
    return page.actor.can(Perm.DATA_PREVIEW, Scope(dept.region_path, dept.id))


def can_manage(page: Page, source: SourceOut) -> bool:
    with page.act() as ctx:
        dept = org.department_by_id(ctx.session, source.department_id)
    if dept is None:
        return False
    return page.actor.can(Perm.SOURCE_MANAGE, Scope(dept.region_path, dept.id))


# -- list -----------------------------------------------------------------------------------


@router.get("/sources")
def sources_page(
    page: UserPage, q: str = "", kind: str = "", status: str = "", cursor: str = ""
) -> Response:
    kind_value = kind if kind in SourceKind.__members__.values() else ""
    status_value = status if status in SourceStatus.__members__.values() else ""
    with page.act() as ctx:
        result = actions.list_sources(
            ctx,
            q=q.strip() or None,
            kind=SourceKind(kind_value) if kind_value else None,
            status=SourceStatus(status_value) if status_value else None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    base = urlencode({k: v for k, v in {"q": q, "kind": kind, "status": status}.items() if v})
    return page.render(
        "sources/list.html",
        result=result,
        q=q,
        filter_kind=kind_value,
        filter_status=status_value,
        base_query=base,
        cursor=cursor,
        **helpers(page),
    )


# -- register and edit ----------------------------------------------------------------------


def _departments(page: Page) -> list[Any]:
    """Departments to register a source for, when the actor has none of their own."""
    if page.actor.department_id is not None:
        return []
    with page.act() as ctx:
        found = identity_actions.list_departments(ctx, include_inactive=False, limit=200)
    return [
        d for d in found.items if page.actor.can(Perm.SOURCE_MANAGE, Scope(d.region_path, d.id))
    ]


def _json_field(page: Page, name: str, default: Any) -> Any:
    text = page.field(name)
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput(
            f"“{name}”不是合法的 JSON",
            f"{name!r} is not valid JSON",
            code="invalid_json",
            details={"field": name},
        ) from None


def _config(page: Page, kind: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name in KIND_FIELDS[kind]:
        value = page.field(name)
        if value:
            config[name] = value
    if kind == "http":
        config["endpoints"] = _json_field(page, "endpoints", [])
        config["headers"] = _json_field(page, "headers", {})
    return config


def _secret(page: Page, kind: str) -> dict[str, Any] | None:
    name = SECRET_FIELD.get(kind)
    value = page.form_raw(name) if name else ""
    return {name: value} if name and value else None


def _form_values(page: Page) -> dict[str, Any]:
    """What was typed, to show again after an error (never the secret)."""
    assert page.form is not None
    return {
        k: v
        for k, v in page.form.items()
        if isinstance(v, str) and k not in ("csrf_token", "password", "token")
    }


def _source_values(source: SourceOut) -> dict[str, Any]:
    values: dict[str, Any] = {"name": source.name, "description": source.description or ""}
    for key, value in source.config.items():
        if key in ("endpoints", "headers"):
            values[key] = json.dumps(value, ensure_ascii=False, indent=2) if value else ""
        elif value is not None:
            values[key] = str(value)
    return values


def _form(
    page: Page,
    kind: str,
    values: dict[str, Any],
    *,
    source: SourceOut | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "sources/form.html",
        status=status,
        kind=kind,
        values=values,
        source=source,
        departments=_departments(page) if source is None else [],
        error=error,
        **helpers(page),
    )


@router.get("/sources/new")
def new_source(page: UserPage, kind: str = "") -> Response:
    with page.act() as ctx:
        ctx.require(Perm.SOURCE_MANAGE)
    if kind not in KIND_FIELDS:
        return page.render("sources/kinds.html", **helpers(page))
    return _form(page, kind, {})


@router.post("/sources/new")
def create_source(page: UserForm) -> Response:
    kind = page.field("kind")
    if kind not in KIND_FIELDS:
        return page.redirect("/sources/new")
    try:
        data = parse(
            SourceCreate,
            {
                "kind": kind,
                "name": page.field("name"),
                "department_id": page.field("department_id") or None,
                "description": page.field("description") or None,
                "config": _config(page, kind),
                "secret": _secret(page, kind),
            },
            FIELD_LABELS,
        )
        with page.act() as ctx:
            source = actions.create_source(ctx, data)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _form(page, kind, _form_values(page), error=page.message(exc), status=exc.status)
    return page.redirect(f"/sources/{source.id}", notice="source_created")


@router.get("/sources/{source_id}/edit")
def edit_source(page: UserPage, source_id: str) -> Response:
    with page.act() as ctx:
        source = actions.get_source(ctx, source_id)
    return _form(page, source.kind.value, _source_values(source), source=source)


@router.post("/sources/{source_id}/edit")
def save_source(page: UserForm, source_id: str) -> Response:
    with page.act() as ctx:
        source = actions.get_source(ctx, source_id)
    kind = source.kind.value
    try:
        data = parse(
            SourceUpdate,
            {
                "name": page.field("name"),
                "description": page.field("description") or None,
                "config": _config(page, kind),
                "secret": _secret(page, kind),
                "clear_secret": page.field("clear_secret") == "1",
            },
            FIELD_LABELS,
        )
        with page.act() as ctx:
            actions.update_source(ctx, source_id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _form(
            page,
            kind,
            _form_values(page),
            source=source,
            error=page.message(exc),
            status=exc.status,
        )
    return page.redirect(f"/sources/{source_id}", notice="source_saved")


@router.post("/sources/{source_id}/delete")
def delete_source(page: UserForm, source_id: str) -> Response:
    try:
        with page.act() as ctx:
            actions.delete_source(ctx, source_id)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(page, source_id, error=page.message(exc), status=exc.status)
    return page.redirect("/sources", notice="source_deleted")


# -- one source -----------------------------------------------------------------------------


def detail_page(
    page: Page, source_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    with page.act() as ctx:
        source = actions.get_source(ctx, source_id)
    return page.render(
        "sources/detail.html",
        status=status,
        source=source,
        error=error,
        manage=can_manage(page, source),
        preview=can_preview(page, source),
        **helpers(page),
    )


@router.get("/sources/{source_id}")
def source_page(page: UserPage, source_id: str) -> Response:
    return detail_page(page, source_id)


@router.post("/sources/{source_id}/test")
def test_source(page: UserForm, source_id: str) -> Response:
    """The outcome as a fragment (htmx) or the page with it; a failure is an answer here."""
    with page.act() as ctx:
        result = actions.test_source(ctx, source_id)
    if page.request.headers.get("HX-Request"):
        return page.render("sources/_test_result.html", result=result, **helpers(page))
    with page.act() as ctx:
        source = actions.get_source(ctx, source_id)
    return page.render(
        "sources/detail.html",
        source=source,
        result=result,
        manage=True,
        preview=can_preview(page, source),
        **helpers(page),
    )


@router.get("/sources/{source_id}/tables")
def source_tables(page: UserPage, source_id: str) -> Response:
    """The discovered tables; a source that cannot be reached says why, in the fragment."""
    with page.act() as ctx:
        source = actions.get_source(ctx, source_id)
    error = None
    tables: list[Any] = []
    try:
        with page.act() as ctx:
            tables = actions.discover_source(ctx, source_id).tables
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        error = page.message(exc)
    fragment = bool(page.request.headers.get("HX-Request"))
    return page.render(
        "sources/_tables.html" if fragment else "sources/tables.html",
        source=source,
        tables=tables,
        error=error,
        preview=can_preview(page, source),
        **helpers(page),
    )


@router.get("/sources/{source_id}/preview")
def source_preview(page: UserPage, source_id: str, table: str) -> Response:
    error = None
    rows = None
    with page.act() as ctx:
        actions.get_source(ctx, source_id)
    try:
        with page.act() as ctx:
            rows = actions.preview_source(ctx, source_id, table, PREVIEW_ROWS)
    except GovDataError as exc:
        # The source is visible: a 404 now is the table's, said in the fragment.
        if exc.status in (401, 403):
            raise
        error = page.message(exc)
    return page.render("sources/_preview.html", table=table, rows=rows, error=error)


@router.post("/sources/{source_id}/propose")
def source_propose(page: UserForm, source_id: str) -> Response:
    table = page.field("table")
    error = None
    proposal = None
    with page.act() as ctx:
        actions.get_source(ctx, source_id)
    try:
        with page.act() as ctx:
            proposal = actions.propose_items(ctx, source_id, table)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        error = page.message(exc)
    return page.render(
        "sources/_proposal.html", table=table, proposal=proposal, error=error, locale=page.locale
    )


@router.post("/sources/{source_id}/upload")
async def source_upload(page: UserForm, source_id: str) -> Response:
    from starlette.concurrency import run_in_threadpool

    assert page.form is not None
    upload = page.form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = InvalidInput("请选择要上传的文件", "Choose a file to upload", code="file_required")
        return await run_in_threadpool(
            detail_page, page, source_id, error=page.message(error), status=422
        )

    def store() -> Response:
        try:
            with page.act() as ctx:
                actions.upload_file(ctx, source_id, upload.filename, upload.file)
        except GovDataError as exc:
            if refusal(exc):
                raise
            return detail_page(page, source_id, error=page.message(exc), status=exc.status)
        return page.redirect(f"/sources/{source_id}", notice="source_file_uploaded")

    return await run_in_threadpool(store)
