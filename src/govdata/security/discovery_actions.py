"""Discovery scans and their suggestions: start a scan, read its findings, accept or dismiss.

A scan names one target — a catalog entry (its data, through its mount), a lake table, or a
table of a registered source — and runs as a job (``security.discovery_scan``, see
``discovery_jobs.py``) that samples the data, stores per column the kind of personal data
found, its hit rate and masked examples, and compares that with the catalog: a column that
holds an item suggests the item's sensitivity (``is_sensitive``), mask kind and grade, and
the scan suggests the entry's grade (就高定级) when its findings call for a higher one.

Who: the provider department's officers (``data.preview`` over the department: a scan reads
its rows) start scans and read them; the security administrator reads every scan (findings
and masked examples only). Accepting or dismissing needs ``catalog.edit`` over the
department. Accepting never bypasses the catalog's review: the changes are written through
the catalog's own actions into the version under work — a new draft version when the entry
is published — which the officer then submits for review as any other change. A mask kind
accepted applies to grants made from then on (``classification.default_masks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import actions as catalog_actions
from govdata.catalog.models import CatalogEntry, EntryItem, EntryVersion
from govdata.catalog.schemas import EntryUpdate, NewVersion, VersionOut
from govdata.catalog.vocab import VersionStatus
from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.jobs import queue as jobqueue
from govdata.core.jobs.models import Job
from govdata.core.pagination import paginate
from govdata.exchange.models import Mount
from govdata.exchange.vocab import TargetKind
from govdata.identity import queries as org
from govdata.lake.tables import Lake
from govdata.security import classification
from govdata.security.classification_models import DiscoveryColumn, DiscoveryScan
from govdata.security.classification_schemas import (
    ColumnFindingOut,
    DecisionOut,
    ScanCreate,
    ScanOut,
    ScanPage,
    ScanStatus,
    ScanTarget,
    SuggestionDecision,
    SuggestionState,
)
from govdata.security.context import ActionContext
from govdata.security.discovery import ColumnFinding, rule_of
from govdata.security.permissions import Perm, Scope
from govdata.security.scopes import scope_clause
from govdata.sources.registry import source_facts

JOB_KIND = "security.discovery_scan"


def scan_not_found(scan_id: str) -> NotFound:
    return NotFound(
        "扫描任务不存在",
        "Discovery scan not found",
        code="discovery_scan_not_found",
        details={"scan_id": scan_id},
    )


def _invalid(
    zh: str, en: str, code: str = "discovery_target_invalid", **details: Any
) -> InvalidInput:
    return InvalidInput(zh, en, code=code, details=details)


# -- what a scan reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: ScanTarget
    department_id: str
    region_path: str
    entry_id: str | None
    source_id: str | None
    table_name: str | None


def _entry(s: Session, ref: str) -> CatalogEntry | None:
    return s.scalars(
        select(CatalogEntry).where((CatalogEntry.id == ref) | (CatalogEntry.resource_code == ref))
    ).one_or_none()


def _mount_of(s: Session, entry_id: str) -> Mount | None:
    return s.scalars(select(Mount).where(Mount.entry_id == entry_id)).one_or_none()


def _department_target(s: Session, department_id: str) -> tuple[str, str]:
    dept = org.department_by_id(s, department_id)
    if dept is None:
        raise _invalid("数据所属部门不存在", "The data's department does not exist")
    return dept.id, dept.region_path


def _resolve(ctx: ActionContext, data: ScanCreate) -> Target:
    s = ctx.session
    if data.entry is not None:
        entry = _entry(s, data.entry)
        mount = _mount_of(s, entry.id) if entry is not None else None
        if entry is None or mount is None:
            raise _invalid(
                "目录不存在或尚未挂载数据",
                "The entry does not exist or has no data mounted",
                entry=data.entry,
            )
        dept, region = _department_target(s, entry.provider_department_id)
        table = mount.lake_table if mount.lake_table and mount.mode == "physical" else mount.target
        return Target(ScanTarget.ENTRY, dept, region, entry.id, mount.source_id, table)
    if data.lake_table is not None:
        mount = s.scalars(select(Mount).where(Mount.lake_table == data.lake_table)).one_or_none()
        lake = Lake.from_settings(ctx.settings)
        if mount is None or not lake.exists(data.lake_table):
            raise _invalid(
                "湖表不存在或不属于任何目录的挂载",
                "The lake table does not exist or belongs to no entry's mount",
                lake_table=data.lake_table,
            )
        dept, region = _department_target(s, mount.department_id)
        return Target(ScanTarget.LAKE, dept, region, mount.entry_id, None, data.lake_table)
    assert data.source_id is not None and data.table is not None
    facts = source_facts(s, data.source_id)
    if facts is None:
        raise _invalid("数据源不存在", "Source not found", source_id=data.source_id)
    dept, region = _department_target(s, facts.department_id)
    mount = s.scalars(
        select(Mount).where(
            Mount.source_id == facts.id,
            Mount.target == data.table,
            Mount.target_kind == TargetKind.TABLE.value,
        )
    ).first()
    entry_id = mount.entry_id if mount is not None else None
    return Target(ScanTarget.SOURCE, dept, region, entry_id, facts.id, data.table)


def start_scan(ctx: ActionContext, data: ScanCreate) -> ScanOut:
    """Queue a discovery scan of an entry's data, a lake table or a source table.

    Needs ``data.preview`` over the department whose data it is (the scan reads a sample of
    its rows). The scan runs as a job; its progress is the job's, its findings are stored on
    the scan. Errors: 422 ``discovery_target_invalid`` (unknown or unmounted target).
    Audited (``security.discovery.start``).
    """
    ctx.require(Perm.DATA_PREVIEW)
    target = _resolve(ctx, data)
    scope = Scope(region_path=target.region_path, department_id=target.department_id)
    ctx.require(Perm.DATA_PREVIEW, scope, target_id=target.entry_id or target.source_id)
    s = ctx.session
    scan = DiscoveryScan(
        target_kind=target.kind.value,
        entry_id=target.entry_id,
        source_id=target.source_id,
        table_name=target.table_name,
        department_id=target.department_id,
        region_path=target.region_path,
        sample_rows=data.sample_rows,
        rows_sampled=0,
        status=ScanStatus.QUEUED.value,
        created_by=ctx.actor.id if ctx.actor.kind == "user" else None,
        created_by_name=ctx.actor.name,
    )
    s.add(scan)
    s.flush()
    job, _created = jobqueue.enqueue(
        s,
        JOB_KIND,
        {"scan_id": scan.id},
        max_attempts=ctx.settings.job_max_attempts,
        idempotency_key=f"discovery-scan:{scan.id}",
        created_by=ctx.actor.id,
    )
    scan.job_id = job.id
    s.flush()
    ctx.audit(
        "security.discovery.start",
        target_type="discovery_scan",
        target_id=scan.id,
        details={
            "target": target.kind.value,
            "entry_id": target.entry_id,
            "source_id": target.source_id,
            "table": target.table_name,
            "sample_rows": data.sample_rows,
        },
    )
    return scan_out(s, scan)


# -- reading scans --------------------------------------------------------------------------


def scan_out(s: Session, scan: DiscoveryScan) -> ScanOut:
    entry = s.get(CatalogEntry, scan.entry_id) if scan.entry_id else None
    job = s.get(Job, scan.job_id) if scan.job_id else None
    return ScanOut(
        id=scan.id,
        target_kind=scan.target_kind,
        entry_id=scan.entry_id,
        resource_code=entry.resource_code if entry else None,
        entry_name=entry.name if entry else None,
        source_id=scan.source_id,
        table_name=scan.table_name,
        department_id=scan.department_id,
        sample_rows=scan.sample_rows,
        rows_sampled=scan.rows_sampled,
        status=scan.status,
        job_id=scan.job_id,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
        error_code=scan.error_code,
        error_message=scan.error_message,
        entry_grade=scan.entry_grade,
        suggested_grade=scan.suggested_grade,
        grade_state=scan.grade_state,
        created_by_name=scan.created_by_name,
        created_at=scan.created_at,
        progress_done=job.progress_done if job else 0,
        progress_total=job.progress_total if job else None,
        progress_message=job.progress_message if job else None,
        columns=[ColumnFindingOut.model_validate(c) for c in scan.columns],
    )


def _scope(scan: DiscoveryScan) -> Scope:
    return Scope(region_path=scan.region_path, department_id=scan.department_id)


def _can_read(ctx: ActionContext, scan: DiscoveryScan) -> bool:
    return ctx.actor.can(Perm.SECURITY_MANAGE) or ctx.actor.can(Perm.DATA_PREVIEW, _scope(scan))


def _require_reader(ctx: ActionContext) -> None:
    if not ctx.actor.can(Perm.SECURITY_MANAGE):
        ctx.require(Perm.DATA_PREVIEW)


def load_scan(ctx: ActionContext, scan_id: str) -> DiscoveryScan:
    """The scan if the actor may read it; 404 otherwise."""
    _require_reader(ctx)
    scan = ctx.session.get(DiscoveryScan, scan_id)
    if scan is None or not _can_read(ctx, scan):
        raise scan_not_found(scan_id)
    return scan


def get_scan(ctx: ActionContext, scan_id: str) -> ScanOut:
    """One scan: its state and, once finished, its findings and suggestions per column.
    Officers of the department (``data.preview``) and the security administrator."""
    return scan_out(ctx.session, load_scan(ctx, scan_id))


def list_scans(
    ctx: ActionContext, *, entry: str | None = None, limit: int = 50, cursor: str | None = None
) -> ScanPage:
    """Scans the actor may read, newest first; ``entry`` (id or resource code) narrows them."""
    _require_reader(ctx)
    stmt = select(DiscoveryScan)
    if not ctx.actor.can(Perm.SECURITY_MANAGE):
        stmt = stmt.where(
            scope_clause(
                ctx.actor, Perm.DATA_PREVIEW, DiscoveryScan.department_id, DiscoveryScan.region_path
            )
        )
    if entry:
        found = _entry(ctx.session, entry)
        stmt = stmt.where(DiscoveryScan.entry_id == (found.id if found else ""))
    page = paginate(
        ctx.session,
        stmt,
        [DiscoveryScan.created_at, DiscoveryScan.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return ScanPage(
        items=[scan_out(ctx.session, scan) for scan in page.items], next_cursor=page.next_cursor
    )


# -- suggestions from findings ----------------------------------------------------------------


def current_items(s: Session, entry_id: str) -> list[EntryItem]:
    """The entry's items where a change would go: the version under work, else the
    published one."""
    entry = s.get(CatalogEntry, entry_id)
    if entry is None:
        return []
    version_id = entry.working_version_id or entry.published_version_id
    version = s.get(EntryVersion, version_id) if version_id else None
    return list(version.items) if version else []


def record_findings(
    s: Session, scan: DiscoveryScan, findings: list[ColumnFinding], items_by_column: dict[str, str]
) -> None:
    """Store the findings on the scan with a suggestion per column, and the entry grade."""
    items = {i.name: i for i in current_items(s, scan.entry_id)} if scan.entry_id else {}
    accepted = classification.accepted_masks(s, scan.entry_id) if scan.entry_id else {}
    suggested_grade: int | None = None
    for position, finding in enumerate(findings, start=1):
        item_name = items_by_column.get(finding.column)
        column = DiscoveryColumn(
            position=position,
            column=finding.column,
            item=item_name,
            non_empty=finding.non_empty,
            kind=finding.kind.value if finding.kind else None,
            hits=finding.hits,
            hit_rate=round(finding.hit_rate, 4),
            counts=dict(finding.counts),
            examples=list(finding.examples),
            state=SuggestionState.NONE.value,
        )
        rule = rule_of(column.kind) if finding.suggests else None
        if rule is not None:
            column.suggest_sensitive = rule.sensitive
            column.suggest_mask = rule.mask.value if rule.mask else None
            column.suggest_grade = rule.grade
            suggested_grade = max(suggested_grade or 1, rule.grade)
            item = items.get(item_name or "")
            if item is not None:
                mask = classification.mask_kind(item, accepted)
                differs = (
                    (rule.sensitive and not item.is_sensitive)
                    or rule.grade > item.grade
                    or (rule.mask is not None and mask != rule.mask)
                )
                if differs:
                    column.state = SuggestionState.PENDING.value
        scan.columns.append(column)
    entry = s.get(CatalogEntry, scan.entry_id) if scan.entry_id else None
    scan.entry_grade = entry.grade if entry else None
    scan.suggested_grade = suggested_grade
    if entry is not None and suggested_grade is not None and suggested_grade > entry.grade:
        scan.grade_state = SuggestionState.PENDING.value
    else:
        scan.grade_state = SuggestionState.NONE.value if entry is not None else None


# -- deciding suggestions ---------------------------------------------------------------------


def _decidable(
    ctx: ActionContext, scan_id: str, data: SuggestionDecision
) -> tuple[DiscoveryScan, list[DiscoveryColumn]]:
    scan = load_scan(ctx, scan_id)
    ctx.require(Perm.CATALOG_EDIT, _scope(scan), target_id=scan.id)
    if scan.status != ScanStatus.SUCCEEDED or scan.entry_id is None:
        raise Conflict(
            "该扫描没有可处理的建议",
            "The scan has no suggestions to decide",
            code="discovery_nothing_to_decide",
            details={"status": scan.status},
        )
    by_id = {c.id: c for c in scan.columns}
    chosen = [by_id[c] for c in dict.fromkeys(data.columns) if c in by_id]
    bad = [c for c in data.columns if c not in by_id or by_id[c].state != SuggestionState.PENDING]
    if bad or (data.grade and scan.grade_state != SuggestionState.PENDING):
        raise _invalid(
            "只能处理待处理的建议",
            "Only pending suggestions can be decided",
            code="discovery_suggestion_invalid",
            columns=bad,
            grade=data.grade,
        )
    if not chosen and not data.grade:
        raise _invalid(
            "请选择要处理的建议",
            "Choose at least one suggestion",
            code="discovery_suggestion_invalid",
        )
    return scan, chosen


def _mark(ctx: ActionContext, columns: list[DiscoveryColumn], state: SuggestionState) -> None:
    at = now()
    for column in columns:
        column.state = state.value
        column.decided_by = ctx.actor.name
        column.decided_at = at


def _mark_grade(ctx: ActionContext, scan: DiscoveryScan, state: SuggestionState) -> None:
    scan.grade_state = state.value
    scan.grade_decided_by = ctx.actor.name
    scan.grade_decided_at = now()


def _draft(ctx: ActionContext, entry_id: str, note: str) -> VersionOut:
    """The entry's version under work, opened as a new draft when the entry is published.
    A version already submitted for review cannot change (409 ``entry_under_review``)."""
    entry = catalog_actions.get_entry(ctx, entry_id)
    working = entry.working
    if working is None:
        entry = catalog_actions.new_version(ctx, entry_id, NewVersion(change_note=note))
        working = entry.working
    assert working is not None
    if working.status not in (VersionStatus.DRAFT, VersionStatus.RETURNED):
        raise Conflict(
            "目录的新版本正在审核，请审核结束后再采纳建议",
            "A version of the entry is under review; accept the suggestions after the review",
            code="entry_under_review",
            details={"version_no": working.version_no},
        )
    return working


def _update(
    version: VersionOut, columns: list[DiscoveryColumn], grade: int | None, note: str
) -> EntryUpdate | None:
    """The version's content with the accepted suggestions applied; None if nothing changes."""
    content = version.model_dump()
    changed = False
    items = content["items"]
    by_name = {i["name"]: i for i in items}
    for column in columns:
        item = by_name.get(column.item or "")
        if item is None:
            continue
        if column.suggest_sensitive and not item["is_sensitive"]:
            item["is_sensitive"] = True
            changed = True
        if column.suggest_grade and column.suggest_grade > item["grade"]:
            item["grade"] = column.suggest_grade
            changed = True
    # An item may not be graded above its entry: raise the entry with it (就高定级).
    needed = max([content["grade"], grade or 1, *(i["grade"] for i in items)])
    if needed > content["grade"]:
        content["grade"] = needed
        changed = True
    if not changed:
        return None
    fields = set(EntryUpdate.model_fields) - {"classification_code", "change_note", "items"}
    data = {k: content[k] for k in fields}
    data["items"] = [{k: v for k, v in i.items() if k not in ("position",)} for i in items]
    data["change_note"] = "\n".join(filter(None, [version.change_note, note]))
    return EntryUpdate.model_validate(data)


