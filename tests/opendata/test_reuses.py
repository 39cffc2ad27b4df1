"""Reuses: submission checks (nothing stored on bad input), the operator's review and
featuring, ratings, the evaluation's exact figures, and hidden datasets never shown."""

from __future__ import annotations

import struct
import uuid
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from govdata.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from govdata.opendata import datasets, reuses
from govdata.opendata.reuse_models import Reuse, ReuseScreenshot
from govdata.opendata.reuses import (
    RatingIn,
    ReuseFeatureIn,
    ReuseIn,
    ReuseReviewIn,
    ReuseUnpublishIn,
    Upload,
)
from govdata.opendata.schemas import WithdrawIn
from govdata.opendata.usage import record_usage
from govdata.opendata.vocab import UsageKind
from govdata.security.audit import AuditRecord
from govdata.security.context import Caller
from govdata.security.context_types import ANONYMOUS, Actor
from tests.identity.conftest import Org
from tests.opendata.fixtures import Opened, opened_schools


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def public(org: Org, name: str = "张三") -> Caller:
    actor = Actor(kind="public", id=str(uuid.uuid4()), name=name)
    return Caller(org.db, org.settings, actor, "127.0.0.1")


def _submit(who: Caller, opened: Opened, shots: list[Upload] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    data = {
        "name": "学校地图",
        "description": "在地图上查找全省中小学校。",
        "url": "https://example.org/schools",
        "datasets": [opened.name],
    } | kw
    with who.act() as ctx:
        return reuses.submit_reuse(ctx, ReuseIn(**data), shots or [])  # type: ignore[arg-type]


def _counts(org: Org) -> tuple[int, int, int]:
    folder = reuses.screenshot_dir(org.settings)
    files = len(list(folder.iterdir())) if folder.exists() else 0
    with org.db.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Reuse)) or 0,
            s.scalar(select(func.count()).select_from(ReuseScreenshot)) or 0,
            files,
        )


