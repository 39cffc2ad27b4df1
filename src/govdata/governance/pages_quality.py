"""Portal pages of data quality (数据质量): the dashboard of scores by department and region,
an entry's rules (suggest, add, edit, switch on and off, delete, run now) with its trend and
runs, and one run's results with the failing samples.

Thin shells over ``quality_rules`` and ``quality_runs``; the forms turn their fields into
``RuleIn`` / ``RuleUpdate`` and every refusal and invalid rule comes back as the action's own
message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import fmean
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Response

from govdata.catalog.access import entry_scope
from govdata.core import i18n
from govdata.core.errors import GovDataError, InvalidInput
from govdata.core.jobs import actions as jobs
from govdata.core.jobs.models import FINISHED
from govdata.core.jobs.schemas import JobOut
from govdata.governance import quality_rules, quality_runs
from govdata.governance.quality_schemas import (
    DIMENSION_LABELS,
    KIND_LABELS,
    TABLE_KINDS,
    Dimension,
    RuleIn,
    RuleKind,
    RuleOut,
    RuleUpdate,
    ScoreRow,
)
from govdata.governance.vocab import label
from govdata.identity import queries as org
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_, when

router = PortalRouter()

PAGE_SIZE = 20
POLL_SECONDS = 1
RUN_STATUSES = ("succeeded", "failed")
# Departments drawn on the dashboard's radar next to the overall figure.
RADAR_SERIES = 5

TRIGGER_LABELS = {
    "manual": N_("Run by hand"),
    "schedule": N_("Scheduled"),
    "collection": N_("After collection"),
    "cli": N_("Command line"),
    "recheck": N_("Re-check"),
    "demo": N_("Demo"),
}
RULE_LABELS = {
    "kind": N_("Rule kind"),
    "item": N_("Item"),
    "params": N_("Parameters"),
    "dimension": N_("Dimension"),
    "severity": N_("Severity"),
    "name": N_("Rule name"),
    "enabled": N_("Enabled"),
}
DONE = {
    "created": N_("Rule added."),
    "updated": N_("Rule saved."),
    "enabled": N_("Rule switched on."),
    "disabled": N_("Rule switched off."),
    "deleted": N_("Rule deleted."),
    "applied": N_("Suggested rules added."),
    "queued": N_("Quality run queued: its progress shows below."),
}


@dataclass(frozen=True)
class Param:
    """One parameter field of a rule kind: the form field is ``{kind}.{key}``."""

    key: str
    type: str  # text | int | number | list | textarea
    label: str
    hint: str = ""


PARAMS: dict[RuleKind, tuple[Param, ...]] = {
    RuleKind.PATTERN: (
        Param("regex", "text", N_("Regular expression"), N_("The whole value must match.")),
    ),
    RuleKind.LENGTH: (
        Param("min", "int", N_("Minimum length")),
        Param("max", "int", N_("Maximum length")),
    ),
    RuleKind.RANGE: (Param("min", "number", N_("Minimum")), Param("max", "number", N_("Maximum"))),
    RuleKind.ALLOWED: (
        Param("values", "list", N_("Allowed values"), N_("One per line, or separated by commas.")),
    ),
    RuleKind.DATE_VALID: (
        Param("format", "text", N_("Date format"), N_("Empty: year-month-day, as in 2024-01-31.")),
        Param("min", "text", N_("Earliest date"), N_("YYYY-MM-DD; empty: no bound.")),
        Param("max", "text", N_("Latest date"), N_("YYYY-MM-DD or today; empty: no bound.")),
    ),
    RuleKind.CUSTOM: (
        Param(
            "predicate",
            "textarea",
            N_("Condition"),
            N_("A SQL condition over the entry's fields that good rows satisfy, e.g. age >= 0."),
        ),
    ),
    RuleKind.REFERENTIAL: (
        Param("entry", "text", N_("Referenced entry (resource code)")),
        Param("item", "text", N_("Its item that must hold the value")),
    ),
    RuleKind.CROSS_SOURCE: (
        Param("entry", "text", N_("Compared entry (resource code)")),
        Param("key", "text", N_("This entry's key item")),
        Param("other_key", "text", N_("The compared entry's key item")),
        Param("other_item", "text", N_("The compared entry's item")),
    ),
    RuleKind.FRESHNESS: (
        Param(
            "max_age_hours",
            "number",
            N_("Longest interval (hours)"),
            N_("Empty: from the entry's update cycle."),
        ),
    ),
    RuleKind.ROW_COUNT: (
        Param(
            "max_change",
            "number",
            N_("Largest change"),
            N_("A fraction of the last count: 0.5 allows a change of up to half."),
        ),
    ),
}
_LIST_SPLIT = re.compile(r"[\n\r,，、;；]+")


def _tr(page: Page, message: str) -> str:
    return i18n.translations(page.locale).gettext(message)


def _done(page: Page) -> str | None:
    message = DONE.get(page.request.query_params.get("done", ""))
    return _tr(page, message) if message else None


def _bad_param(page_label: str, kind: RuleKind, key: str) -> InvalidInput:
    zh = i18n.translations("zh_CN").gettext(page_label)
    return InvalidInput(
        f"参数“{zh}”须为数字",
        f"The parameter “{page_label}” must be a number",
        code="quality_param_invalid",
        details={"kind": kind.value, "param": key},
    )


def _number(raw: str, p: Param, kind: RuleKind) -> int | float:
    try:
        if p.type == "int":
            return int(raw)
        value = float(raw)
    except ValueError:
        raise _bad_param(p.label, kind, p.key) from None
    return int(value) if value.is_integer() and "." not in raw else value


def params_from(page: Page, kind: RuleKind) -> dict[str, Any]:
    """The chosen kind's parameter fields as the rule's ``params``; empty fields are left out."""
    out: dict[str, Any] = {}
    for p in PARAMS.get(kind, ()):
        raw = page.field(f"{kind.value}.{p.key}")
        if not raw:
            continue
        if p.type in ("int", "number"):
            out[p.key] = _number(raw, p, kind)
        elif p.type == "list":
            out[p.key] = [v.strip() for v in _LIST_SPLIT.split(raw) if v.strip()]
        else:
            out[p.key] = raw
    return out


def _typed_params(page: Page) -> dict[str, str]:
    """Every parameter field as typed, to fill the form again after an error."""
    return {
        f"{kind.value}.{p.key}": page.field(f"{kind.value}.{p.key}")
        for kind, fields in PARAMS.items()
        for p in fields
    }


def _shown_params(rule: RuleOut) -> dict[str, str]:
    """A rule's parameters as the edit form shows them."""
    kind = RuleKind(rule.kind)
    out = {}
    for p in PARAMS.get(kind, ()):
        value = rule.params.get(p.key)
        if value is None:
            text = ""
        elif isinstance(value, list):
            text = "\n".join(str(v) for v in value)
        else:
            text = str(value)
        out[f"{kind.value}.{p.key}"] = text
    return out


