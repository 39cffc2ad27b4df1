"""Sharing's rows of the permission matrix (see tests/test_permission_matrix.py).

Who does what, by the actions (``govdata.sharing``, ``govdata.governance.tickets``):

- ``sharing.read`` (operator, region operators, officers, department users) lists and reads
  demands, applications, grants, objection tickets and the policy of the reader's scope;
  auditors and security administrators take no part in sharing.
- ``sharing.apply`` (officers and department users) posts demands, applies, withdraws,
  contests, renews and objects, for the reader's own department only.
- ``sharing.decide`` (officers) is the provider's side: decide provider steps, answer
  demands and tickets, revoke grants the department gave.
- ``sharing.manage`` (the operator) routes demands, decides compliance and operator steps,
  resolves contests, grants exemptions, keeps the policy, the calendar and app limits.
- ``data.read`` (officers and department users) reads granted data through the data
  service, and only under an active grant held by the reader's department: the operator
  manages the workflow but never reads the data.

The world's department (``xn_civil``, where the scoped roles sit) is the consumer or the
provider as each route needs; the other side is 海西州统计局 (``hx_stats``, region 632800,
outside the region operator's 630100) created here. Targets whose state an allowed call
changes (decide, withdraw, contest, resolve, route, answer, fulfil, close, revoke, renew)
are made fresh for every call, so the permission check, not a state conflict, decides.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.core.clock import DISPLAY_TZ, now
from govdata.exchange import mounts
from govdata.exchange.schemas import MountCreate
from govdata.identity import actions as identity_actions
from govdata.identity import auth
from govdata.identity.models import User
from govdata.identity.schemas import DepartmentCreate, RegionCreate, RoleAssignmentIn, UserCreate
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.sharing import (
    application_views,
    applications,
    demands,
    exemptions,
    objections,
    policy,
    subscriptions,
)
from govdata.sharing.delivery import delivery_folder
from govdata.sharing.schemas import (
    ApplicationCreate,
    DecisionIn,
    DemandCreate,
    DemandRoute,
    ExemptionCreate,
    HolidayIn,
    ObjectionCreate,
    ReasonIn,
    SubscriptionCreate,
)
from govdata.sharing.vocab import HolidayKind
from govdata.sources import actions as source_actions
from govdata.sources.schemas import SourceCreate, SourceKind
from govdata.standards import uscc
from tests.sharing.conftest import ITEMS, MAPPING, PEOPLE, people_file

OP, R, DO, DU, S, A = (
    Role.OPERATOR,
    Role.REGION_OPERATOR,
    Role.DEPT_OFFICER,
    Role.DEPT_USER,
    Role.SECADMIN,
    Role.AUDITOR,
)
READERS = frozenset({OP, R, DO, DU})  # sharing.read
APPLICANTS = frozenset({DO, DU})  # sharing.apply (own department)
PROVIDER = frozenset({DO})  # sharing.decide (own department as provider)
OPERATOR = frozenset({OP})  # sharing.manage
CONSUMERS = frozenset({DO, DU})  # data.read, under the department's active grant

_SH = "/api/v1/sharing"
_D = f"{_SH}/demands/{{demand_id}}"
_AP = f"{_SH}/applications/{{application_id}}"
_G = f"{_SH}/grants/{{grant_id}}"
_T = f"{_SH}/objections/{{ticket_id}}"
_DATA = "/api/v1/data/{class_code}/{sequence}"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    # Policy and calendar: every sharing participant reads, the operator changes.
    ("GET", f"{_SH}/policy"): READERS,
    ("PATCH", f"{_SH}/policy"): OPERATOR,
    ("GET", f"{_SH}/holidays"): READERS,
    ("PUT", f"{_SH}/holidays"): OPERATOR,
    ("DELETE", f"{_SH}/holidays/{{day}}"): OPERATOR,
    # Demands: posted by the world's department (open) unless said otherwise.
    ("GET", f"{_SH}/demands"): READERS,
    ("POST", f"{_SH}/demands"): APPLICANTS,
    ("GET", _D): READERS,
    ("POST", f"{_D}/route"): OPERATOR,
    # Routed to the world's department by another department: its officers answer.
    ("POST", f"{_D}/answer"): PROVIDER,
    # Routed to the world's department: its officers or the operator link the entry.
    ("POST", f"{_D}/fulfil"): frozenset({OP, DO}),
    # The requester withdraws, the operator closes.
    ("POST", f"{_D}/close"): frozenset({OP, DO, DU}),
    # Applications: the world's department is the consumer unless said otherwise.
    ("GET", f"{_SH}/applications"): READERS,
    ("POST", f"{_SH}/applications"): APPLICANTS,
    ("GET", _AP): READERS,
    # Pending at the provider step, the world's department the provider: only its
    # officers (the operator decides compliance/operator steps and escalated ones only).
    ("POST", f"{_AP}/decide"): PROVIDER,
    ("POST", f"{_AP}/withdraw"): APPLICANTS,
    ("POST", f"{_AP}/contest"): APPLICANTS,
    ("POST", f"{_AP}/resolve"): OPERATOR,
    # Exemptions: the operator's alone, reading them too.
    ("GET", f"{_SH}/exemptions"): OPERATOR,
    ("POST", f"{_SH}/exemptions"): OPERATOR,
    ("POST", f"{_SH}/exemptions/{{exemption_id}}/revoke"): OPERATOR,
    # Grants: held by the world's department unless said otherwise.
    ("GET", f"{_SH}/grants"): READERS,
    ("GET", _G): READERS,
    # Field names, types and masks of a grant (no data): either side.
    ("GET", f"{_G}/fields"): READERS,
    # Given by the world's department: its officers or the operator revoke.
    ("POST", f"{_G}/revoke"): frozenset({OP, DO}),
    ("POST", f"{_G}/renew"): APPLICANTS,
    # Which of the consumer's apps use it: credential.manage over the consumer.
    ("PUT", f"{_G}/apps"): frozenset({OP, DO}),
    # App limits: credential.read over the app's department reads; the operator sets.
    ("GET", f"{_SH}/app-limits/{{credential_id}}"): frozenset({OP, R, DO}),
    ("PUT", f"{_SH}/app-limits/{{credential_id}}"): OPERATOR,
    # Objections (problem-data tickets): reported by the world's department unless said
    # otherwise.
    ("GET", f"{_SH}/objections"): READERS,
    ("POST", f"{_SH}/objections"): APPLICANTS,
    ("GET", _T): READERS,
    # Reported against data the world's department gave: its officers answer.
    ("POST", f"{_T}/answer"): PROVIDER,
    # The reporter (sharing.apply over it) or the operator closes.
    ("POST", f"{_T}/close"): frozenset({OP, DO, DU}),
    # The data service: a mounted entry of hx_stats the world's department holds an active
    # grant for. Everyone else is refused (403) — the operator and region operators lack
    # data.read, and any holder of data.read without a grant is refused too.
    ("GET", _DATA): CONSUMERS,
    ("GET", f"{_DATA}/records/{{key}}"): CONSUMERS,
    ("POST", f"{_DATA}/verify"): CONSUMERS,
}
# Subscriptions (govdata/sharing/subscriptions.py): the consumer's people (sharing.apply)
# create, run, pause, resume and delete; both sides read (sharing.read); delivered files are
# a data read (data.read over the consumer).
_SUB = f"{_SH}/subscriptions/{{subscription_id}}"
SUBSCRIPTION_ROWS: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", f"{_SH}/subscriptions"): READERS,
    ("POST", f"{_SH}/subscriptions"): APPLICANTS,
    ("GET", _SUB): READERS,
    ("DELETE", _SUB): APPLICANTS,
    ("POST", f"{_SUB}/run"): APPLICANTS,
    ("POST", f"{_SUB}/pause"): APPLICANTS,
    ("POST", f"{_SUB}/resume"): APPLICANTS,
    ("GET", f"{_SUB}/runs"): READERS,
    ("GET", f"{_SUB}/files"): CONSUMERS,
    ("GET", f"{_SUB}/files/{{name}}"): CONSUMERS,
}


EXPECTED.update(SUBSCRIPTION_ROWS)
QUERY: dict[tuple[str, str], str] = {
    ("GET", _DATA): "?fields=name,age&age__gte=30&limit=2",
    ("GET", f"{_DATA}/records/{{key}}"): "?fields=resident_id,name",
}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}

_serial = itertools.count(1)
_PROVIDER_CODE = "hx_stats"
_RECORD_KEY = PEOPLE[0][0]
_CONTENT: dict[str, Any] = {
    "summary": "权限矩阵用的共享目录。",
    "format": "database",
    "share_modes": ["api", "table", "file"],
    "open_type": "closed",
    "update_cycle": "monthly",
    "grade": 2,
    "contact_name": "李明",
    "contact_phone": "0971-6100000",
    "items": [dict(i, grade=min(i["grade"], 2)) for i in ITEMS],
}


@dataclass
class _Sides:
    """The other department and one officer on each side, made once per world."""

    provider_id: str
    provider_officer: Caller  # hx_stats
    officer: Caller  # the world's department (applies, objects on its behalf)
    data_code: str | None = None  # a mounted hx_stats entry the world's department holds
    data_grant: str | None = None  # its grant (api and file delivery)
    own_entry: str | None = None  # a published entry of the world's department


def _system(w: Any) -> Caller:
    return Caller(w.db, w.settings, SYSTEM, "127.0.0.1")


def _as(w: Any, role: Role, department_id: str) -> Caller:
    n = next(_serial)
    with _system(w).act() as ctx:
        out = identity_actions.create_user(
            ctx,
            UserCreate(
                username=f"msh{n}_{role.value}",
                display_name=f"共享矩阵用户{n}",
                password="Matrix@2026pw",
                department_id=department_id,
                roles=[RoleAssignmentIn(role=role, department_id=department_id)],
            ),
        )
    with w.db.transaction(immediate=True) as s:
        user = s.get(User, out.id)
        assert user is not None
        actor = auth.actor_for_user(user)
    return Caller(w.db, w.settings, actor, "127.0.0.1")


def _sides(w: Any) -> _Sides:
    sides: _Sides | None = getattr(w, "_sharing_sides", None)
    if sides is None:
        with _system(w).act() as ctx:
            identity_actions.create_region(
                ctx, RegionCreate(code="632800", name="海西蒙古族藏族自治州", parent_code="630000")
            )
            dept = identity_actions.create_department(
                ctx,
                DepartmentCreate(
                    code=_PROVIDER_CODE,
                    name="海西州统计局",
                    credit_code=uscc.make("1", "1", "632800", "MC000001"),
                    region_code="632800",
                ),
            )
        sides = _Sides(
            provider_id=dept.id,
            provider_officer=_as(w, DO, dept.id),
            officer=_as(w, DO, w.dept_id),
        )
        w._sharing_sides = sides
    return sides


def _entry(w: Any, provider_code: str, share_type: str = "unconditional") -> str:
    """A fresh published entry of ``provider_code``; its resource code."""
    extra: dict[str, Any] = {}
    if share_type == "conditional":
        extra["share_condition"] = "用于政务服务身份核验，须经提供部门同意"
    elif share_type == "none":
        extra["not_shared_basis"] = "《统计法》第二十五条"
    data = EntryCreate(
        classification_code="101001",
        provider_code=provider_code,
        name=f"共享矩阵目录{next(_serial)}",
        share_type=share_type,
        **_CONTENT,
        **extra,
    )
    with _system(w).act() as ctx:
        entry = catalog_actions.create_entry(ctx, data)
        catalog_actions.submit_entry(ctx, entry.id)
        catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
    return entry.resource_code


def _valid_until() -> date:
    return now().astimezone(DISPLAY_TZ).date() + timedelta(days=90)


def _application(entry: str, **overrides: Any) -> ApplicationCreate:
    data: dict[str, Any] = {
        "entry": entry,
        "purpose": "为群众办理户籍证明核验身份",
        "scenario": "政务服务大厅身份核验",
        "legal_basis": "《政务数据共享条例》第十条",
        "items": [i["name"] for i in ITEMS],
        "delivery_modes": ["api"],
        "valid_until": _valid_until(),
        "contact_name": "陈晓",
        "contact_phone": "0977-8221234",
    }
    data.update(overrides)
    return ApplicationCreate(**data)


def _apply(caller: Caller, entry: str) -> str:
    with caller.act() as ctx:
        return applications.apply(ctx, _application(entry)).id


def _held_application(w: Any, share_type: str = "unconditional") -> str:
    """An application of the world's department for a fresh hx_stats entry: approved at once
    (unconditional) or pending at hx_stats' provider step (conditional)."""
    return _apply(_sides(w).officer, _entry(w, _PROVIDER_CODE, share_type))


