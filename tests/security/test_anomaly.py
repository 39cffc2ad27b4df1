"""Anomaly detection: every rule fires on a scripted scenario and stays quiet on a normal one;
the scan reads each audit record once, resumes where it stopped, and learns baselines per app.

Events happen through the real code paths where that is quick (data-service reads and key
lookups, refused reads, sign-ins, revoked credentials). History that a real scenario would
take days to make (fourteen days of an app's reads, a night last week) is written as audit
records with their past times.
"""

from __future__ import annotations

import time as time_mod
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.db import Database
from govdata.core.errors import NotAuthenticated, PermissionDenied
from govdata.core.ids import new_id
from govdata.identity import actions as identity_actions
from govdata.identity import auth
from govdata.identity.models import AppCredential
from govdata.identity.schemas import CredentialCreate
from govdata.security.anomaly import detect, rule_settings
from govdata.security.anomaly.models import AccessStat, Alert, Baseline
from govdata.security.anomaly.rules import off_hours
from govdata.security.anomaly.schemas import RuleIn
from govdata.security.anomaly.vocab import Severity
from govdata.security.audit import DENIED, SUCCESS
from govdata.security.context import Caller
from govdata.security.context_types import Actor
from govdata.security.models import AuditRecord
from govdata.sharing import dataapi, policy
from govdata.sharing.schemas import HolidayIn, VerifyIn
from govdata.sharing.vocab import HolidayKind
from govdata.sharing.workdays import Calendar
from tests.catalog.conftest import org, settings
from tests.identity.conftest import PASSWORD, Org
from tests.sharing.conftest import PEOPLE, World, world

__all__ = ["org", "settings", "world"]

READ = "sharing.data.read"


# Helpers (the alert flow and posture tests use them too) ------------------------------------


