"""What a reuse looks like to its readers: the datasets it uses (only while public), its
screenshots, ratings and the evaluation, built with a few batched queries.

Evaluation (0–100, one decimal), from the reuse's own figures:

    score = 40 · (average rating / 5)                    (0 while unrated)
          + 20 · min(1, log10(1 + views) / 3)            (1,000 views is full marks)
          + 20 · min(1, log10(1 + calls + downloads) / 4) (10,000 uses is full marks)
          + 20 · min(1, datasets / 5)                    (five open datasets is full marks)

where calls and downloads are those of the datasets it uses (``OpenUsage``), counted
from the month (Asia/Shanghai) the reuse was submitted, and datasets are those the
public gate still lets through.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogClass, CatalogEntry
from govdata.core import clock
from govdata.opendata.access import public_clause
from govdata.opendata.models import OpenDataset, OpenUsage
from govdata.opendata.reuse_models import Reuse, ReuseDataset, ReuseRating, ReuseScreenshot
from govdata.opendata.reuse_schemas import (
    LABELS,
    DatasetRef,
    Evaluation,
    ReuseOut,
    ReuseStatus,
    ScreenshotOut,
)
from govdata.opendata.vocab import label


def screenshot_url(reuse_id: str, shot_id: str) -> str:
    return f"/open/reuses/{reuse_id}/screenshots/{shot_id}"


def score(*, rating: float | None, views: int, uses: int, datasets: int) -> float:
    """The evaluation formula of the module docstring."""
    value = 40 * ((rating or 0.0) / 5)
    value += 20 * min(1.0, math.log10(1 + views) / 3)
    value += 20 * min(1.0, math.log10(1 + uses) / 4)
    value += 20 * min(1.0, datasets / 5)
    return round(value, 1)


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
