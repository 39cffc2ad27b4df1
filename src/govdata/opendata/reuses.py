"""Reuses (优秀应用): applications the public built on open data, and the showcase.

A signed-in public account submits one (name, description, link, the open datasets it
uses, up to five screenshots); the operator approves or rejects it, features the best and
may unpublish it later. Registered users rate approved reuses (1–5, one rating each,
changeable); the reuse page counts its views.

A reuse shows only the datasets the public gate still lets through: a dataset withdrawn,
closed or re-graded above 2 after the reuse was submitted disappears from the reuse page,
its figures and the showcase filters, like from every other public path.

Evaluation (0–100, one decimal), from the reuse's own figures:

    score = 40 · (average rating / 5)                    (0 while unrated)
          + 20 · min(1, log10(1 + views) / 3)            (1,000 views is full marks)
          + 20 · min(1, log10(1 + calls + downloads) / 4) (10,000 uses is full marks)
          + 20 · min(1, datasets / 5)                    (five open datasets is full marks)

where calls and downloads are those of the datasets it uses (``OpenUsage``), counted
from the month (Asia/Shanghai) the reuse was submitted.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogClass, CatalogEntry
from govdata.config import Settings
from govdata.core import clock
from govdata.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from govdata.notifications.actions import Message
from govdata.opendata.access import public_clause, public_dataset
from govdata.opendata.models import OpenDataset, OpenUsage
from govdata.opendata.reuse_models import Reuse, ReuseDataset, ReuseRating, ReuseScreenshot
from govdata.opendata.vocab import label
from govdata.security.context import ActionContext
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm
from govdata.sharing.common import notify_operators

AUDIT_TARGET = "open_reuse"
MAX_SCREENSHOTS = 5
MAX_SCREENSHOT_BYTES = 2 * 1024 * 1024
MAX_DATASETS = 20
PNG = "image/png"
JPEG = "image/jpeg"
_EXT = {PNG: ".png", JPEG: ".jpg"}


class ReuseStatus(StrEnum):
    PENDING = "pending"  # submitted, awaiting the operator
    APPROVED = "approved"  # on the showcase
    REJECTED = "rejected"
    UNPUBLISHED = "unpublished"  # was approved, taken off by the operator


LABELS: dict[str, tuple[str, str]] = {
    ReuseStatus.PENDING: ("待审核", "Awaiting review"),
    ReuseStatus.APPROVED: ("已发布", "Published"),
    ReuseStatus.REJECTED: ("未通过", "Rejected"),
    ReuseStatus.UNPUBLISHED: ("已下架", "Unpublished"),
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReuseIn(_In):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=5000)
    url: str = Field(min_length=1, max_length=1000)
    # Open datasets by id or name (or their entry's resource code).
    datasets: list[str] = Field(min_length=1, max_length=MAX_DATASETS)


class ReuseReviewIn(_In):
    approve: bool
    reason: str | None = Field(default=None, max_length=2000)


class ReuseFeatureIn(_In):
    featured: bool


class ReuseUnpublishIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class RatingIn(_In):
    stars: int = Field(ge=1, le=5)


@dataclass(frozen=True)
class Upload:
    """A screenshot as received: its file name (only for messages) and bytes."""

    filename: str
    content: bytes


class DatasetRef(BaseModel):
    id: str
    name: str
    title: str
    publisher_name: str
    topic_code: str


class ScreenshotOut(BaseModel):
    id: str
    url: str
    media_type: str


class Evaluation(BaseModel):
    datasets: int
    calls: int
    downloads: int
    rating: float | None  # average stars, one decimal
    ratings: int
    views: int
    score: float


class ReuseOut(BaseModel):
    id: str
    name: str
    description: str
    url: str
    submitter_name: str
    status: str
    status_label: str
    featured: bool
    review_reason: str | None
    reviewed_at: datetime | None
    created_at: datetime
    datasets: list[DatasetRef]
    screenshots: list[ScreenshotOut]
    evaluation: Evaluation
    my_rating: int | None = None


class ReusePage(BaseModel):
    items: list[ReuseOut]
    total: int
    offset: int
    limit: int


def screenshot_url(reuse_id: str, shot_id: str) -> str:
    return f"/open/reuses/{reuse_id}/screenshots/{shot_id}"


def screenshot_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "opendata" / "reuses"


def score(*, rating: float | None, views: int, uses: int, datasets: int) -> float:
    """The evaluation formula of the module docstring."""
    value = 40 * ((rating or 0.0) / 5)
    value += 20 * min(1.0, math.log10(1 + views) / 3)
    value += 20 * min(1.0, math.log10(1 + uses) / 4)
    value += 20 * min(1.0, datasets / 5)
    return round(value, 1)


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
    """PNG or JPEG by content (Pillow when installed, else the file signature), else None."""
    try:
        from PIL import Image  # type: ignore[import-not-found]
    except ImportError:
        if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
            return PNG
        if content.startswith(b"\xff\xd8\xff") and len(content) > 4:
            return JPEG
        return None
    import io

    try:
        with Image.open(io.BytesIO(content)) as img:
            fmt = img.format
            img.verify()
    except Exception:
        return None
    return {"PNG": PNG, "JPEG": JPEG}.get(str(fmt))


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


def dataset_choices(s: Session, limit: int = 500) -> list[tuple[str, str]]:
    """(name, title) of public datasets, for the submission form."""
    rows = s.execute(
        select(OpenDataset.name, CatalogEntry.name)
        .join(CatalogEntry, public_clause())
        .order_by(CatalogEntry.name, OpenDataset.name)
        .limit(limit)
    )
    return [(n, t) for n, t in rows]


def showcase_facets(s: Session) -> dict[str, list[tuple[str, str]]]:
    """The showcase's filters: public datasets and topics that published reuses use."""
    rows = s.execute(
        select(OpenDataset.name, CatalogEntry.name, CatalogEntry.class_code)
        .join(CatalogEntry, public_clause())
        .join(ReuseDataset, ReuseDataset.dataset_id == OpenDataset.id)
        .join(Reuse, Reuse.id == ReuseDataset.reuse_id)
        .where(Reuse.status == ReuseStatus.APPROVED.value)
        .distinct()
    ).all()
    codes = {c[:3] for _, _, c in rows}
    names = {
        code: name
        for code, name in s.execute(
            select(CatalogClass.code, CatalogClass.name).where(CatalogClass.code.in_(codes))
        )
    }
    return {
        "datasets": sorted({(n, t) for n, t, _ in rows}, key=lambda x: x[1]),
        "topics": sorted((c, names.get(c, c)) for c in codes),
    }


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