def _kind(raw: str) -> RuleKind | None:
    return RuleKind(raw) if raw in RuleKind.__members__.values() else None


def _common(page: Page) -> dict[str, Any]:
    locale = page.locale
    return {
        "kinds": [(k.value, label(KIND_LABELS, k, locale)) for k in RuleKind],
        "kind_label": lambda k: label(KIND_LABELS, RuleKind(k), locale) if _kind(k) else k,
        "dimensions": [(d.value, label(DIMENSION_LABELS, d, locale)) for d in Dimension],
        "dim_label": lambda d: (
            label(DIMENSION_LABELS, Dimension(d), locale)
            if d in Dimension.__members__.values()
            else d
        ),
        "trigger_label": lambda t: _tr(page, TRIGGER_LABELS[t]) if t in TRIGGER_LABELS else t,
        "params_of": PARAMS,
        "table_kinds": sorted(k.value for k in TABLE_KINDS),
        "score_tone": score_tone,
        "pct": pct,
        "finished": FINISHED,
        "poll_seconds": POLL_SECONDS,
    }


def score_tone(score: float | None) -> str:
    if score is None:
        return "gray"
    if score >= 95:
        return "green"
    if score >= 80:
        return "blue"
    if score >= 60:
        return "amber"
    return "red"


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.2f}%"