def past_record(
    db: Database,
    actor: Actor,
    action: str,
    at: datetime | list[datetime],
    *,
    outcome: str = SUCCESS,
    row_count: int | None = None,
    target_id: str | None = None,
    client_addr: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit records written at ``at`` (``write_audit`` always stamps the present)."""
    with db.transaction() as s:
        for when in at if isinstance(at, list) else [at]:
            s.add(
                AuditRecord(
                    id=new_id(),
                    at=when,
                    actor_kind=actor.kind,
                    actor_id=actor.id,
                    actor_name=actor.name,
                    roles="",
                    action=action,
                    target_type="entry" if target_id else None,
                    target_id=target_id,
                    outcome=outcome,
                    client_addr=client_addr,
                    row_count=row_count,
                    details=details,
                )
            )


def app_actor(name: str) -> Actor:
    return Actor(kind="app", id=new_id(), name=f"app:{name}")


def scan(db: Database, settings: Settings, **kw: Any) -> detect.ScanResult:
    return detect.scan(db, settings, settle=timedelta(0), **kw)


def alerts(db: Database, rule: str | None = None) -> list[Alert]:
    with db.transaction() as s:
        stmt = select(Alert).order_by(Alert.created_at)
        if rule:
            stmt = stmt.where(Alert.rule == rule)
        rows = list(s.scalars(stmt))
        for r in rows:
            s.expunge(r)
        return rows


def tune(org: Org, code: str, **params: Any) -> None:
    """The security administrator sets a rule's thresholds."""
    with org.as_("secadmin").act() as ctx:
        current = next(r for r in rule_settings.list_rules(ctx) if r.code == code)
        rule_settings.update_rule(
            ctx, code, RuleIn(enabled=True, severity=Severity(current.severity), params=params)
        )


def app_token(world: World, name: str, department: str = "hx_stats") -> tuple[str, Actor]:
    with world.org.system.act() as ctx:
        out = identity_actions.create_credential(
            ctx,
            CredentialCreate(
                name=name, department_id=world.org.dept[department], scopes=["data.read"], days=30
            ),
        )
    return out.token, auth.actor_from_bearer(world.org.db, world.org.settings, out.token)


def as_app(world: World, actor: Actor) -> Caller:
    return Caller(world.org.db, world.org.settings, actor, "10.1.1.1")


def away_from_the_hour_edge() -> None:
    """Hourly windows: keep a scenario's reads inside one clock hour."""
    left = 3600 - now().minute * 60 - now().second
    if left < 5:
        time_mod.sleep(left + 0.5)


def granted(world: World) -> CatalogEntry:
    entry = world.mounted("physical")
    application = world.apply(entry)
    assert application.grant_id
    return entry


# Volume far above an app's own baseline ---------------------------------------------------


def _history(db: Database, actor: Actor, entry_id: str, rows_per_hour: list[int]) -> int:
    """Working hours (09:00-16:00 Beijing) of the last thirteen days, one read an hour."""
    today = now().astimezone(DISPLAY_TZ).date()
    by_rows: dict[int, list[datetime]] = {}
    for day in range(1, 14):
        d = today - timedelta(days=day)
        for i, hour in enumerate(range(9, 17)):
            at = datetime.combine(d, time(hour, 10), tzinfo=DISPLAY_TZ)
            by_rows.setdefault(rows_per_hour[(day + i) % len(rows_per_hour)], []).append(at)
    for rows, times in by_rows.items():
        past_record(db, actor, READ, times, row_count=rows, target_id=entry_id)
    return sum(len(t) for t in by_rows.values())


def test_volume_far_above_an_apps_own_baseline_alerts(world: World) -> None:
    db, settings = world.org.db, world.org.settings
    entry = granted(world)
    _, quiet_app = app_token(world, "quiet")  # reads 5 rows an hour
    _, busy_app = app_token(world, "busy")  # reads about 100 rows an hour
    _, new_app = app_token(world, "new")  # no history at all
    samples = _history(db, quiet_app, entry.id, [5])
    _history(db, busy_app, entry.id, [95, 100, 105, 110, 90])
    tune(world.org, "volume_baseline", floor=30)
    away_from_the_hour_edge()
    # Now each app reads through the data-service API: 40 rows for the two with history,
    # 25 for the new one.
    for actor, reads in ((quiet_app, 8), (busy_app, 8), (new_app, 5)):
        for _ in range(reads):
            assert dataapi.read_data(as_app(world, actor), entry.resource_code).row_count == 5
    result = scan(db, settings)
    assert result.raised == 1
    [alert] = alerts(db, "volume_baseline")
    # 40 rows is eight times the quiet app's normal hour; the busy app reads more every hour,
    # and the new app stays under the floor its missing history leaves it.
    assert (alert.subject_kind, alert.subject_id) == ("app", quiet_app.id)
    assert (alert.observed, alert.threshold, alert.severity) == (40, 30, "high")
    assert alert.evidence["median"] == 5 and alert.evidence["samples"] == samples
    assert len(alert.record_ids) == 8
    with db.transaction() as s:
        busy = s.get(Baseline, (f"app:{busy_app.id}", "rows"))
        assert busy is not None and busy.median == 100 and busy.mad == 5
    # Reading on in the same hour repeats the alert instead of raising another one.
    quiet_rescan = scan(db, settings)  # reads only the alert's own audit record
    assert (quiet_rescan.raised, quiet_rescan.repeated) == (0, 0)
    dataapi.read_data(as_app(world, quiet_app), entry.resource_code)
    assert scan(db, settings).repeated == 1
    [again] = alerts(db, "volume_baseline")
    assert (again.id, again.occurrences, again.observed) == (alert.id, 2, 45)


# Bulk reads off-hours -----------------------------------------------------------------------


def _last_working_day(cal: Calendar, before: date) -> date:
    d = before - timedelta(days=1)
    while not cal.is_working(d):
        d -= timedelta(days=1)
    return d


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_bulk_reads_off_hours_alert_and_the_same_reads_in_working_hours_do_not(
    org: Org,
) -> None:
    db, settings = org.db, org.settings
    today = now().astimezone(DISPLAY_TZ).date()
    workday = _last_working_day(Calendar(), today)
    holiday = _last_working_day(Calendar(), workday)
    with org.as_("operator").act() as ctx:
        policy.set_holiday(ctx, HolidayIn(day=holiday, kind=HolidayKind.HOLIDAY, name="放假"))
    night, office = app_actor("night"), app_actor("office")
    on_holiday = app_actor("holiday")

    def reads(actor: Actor, day: date, hour: int) -> None:
        times = [datetime.combine(day, time(hour, m), tzinfo=DISPLAY_TZ) for m in (5, 20, 40)]
        past_record(db, actor, READ, times, row_count=500, target_id="e1")

    reads(night, workday, 2)  # 02:00 Beijing, before work starts
    reads(office, workday, 10)  # the same reads in working hours
    reads(on_holiday, holiday, 10)  # 10:00 on a weekday the calendar gives off
    scan(db, settings, horizon=timedelta(days=30))
    found = {a.subject_name: a for a in alerts(db, "off_hours_bulk")}
    assert set(found) == {"app:night", "app:holiday"}
    night_alert = found["app:night"]
    assert (night_alert.observed, night_alert.threshold) == (1500, 1000)
    # The window runs from the end of the last working day (the holiday is none) to the
    # start of this one.
    assert night_alert.window_end is not None
    end = night_alert.window_end.astimezone(DISPLAY_TZ)
    start = night_alert.window_start.astimezone(DISPLAY_TZ)
    assert end == datetime.combine(workday, time(8), tzinfo=DISPLAY_TZ)
    assert start.hour == 18 and start.date() < holiday


def test_off_hours_periods_follow_the_calendar() -> None:
    cal = Calendar(holidays=frozenset({date(2026, 10, 1)}), workdays=frozenset())
    p = off_hours.Params()

    def at(d: str, hh: int) -> datetime:
        return datetime.combine(date.fromisoformat(d), time(hh), tzinfo=DISPLAY_TZ)

    def period(d: str, hh: int) -> tuple[datetime, datetime] | None:
        found = off_hours.off_period(at(d, hh), cal, p)
        return None if found is None else (found[0].astimezone(DISPLAY_TZ), found[1])

    assert period("2026-09-29", 10) is None  # a Tuesday morning
    # Tuesday night to Wednesday morning.
    assert period("2026-09-29", 23) == (at("2026-09-29", 18), at("2026-09-30", 8))
    # Thursday 1 October is a holiday: Wednesday evening runs to Friday morning.
    assert period("2026-10-01", 11) == (at("2026-09-30", 18), at("2026-10-02", 8))
    # Friday night through the weekend to Monday morning is one period.
    assert period("2026-10-03", 15) == (at("2026-10-02", 18), at("2026-10-05", 8))


# Enumeration ------------------------------------------------------------------------------


def test_looking_up_many_distinct_keys_alerts_and_repeating_a_few_does_not(
    world: World,
) -> None:
    db, settings = world.org.db, world.org.settings
    entry = granted(world)
    tune(world.org, "enumeration", keys=8, window_minutes=60)
    away_from_the_hour_edge()
    _, walker = app_token(world, "walker")
    _, counter = app_token(world, "counter")
    _, checker = app_token(world, "checker")
    keys = [p[0] for p in PEOPLE] + [f"63010219900101{n:04d}" for n in range(4)]
    for key in keys:  # nine distinct keys, existing or not
        dataapi.lookup(as_app(world, walker), entry.resource_code, key)
    for _ in range(4):  # the same three people again and again
        for key in keys[:3]:
            dataapi.lookup(as_app(world, counter), entry.resource_code, key)
    # A batch verification of eight people counts eight keys.
    dataapi.verify(
        as_app(world, checker),
        entry.resource_code,
        VerifyIn(key="resident_id", checks=[{"key": k, "values": {}} for k in keys[:8]]),
    )
    scan(db, settings)
    found = {a.subject_id: a for a in alerts(db, "enumeration")}
    assert set(found) == {walker.id, checker.id}
    assert found[walker.id].observed == 9
    assert found[walker.id].evidence["fields"] == ["resident_id"]
    assert found[checker.id].evidence["verification_checks"] == 8


# Repeated denied requests -------------------------------------------------------------------


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_repeated_refusals_and_failed_sign_ins_from_one_address_alert(world: World) -> None:
    db, settings = world.org.db, world.org.settings
    entry = granted(world)
    tune(world.org, "denied_burst", count=5, window_minutes=60)
    away_from_the_hour_edge()
    _, prober = app_token(world, "prober", department="cd_health")  # holds no grant
    _, once = app_token(world, "once", department="cd_health")
    for actor, tries in ((prober, 6), (once, 2)):
        for _ in range(tries):
            with pytest.raises(PermissionDenied):
                dataapi.read_data(as_app(world, actor), entry.resource_code)
    # Guessing passwords of several accounts from one address; each account stays unlocked.
    for username in ("xn_clerk", "cd_clerk", "hx_officer", "xn_officer", "nobody"):
        with pytest.raises(NotAuthenticated):
            auth.authenticate(db, settings, username, "wrong-password", None, "198.51.100.7")
    with pytest.raises(NotAuthenticated):
        auth.authenticate(db, settings, "xn_clerk", "wrong-password", None, "192.0.2.1")
    scan(db, settings)
    found = {a.subject_name: a for a in alerts(db, "denied_burst")}
    assert set(found) == {prober.name, "198.51.100.7"}
    assert found[prober.name].observed == 6
    assert found[prober.name].evidence["by_action"] == {"data.read": 6}
    assert found["198.51.100.7"].subject_kind == "addr"
    assert found["198.51.100.7"].evidence["by_action"] == {"auth.login": 5}


# Revoked and expired credentials ------------------------------------------------------------


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_use_of_revoked_or_expired_credentials_alerts(world: World) -> None:
    db, settings = world.org.db, world.org.settings
    revoked_token, revoked = app_token(world, "revoked")
    expired_token, expired = app_token(world, "expired")
    live_token, _live = app_token(world, "live")
    with world.org.system.act() as ctx:
        identity_actions.revoke_credential(ctx, str(revoked.id))
    with db.transaction() as s:
        s.execute(
            update(AppCredential)
            .where(AppCredential.id == expired.id)
            .values(expires_at=now() - timedelta(days=1))
        )
    # A user's token dies when they sign out everywhere.
    user_token = auth.issue_access_token(settings, _user(world, "hx_officer"))[0]
    with world.org.as_("hx_officer").act() as ctx:
        identity_actions.logout_everywhere(ctx)
    for token, code in (
        (revoked_token, "credential_revoked"),
        (revoked_token, "credential_revoked"),
        (expired_token, "credential_expired"),
        (user_token, "token_revoked"),
        ("gdt_" + "x" * 43, "invalid_token"),  # no one's credential: nothing to pin on anyone
    ):
        with pytest.raises(NotAuthenticated) as err:
            auth.actor_from_bearer(db, settings, token, "203.0.113.5")
        assert err.value.code == code
    assert auth.actor_from_bearer(db, settings, live_token, "203.0.113.5").kind == "app"
    with db.transaction() as s:
        refused = s.scalar(
            select(func.count()).where(
                AuditRecord.action == "auth.token_refused", AuditRecord.outcome == DENIED
            )
        )
    assert refused == 4
    scan(db, settings)
    found = {a.subject_name: a for a in alerts(db, "revoked_credential")}
    assert set(found) == {revoked.name, expired.name, "hx_officer"}
    assert found[revoked.name].observed == 2
    assert found[revoked.name].evidence == {
        "reasons": {"credential_revoked": 2},
        "addresses": ["203.0.113.5"],
    }
    assert found["hx_officer"].evidence["reasons"] == {"token_revoked": 1}


def _user(world: World, username: str) -> Any:
    from govdata.identity.models import User

    with world.org.db.transaction() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        s.expunge(user)
        return user


# Sign-ins from new addresses ----------------------------------------------------------------


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_sign_in_from_a_new_address_alerts_once(org: Org) -> None:
    db, settings = org.db, org.settings

    def sign_in(username: str, addr: str) -> None:
        auth.authenticate(db, settings, username, PASSWORD, None, addr)

    sign_in("xn_clerk", "10.0.0.1")  # the first sign-in ever: every address is new then
    sign_in("xn_clerk", "10.0.0.1")
    sign_in("cd_clerk", "10.0.0.1")
    scan(db, settings)
    assert alerts(db, "new_login_address") == []
    sign_in("xn_clerk", "172.16.5.9")
    sign_in("xn_clerk", "172.16.5.9")
    sign_in("cd_clerk", "10.0.0.1")
    scan(db, settings)
    [alert] = alerts(db, "new_login_address")
    assert (alert.subject_name, alert.severity) == ("xn_clerk", "low")
    assert alert.evidence == {"address": "172.16.5.9", "known_addresses": ["10.0.0.1"]}


# The scan itself --------------------------------------------------------------------------


def test_the_scan_reads_each_record_once_and_resumes_where_it_stopped(org: Org) -> None:
    db, settings = org.db, org.settings
    reader = app_actor("reader")
    base = now() - timedelta(hours=2)
    times = [base + timedelta(seconds=i) for i in range(23)]
    past_record(db, reader, READ, times, row_count=10, target_id="e")
    # Several records at the very same instant: the watermark orders them by id too.
    past_record(db, reader, READ, [base + timedelta(minutes=5)] * 4, row_count=1, target_id="e")
    with db.transaction() as s:
        total = s.scalar(select(func.count()).select_from(AuditRecord))
    first = scan(db, settings, batch_size=10, max_batches=1)
    assert (first.records, first.batches) == (10, 1)
    rest = scan(db, settings, batch_size=10)
    assert first.records + rest.records == total
    assert scan(db, settings).records == 0
    with db.transaction() as s:
        calls, rows = s.execute(
            select(func.sum(AccessStat.calls), func.sum(AccessStat.rows)).where(
                AccessStat.subject_key == f"app:{reader.id}"
            )
        ).one()
    assert (calls, rows) == (27, 234)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_records_older_than_the_horizon_feed_baselines_but_raise_nothing(org: Org) -> None:
    db, settings = org.db, org.settings
    prober = app_actor("old-prober")
    long_ago = datetime.now(UTC) - timedelta(days=3)
    times = [long_ago + timedelta(seconds=i) for i in range(30)]
    past_record(db, prober, "data.read", times, outcome=DENIED, target_id="e")
    scan(db, settings)
    assert alerts(db) == []
    with db.transaction() as s:
        assert s.scalar(select(func.sum(AccessStat.denied))) == 30