# -- reading ---------------------------------------------------------------------------


def _month(at: datetime) -> str:
    return clock.as_utc(at).astimezone(clock.DISPLAY_TZ).strftime("%Y-%m")


def reuse_outs(
    s: Session, reuses: list[Reuse], locale: str = "zh_CN", *, viewer: str | None = None
) -> list[ReuseOut]:
    """Output shapes of many reuses with batched lookups; only public datasets appear."""
    if not reuses:
        return []
    ids = [r.id for r in reuses]
    used: dict[str, list[DatasetRef]] = {}
    for reuse_id, ds, entry in s.execute(
        select(ReuseDataset.reuse_id, OpenDataset, CatalogEntry)
        .join(OpenDataset, OpenDataset.id == ReuseDataset.dataset_id)
        .join(CatalogEntry, public_clause())
        .where(ReuseDataset.reuse_id.in_(ids))
        .order_by(CatalogEntry.name, OpenDataset.id)
    ):
        used.setdefault(reuse_id, []).append(
            DatasetRef(
                id=ds.id,
                name=ds.name,
                title=entry.name,
                publisher_name=entry.provider_name,
                topic_code=entry.class_code[:3],
            )
        )
    dataset_ids = {d.id for refs in used.values() for d in refs}
    usage: dict[str, list[tuple[str, int, int]]] = {}
    if dataset_ids:
        for ds_id, month, calls, downloads in s.execute(
            select(
                OpenUsage.dataset_id, OpenUsage.month, OpenUsage.calls, OpenUsage.downloads
            ).where(OpenUsage.dataset_id.in_(dataset_ids))
        ):
            usage.setdefault(ds_id, []).append((month, int(calls), int(downloads)))
    ratings = {
        rid: (float(avg), int(n))
        for rid, avg, n in s.execute(
            select(ReuseRating.reuse_id, func.avg(ReuseRating.stars), func.count())
            .where(ReuseRating.reuse_id.in_(ids))
            .group_by(ReuseRating.reuse_id)
        )
    }
    mine: dict[str, int] = {}
    if viewer:
        mine = {
            rid: stars
            for rid, stars in s.execute(
                select(ReuseRating.reuse_id, ReuseRating.stars).where(
                    ReuseRating.reuse_id.in_(ids), ReuseRating.user_id == viewer
                )
            )
        }
    shots: dict[str, list[ScreenshotOut]] = {}
    for shot in s.scalars(
        select(ReuseScreenshot)
        .where(ReuseScreenshot.reuse_id.in_(ids))
        .order_by(ReuseScreenshot.position)
    ):
        shots.setdefault(shot.reuse_id, []).append(
            ScreenshotOut(
                id=shot.id, url=screenshot_url(shot.reuse_id, shot.id), media_type=shot.media_type
            )
        )
    out = []
    for r in reuses:
        refs = used.get(r.id, [])
        since = _month(r.created_at)
        calls = downloads = 0
        for ref in refs:
            for month, c, d in usage.get(ref.id, []):
                if month >= since:
                    calls, downloads = calls + c, downloads + d
        avg, n = ratings.get(r.id, (None, 0))
        rating = round(avg, 1) if avg is not None else None
        out.append(
            ReuseOut(
                id=r.id,
                name=r.name,
                description=r.description,
                url=r.url,
                submitter_name=r.submitter_name,
                status=r.status,
                status_label=label(LABELS, r.status, locale),
                featured=r.featured,
                review_reason=r.review_reason,
                reviewed_at=r.reviewed_at,
                created_at=r.created_at,
                datasets=refs,
                screenshots=shots.get(r.id, []),
                evaluation=Evaluation(
                    datasets=len(refs),
                    calls=calls,
                    downloads=downloads,
                    rating=rating,
                    ratings=n,
                    views=r.views,
                    score=score(
                        rating=avg, views=r.views, uses=calls + downloads, datasets=len(refs)
                    ),
                ),
                my_rating=mine.get(r.id),
            )
        )
    return out