def _chart(rows: list[ScoreRow]) -> dict[str, Any]:
    return {"labels": [r.name for r in rows], "values": [r.score or 0 for r in rows]}


def _radar(page: Page, entries: list[ScoreRow], departments: list[ScoreRow]) -> dict[str, Any]:
    """The six dimensions: the mean over the entries in scope, then the best departments.
    The chart draws only the dimensions some rule measured (no rule is not a score of 0)."""
    overall: dict[str, float | None] = {}
    for d in Dimension:
        values = [r.dimension_scores[d.value] for r in entries if d.value in r.dimension_scores]
        overall[d.value] = round(fmean(values), 2) if values else None
    drawn = [d for d in Dimension if overall[d.value] is not None]
    series = [
        {"name": _tr(page, N_("All entries in scope")), "values": [overall[d.value] for d in drawn]}
    ]
    for row in departments[:RADAR_SERIES]:
        series.append(
            {"name": row.name, "values": [row.dimension_scores.get(d.value) for d in drawn]}
        )
    return {
        "indicators": [label(DIMENSION_LABELS, d, page.locale) for d in drawn],
        "series": series,
        "overall": overall,
    }


def _query(**params: str) -> str:
    return urlencode({k: v for k, v in params.items() if v})


# -- dashboard ----------------------------------------------------------------------------------


@router.get("/quality")
def dashboard(page: UserPage, status: str = "", cursor: str = "") -> Response:
    error = None
    chosen = status if status in RUN_STATUSES else ""
    with page.act() as ctx:
        by_department = quality_runs.scores(ctx, "department")
        by_region = quality_runs.scores(ctx, "region")
        by_entry = quality_runs.scores(ctx, "entry")
        try:
            runs = quality_runs.list_runs(
                ctx, status=chosen or None, limit=PAGE_SIZE, cursor=cursor or None
            )
        except GovDataError as exc:
            if exc.status in (401, 403):
                raise
            error = page.message(exc)
            runs = quality_runs.list_runs(ctx, status=chosen or None, limit=PAGE_SIZE)
            cursor = ""
        departments = org.department_names(ctx.session, {r.department_id for r in runs.items})
    return page.render(
        "governance/quality_dashboard.html",
        by_department=by_department,
        by_region=by_region,
        by_entry=by_entry,
        department_chart=_chart(by_department),
        region_chart=_chart(by_region),
        radar=_radar(page, by_entry, by_department),
        runs=runs,
        run_departments=departments,
        statuses=RUN_STATUSES,
        filter_status=chosen,
        cursor=cursor,
        base_query=_query(status=chosen),
        error=error,
        **_common(page),
    )


# -- an entry's rules ---------------------------------------------------------------------------


def _job(page: Page, job_id: str) -> JobOut | None:
    try:
        with page.act() as ctx:
            return jobs.get_job(ctx, job_id)
    except GovDataError:
        return None


