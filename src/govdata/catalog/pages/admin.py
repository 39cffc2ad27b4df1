"""The operator's reference pages: the classification tree and the search synonyms.

Both need ``catalog.manage`` up front: reading the tree or the synonym list only
needs ``catalog.read``, but these pages exist to change them, and everyone else
reads the tree through the editor and the search facets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import Response

from govdata.catalog import actions, synonyms
from govdata.catalog.actions.classes import SEGMENT_DIGITS
from govdata.catalog.pages.common import refusal
from govdata.catalog.schemas import ClassCreate, ClassNode, ClassUpdate
from govdata.catalog.synonyms import SynonymIn
from govdata.core.errors import GovDataError, PermissionDenied
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

CLASSES_URL = "/catalog/admin/classes"
SYNONYMS_URL = "/catalog/admin/synonyms"
DEEPEST_LEVEL = max(SEGMENT_DIGITS)

LEVEL_LABELS = {
    1: ("类", "Category"),
    2: ("项", "Class"),
    3: ("目", "Subclass"),
    4: ("细目", "Item"),
}

CLASS_LABELS = {
    "parent_code": N_("Parent node"),
    "segment": N_("Code segment"),
    "name": N_("Name"),
    "position": N_("Position"),
}
# Errors of create_class that belong to one input of the form.
CLASS_FIELD_OF_CODE = {
    "unknown_classification": "parent_code",
    "classification_too_deep": "parent_code",
    "invalid_segment": "segment",
    "classification_exists": "segment",
}
SYNONYM_LABELS = {"term": N_("Term"), "synonyms": N_("Synonyms")}
# What people type between synonyms: commas (either width), 、, semicolons, new lines.
SYNONYM_SEPARATORS = re.compile(r"[,，、;；\r\n]+")


def _require_manager(page: Page) -> None:
    if not page.can(Perm.CATALOG_MANAGE):
        raise PermissionDenied()


def _error_fields(exc: GovDataError, field_of_code: dict[str, str]) -> set[str]:
    """The form inputs an error concerns, to mark them."""
    if exc.code in field_of_code:
        return {field_of_code[exc.code]}
    if isinstance(exc.details, list):  # a validation error from ``parse``
        return {str(err["loc"][0]) for err in exc.details if err.get("loc")}
    return set()


# Classification tree -------------------------------------------------------------------


@dataclass
class TreeRow:
    """A 目 or 细目 in its 项's table; ``dormant`` when an ancestor is deactivated."""

    node: ClassNode
    depth: int
    dormant: bool


@dataclass
class Branch:
    """A 类 or 项 with its foldable content."""

    node: ClassNode
    dormant: bool
    open: bool
    branches: list[Branch] = field(default_factory=list)
    rows: list[TreeRow] = field(default_factory=list)


def _rows(nodes: list[ClassNode], depth: int, dormant: bool) -> list[TreeRow]:
    out: list[TreeRow] = []
    for node in nodes:
        out.append(TreeRow(node, depth, dormant))
        out.extend(_rows(node.children, depth + 1, dormant or not node.is_active))
    return out


def _branches(roots: list[ClassNode], opened: set[str], expand: bool) -> list[Branch]:
    """类 always unfolded; a 项 unfolds when asked to or when it holds the node in focus."""
    groups = []
    for root in roots:
        group = Branch(root, dormant=False, open=True)
        for item in root.children:
            dormant = not root.is_active
            group.branches.append(
                Branch(
                    item,
                    dormant=dormant,
                    open=expand or any(code.startswith(item.code) for code in opened),
                    rows=_rows(item.children, 0, dormant or not item.is_active),
                )
            )
        groups.append(group)
    return groups


def _flatten(nodes: list[ClassNode]) -> list[ClassNode]:
    out: list[ClassNode] = []
    for node in nodes:
        out.append(node)
        out.extend(_flatten(node.children))
    return out


def _blank_class_form(parent: str = "") -> dict[str, str]:
    return {"parent_code": parent, "segment": "", "name": "", "position": ""}


def _classes_page(
    page: Page,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    form_errors: set[str] | None = None,
    edit: dict[str, str] | None = None,
) -> Response:
    """The tree and the new-node form; ``edit`` reopens a node's edit form with what was typed."""
    params = page.request.query_params
    focus = params.get("focus", "")
    with page.act() as ctx:
        tree = actions.class_tree(ctx, include_inactive=True).items
    nodes = _flatten(tree)
    form = form or _blank_class_form(params.get("parent", ""))
    opened = {code for code in (focus, form["parent_code"], (edit or {}).get("code", "")) if code}
    return page.render(
        "catalog/admin_classes.html",
        status=status,
        groups=_branches(tree, opened, params.get("expand") == "1"),
        parents=[n for n in nodes if n.level < DEEPEST_LEVEL],
        total=len(nodes),
        inactive=sum(1 for n in nodes if not n.is_active),
        focus=focus,
        level_label=lambda level: _level_label(page, level),
        segment_hint=_segment_hint(page),
        f=form,
        form_errors=form_errors or set(),
        form_open=(error is not None and edit is None) or bool(params.get("parent")),
        edit=edit,
        error=error,
    )