def _rejected(w: Any) -> str:
    app_id = _held_application(w, "conditional")
    with _sides(w).provider_officer.act() as ctx:
        applications.decide(ctx, app_id, DecisionIn(approve=False, comment="用途与数据不相符"))
    return app_id


def _contested(w: Any) -> str:
    app_id = _rejected(w)
    with _sides(w).officer.act() as ctx:
        applications.contest(ctx, app_id, ReasonIn(reason="已补充法律依据"))
    return app_id


def _given_application(w: Any, share_type: str = "unconditional") -> str:
    """hx_stats applies for a fresh entry of the world's department."""
    return _apply(_sides(w).provider_officer, _entry(w, "xn_civil", share_type))


def _grant_of(w: Any, app_id: str) -> str:
    with _system(w).act() as ctx:
        grant_id = application_views.get_application(ctx, app_id).grant_id
    assert grant_id is not None, "an unconditional grade-2 application is granted at once"
    return grant_id


def _held_grant(w: Any) -> str:
    return _grant_of(w, _held_application(w))


def _given_grant(w: Any) -> str:
    return _grant_of(w, _given_application(w))


def _objection(grant_id: str) -> ObjectionCreate:
    return ObjectionCreate(
        grant_id=grant_id,
        record_key={"公民身份号码": _RECORD_KEY},
        field="姓名",
        title="姓名与户籍登记不符",
        description="核验时发现姓名与户籍登记不一致。",
    )