def _entry_page(
    page: Page,
    entry_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
    edit_error: tuple[str, str] | None = None,
) -> Response:
    q = page.request.query_params
    cursor = q.get("cursor", "")
    chosen = q.get("status", "") if q.get("status", "") in RUN_STATUSES else ""
    with page.act() as ctx:
        row = quality_rules.load_entry(ctx, entry_id, Perm.QUALITY_READ)
        entry = {
            "id": row.id,
            "name": row.name,
            "resource_code": row.resource_code,
            "update_cycle": row.update_cycle,
            "department": org.department_names(ctx.session, {row.provider_department_id}).get(
                row.provider_department_id, ""
            ),
        }
        manage = ctx.actor.can(Perm.QUALITY_MANAGE, entry_scope(row))
        items = list(quality_rules.entry_fields(ctx.session, row).by_item)
        rules = quality_rules.list_rules(ctx, row.id)
        points = quality_runs.trend(ctx, row.id)
        suggestions = (
            quality_rules.suggest_rules(ctx, row.id) if q.get("suggest") and manage else None
        )
        try:
            runs = quality_runs.list_runs(
                ctx,
                entry_ref=row.id,
                status=chosen or None,
                limit=PAGE_SIZE,
                cursor=cursor or None,
            )
        except GovDataError as exc:
            if exc.status in (401, 403):
                raise
            runs = quality_runs.list_runs(ctx, entry_ref=row.id, limit=PAGE_SIZE)
            cursor = ""
    job = _job(page, q["job"]) if q.get("job") else None
    groups: dict[str, list[Any]] = {}
    for s in suggestions or []:
        if not s.exists:
            groups.setdefault(s.rule.kind.value, []).append(s)
    trend_chart = {
        "labels": [when(p.at) for p in points],
        "series": [
            {"name": _tr(page, N_("Score")), "values": [p.score for p in points]},
            *[
                {
                    "name": label(DIMENSION_LABELS, d, page.locale),
                    "values": [p.dimension_scores.get(d.value) for p in points],
                }
                for d in Dimension
                if any(d.value in p.dimension_scores for p in points)
            ],
        ],
    }
    return page.render(
        "governance/quality_entry.html",
        status=status,
        entry=entry,
        manage=manage,
        items=items,
        rules=rules,
        shown_params={r.id: _shown_params(r) for r in rules},
        points=points,
        trend_chart=trend_chart,
        suggestions=suggestions,
        suggestion_groups=groups,
        runs=runs,
        filter_status=chosen,
        statuses=RUN_STATUSES,
        cursor=cursor,
        base_query=_query(status=chosen),
        job=job,
        typed=typed or {},
        edit_error=edit_error,
        error=error,
        notice=_done(page),
        **_common(page),
    )


def _entry_url(entry_id: str, **query: str) -> str:
    url = f"/quality/entries/{quote(entry_id, safe='')}"
    return url + (f"?{_query(**query)}" if _query(**query) else "")


@router.get("/quality/entries/{entry_id}")
def entry_page(page: UserPage, entry_id: str) -> Response:
    return _entry_page(page, entry_id)


def _page_error(exc: GovDataError) -> bool:
    """Errors shown on the form; refusals and missing objects get the error page."""
    return exc.status not in (401, 403, 404)


@router.post("/quality/entries/{entry_id}/rules")
def create_rule(page: UserForm, entry_id: str) -> Response:
    raw_kind = page.field("kind")
    typed: dict[str, Any] = {
        "kind": raw_kind,
        "item": page.field("item"),
        "dimension": page.field("dimension"),
        "severity": page.field("severity"),
        "name": page.field("name"),
        **_typed_params(page),
    }
    try:
        kind = _kind(raw_kind)
        data = parse(
            RuleIn,
            {
                "kind": raw_kind,
                "item": (page.field("item") or None) if kind not in TABLE_KINDS else None,
                "params": params_from(page, kind) if kind else {},
                "dimension": page.field("dimension") or None,
                "severity": page.field("severity") or 3,
                "name": page.field("name") or None,
            },
            RULE_LABELS,
        )
        with page.act() as ctx:
            quality_rules.create_rule(ctx, entry_id, data)
    except GovDataError as exc:
        if not _page_error(exc):
            raise
        return _entry_page(page, entry_id, error=page.message(exc), status=exc.status, typed=typed)
    return page.redirect(_entry_url(entry_id, done="created"))


