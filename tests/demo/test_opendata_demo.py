"""The demo's open-data stage: 60+ open datasets with their lake tables, open fields that
leave out sensitive and personal items, a year of usage, featured datasets, the review's
other outcomes and the gate refusing a personal register; a rerun adds nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow.csv as pacsv
from sqlalchemy import func, select

from govdata.catalog.models import CatalogEntry, EntryItem
from govdata.config import Settings
from govdata.core.db import Database
from govdata.demo import builder
from govdata.demo.opendata import OPENED, last_months, seed_opendata
from govdata.demo.opendata_public import PUBLIC_ADDRESS, REUSES
from govdata.demo.opendata_values import ItemSpec, personal_item
from govdata.exchange.models import Mount
from govdata.lake.tables import Lake
from govdata.opendata import access, accounts, apikeys, downloads, grants, openlist
from govdata.opendata.grants import ANONYMOUS_IDENTITY, PublicIdentity
from govdata.opendata.models import OpenDataset, OpenUsage
from govdata.opendata.reuse_models import Reuse, ReuseDataset
from govdata.opendata.vocab import OPENABLE_GRADE
from govdata.security.context import Caller
from govdata.security.context_types import ANONYMOUS

Demo = tuple[Database, Settings, dict[str, Any]]


def _public(db: Database) -> list[tuple[OpenDataset, CatalogEntry]]:
    with db.transaction() as s:
        rows = [(d, e) for d, e in s.execute(access.public_datasets())]
        s.expunge_all()
    return rows


def test_sixty_plus_datasets_are_public_across_many_publishers(sqlite_demo: Demo) -> None:
    db, _settings, _manifest = sqlite_demo
    public = _public(db)
    assert len(public) == OPENED >= 60
    publishers = {e.provider_code for _d, e in public}
    assert len(publishers) >= 40
    assert {e.open_type for _d, e in public} == {"open", "conditional"}
    # Provincial departments and prefecture bureaus both publish.
    assert any("_" in code for code in publishers) and any("_" not in code for code in publishers)
    for _d, entry in public:
        assert entry.grade <= OPENABLE_GRADE and entry.status == "published"


def test_every_public_dataset_has_rows_and_opens_no_sensitive_or_personal_item(
    sqlite_demo: Demo,
) -> None:
    db, settings, _manifest = sqlite_demo
    lake = Lake.from_settings(settings)
    left_out = 0
    with db.transaction() as s:
        for ds, entry in s.execute(access.public_datasets()):
            mount = access.lake_mount(s, entry.id)
            assert mount is not None and mount.lake_table is not None
            assert lake.info(mount.lake_table).num_rows > 0, entry.name
            items = {
                i.name: i
                for i in s.scalars(
                    select(EntryItem).where(EntryItem.version_id == entry.published_version_id)
                )
            }
            fields = access.open_fields(s, ds, entry)
            assert fields, entry.name
            for f in fields:
                item = items[f.item]
                assert not item.is_sensitive and item.grade <= OPENABLE_GRADE
                spec = ItemSpec(item.name, item.name_en or "", item.data_type, item.data_element)
                assert not personal_item(spec), (entry.name, item.name)
            mapped = {c.get("item") for c in mount.columns}
            if mapped - {f.item for f in fields}:
                left_out += 1
    # Registers naming persons (律师执业信息, 个体工商户, …) keep those columns in the lake only.
    assert left_out >= 10


def test_usage_covers_the_last_twelve_months(sqlite_demo: Demo) -> None:
    db, _settings, _manifest = sqlite_demo
    months = last_months()
    assert len(months) == 12 and months == sorted(months)
    public = _public(db)
    with db.transaction() as s:
        usage = list(s.scalars(select(OpenUsage)))
    per_dataset = Counter(u.dataset_id for u in usage if u.month in months)
    for ds, _entry in public:
        assert per_dataset[ds.id] == 12, ds.name
        assert ds.views >= ds.downloads >= ds.calls and ds.views > 0
    by_month: Counter[str] = Counter()
    for u in usage:
        by_month[u.month] += u.views
    assert set(by_month) >= set(months) and all(by_month[m] > 0 for m in months)
    # Popular topics are used more: the market regulator's datasets lead.
    views: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for ds, entry in public:
        views[entry.provider_code] += ds.views
        counts[entry.provider_code] += 1
    mean = sum(views.values()) / sum(counts.values())
    assert views["market"] / counts["market"] > mean


def test_featured_and_the_reviews_other_outcomes(sqlite_demo: Demo) -> None:
    db, settings, _manifest = sqlite_demo
    public = _public(db)
    assert 5 <= sum(1 for ds, _e in public if ds.featured) <= 8
    with db.transaction() as s:
        states = Counter(s.scalars(select(OpenDataset.status)))
    assert states == {"open": OPENED, "proposed": 1, "rejected": 1}
    marker = builder.read_marker(settings.data_dir) or {}
    opened = marker["opendata"]
    assert opened["open"] == OPENED and opened["featured"] == sum(
        1 for ds, _e in public if ds.featured
    )
    # The gate refused the resident register (grade 3) when its officer tried to open it.
    assert opened["refused"]["code"] == "opendata_not_openable"
    with db.transaction() as s:
        register = s.scalars(
            select(CatalogEntry).where(CatalogEntry.name == opened["refused"]["entry"])
        ).one()
        assert register.grade > OPENABLE_GRADE
        assert s.scalar(select(OpenDataset).where(OpenDataset.entry_id == register.id)) is None


def test_a_rerun_adds_nothing(sqlite_demo: Demo) -> None:
    db, settings, manifest = sqlite_demo

    def counts() -> tuple[int, ...]:
        with db.transaction() as s:
            return (
                s.scalar(select(func.count()).select_from(OpenDataset)) or 0,
                s.scalar(select(func.count()).select_from(OpenUsage)) or 0,
                s.scalar(select(func.sum(OpenDataset.views))) or 0,
                s.scalar(select(func.count()).select_from(Mount)) or 0,
            )

    before = counts()
    again = seed_opendata(db, settings, persons=manifest["persons"])
    assert counts() == before
    assert again["usage_datasets"] == 0 and again["open"] == OPENED


def test_a_real_csv_download_holds_every_row_of_the_lake_table(sqlite_demo: Demo) -> None:
    db, settings, _manifest = sqlite_demo
    lake = Lake.from_settings(settings)
    with db.transaction() as s:
        ds, entry = s.execute(
            access.public_datasets()
            .where(CatalogEntry.open_type == "open")
            .order_by(OpenDataset.name.desc())
            .limit(1)
        ).one()
        mount = access.lake_mount(s, entry.id)
        assert mount is not None and mount.lake_table is not None
        open_columns = [f.field for f in access.open_fields(s, ds, entry)]
        name, table = ds.name, mount.lake_table
    got = downloads.download(db, settings, ANONYMOUS_IDENTITY, name, "csv")
    read = pacsv.read_csv(got.path)
    assert read.num_rows == got.rows == lake.info(table).num_rows > 0
    assert read.column_names == open_columns
    # The demo's own downloads left cached files for a dozen datasets, in three formats.
    cached = [p for p in (settings.data_dir / "opendata" / "cache").glob("*/*") if p.is_file()]
    assert {p.suffix for p in cached} >= {".csv", ".xlsx", ".json"}
    assert len({p.parent for p in cached}) >= 10
    marker = builder.read_marker(settings.data_dir) or {}
    assert marker["opendata"]["downloads"] >= 12


def test_this_years_open_list_is_approved_with_progress(sqlite_demo: Demo) -> None:
    db, _settings, _manifest = sqlite_demo
    with db.transaction() as s:
        shown = openlist.public_list(s, openlist.today().year)
    assert shown.status == "approved" and shown.pending == 0
    progress = Counter(i.progress for i in shown.items)
    assert progress["opened"] >= 10 and progress["overdue"] >= 1 and progress["planned"] >= 2
    assert shown.opened == progress["opened"] and shown.total == len(shown.items)
    # A dataset still to be catalogued, and none of the refused item on the public list.
    assert any(i.entry_id is None for i in shown.items)
    assert all(i.status == "accepted" for i in shown.items)
    assert len(shown.departments) >= 10


def test_the_public_account_reads_the_conditional_dataset_it_was_granted(
    sqlite_demo: Demo,
) -> None:
    db, settings, _manifest = sqlite_demo
    marker = (builder.read_marker(settings.data_dir) or {})["opendata"]["public_account"]
    (approved,), (pending,) = marker["approved"], marker["pending"]
    with db.transaction() as s:
        account = accounts.find(s, PUBLIC_ADDRESS)
        assert account is not None and account.verified_at is not None
        me = PublicIdentity(accounts.actor_of(account))
        granted, granted_entry = access.public_dataset(s, approved)
        waiting, waiting_entry = access.public_dataset(s, pending)
        assert granted_entry.open_type == waiting_entry.open_type == "conditional"
        assert grants.may_read_data(s, me, granted, granted_entry)
        assert not grants.may_read_data(s, me, waiting, waiting_entry)
        assert not grants.may_read_data(s, ANONYMOUS_IDENTITY, granted, granted_entry)
        # Approval issued a key limited to the granted dataset, its secret still to reveal.
        assert apikeys.active_key(s, account.id) is not None
        assert apikeys.granted_datasets(s, account.id) == {granted.id}
    # The login printed with the demo's others is this account's.
    token, signed_in = accounts.login(
        Caller(db, settings, ANONYMOUS), PUBLIC_ADDRESS, settings.demo_password
    )
    assert token and signed_in.email == PUBLIC_ADDRESS and signed_in.verified


def test_reuses_are_published_and_two_featured(sqlite_demo: Demo) -> None:
    db, _settings, _manifest = sqlite_demo
    with db.transaction() as s:
        shown = list(s.scalars(select(Reuse)))
        used = Counter(r.reuse_id for r in s.scalars(select(ReuseDataset)))
    assert Counter(r.status for r in shown) == {"approved": len(REUSES)}
    assert sum(r.featured for r in shown) == 2
    assert all(used[r.id] >= 1 for r in shown)
