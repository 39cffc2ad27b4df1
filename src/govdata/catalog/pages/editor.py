"""The entry editor: register a new entry, edit the version under work (draft or returned)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from govdata.catalog import actions, forms
from govdata.catalog.pages.common import MIN_ENTRY_CLASS_LEVEL, context, refusal
from govdata.catalog.pages.entry import entry_url
from govdata.catalog.schemas import ClassNode, EntryCreate, EntryOut, EntryUpdate, Finding
from govdata.core.errors import Conflict, GovDataError, PermissionDenied
from govdata.identity import actions as identity_actions
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage

router = PortalRouter()

# Errors of the create/update actions that belong to one input of the form.
FIELD_OF_CODE = {
    "unknown_classification": "classification_code",
    "classification_too_broad": "classification_code",
    "classification_locked": "classification_code",
    "unknown_provider": "provider_code",
    "provider_required": "provider_code",
}
DEPARTMENT_CHOICES = 200


def class_groups(ctx: ActionContext) -> list[dict[str, Any]]:
    """Classification choices grouped by 类 / 项; only 目 and 细目 can hold an entry."""
    groups: list[dict[str, Any]] = []

    def walk(node: ClassNode, trail: list[str], depth: int) -> None:
        if node.level < MIN_ENTRY_CLASS_LEVEL:
            if node.level == MIN_ENTRY_CLASS_LEVEL - 1:
                groups.append({"label": " / ".join([*trail, node.name]), "options": []})
            for child in node.children:
                walk(child, [*trail, node.name], depth)
            return
        groups[-1]["options"].append({"code": node.code, "name": node.name, "depth": depth})
        for child in node.children:
            walk(child, trail, depth + 1)

    for root in actions.class_tree(ctx).items:
        walk(root, [], 0)
    return [g for g in groups if g["options"]]


def _departments(page: Page, ctx: ActionContext) -> list[dict[str, str]] | None:
    """Provider choices for editors without a department of their own (the operator)."""
    if page.actor.department_id is not None or not page.actor.can(Perm.DEPARTMENT_READ):
        return None
    result = identity_actions.list_departments(
        ctx, include_inactive=False, limit=DEPARTMENT_CHOICES
    )
    return [{"code": d.code, "name": d.name} for d in result.items]


def _errors(exc: GovDataError) -> dict[str, str]:
    details = exc.details if isinstance(exc.details, dict) else {}
    fields = details.get("fields")
    if isinstance(fields, dict):
        return {str(k): str(v) for k, v in fields.items()}
    if exc.code in FIELD_OF_CODE:
        return {FIELD_OF_CODE[exc.code]: ""}
    return {}


def _findings(exc: GovDataError) -> list[Finding]:
    details = exc.details if isinstance(exc.details, dict) else {}
    return [Finding.model_validate(f) for f in details.get("findings", [])]


def _editor(
    page: Page,
    form: forms.EntryForm,
    *,
    entry: EntryOut | None = None,
    status: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    findings: list[Finding] | None = None,
) -> Response:
    if not form.items:
        form.items.append(forms.blank_item())  # the grid always offers a row to type in
    with page.act() as ctx:
        groups = class_groups(ctx)
        departments = _departments(page, ctx) if entry is None else None
    working = entry.working if entry is not None else None
    returned = working is not None and working.status == "returned"
    return page.render(
        "catalog/editor.html",
        status=status,
        f=form,
        entry=entry,
        class_groups=groups,
        departments=departments,
        locked=entry is not None and entry.published_at is not None,
        errors=errors or {},
        reasons=working.review_reasons if returned and working else {},
        review_comment=working.review_comment if returned and working else None,
        findings=findings or [],
        error=error,
        action=entry_url(entry, "/edit") if entry else "/catalog/new",
        blank_item=forms.blank_item(),
        **context(page),
    )


def _require_editor(page: Page) -> None:
    if not page.can(Perm.CATALOG_EDIT):
        raise PermissionDenied()


@router.get("/catalog/new")
def new_entry(page: UserPage) -> Response:
    _require_editor(page)
    form = forms.blank_form()
    form.classification_code = page.request.query_params.get("class", "")
    return _editor(page, form)


@router.post("/catalog/new")
def create_entry(page: UserForm) -> Response:
    _require_editor(page)
    assert page.form is not None
    form = forms.form_from_post(page.form)
    extra = {
        "classification_code": form.classification_code,
        "provider_code": form.provider_code or None,
    }
    try:
        data = forms.parse_entry(EntryCreate, form, extra, page.locale)
        with page.act() as ctx:
            entry = actions.create_entry(ctx, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _editor(page, form, status=exc.status, error=page.message(exc), errors=_errors(exc))
    return page.redirect(entry_url(entry), notice="entry_created")


def _editable(page: Page, ref: str) -> EntryOut:
    with page.act() as ctx:
        entry = actions.get_entry(ctx, ref)
    if "edit" in entry.allowed and entry.working is not None:
        return entry
    own = page.actor.department_id == entry.provider.id and page.can(Perm.CATALOG_EDIT)
    if not own and "new_version" not in entry.allowed:
        raise PermissionDenied()
    raise Conflict(
        "只有草稿或已退回的版本可以修改；已发布的目录请先新建版本",
        "Only a draft or returned version can be edited; open a new version first",
        code="entry_not_editable",
    )


@router.get("/catalog/entries/{ref:path}/edit")
def edit_entry(page: UserPage, ref: str) -> Response:
    entry = _editable(page, ref)
    assert entry.working is not None
    return _editor(page, forms.form_from_version(entry.working, entry.class_code), entry=entry)


@router.post("/catalog/entries/{ref:path}/edit")
def save_entry(page: UserForm, ref: str) -> Response:
    entry = _editable(page, ref)
    assert page.form is not None
    form = forms.form_from_post(page.form)
    locked = entry.published_at is not None
    if locked:
        form.classification_code = entry.class_code
    extra = {
        "classification_code": None if locked else form.classification_code or None,
        "change_note": form.change_note or None,
    }
    try:
        data = forms.parse_entry(EntryUpdate, form, extra, page.locale)
        with page.act() as ctx:
            saved = actions.update_entry(ctx, entry.id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _editor(
            page,
            form,
            entry=entry,
            status=exc.status,
            error=page.message(exc),
            errors=_errors(exc),
            findings=_findings(exc),
        )
    return page.redirect(entry_url(saved), notice="entry_saved")
