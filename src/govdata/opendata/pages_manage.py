"""The opening review on the government side: officers propose their department's entries
for opening and follow them; the operator reviews proposals, features and withdraws open
datasets. Thin shells over ``opendata.datasets``; who may do what is decided there."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from govdata.catalog.models import CatalogEntry
from govdata.core.errors import GovDataError, PermissionDenied
from govdata.opendata import datasets
from govdata.opendata.access import open_fields
from govdata.opendata.models import OpenDataset
from govdata.opendata.schemas import FeatureIn, ProposeIn, ReviewIn, WithdrawIn
from govdata.opendata.views import download_path
from govdata.opendata.vocab import LICENSES, STATUS_LABELS, DatasetStatus, label
from govdata.security.permissions import Perm
from govdata.sharing.common import department_scope
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

DONE: dict[str, str] = {
    "propose": N_("Proposed for opening: the operator reviews it next."),
    "approve": N_("Approved: the dataset is open on the portal."),
    "reject": N_("Rejected: the provider has been told why."),
    "withdraw": N_("Withdrawn from the portal."),
    "feature": N_("Featured on the portal's home page."),
    "unfeature": N_("No longer featured."),
}
LABELS = {
    "fields": N_("Fields to open"),
    "license_id": N_("Licence"),
    "note": N_("Note"),
    "comment": N_("Comment"),
    "reason": N_("Reason"),
}


def _refusal(exc: GovDataError) -> bool:
    return isinstance(exc, PermissionDenied)


def _licenses(locale: str) -> list[tuple[str, str]]:
    zh = locale.startswith("zh")
    return [(k, v[0] if zh else v[1]) for k, v in LICENSES.items()]


def _context(page: Page) -> dict[str, Any]:
    return {
        "manager": page.can(Perm.OPENDATA_MANAGE),
        "publisher": page.can(Perm.OPENDATA_PUBLISH),
        "licenses": _licenses(page.locale),
        "status_label": lambda s: label(STATUS_LABELS, s, page.locale),
        "done": page.request.query_params.get("done"),
        "done_messages": DONE,
    }


def _manage(page: Page, *, error: str | None = None, status: int = 200) -> Response:
    if not (page.can(Perm.OPENDATA_MANAGE) or page.can(Perm.OPENDATA_PUBLISH)):
        raise PermissionDenied()
    with page.act() as ctx:
        mine = datasets.list_datasets_admin(ctx, limit=200).items
        openable = datasets.openable_entries(ctx) if page.can(Perm.OPENDATA_PUBLISH) else []
    queue = [d for d in mine if d.status == DatasetStatus.PROPOSED]
    opened = [d for d in mine if d.status == DatasetStatus.OPEN]
    others = [d for d in mine if d.status not in (DatasetStatus.PROPOSED, DatasetStatus.OPEN)]
    return page.render(
        "opendata/manage.html",
        status=status,
        error=error,
        queue=queue,
        opened=opened,
        others=others,
        openable=openable,
        **_context(page),
    )


@router.get("/opendata/manage")
def manage(page: UserPage) -> Response:
    return _manage(page)


@router.post("/opendata/manage/propose")
def propose(page: UserForm) -> Response:
    entry = page.field("entry")
    raw = {
        "fields": page.fields("fields") or None,
        "license_id": page.field("license_id") or None,
        "note": page.field("note") or None,
    }
    try:
        data = parse(ProposeIn, raw, LABELS)
        with page.act() as ctx:
            out = datasets.propose_opening(ctx, entry, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _manage(page, error=page.message(exc), status=exc.status)
    return page.redirect(f"/opendata/manage/{out.id}?done=propose")


def _detail(
    page: Page, dataset_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    with page.act() as ctx:
        s = ctx.session
        out = datasets.get_dataset_admin(ctx, dataset_id)
        ds, entry = s.get(OpenDataset, dataset_id), s.get(CatalogEntry, out.entry_id)
        fields = open_fields(s, ds, entry) if ds is not None and entry is not None else []
        provider = ctx.actor.can(Perm.OPENDATA_PUBLISH, department_scope(s, out.publisher_id))
    return page.render(
        "opendata/manage_dataset.html",
        status=status,
        error=error,
        d=out,
        open_fields=fields,
        public_url=f"/open/datasets/{out.name}" if out.public else None,
        csv_url=download_path(out.name, "csv") if out.public else None,
        may_withdraw=page.can(Perm.OPENDATA_MANAGE) or provider,
        **_context(page),
    )


@router.get("/opendata/manage/{dataset_id}")
def dataset_detail(page: UserPage, dataset_id: str) -> Response:
    return _detail(page, dataset_id)


@router.post("/opendata/manage/{dataset_id}/{step}")
def take_step(page: UserForm, dataset_id: str, step: str) -> Response:
    if step not in ("review", "withdraw", "feature"):
        return _detail(page, dataset_id, status=404)
    try:
        with page.act() as ctx:
            if step == "review":
                approve = page.field("decision") == "approve"
                data = parse(
                    ReviewIn,
                    {"approve": approve, "comment": page.field("comment") or None},
                    LABELS,
                )
                datasets.review_opening(ctx, dataset_id, data)
                done = "approve" if approve else "reject"
            elif step == "withdraw":
                datasets.withdraw_dataset(
                    ctx, dataset_id, parse(WithdrawIn, {"reason": page.field("reason")}, LABELS)
                )
                done = "withdraw"
            else:
                featured = page.field("featured") == "1"
                datasets.feature_dataset(ctx, dataset_id, FeatureIn(featured=featured))
                done = "feature" if featured else "unfeature"
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _detail(page, dataset_id, error=page.message(exc), status=exc.status)
    back = page.field("next")
    target = "/opendata/manage" if back == "list" else f"/opendata/manage/{dataset_id}"
    return page.redirect(f"{target}?done={done}")