def _ticket(w: Any, *, given: bool = False) -> str:
    """A ticket the world's department reported (or, ``given``, must answer)."""
    sides = _sides(w)
    if given:
        caller, grant_id = sides.provider_officer, _given_grant(w)
    else:
        caller, grant_id = sides.officer, _held_grant(w)
    with caller.act() as ctx:
        return objections.create_objection(ctx, _objection(grant_id)).id


def _demand(caller: Caller) -> str:
    with caller.act() as ctx:
        return demands.create_demand(
            ctx,
            DemandCreate(
                title=f"需要低保对象名单{next(_serial)}",
                description="核对救助对象是否重复享受补贴。",
                purpose="社会救助资格核验",
            ),
        ).id


def _routed_to_world(w: Any) -> str:
    demand_id = _demand(_sides(w).provider_officer)
    with _system(w).act() as ctx:
        demands.route_demand(ctx, demand_id, DemandRoute(provider_department_id=w.dept_id))
    return demand_id


def _own_entry(w: Any) -> str:
    sides = _sides(w)
    if sides.own_entry is None:
        sides.own_entry = _entry(w, "xn_civil")
    return sides.own_entry


def _data_code(w: Any) -> str:
    """A logically mounted hx_stats entry the world's department holds an active grant for."""
    sides = _sides(w)
    if sides.data_code is None:
        code = _entry(w, _PROVIDER_CODE)
        path = w.settings.data_dir.parent / "matrix_sharing_people.db"
        if not path.exists():
            people_file(path)
        with _system(w).act() as ctx:
            source = source_actions.create_source(
                ctx,
                SourceCreate(
                    kind=SourceKind.SQLITE,
                    name=f"海西人口库{next(_serial)}",
                    department_id=sides.provider_id,
                    config={"path": str(path)},
                ),
            )
            mounts.create_mount(
                ctx,
                MountCreate(
                    entry_id=code,
                    source_id=source.id,
                    target="people",
                    mode="logical",
                    columns=MAPPING,
                    key_columns=["resident_id"],
                ),
            )
        with sides.officer.act() as ctx:
            app = applications.apply(ctx, _application(code, delivery_modes=["api", "file"]))
        sides.data_grant = _grant_of(w, app.id)
        sides.data_code = code
    return sides.data_code