def test_submission_is_checked_and_nothing_is_saved_on_bad_input(org: Org, tmp_path: Path) -> None:
    opened = opened_schools(org, tmp_path)
    withdrawn = opened_schools(org, tmp_path, name="全省幼儿园名录")
    with org.as_("xn_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, withdrawn.dataset_id, WithdrawIn(reason="停止更新"))
    user = public(org)
    image = Upload("map.png", png())
    cases = [
        ({"url": "ftp://example.org/x"}, [image], "reuse_invalid_url"),
        ({"url": "javascript:alert(1)"}, [], "reuse_invalid_url"),
        ({"url": "https://"}, [], "reuse_invalid_url"),
        ({"datasets": [opened.name, "no-such-dataset"]}, [image], "reuse_dataset_unknown"),
        # A dataset taken off the portal is as unknown as one that never existed.
        ({"datasets": [withdrawn.name]}, [image], "reuse_dataset_unknown"),
        (
            {},
            [image, Upload("big.png", png() + b"\0" * (2 * 1024 * 1024))],
            "reuse_screenshot_too_large",
        ),
        (
            {},
            [image, Upload("notes.png", b"just some text, not an image")],
            "reuse_screenshot_not_image",
        ),
        ({}, [Upload("x.gif", b"GIF89a\x01\x00\x01\x00")], "reuse_screenshot_not_image"),
        ({}, [image] * 6, "reuse_too_many_screenshots"),
    ]
    for overrides, shots, code in cases:
        with pytest.raises(InvalidInput) as exc:
            _submit(user, opened, shots, **overrides)
        assert exc.value.code == code, overrides
        assert exc.value.message("zh_CN") and exc.value.message("en")
        assert _counts(org) == (0, 0, 0)
    # Government users and anonymous visitors do not submit: public accounts do.
    with pytest.raises(PermissionDenied):
        _submit(org.as_("xn_officer"), opened)
    with pytest.raises(NotAuthenticated):
        _submit(Caller(org.db, org.settings, ANONYMOUS), opened)
    out = _submit(user, opened, [image, Upload("b.png", png(3, 1))])
    assert out.status == "pending" and [d.name for d in out.datasets] == [opened.name]
    assert _counts(org) == (1, 2, 2)
    stored = sorted(p.name for p in reuses.screenshot_dir(org.settings).iterdir())
    assert all(len(n) == 36 and n.endswith(".png") for n in stored)  # random names
    with org.db.sessions() as s:
        # Unpublished reuses' screenshots are not public; the submitter and operator see them.
        with pytest.raises(NotFound):
            reuses.screenshot_file(s, org.settings, ANONYMOUS, out.id, out.screenshots[0].id)
        path, media = reuses.screenshot_file(
            s, org.settings, user.actor, out.id, out.screenshots[0].id
        )
    assert media == "image/png" and path.read_bytes() == png()


def test_review_feature_and_unpublish_are_the_operators(org: Org, tmp_path: Path) -> None:
    opened = opened_schools(org, tmp_path)
    out = _submit(public(org), opened)
    for who in ("xn_officer", "xn_clerk", "auditor"):
        with pytest.raises(PermissionDenied), org.as_(who).act() as ctx:
            reuses.review_reuse(ctx, out.id, ReuseReviewIn(approve=True))
    with pytest.raises(PermissionDenied), public(org).act() as ctx:
        reuses.review_reuse(ctx, out.id, ReuseReviewIn(approve=True))
    with org.db.sessions() as s:
        assert reuses.list_public(s).total == 0
    # Featuring waits for approval; a rejection needs a reason.
    with pytest.raises(Conflict), org.as_("operator").act() as ctx:
        reuses.feature_reuse(ctx, out.id, ReuseFeatureIn(featured=True))
    with pytest.raises(InvalidInput), org.as_("operator").act() as ctx:
        reuses.review_reuse(ctx, out.id, ReuseReviewIn(approve=False))
    second = _submit(public(org, "李四"), opened, name="开学导航")
    with org.as_("operator").act() as ctx:
        reuses.review_reuse(ctx, out.id, ReuseReviewIn(approve=True))
        reuses.review_reuse(ctx, second.id, ReuseReviewIn(approve=True))
        reuses.feature_reuse(ctx, second.id, ReuseFeatureIn(featured=True))
    with pytest.raises(PermissionDenied), org.as_("xn_officer").act() as ctx:
        reuses.feature_reuse(ctx, out.id, ReuseFeatureIn(featured=True))
    with org.db.sessions() as s:
        # Featured first on the showcase; the home page's query has it alone.
        assert [r.name for r in reuses.list_public(s).items] == ["开学导航", "学校地图"]
        assert [r.id for r in reuses.featured(s, 3)] == [second.id]
        assert [r.id for r in reuses.list_public(s, dataset=opened.name).items] == [
            second.id,
            out.id,
        ]
        assert reuses.list_public(s, topic="101").total == 2
        assert reuses.list_public(s, topic="102").total == 0
    with org.as_("operator").act() as ctx:
        gone = reuses.unpublish_reuse(ctx, second.id, ReuseUnpublishIn(reason="链接失效"))
    assert (gone.status, gone.featured) == ("unpublished", False)
    with org.db.sessions() as s:
        assert [r.id for r in reuses.list_public(s).items] == [out.id]
        assert reuses.featured(s, 3) == []
        actions = [
            a
            for (a,) in s.execute(
                select(AuditRecord.action)
                .where(AuditRecord.target_type == "open_reuse")
                .order_by(AuditRecord.id)
            )
        ]
    assert actions == [
        "opendata.reuse.submit",
        "opendata.reuse.submit",
        "opendata.reuse.approve",
        "opendata.reuse.approve",
        "opendata.reuse.feature",
        "opendata.reuse.unpublish",
    ]
    with pytest.raises(NotFound), Caller(org.db, org.settings, ANONYMOUS).act() as ctx:
        reuses.view_reuse(ctx, second.id)


def test_ratings_one_per_user_and_changeable(org: Org, tmp_path: Path) -> None:
    opened = opened_schools(org, tmp_path)
    out = _submit(public(org), opened)
    fan = public(org, "王五")
    # Not published yet: nobody rates it.
    with pytest.raises(NotFound), fan.act() as ctx:
        reuses.rate_reuse(ctx, out.id, RatingIn(stars=5))
    with org.as_("operator").act() as ctx:
        reuses.review_reuse(ctx, out.id, ReuseReviewIn(approve=True))
    with fan.act() as ctx:
        assert reuses.rate_reuse(ctx, out.id, RatingIn(stars=2)).my_rating == 2
    with fan.act() as ctx:
        again = reuses.rate_reuse(ctx, out.id, RatingIn(stars=5))
    assert (again.my_rating, again.evaluation.ratings, again.evaluation.rating) == (5, 1, 5.0)
    with public(org).act() as ctx:
        other = reuses.rate_reuse(ctx, out.id, RatingIn(stars=4))
    assert (other.evaluation.ratings, other.evaluation.rating) == (2, 4.5)
    with pytest.raises(PermissionDenied), org.as_("operator").act() as ctx:
        reuses.rate_reuse(ctx, out.id, RatingIn(stars=1))
    with pytest.raises(NotAuthenticated), Caller(org.db, org.settings, ANONYMOUS).act() as ctx:
        reuses.rate_reuse(ctx, out.id, RatingIn(stars=1))
    with pytest.raises(ValueError):
        RatingIn(stars=6)


def test_evaluation_figures_and_hidden_datasets(org: Org, tmp_path: Path) -> None:
    schools = opened_schools(org, tmp_path)
    kindergartens = opened_schools(org, tmp_path, name="全省幼儿园名录")
    out = _submit(public(org), schools, datasets=[schools.name, kindergartens.resource_code])
    assert {d.name for d in out.datasets} == {schools.name, kindergartens.name}
    with org.db.transaction() as s:
        for ds, calls, downloads in ((schools, 5, 2), (kindergartens, 2, 1)):
            record_usage(s, ds.dataset_id, org.dept["xn_stats"], UsageKind.CALL, calls)
            record_usage(s, ds.dataset_id, org.dept["xn_stats"], UsageKind.DOWNLOAD, downloads)
        # Before the reuse existed: not its doing, not counted.
        record_usage(
            s, schools.dataset_id, org.dept["xn_stats"], UsageKind.CALL, 100, month="2000-01"
        )
    with org.as_("operator").act() as ctx:
        reuses.review_reuse(ctx, out.id, ReuseReviewIn(approve=True))
    for stars in (4, 5):
        with public(org).act() as ctx:
            reuses.rate_reuse(ctx, out.id, RatingIn(stars=stars))
    anonymous = Caller(org.db, org.settings, ANONYMOUS)
    for _ in range(2):
        with anonymous.act() as ctx:
            seen = reuses.view_reuse(ctx, out.id)
    e = seen.evaluation
    assert (e.datasets, e.calls, e.downloads, e.rating, e.ratings, e.views) == (2, 7, 3, 4.5, 2, 2)
    # 40·4.5/5 + 20·log10(3)/3 + 20·log10(11)/4 + 20·2/5 = 36 + 3.18 + 5.21 + 8 = 52.39
    assert e.score == 52.4
    # One dataset leaves the portal: it vanishes from the reuse, its figures and filters.
    with org.as_("xn_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, kindergartens.dataset_id, WithdrawIn(reason="停止更新"))
    with anonymous.act() as ctx:
        seen = reuses.view_reuse(ctx, out.id)
    e = seen.evaluation
    assert [d.name for d in seen.datasets] == [schools.name]
    assert (e.datasets, e.calls, e.downloads, e.views) == (1, 5, 2, 3)
    # 36 + 20·log10(4)/3 + 20·log10(8)/4 + 20·1/5 = 36 + 4.01 + 4.52 + 4 = 48.53
    assert e.score == 48.5
    with org.db.sessions() as s, pytest.raises(NotFound):
        reuses.list_public(s, dataset=kindergartens.name)
    assert "全省幼儿园名录" not in seen.model_dump_json()
