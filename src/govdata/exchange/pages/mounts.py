"""Mount pages: the list, "mount data" from a catalog entry with its mapping editor, one mount.

The editor shows one row per entry item with a select of the source's columns, pre-filled
from ``mounts.propose``; the type and field of a row belong to the column they were
worked out for (``for-N``), so choosing another column works them out again. Checks and
the save itself are ``mounts.create_mount``'s: its issues are shown on their rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any
from urllib.parse import urlencode

from fastapi import Response

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryOut, ItemOut
from govdata.core.errors import GovDataError, InvalidInput
from govdata.exchange import logical, mapping, mounts, pipelines
from govdata.exchange.pages.common import PAGE_SIZE, PREVIEW_ROWS, context, department_can, refusal
from govdata.exchange.schemas import (
    IssueOut,
    MappingColumn,
    MountCreate,
    MountOut,
    ProposalOut,
    ProposeIn,
    SourceColumnOut,
)
from govdata.exchange.vocab import MountMode, TargetKind
from govdata.security.permissions import Perm
from govdata.sources import actions as source_actions
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

FORM_LABELS = {
    "source_id": N_("Source system"),
    "target_kind": N_("What to mount"),
    "target": N_("Table, query, file or API"),
    "mode": N_("Mode"),
    "entry_id": N_("Catalog entry"),
    "columns": N_("Mapping"),
    "key_columns": N_("Key columns"),
    "watermark_column": N_("Watermark column"),
    "row_cap": N_("Row cap"),
    "timeout_seconds": N_("Timeout (seconds)"),
}


@dataclass
class Row:
    """One row of the mapping editor."""

    item: ItemOut | None
    column: str = ""
    field: str = ""
    type: str = ""
    is_key: bool = False
    issues: list[IssueOut] = dc_field(default_factory=list)


@dataclass
class Editor:
    entry: EntryOut
    values: dict[str, str]
    proposal: ProposalOut | None = None
    rows: list[Row] = dc_field(default_factory=list)
    general: list[IssueOut] = dc_field(default_factory=list)


# -- list -----------------------------------------------------------------------------------


@router.get("/exchange/mounts")
def mounts_page(page: UserPage, mode: str = "", cursor: str = "") -> Response:
    mode_value = mode if mode in MountMode.__members__.values() else ""
    with page.act() as ctx:
        result = mounts.list_mounts(
            ctx,
            mode=MountMode(mode_value) if mode_value else None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    return page.render(
        "exchange/mounts.html",
        result=result,
        filter_mode=mode_value,
        base_query=urlencode({"mode": mode_value}) if mode_value else "",
        cursor=cursor,
        **context(page),
    )


# -- mount data -----------------------------------------------------------------------------


def _entry(page: Page, ref: str) -> EntryOut:
    with page.act() as ctx:
        return catalog_actions.get_entry(ctx, ref)


def _sources(page: Page, entry: EntryOut) -> list[Any]:
    """The provider department's sources: a mount reads only its own department's systems."""
    with page.act() as ctx:
        found = source_actions.list_sources(ctx, department_id=entry.provider.id, limit=200)
    return found.items


def _render(page: Page, editor: Editor, *, error: str | None = None, status: int = 200) -> Response:
    return page.render(
        "exchange/mount_new.html",
        status=status,
        editor=editor,
        entry=editor.entry,
        values=editor.values,
        sources=_sources(page, editor.entry),
        error=error,
        target_kinds=[(k.value, k) for k in TargetKind],
        **context(page),
    )


@router.get("/exchange/mounts/new")
def new_mount(page: UserPage, entry: str) -> Response:
    found = _entry(page, entry)
    with page.act() as ctx:
        # Only the provider department's officers (and operators) mount its entries.
        ctx.require(Perm.EXCHANGE_MANAGE, mounts.department_scope(ctx.session, found.provider.id))
    values = {"target_kind": "table", "mode": "physical", "row_cap": "10000", "timeout": "30"}
    return _render(page, Editor(found, values))


def _source_column(proposal: ProposalOut, name: str) -> SourceColumnOut | None:
    return next((c for c in proposal.source_columns if c.name == name), None)


def _worked_out(item: ItemOut | None, col: SourceColumnOut, taken: set[str]) -> tuple[str, str]:
    """The field and type a column gets for an item, as the proposal would work them out."""
    source = mapping.parse_type(col.arrow_type)
    t = (mapping.target_type(item.data_type, source) if item else None) or mapping.lake_type(source)
    name = mapping.field_name(item, col.name)
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name[:60]}_{n}", n + 1
    return candidate, mapping.type_string(t)


def _proposed_rows(entry: EntryOut, proposal: ProposalOut) -> list[Row]:
    by_item = {c.item: c for c in proposal.columns if c.item}
    keys = set(proposal.key_columns)
    rows = []
    for item in entry.current.items:
        c = by_item.get(item.name)
        if c is None:
            rows.append(Row(item))
        else:
            rows.append(Row(item, c.column, c.field, c.type, c.field in keys))
    for c in proposal.columns:
        if not c.item:
            rows.append(Row(None, c.column, c.field, c.type, c.field in keys))
    return rows


def _posted_rows(page: Page, entry: EntryOut, proposal: ProposalOut) -> list[Row]:
    """The rows as submitted; a row whose column changed gets its field and type afresh."""
    items = {i.name: i for i in entry.current.items}
    rows: list[Row] = []
    taken: set[str] = set()
    count = int(page.field("rows") or 0)
    for n in range(min(count, 1000)):
        name = page.field(f"item-{n}")
        item = items.get(name) if name else None
        if name and item is None:
            continue
        column = page.field(f"column-{n}")
        row = Row(item, column, is_key=page.field(f"key-{n}") == "1")
        if column:
            col = _source_column(proposal, column)
            if page.field(f"for-{n}") == column and page.field(f"field-{n}"):
                row.field, row.type = page.field(f"field-{n}"), page.field(f"type-{n}")
            elif col is not None:
                row.field, row.type = _worked_out(item, col, taken)
            taken.add(row.field)
        rows.append(row)
    return rows


def _flag(editor: Editor, issues: list[IssueOut]) -> None:
    """Put each issue on the row of its item or column; the rest above the table."""
    for issue in issues:
        row = next(
            (
                r
                for r in editor.rows
                if (issue.item and r.item and r.item.name == issue.item)
                or (issue.column and not issue.item and r.column == issue.column)
            ),
            None,
        )
        if row is None:
            editor.general.append(issue)
        else:
            row.issues.append(issue)


def _propose(page: Page, entry: EntryOut) -> ProposalOut:
    data = parse(
        ProposeIn,
        {
            "entry_id": entry.id,
            "source_id": page.field("source_id"),
            "target_kind": page.field("target_kind") or "table",
            "target": page.field("target"),
        },
        FORM_LABELS,
    )
    with page.act() as ctx:
        return mounts.propose(ctx, data)


def _values(page: Page) -> dict[str, str]:
    assert page.form is not None
    names = ("source_id", "target_kind", "target", "mode", "watermark_column", "row_cap", "timeout")
    return {n: page.field(n) for n in names}


@router.post("/exchange/mounts/new")
def mount_step(page: UserForm, entry: str) -> Response:
    """``step=propose`` (or a changed source/target) fills the editor; ``step=save`` mounts."""
    found = _entry(page, entry)
    editor = Editor(found, _values(page))
    try:
        editor.proposal = _propose(page, found)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _render(page, editor, error=page.message(exc), status=exc.status)
    fresh = page.field("step") != "save" or page.field("proposed_for") != _target_key(page)
    if fresh:
        editor.rows = _proposed_rows(found, editor.proposal)
        _flag(editor, editor.proposal.issues)
        return _render(page, editor)
    editor.rows = _posted_rows(page, found, editor.proposal)
    try:
        out = _create(page, found, editor)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        issues = []
        if isinstance(exc.details, dict):
            issues = [IssueOut(**i) for i in exc.details.get("issues", []) if isinstance(i, dict)]
        _flag(editor, issues)
        return _render(page, editor, error=page.message(exc), status=exc.status)
    return page.redirect(f"/exchange/mounts/{out.id}", notice="mount_created")


def _target_key(page: Page) -> str:
    return "|".join((page.field("source_id"), page.field("target_kind"), page.field("target")))


def _create(page: Page, entry: EntryOut, editor: Editor) -> MountOut:
    mapped = [r for r in editor.rows if r.column]
    if not mapped:
        raise InvalidInput(
            "请至少为一个信息项选择源字段",
            "Choose a source column for at least one item",
            code="mount_mapping_empty",
        )
    columns = [
        MappingColumn(
            item=r.item.name if r.item else None, column=r.column, field=r.field, type=r.type
        )
        for r in mapped
    ]
    data = parse(
        MountCreate,
        {
            "entry_id": entry.id,
            "source_id": page.field("source_id"),
            "target_kind": page.field("target_kind") or "table",
            "target": page.field("target"),
            "mode": page.field("mode"),
            "columns": [c.model_dump() for c in columns],
            "key_columns": [r.field for r in mapped if r.is_key],
            "watermark_column": page.field("watermark_column") or None,
            "row_cap": page.field("row_cap") or 10_000,
            "timeout_seconds": page.field("timeout") or 30,
        },
        FORM_LABELS,
    )
    with page.act() as ctx:
        return mounts.create_mount(ctx, data)


@router.get("/exchange/mounts/targets")
def mount_targets(page: UserPage, source_id: str = "") -> Response:
    """The discovered tables of a source, as the target field's suggestions (htmx)."""
    names: list[str] = []
    if source_id:
        try:
            with page.act() as ctx:
                names = [
                    t.qualified_name for t in source_actions.discover_source(ctx, source_id).tables
                ]
        except GovDataError as exc:
            # An unreachable source offers no suggestions; proposing the mapping says why.
            if exc.status in (401, 403):
                raise
    return page.render("exchange/_targets.html", names=names)


