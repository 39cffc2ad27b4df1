"""Reuses (优秀应用): applications the public built on open data, and the showcase.

A signed-in public account submits one (name, description, link, the open datasets it
uses, up to five screenshots); the operator approves or rejects it, features the best and
may unpublish it later. Registered users rate approved reuses (1–5, one rating each,
changeable); the reuse page counts its views.

A reuse shows only the datasets the public gate still lets through: a dataset withdrawn,
closed or re-graded above 2 after the reuse was submitted disappears from the reuse page,
its figures and the showcase filters, like from every other public path.

The evaluation and the reading shapes are in ``reuse_views``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core import clock
from govdata.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from govdata.notifications.actions import Message
from govdata.opendata.access import public_clause, public_dataset
from govdata.opendata.models import OpenDataset
from govdata.opendata.reuse_models import Reuse, ReuseDataset, ReuseRating, ReuseScreenshot
from govdata.opendata.reuse_schemas import (
    LABELS,
    MAX_DATASETS,
    DatasetRef,
    Evaluation,
    RatingIn,
    ReuseFeatureIn,
    ReuseIn,
    ReuseOut,
    ReusePage,
    ReuseReviewIn,
    ReuseStatus,
    ReuseUnpublishIn,
    ScreenshotOut,
    Upload,
)
from govdata.opendata.reuse_views import dataset_choices, reuse_outs, score, showcase_facets
from govdata.security.context import ActionContext
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm
from govdata.sharing.common import notify_operators

# The shapes and readers callers use through this module (the demo, pages, API).
__all__ = [
    "LABELS",
    "MAX_DATASETS",
    "DatasetRef",
    "Evaluation",
    "RatingIn",
    "ReuseFeatureIn",
    "ReuseIn",
    "ReuseOut",
    "ReusePage",
    "ReuseReviewIn",
    "ReuseStatus",
    "ReuseUnpublishIn",
    "ScreenshotOut",
    "Upload",
    "dataset_choices",
    "feature_reuse",
    "featured",
    "get_reuse_admin",
    "list_admin",
    "list_public",
    "public_reuse",
    "rate_reuse",
    "reuse_outs",
    "review_reuse",
    "score",
    "screenshot_file",
    "showcase_facets",
    "submit_reuse",
    "unpublish_reuse",
    "view_reuse",
]

AUDIT_TARGET = "open_reuse"
MAX_SCREENSHOTS = 5
MAX_SCREENSHOT_BYTES = 2 * 1024 * 1024
PNG = "image/png"
JPEG = "image/jpeg"
_EXT = {PNG: ".png", JPEG: ".jpg"}


def screenshot_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "opendata" / "reuses"


# -- validation ------------------------------------------------------------------------


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise InvalidInput(
            "应用链接须为 http 或 https 网址",
            "The link must be an http or https URL",
            code="reuse_invalid_url",
            details={"url": url},
        )
    return url


def sniff_image(content: bytes) -> str | None:
    """PNG or JPEG by the file's signature (its name and declared type are not trusted)."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return PNG
    if content.startswith(b"\xff\xd8\xff") and len(content) > 4:
        return JPEG
    return None


def _check_screenshots(uploads: Sequence[Upload]) -> list[tuple[Upload, str]]:
    if len(uploads) > MAX_SCREENSHOTS:
        raise InvalidInput(
            f"截图最多 {MAX_SCREENSHOTS} 张",
            f"At most {MAX_SCREENSHOTS} screenshots",
            code="reuse_too_many_screenshots",
            details={"count": len(uploads), "max": MAX_SCREENSHOTS},
        )
    out = []
    for up in uploads:
        if len(up.content) > MAX_SCREENSHOT_BYTES:
            raise InvalidInput(
                f"截图“{up.filename}”超过 2 MB",
                f"Screenshot '{up.filename}' is larger than 2 MB",
                code="reuse_screenshot_too_large",
                details={"file": up.filename, "max_bytes": MAX_SCREENSHOT_BYTES},
            )
        media = sniff_image(up.content)
        if media is None:
            raise InvalidInput(
                f"截图“{up.filename}”不是 PNG 或 JPEG 图片",
                f"Screenshot '{up.filename}' is not a PNG or JPEG image",
                code="reuse_screenshot_not_image",
                details={"file": up.filename},
            )
        out.append((up, media))
    return out