def _holiday(w: Any) -> str:
    day = date(2090, 1, 1) + timedelta(days=next(_serial))
    with _system(w).act() as ctx:
        policy.set_holiday(ctx, HolidayIn(day=day, kind=HolidayKind.HOLIDAY, name="矩阵假日"))
    return day.isoformat()


def _exemption(w: Any) -> str:
    body = _exemption_body(w, 0)
    with _system(w).act() as ctx:
        return exemptions.grant_exemption(ctx, ExemptionCreate(**body)).id


def _exemption_body(w: Any, n: int) -> dict[str, Any]:
    return {
        "entry": _entry(w, _PROVIDER_CODE, "none"),
        "consumer_department_id": w.dept_id,
        "basis": "《社会救助暂行办法》第五十九条",
    }


def _subscription(w: Any, *, paused: bool = False, delivered: bool = False) -> str:
    """A file subscription of the world's department to its grant on the mounted entry."""
    sides = _sides(w)
    _data_code(w)
    assert sides.data_grant is not None
    data = SubscriptionCreate(
        grant_id=sides.data_grant, name=f"矩阵订阅{next(_serial)}", mode="file", file_format="csv"
    )
    with sides.officer.act() as ctx:
        sub_id = subscriptions.create_subscription(ctx, data).id
        if paused:
            subscriptions.pause_subscription(ctx, sub_id)
    if delivered:
        folder = delivery_folder(w.settings, sub_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _DELIVERED).write_text("resident_id,name\n6301**********1234,张三\n")
    return sub_id