# -- one mount ------------------------------------------------------------------------------


def mount_detail(
    page: Page, mount_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    with page.act() as ctx:
        mount = mounts.get_mount(ctx, mount_id)
        flows = pipelines.list_pipelines(ctx, mount_id=mount.id, limit=100)
    return page.render(
        "exchange/mount.html",
        status=status,
        mount=mount,
        pipelines=flows.items,
        manage=department_can(page, Perm.EXCHANGE_MANAGE, mount.department_id),
        preview=department_can(page, Perm.DATA_PREVIEW, mount.department_id),
        error=error,
        **context(page),
    )


@router.get("/exchange/mounts/{mount_id}")
def mount_page(page: UserPage, mount_id: str) -> Response:
    return mount_detail(page, mount_id)


@router.get("/exchange/mounts/{mount_id}/rows")
def mount_rows(page: UserPage, mount_id: str) -> Response:
    """Rows read through the mount (the source for logical, the lake for physical); audited."""
    error = None
    rows = None
    try:
        with page.act() as ctx:
            rows = logical.rows_out(logical.read_mount(ctx, mount_id, limit=PREVIEW_ROWS))
    except GovDataError as exc:
        if refusal(exc):
            raise
        error = page.message(exc)
    return page.render("exchange/_rows.html", rows=rows, error=error)


@router.post("/exchange/mounts/{mount_id}/delete")
def delete_mount(page: UserForm, mount_id: str) -> Response:
    try:
        with page.act() as ctx:
            mounts.delete_mount(ctx, mount_id)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return mount_detail(page, mount_id, error=page.message(exc), status=exc.status)
    return page.redirect("/exchange/mounts", notice="mount_deleted")