def _public_actor(ctx: ActionContext) -> Actor:
    if ctx.actor.kind == "anonymous":
        raise NotAuthenticated("请先登录开放平台账号", "Sign in to your open-data account")
    if ctx.actor.kind != "public" or not ctx.actor.id:
        raise PermissionDenied(
            "仅开放平台注册用户可提交或评分",
            "Only registered open-data users submit and rate",
            code="permission_denied",
        )
    return ctx.actor


# -- actions ---------------------------------------------------------------------------


def submit_reuse(ctx: ActionContext, data: ReuseIn, screenshots: Sequence[Upload] = ()) -> ReuseOut:
    """Submit an application built on open data (a signed-in public account).

    Every dataset must be public now; screenshots are PNG or JPEG, at most five of 2 MB
    each. Nothing is stored unless all of it is valid. The reuse awaits the operator.
    """
    actor = _public_actor(ctx)
    s = ctx.session
    check_url(data.url)
    dataset_ids: list[str] = []
    for ref in dict.fromkeys(data.datasets):
        try:
            ds, _ = public_dataset(s, ref)
        except NotFound:
            raise InvalidInput(
                f"数据集“{ref}”不存在或未开放",
                f"Dataset '{ref}' does not exist or is not open",
                code="reuse_dataset_unknown",
                details={"dataset": ref},
            ) from None
        if ds.id not in dataset_ids:
            dataset_ids.append(ds.id)
    images = _check_screenshots(screenshots)
    reuse = Reuse(
        name=data.name,
        description=data.description,
        url=data.url,
        submitter_id=str(actor.id),
        submitter_name=actor.name[:100],
        status=ReuseStatus.PENDING.value,
        featured=False,
        views=0,
    )
    s.add(reuse)
    s.flush()
    for ds_id in dataset_ids:
        s.add(ReuseDataset(reuse_id=reuse.id, dataset_id=ds_id))
    folder = screenshot_dir(ctx.settings)
    written: list[Path] = []
    try:
        for position, (up, media) in enumerate(images):
            folder.mkdir(parents=True, exist_ok=True)
            stored = secrets.token_hex(16) + _EXT[media]
            path = folder / stored
            path.write_bytes(up.content)
            written.append(path)
            s.add(
                ReuseScreenshot(
                    reuse_id=reuse.id,
                    position=position,
                    stored_name=stored,
                    media_type=media,
                    size=len(up.content),
                )
            )
        s.flush()
        ctx.audit(
            "opendata.reuse.submit",
            target_type=AUDIT_TARGET,
            target_id=reuse.id,
            details={"name": data.name, "datasets": dataset_ids, "screenshots": len(images)},
        )
        notify_operators(
            s,
            Message(
                kind="opendata.reuse.submitted",
                title_zh=f"应用待审核：{data.name}",
                title_en=f"Reuse awaiting review: {data.name}",
                link="/opendata/reuses",
                target_type=AUDIT_TARGET,
                target_id=reuse.id,
            ),
        )
    except Exception:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return reuse_outs(s, [reuse], ctx.locale)[0]


def _reuse(s: Session, reuse_id: str) -> Reuse:
    reuse = s.get(Reuse, reuse_id)
    if reuse is None:
        raise reuse_not_found(reuse_id)
    return reuse


def reuse_not_found(ref: str) -> NotFound:
    return NotFound(
        "应用不存在或未发布",
        "The reuse does not exist or is not published",
        code="reuse_not_found",
        details={"id": ref},
    )


def _wrong_status(reuse: Reuse, zh: str, en: str) -> Conflict:
    return Conflict(zh, en, code="reuse_wrong_status", details={"status": reuse.status})


def review_reuse(ctx: ActionContext, reuse_id: str, data: ReuseReviewIn) -> ReuseOut:
    """The operator approves a submitted reuse (it goes on the showcase) or rejects it."""
    ctx.require(Perm.OPENDATA_MANAGE, target_id=reuse_id)
    s = ctx.session
    reuse = _reuse(s, reuse_id)
    if reuse.status != ReuseStatus.PENDING:
        raise _wrong_status(reuse, "该应用不在待审核状态", "The reuse is not awaiting review")
    if not data.approve and not data.reason:
        raise InvalidInput(
            "不予发布须说明理由", "A rejection needs a reason", code="reuse_reason_required"
        )
    reuse.status = (ReuseStatus.APPROVED if data.approve else ReuseStatus.REJECTED).value
    reuse.review_reason = data.reason
    reuse.reviewed_by, reuse.reviewed_at = ctx.actor.id, clock.now()
    ctx.audit(
        "opendata.reuse.approve" if data.approve else "opendata.reuse.reject",
        target_type=AUDIT_TARGET,
        target_id=reuse.id,
        details={"reason": data.reason},
    )
    return reuse_outs(s, [reuse], ctx.locale)[0]