def _level_label(page: Page, level: int) -> str:
    zh, en = LEVEL_LABELS.get(level, (str(level), str(level)))
    return zh if page.locale.startswith("zh") else en


def _segment_hint(page: Page) -> str:
    parts = []
    for level, (low, high) in sorted(SEGMENT_DIGITS.items()):
        digits = str(low) if low == high else f"{low}–{high}"
        parts.append(f"{_level_label(page, level)} {digits}")
    sep = ", " if page.locale == "en" else "，"
    return sep.join(parts)


def _next_position(ctx: ActionContext, parent_code: str) -> int:
    """After the parent's last child, so a node added without a position goes to the end."""
    for node in _flatten(actions.class_tree(ctx, include_inactive=True).items):
        if node.code == parent_code:
            return max((c.position for c in node.children), default=0) + 1
    return 0  # no such parent: create_class says so


@router.get(CLASSES_URL)
def classes(page: UserPage) -> Response:
    _require_manager(page)
    return _classes_page(page)


@router.post(CLASSES_URL)
def create_class(page: UserForm) -> Response:
    _require_manager(page)
    form = {key: page.field(key) for key in _blank_class_form()}
    try:
        with page.act() as ctx:
            position: Any = form["position"] or _next_position(ctx, form["parent_code"])
            data = parse(ClassCreate, {**form, "position": position}, CLASS_LABELS)
            node = actions.create_class(ctx, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _classes_page(
            page,
            status=exc.status,
            error=page.message(exc),
            form=form,
            form_errors=_error_fields(exc, CLASS_FIELD_OF_CODE),
        )
    return page.redirect(f"{CLASSES_URL}?focus={node.code}#class-{node.code}", "class_created")


@router.post(CLASSES_URL + "/{code}")
def update_class(page: UserForm, code: str) -> Response:
    """Rename or reorder a node."""
    _require_manager(page)
    edit = {"code": code, "name": page.field("name"), "position": page.field("position")}
    try:
        # An emptied name is an error; an emptied position leaves the order alone.
        changes = {"name": edit["name"], "position": edit["position"] or None}
        data = parse(ClassUpdate, changes, CLASS_LABELS)
        with page.act() as ctx:
            actions.update_class(ctx, code, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _classes_page(page, status=exc.status, error=page.message(exc), edit=edit)
    return page.redirect(f"{CLASSES_URL}?focus={code}#class-{code}", "class_updated")


@router.post(CLASSES_URL + "/{code}/active")
def set_class_active(page: UserForm, code: str) -> Response:
    """Deactivate (``active=0``) or reactivate (``active=1``) a node; its code stays taken."""
    _require_manager(page)
    active = page.field("active") == "1"
    with page.act() as ctx:
        actions.update_class(ctx, code, ClassUpdate(is_active=active))
    notice = "class_reactivated" if active else "class_deactivated"
    return page.redirect(f"{CLASSES_URL}?focus={code}#class-{code}", notice)


# Search synonyms -----------------------------------------------------------------------


def split_synonyms(text: str) -> list[str]:
    """Synonyms as typed: one a line, or separated by commas, 、 or semicolons."""
    return [part.strip() for part in SYNONYM_SEPARATORS.split(text) if part.strip()]


def _synonyms_page(
    page: Page,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    form_errors: set[str] | None = None,
) -> Response:
    with page.act() as ctx:
        items = synonyms.list_synonyms(ctx).items
    if form is None:
        # "Edit" links come back with ?term=: start from the term's current list.
        term = page.request.query_params.get("term", "").strip()
        current = next((s for s in items if s.term == term), None)
        form = {"term": term, "synonyms": "\n".join(current.synonyms) if current else ""}
    return page.render(
        "catalog/admin_synonyms.html",
        status=status,
        items=items,
        f=form,
        editing=any(s.term == form["term"] for s in items),
        form_errors=form_errors or set(),
        error=error,
    )


@router.get(SYNONYMS_URL)
def synonym_list(page: UserPage) -> Response:
    _require_manager(page)
    return _synonyms_page(page)


@router.post(SYNONYMS_URL)
def save_synonyms(page: UserForm) -> Response:
    _require_manager(page)
    form = {"term": page.field("term"), "synonyms": page.field("synonyms")}
    try:
        data = parse(
            SynonymIn,
            {"term": form["term"], "synonyms": split_synonyms(form["synonyms"])},
            SYNONYM_LABELS,
        )
        with page.act() as ctx:
            synonyms.set_synonyms(ctx, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        fields = _error_fields(exc, {"synonyms_empty": "synonyms"})
        return _synonyms_page(
            page, status=exc.status, error=page.message(exc), form=form, form_errors=fields
        )
    return page.redirect(SYNONYMS_URL, "synonyms_saved")


@router.post(SYNONYMS_URL + "/delete")
def delete_synonyms(page: UserForm) -> Response:
    _require_manager(page)
    term = page.field("term")
    try:
        with page.act() as ctx:
            synonyms.delete_synonym(ctx, term)
    except GovDataError as exc:
        if exc.status in (401, 403):
            raise
        # Already gone (another tab, a double click): say so on the list itself.
        return _synonyms_page(page, status=exc.status, error=page.message(exc))
    return page.redirect(SYNONYMS_URL, "synonyms_deleted")