@router.post("/quality/entries/{entry_id}/suggestions/apply")
def apply_suggestions(page: UserForm, entry_id: str) -> Response:
    kinds = [k for k in page.fields("kind") if _kind(k)]
    if page.field("scope") == "selected" and not kinds:
        error = InvalidInput(
            "请至少勾选一类建议规则",
            "Select at least one kind of suggested rule",
            code="quality_nothing_selected",
        )
        return _entry_page(page, entry_id, error=page.message(error), status=422)
    try:
        with page.act() as ctx:
            quality_rules.apply_suggestions(ctx, entry_id, kinds or None)
    except GovDataError as exc:
        if not _page_error(exc):
            raise
        return _entry_page(page, entry_id, error=page.message(exc), status=exc.status)
    return page.redirect(_entry_url(entry_id, done="applied"))


@router.post("/quality/entries/{entry_id}/run")
def run_now(page: UserForm, entry_id: str) -> Response:
    try:
        with page.act() as ctx:
            started = quality_runs.start_run(ctx, entry_id)
    except GovDataError as exc:
        if not _page_error(exc):
            raise
        return _entry_page(page, entry_id, error=page.message(exc), status=exc.status)
    return page.redirect(_entry_url(entry_id, done="queued", job=started.job_id) + "#run-job")


@router.get("/quality/jobs/{job_id}")
def job_panel(page: UserPage, job_id: str) -> Response:
    """The run button's job: polled every second until it ends, then links to the run."""
    with page.act() as ctx:
        job = jobs.get_job(ctx, job_id)
    return page.render("governance/_quality_job.html", job=job, **_common(page))


def _rule_entry(page: Page) -> str:
    return page.field("entry")


@router.post("/quality/rules/{rule_id}/edit")
def edit_rule(page: UserForm, rule_id: str) -> Response:
    entry_id = _rule_entry(page)
    kind = _kind(page.field("kind"))
    try:
        fields: dict[str, Any] = {
            "dimension": page.field("dimension") or None,
            "severity": page.field("severity") or None,
            "name": page.field("name") or None,
        }
        if kind is not None and PARAMS.get(kind):
            fields["params"] = params_from(page, kind)
        data = parse(RuleUpdate, fields, RULE_LABELS)
        with page.act() as ctx:
            out = quality_rules.update_rule(ctx, rule_id, data)
    except GovDataError as exc:
        if not _page_error(exc) or not entry_id:
            raise
        return _entry_page(
            page,
            entry_id,
            error=page.message(exc),
            status=exc.status,
            edit_error=(rule_id, page.message(exc)),
        )
    return page.redirect(_entry_url(out.entry_id, done="updated") + f"#rule-{out.id}")


@router.post("/quality/rules/{rule_id}/toggle")
def toggle_rule(page: UserForm, rule_id: str) -> Response:
    enabled = page.field("enabled") == "1"
    with page.act() as ctx:
        out = quality_rules.update_rule(ctx, rule_id, RuleUpdate(enabled=enabled))
    done = "enabled" if enabled else "disabled"
    return page.redirect(_entry_url(out.entry_id, done=done) + f"#rule-{out.id}")


@router.post("/quality/rules/{rule_id}/delete")
def delete_rule(page: UserForm, rule_id: str) -> Response:
    entry_id = _rule_entry(page)
    with page.act() as ctx:
        quality_rules.delete_rule(ctx, rule_id)
    return page.redirect(_entry_url(entry_id, done="deleted") if entry_id else "/quality")


# -- one run ------------------------------------------------------------------------------------


@router.get("/quality/runs/{run_id}")
def run_page(page: UserPage, run_id: str) -> Response:
    with page.act() as ctx:
        run = quality_runs.get_run(ctx, run_id)
        department = org.department_names(ctx.session, {run.department_id}).get(
            run.department_id, ""
        )
    columns: dict[str, list[str]] = {}
    for r in run.results:
        seen: dict[str, None] = {}
        for sample in r.samples:
            seen.update(dict.fromkeys(sample))
        columns[r.rule_id] = list(seen)
    return page.render(
        "governance/quality_run.html",
        run=run,
        department=department,
        sample_columns=columns,
        withheld=any(r.samples_withheld for r in run.results),
        **_common(page),
    )