def feature_reuse(ctx: ActionContext, reuse_id: str, data: ReuseFeatureIn) -> ReuseOut:
    """The operator features a published reuse (first on the showcase and the home page)."""
    ctx.require(Perm.OPENDATA_MANAGE, target_id=reuse_id)
    s = ctx.session
    reuse = _reuse(s, reuse_id)
    if data.featured and reuse.status != ReuseStatus.APPROVED:
        raise _wrong_status(reuse, "只能推荐已发布的应用", "Only published reuses can be featured")
    reuse.featured = data.featured
    ctx.audit(
        "opendata.reuse.feature",
        target_type=AUDIT_TARGET,
        target_id=reuse.id,
        details={"featured": data.featured},
    )
    return reuse_outs(s, [reuse], ctx.locale)[0]


def unpublish_reuse(ctx: ActionContext, reuse_id: str, data: ReuseUnpublishIn) -> ReuseOut:
    """The operator takes a published reuse off the showcase, with a reason."""
    ctx.require(Perm.OPENDATA_MANAGE, target_id=reuse_id)
    s = ctx.session
    reuse = _reuse(s, reuse_id)
    if reuse.status != ReuseStatus.APPROVED:
        raise _wrong_status(reuse, "该应用未发布", "The reuse is not published")
    reuse.status, reuse.featured, reuse.review_reason = (
        ReuseStatus.UNPUBLISHED.value,
        False,
        data.reason,
    )
    reuse.reviewed_by, reuse.reviewed_at = ctx.actor.id, clock.now()
    ctx.audit(
        "opendata.reuse.unpublish",
        target_type=AUDIT_TARGET,
        target_id=reuse.id,
        details={"reason": data.reason},
    )
    return reuse_outs(s, [reuse], ctx.locale)[0]


def rate_reuse(ctx: ActionContext, reuse_id: str, data: RatingIn) -> ReuseOut:
    """A registered public user rates a published reuse 1–5; rating again replaces it."""
    actor = _public_actor(ctx)
    s = ctx.session
    reuse = _reuse(s, reuse_id)
    if reuse.status != ReuseStatus.APPROVED:
        raise reuse_not_found(reuse_id)
    user_id = str(actor.id)
    rating = s.get(ReuseRating, (reuse.id, user_id))
    before = rating.stars if rating else None
    if rating is None:
        rating = ReuseRating(
            reuse_id=reuse.id, user_id=user_id, stars=data.stars, rated_at=clock.now()
        )
        s.add(rating)
    else:
        rating.stars, rating.rated_at = data.stars, clock.now()
    s.flush()
    ctx.audit(
        "opendata.reuse.rate",
        target_type=AUDIT_TARGET,
        target_id=reuse.id,
        details={"stars": data.stars, "before": before},
    )
    return reuse_outs(s, [reuse], ctx.locale, viewer=user_id)[0]


def view_reuse(ctx: ActionContext, reuse_id: str, locale: str | None = None) -> ReuseOut:
    """A published reuse's page: counts the view. The operator and the submitter also see
    unpublished ones (uncounted)."""
    s = ctx.session
    reuse = s.get(Reuse, reuse_id)
    if reuse is None:
        raise reuse_not_found(reuse_id)
    viewer = ctx.actor.id if ctx.actor.kind == "public" else None
    if reuse.status != ReuseStatus.APPROVED:
        if not (ctx.actor.can(Perm.OPENDATA_MANAGE) or (viewer and viewer == reuse.submitter_id)):
            raise reuse_not_found(reuse_id)
    else:
        s.execute(update(Reuse).where(Reuse.id == reuse.id).values(views=Reuse.views + 1))
        s.refresh(reuse)
    return reuse_outs(s, [reuse], locale or ctx.locale, viewer=viewer)[0]