def accept_suggestions(ctx: ActionContext, scan_id: str, data: SuggestionDecision) -> DecisionOut:
    """Accept suggestions of a finished entry scan (columns by id, and/or the entry grade).

    The items' sensitivity and grade and the entry's grade are written through the catalog's
    actions into the version under work (a new draft version of a published entry), never
    into a published version: the officer submits it for review as usual. Accepted mask
    kinds apply to grants made from now on. Needs ``catalog.edit`` over the department.
    Errors: 422 ``discovery_suggestion_invalid``; 409 ``entry_under_review``,
    ``discovery_nothing_to_decide``. Audited (``security.discovery.accept``).
    """
    scan, chosen = _decidable(ctx, scan_id, data)
    assert scan.entry_id is not None
    labels = sorted({c.item or c.column for c in chosen})
    note = f"采纳敏感数据识别建议（扫描 {scan.id[-8:]}）：" + "、".join(labels or ["资源分级"])
    grade = scan.suggested_grade if data.grade else None
    version_no: int | None = None
    needs_change = _update(_current_version(ctx, scan.entry_id), chosen, grade, note)
    if needs_change is not None:
        working = _draft(ctx, scan.entry_id, note)
        update = _update(working, chosen, grade, note)
        if update is not None:
            catalog_actions.update_entry(ctx, scan.entry_id, update)
        version_no = working.version_no
    _mark(ctx, chosen, SuggestionState.ACCEPTED)
    if data.grade:
        _mark_grade(ctx, scan, SuggestionState.ACCEPTED)
    ctx.audit(
        "security.discovery.accept",
        target_type="discovery_scan",
        target_id=scan.id,
        fields=[c.item for c in chosen if c.item],
        details={
            "entry_id": scan.entry_id,
            "columns": [c.column for c in chosen],
            "grade": grade,
            "version_no": version_no,
            "note": data.note,
        },
    )
    ctx.session.flush()
    return DecisionOut(scan=scan_out(ctx.session, scan), version_no=version_no)


def _current_version(ctx: ActionContext, entry_id: str) -> VersionOut:
    entry = catalog_actions.get_entry(ctx, entry_id)
    return entry.working or entry.current


def dismiss_suggestions(ctx: ActionContext, scan_id: str, data: SuggestionDecision) -> DecisionOut:
    """Dismiss suggestions of a finished entry scan; the catalog does not change. Needs
    ``catalog.edit`` over the department. Audited (``security.discovery.dismiss``)."""
    scan, chosen = _decidable(ctx, scan_id, data)
    _mark(ctx, chosen, SuggestionState.DISMISSED)
    if data.grade:
        _mark_grade(ctx, scan, SuggestionState.DISMISSED)
    ctx.audit(
        "security.discovery.dismiss",
        target_type="discovery_scan",
        target_id=scan.id,
        fields=[c.item for c in chosen if c.item],
        details={"columns": [c.column for c in chosen], "grade": data.grade, "note": data.note},
    )
    ctx.session.flush()
    return DecisionOut(scan=scan_out(ctx.session, scan))
