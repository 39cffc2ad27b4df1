"""Pipeline pages: the list, a new pipeline on a mount, one pipeline with its live run
(htmx polling, like the jobs page), run now / pause / resume, the run history and one run
with its log."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Response

from govdata.core import i18n
from govdata.core.errors import GovDataError, InvalidInput
from govdata.exchange import mounts, pipelines
from govdata.exchange.pages.common import PAGE_SIZE, context, department_can, label, refusal
from govdata.exchange.schemas import MountOut, PipelineCreate, PipelineOut
from govdata.exchange.vocab import PipelineKind, PipelineState
from govdata.security.permissions import Perm
from govdata.sources import actions as source_actions
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

RUNS_PAGE = 20
FORM_LABELS = {
    "name": N_("Name"),
    "kind": N_("Kind"),
    "schedule": N_("Schedule (cron)"),
    "options": N_("Options"),
    "mount_id": N_("Mount"),
}
# Options the form offers, with the kinds that take them (see exchange/pipelines.py).
OPTION_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("batch_rows", N_("Rows per batch"), ("full", "incremental", "cdc", "return")),
    ("chunk_rows", N_("Rows per chunk"), ("full",)),
    ("parallelism", N_("Parallel chunks"), ("full",)),
    ("poll_seconds", N_("Poll every (seconds)"), ("incremental", "cdc")),
    ("batch_window_ms", N_("Batch window (ms)"), ("cdc",)),
    ("target_table", N_("Target table"), ("return",)),
)
NUMERIC = {"batch_rows", "chunk_rows", "parallelism", "batch_window_ms"}


@router.get("/exchange/pipelines")
def pipelines_page(page: UserPage, kind: str = "", state: str = "", cursor: str = "") -> Response:
    kind_value = kind if kind in PipelineKind.__members__.values() else ""
    state_value = state if state in PipelineState.__members__.values() else ""
    with page.act() as ctx:
        result = pipelines.list_pipelines(
            ctx,
            kind=PipelineKind(kind_value) if kind_value else None,
            state=PipelineState(state_value) if state_value else None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    base = urlencode({k: v for k, v in {"kind": kind_value, "state": state_value}.items() if v})
    return page.render(
        "exchange/pipelines.html",
        result=result,
        filter_kind=kind_value,
        filter_state=state_value,
        base_query=base,
        cursor=cursor,
        **context(page),
    )


# -- new pipeline ---------------------------------------------------------------------------


def _targets(page: Page) -> list[Any]:
    """Databases a return flow may deliver into: MariaDB/MySQL and PostgreSQL sources."""
    with page.act() as ctx:
        if not ctx.actor.can(Perm.SOURCE_READ):
            return []
        found = source_actions.list_sources(ctx, limit=200)
    return [s for s in found.items if s.kind in ("mariadb", "postgresql")]


def _form(
    page: Page,
    mount: MountOut,
    values: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "exchange/pipeline_new.html",
        status=status,
        mount=mount,
        values=values,
        option_fields=OPTION_FIELDS,
        option_hint={
            name: " / ".join(label("pipeline", k, page.locale) for k in kinds)
            for name, _label, kinds in OPTION_FIELDS
        },
        targets=_targets(page),
        error=error,
        **context(page),
    )


@router.get("/exchange/pipelines/new")
def new_pipeline(page: UserPage, mount: str) -> Response:
    with page.act() as ctx:
        found = mounts.get_mount(ctx, mount)
        ctx.require(
            Perm.EXCHANGE_MANAGE,
            mounts.department_scope(ctx.session, found.department_id),
            target_id=found.id,
        )
    values = {"name": found.entry_name, "kind": "full"}
    return _form(page, found, values)


def _options(page: Page, kind: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, title, kinds in OPTION_FIELDS:
        text = page.field(name)
        if not text or kind not in kinds:
            continue
        if name in NUMERIC:
            if not text.isdigit():
                raise InvalidInput(
                    f"“{i18n.translations('zh_CN').gettext(title)}”须为正整数",
                    f"{title} must be a positive whole number",
                    code="pipeline_option_invalid",
                    details={"option": name},
                )
            options[name] = int(text)
        elif name == "poll_seconds":
            try:
                options[name] = float(text)
            except ValueError:
                raise InvalidInput(
                    "轮询间隔须为数字",
                    "The poll interval must be a number",
                    code="pipeline_option_invalid",
                    details={"option": name},
                ) from None
        else:
            options[name] = text
    if kind == "return" and page.field("target_source_id"):
        options["target_source_id"] = page.field("target_source_id")
    return options


@router.post("/exchange/pipelines/new")
def create_pipeline(page: UserForm, mount: str) -> Response:
    with page.act() as ctx:
        found = mounts.get_mount(ctx, mount)
    kind = page.field("kind")
    assert page.form is not None
    values = {k: v for k, v in page.form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        data = parse(
            PipelineCreate,
            {
                "mount_id": found.id,
                "name": page.field("name"),
                "kind": kind,
                "schedule": page.field("schedule") or None,
                "options": _options(page, kind),
            },
            FORM_LABELS,
        )
        with page.act() as ctx:
            out = pipelines.create_pipeline(ctx, data)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        return _form(page, found, values, error=page.message(exc), status=exc.status)
    return page.redirect(f"/exchange/pipelines/{out.id}", notice="pipeline_created")


# -- one pipeline ---------------------------------------------------------------------------


def detail_page(
    page: Page,
    pipeline_id: str,
    *,
    cursor: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    with page.act() as ctx:
        pipeline = pipelines.get_pipeline(ctx, pipeline_id)
        mount = mounts.get_mount(ctx, pipeline.mount_id)
        runs = pipelines.list_runs(ctx, pipeline_id, limit=RUNS_PAGE, cursor=cursor or None)
    return page.render(
        "exchange/pipeline.html",
        status=status,
        pipeline=pipeline,
        mount=mount,
        runs=runs,
        run=pipeline.last_run,
        cursor=cursor,
        manage=department_can(page, Perm.EXCHANGE_MANAGE, pipeline.department_id),
        error=error,
        **context(page),
    )


@router.get("/exchange/pipelines/{pipeline_id}")
def pipeline_page(page: UserPage, pipeline_id: str, cursor: str = "") -> Response:
    return detail_page(page, pipeline_id, cursor=cursor)


@router.get("/exchange/pipelines/{pipeline_id}/progress")
def pipeline_progress(page: UserPage, pipeline_id: str) -> Response:
    """The current run's panel; it asks again every second while the run is live."""
    with page.act() as ctx:
        pipeline = pipelines.get_pipeline(ctx, pipeline_id)
    return page.render(
        "exchange/_run_panel.html", pipeline=pipeline, run=pipeline.last_run, **context(page)
    )


