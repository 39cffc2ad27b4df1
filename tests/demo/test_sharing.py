"""The demo's sharing stage: applications in every state, grants, demands, objections, and
granted data readable (masked) by the consumer through the data-service API."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from govdata.config import Settings
from govdata.core.db import Database
from govdata.governance.models import Ticket
from govdata.sharing import dataapi
from govdata.sharing.models import Application, ApplicationStep, Demand, Grant
from tests.demo.test_catalog import caller_for

Demo = tuple[Database, Settings, dict[str, Any]]


def test_applications_are_in_every_state(sqlite_demo: Demo) -> None:
    db, _settings, _manifest = sqlite_demo
    with db.transaction() as s:
        apps = list(s.scalars(select(Application)))
        steps = list(s.scalars(select(ApplicationStep)))
        grants = list(s.scalars(select(Grant)))
        demands = list(s.scalars(select(Demand)))
        # Consumers' objections; the demo's quality runs open tickets of their own.
        tickets = list(s.scalars(select(Ticket).where(Ticket.source == "objection")))
    states = Counter(a.status for a in apps)
    assert states["approved"] == 4 and states["rejected"] == 1 and states["contested"] == 1
    assert states["withdrawn"] == 1 and states["pending"] == 4
    waiting = Counter(a.current_step for a in apps if a.status == "pending")
    assert waiting == {"provider": 3, "operator": 1}
    assert [a.kind for a in apps].count("renewal") == 1
    escalated = [st for st in steps if st.escalated_at is not None]
    assert len(escalated) == 1 and escalated[0].status == "pending"
    assert Counter(g.status for g in grants) == {"active": 3, "revoked": 1}
    assert {d.status for d in demands} == {"open", "routed", "answered", "fulfilled", "closed"}
    assert sorted(t.status for t in tickets) == ["open", "rectifying"]


def test_a_consumer_reads_its_granted_data_masked(sqlite_demo: Demo) -> None:
    db, settings, _manifest = sqlite_demo
    with db.transaction() as s:
        grant = s.scalars(select(Grant).where(Grant.entry_name == "基本医疗保险参保信息")).one()
        code = grant.resource_code
    page = dataapi.read_data(caller_for(db, settings, "health_officer"), code, limit=5)
    assert page.row_count == 5
    assert page.masked, "personal items are masked by default"
    for field in page.masked:
        assert all("*" in str(row[field]) for row in page.rows if row[field])


def test_subscriptions_deliver_into_the_consumers_databases(sqlite_demo: Demo) -> None:
    import sqlite3

    from govdata.sharing.models import Subscription, SubscriptionRun

    db, settings, _manifest = sqlite_demo
    with db.transaction() as s:
        subs = {sub.target_table: sub for sub in s.scalars(select(Subscription))}
        done = {
            r.subscription_id
            for r in s.scalars(select(SubscriptionRun).where(SubscriptionRun.status == "succeeded"))
        }
        s.expunge_all()
    assert set(subs) == {"hj_persons", "sczt_enterprises"}
    assert {sub.id for sub in subs.values()} <= done

    def table_rows(database: str, table: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(settings.data_dir / "sources" / f"{database}.db")
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if table not in names:
                return []
            return conn.execute(f"SELECT * FROM {table}").fetchall()
        finally:
            conn.close()

    # The market register was loaded at build time: it is in 人社厅's database already.
    assert len(table_rows("hrss_share", "sczt_enterprises")) > 10
    assert table_rows("hrss_share", "govdata_delivery")