_DELIVERED = "full-v1.csv"

BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    # The values in force (see migration 0007): the call must not change later outcomes.
    ("PATCH", f"{_SH}/policy"): lambda w, n: {"objection_days": 5, "demand_days": 10},
    ("PUT", f"{_SH}/holidays"): lambda w, n: {
        "day": (date(2095, 1, 1) + timedelta(days=n)).isoformat(),
        "kind": "holiday",
        "name": "矩阵假日",
    },
    ("POST", f"{_SH}/demands"): lambda w, n: {
        "title": f"需要低保对象名单{n}",
        "description": "核对救助对象是否重复享受补贴。",
        "purpose": "社会救助资格核验",
        "suggested_department_id": _sides(w).provider_id,
    },
    ("POST", f"{_D}/route"): lambda w, n: {"provider_department_id": _sides(w).provider_id},
    ("POST", f"{_D}/answer"): lambda w, n: {"answer": "will_catalog", "note": "下月编目"},
    ("POST", f"{_D}/fulfil"): lambda w, n: {"entry_id": _own_entry(w)},
    ("POST", f"{_D}/close"): lambda w, n: {"reason": "需求已通过其他渠道解决"},
    ("POST", f"{_SH}/applications"): lambda w, n: _application(
        _entry(w, _PROVIDER_CODE)
    ).model_dump(mode="json"),
    ("POST", f"{_AP}/decide"): lambda w, n: {"approve": True, "comment": "同意共享"},
    ("POST", f"{_AP}/contest"): lambda w, n: {"reason": "已补充法律依据"},
    ("POST", f"{_AP}/resolve"): lambda w, n: {"uphold": True, "comment": "维持不予共享"},
    ("POST", f"{_SH}/exemptions"): _exemption_body,
    ("POST", f"{_G}/revoke"): lambda w, n: {"reason": "使用方超范围使用"},
    ("POST", f"{_G}/renew"): lambda w, n: {
        "valid_until": (_valid_until() + timedelta(days=30)).isoformat(),
        "reason": "业务继续开展",
    },
    ("PUT", f"{_G}/apps"): lambda w, n: {"app_ids": []},
    ("PUT", f"{_SH}/app-limits/{{credential_id}}"): lambda w, n: {
        "per_minute": 600,
        "per_day": 10_000,
    },
    ("POST", f"{_SH}/objections"): lambda w, n: _objection(_held_grant(w)).model_dump(mode="json"),
    ("POST", f"{_T}/answer"): lambda w, n: {"accept": True, "answer": "已核实，正在整改"},
    ("POST", f"{_T}/close"): lambda w, n: {"note": "整改完成"},
    ("POST", f"{_SH}/subscriptions"): lambda w, n: {
        "grant_id": _data_grant(w),
        "name": f"矩阵订阅{n}",
        "mode": "file",
        "file_format": "csv",
    },
    ("POST", f"{_DATA}/verify"): lambda w, n: {
        "key": "resident_id",
        "checks": [
            {"key": _RECORD_KEY, "values": {"name": "张三"}},
            {"key": "630102190001010000", "values": {}},
        ],
    },
}