def public_reuse(s: Session, reuse_id: str, locale: str = "zh_CN") -> ReuseOut:
    """A published reuse, without counting a view (the API); else ``reuse_not_found``."""
    reuse = s.get(Reuse, reuse_id)
    if reuse is None or reuse.status != ReuseStatus.APPROVED:
        raise reuse_not_found(reuse_id)
    return reuse_outs(s, [reuse], locale)[0]


def get_reuse_admin(ctx: ActionContext, reuse_id: str) -> ReuseOut:
    """Any reuse, any status (the operator)."""
    ctx.require(Perm.OPENDATA_MANAGE, target_id=reuse_id)
    return reuse_outs(ctx.session, [_reuse(ctx.session, reuse_id)], ctx.locale)[0]


def list_admin(
    ctx: ActionContext, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> ReusePage:
    """Every reuse for the operator's review queue: awaiting review first, then newest."""
    ctx.require(Perm.OPENDATA_MANAGE)
    stmt = select(Reuse)
    if status:
        if status not in {x.value for x in ReuseStatus}:
            raise InvalidInput("未知状态", "Unknown status", code="invalid_status")
        stmt = stmt.where(Reuse.status == status)
    order = (
        (Reuse.status != ReuseStatus.PENDING.value),
        Reuse.created_at.desc(),
        Reuse.id,
    )
    return _page(ctx.session, stmt, order, limit, offset, ctx.locale)


def _page(
    s: Session,
    stmt: Select[Reuse],
    order: tuple[Any, ...],
    limit: int,
    offset: int,
    locale: str,
) -> ReusePage:
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = s.scalars(stmt.order_by(*order).limit(limit).offset(offset)).all()
    return ReusePage(
        items=reuse_outs(s, list(rows), locale), total=total, offset=offset, limit=limit
    )


def list_public(
    s: Session,
    *,
    dataset: str | None = None,
    topic: str | None = None,
    limit: int = 24,
    offset: int = 0,
    locale: str = "zh_CN",
) -> ReusePage:
    """The showcase: published reuses, featured first, then the latest approved; filter by
    a dataset (id or name) they use or a topic (code) of their datasets."""
    stmt = select(Reuse).where(Reuse.status == ReuseStatus.APPROVED.value)
    if dataset:
        ds, _ = public_dataset(s, dataset)
        stmt = stmt.where(
            Reuse.id.in_(select(ReuseDataset.reuse_id).where(ReuseDataset.dataset_id == ds.id))
        )
    if topic:
        used = (
            select(ReuseDataset.reuse_id)
            .join(OpenDataset, OpenDataset.id == ReuseDataset.dataset_id)
            .join(CatalogEntry, public_clause())
            .where(CatalogEntry.class_code.startswith(topic, autoescape=True))
        )
        stmt = stmt.where(Reuse.id.in_(used))
    order = (Reuse.featured.desc(), Reuse.reviewed_at.desc(), Reuse.id)
    return _page(s, stmt, order, limit, offset, locale)


def featured(s: Session, limit: int = 6, locale: str = "zh_CN") -> list[ReuseOut]:
    """Featured published reuses, latest approved first (for the portal's home page)."""
    rows = s.scalars(
        select(Reuse)
        .where(Reuse.status == ReuseStatus.APPROVED.value, Reuse.featured.is_(True))
        .order_by(Reuse.reviewed_at.desc(), Reuse.id)
        .limit(limit)
    ).all()
    return reuse_outs(s, list(rows), locale)


def screenshot_file(
    s: Session, settings: Settings, actor: Actor, reuse_id: str, shot_id: str
) -> tuple[Path, str]:
    """A screenshot's file and media type: public for published reuses only (and for the
    operator and the submitter)."""
    shot = s.get(ReuseScreenshot, shot_id)
    reuse = s.get(Reuse, reuse_id)
    if shot is None or reuse is None or shot.reuse_id != reuse.id:
        raise reuse_not_found(reuse_id)
    if reuse.status != ReuseStatus.APPROVED and not (
        actor.can(Perm.OPENDATA_MANAGE)
        or (actor.kind == "public" and actor.id == reuse.submitter_id)
    ):
        raise reuse_not_found(reuse_id)
    path = screenshot_dir(settings) / shot.stored_name
    if not path.is_file():
        raise reuse_not_found(reuse_id)
    return path, shot.media_type