def _act(page: Page, pipeline_id: str, do: Any, notice: str) -> Response:
    try:
        with page.act() as ctx:
            do(ctx, pipeline_id)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(page, pipeline_id, error=page.message(exc), status=exc.status)
    return page.redirect(f"/exchange/pipelines/{pipeline_id}", notice=notice)


@router.post("/exchange/pipelines/{pipeline_id}/run")
def run_pipeline(page: UserForm, pipeline_id: str) -> Response:
    return _act(page, pipeline_id, pipelines.run_now, "pipeline_run_queued")


@router.post("/exchange/pipelines/{pipeline_id}/pause")
def pause_pipeline(page: UserForm, pipeline_id: str) -> Response:
    return _act(page, pipeline_id, pipelines.pause_pipeline, "pipeline_paused")


@router.post("/exchange/pipelines/{pipeline_id}/resume")
def resume_pipeline(page: UserForm, pipeline_id: str) -> Response:
    return _act(page, pipeline_id, pipelines.resume_pipeline, "pipeline_resumed")


@router.post("/exchange/pipelines/{pipeline_id}/delete")
def delete_pipeline(page: UserForm, pipeline_id: str) -> Response:
    with page.act() as ctx:
        pipeline: PipelineOut = pipelines.get_pipeline(ctx, pipeline_id)
    try:
        with page.act() as ctx:
            pipelines.delete_pipeline(ctx, pipeline_id)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(page, pipeline_id, error=page.message(exc), status=exc.status)
    return page.redirect(f"/exchange/mounts/{pipeline.mount_id}", notice="pipeline_deleted")


@router.get("/exchange/runs/{run_id}")
def run_page(page: UserPage, run_id: str) -> Response:
    with page.act() as ctx:
        run = pipelines.get_run(ctx, run_id)
        pipeline = pipelines.get_pipeline(ctx, run.pipeline_id)
    return page.render("exchange/run.html", run=run, pipeline=pipeline, **context(page))