# Path -> a fresh target's parameters (the path's suffix decides which state it needs).
_TARGETS: dict[str, Callable[[Any], dict[str, str]]] = {
    f"{_SH}/holidays/{{day}}": lambda w: {"day": _holiday(w)},
    _D: lambda w: {"demand_id": _demand(_sides(w).officer)},
    f"{_D}/route": lambda w: {"demand_id": _demand(_sides(w).officer)},
    f"{_D}/answer": lambda w: {"demand_id": _routed_to_world(w)},
    f"{_D}/fulfil": lambda w: {"demand_id": _routed_to_world(w)},
    f"{_D}/close": lambda w: {"demand_id": _demand(_sides(w).officer)},
    _AP: lambda w: {"application_id": _held_application(w)},
    f"{_AP}/decide": lambda w: {"application_id": _given_application(w, "conditional")},
    f"{_AP}/withdraw": lambda w: {"application_id": _held_application(w, "conditional")},
    f"{_AP}/contest": lambda w: {"application_id": _rejected(w)},
    f"{_AP}/resolve": lambda w: {"application_id": _contested(w)},
    f"{_SH}/exemptions/{{exemption_id}}/revoke": lambda w: {"exemption_id": _exemption(w)},
    _G: lambda w: {"grant_id": _held_grant(w)},
    f"{_G}/fields": lambda w: {"grant_id": _data_grant(w)},
    f"{_G}/revoke": lambda w: {"grant_id": _given_grant(w)},
    f"{_G}/renew": lambda w: {"grant_id": _held_grant(w)},
    f"{_G}/apps": lambda w: {"grant_id": _held_grant(w)},
    _T: lambda w: {"ticket_id": _ticket(w)},
    f"{_T}/answer": lambda w: {"ticket_id": _ticket(w, given=True)},
    f"{_T}/close": lambda w: {"ticket_id": _ticket(w)},
    _SUB: lambda w: {"subscription_id": _subscription(w)},
    f"{_SUB}/run": lambda w: {"subscription_id": _subscription(w)},
    f"{_SUB}/pause": lambda w: {"subscription_id": _subscription(w)},
    f"{_SUB}/resume": lambda w: {"subscription_id": _subscription(w, paused=True)},
    f"{_SUB}/runs": lambda w: {"subscription_id": _subscription(w)},
    f"{_SUB}/files": lambda w: {"subscription_id": _subscription(w, delivered=True)},
    f"{_SUB}/files/{{name}}": lambda w: {
        "subscription_id": _subscription(w, delivered=True),
        "name": _DELIVERED,
    },
}


def _data_grant(w: Any) -> str:
    _data_code(w)
    grant_id = _sides(w).data_grant
    assert grant_id is not None
    return grant_id


def _data_target(w: Any) -> dict[str, str]:
    class_code, sequence = _data_code(w).split("/")
    return {"class_code": class_code, "sequence": sequence, "key": _RECORD_KEY}


def seed_rows(w: Any) -> dict[str, str]:
    """One row of each kind, by path parameter name, for tests that need sharing rows to
    exist (tests/test_api_schema.py)."""
    return {
        "demand_id": _demand(_sides(w).officer),
        "application_id": _held_application(w, "conditional"),
        "grant_id": _held_grant(w),
        "ticket_id": _ticket(w),
        "exemption_id": _exemption(w),
        "day": _holiday(w),
        "subscription_id": _subscription(w, delivered=True),
        "name": _DELIVERED,
        **_data_target(w),
    }


def targets(w: Any, path: str) -> dict[str, str]:
    """Fresh objects for the path's parameters (``{credential_id}`` comes from the main
    table: an app of the world's department)."""
    if path.startswith("/api/v1/data/"):
        return _data_target(w)
    make = _TARGETS.get(path)
    return make(w) if make is not None else {}
