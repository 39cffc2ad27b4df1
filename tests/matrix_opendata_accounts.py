"""The open-data applications' and API keys' rows of the permission matrix (see
tests/test_permission_matrix.py).

The queue and an application are for officers holding ``opendata.publish`` over the
provider (department officers) and the operator (``opendata.manage``); deciding is the
officers' alone until an application is escalated; a key's quota and the public accounts
(list, disable, enable) are the operator's.

Targets: a published, conditionally open entry of the world's department (``xn_civil``)
opened as a dataset, a verified public account, its pending application, and the key an
approval would issue — each fresh per call.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.core.clock import now
from govdata.identity import passwords
from govdata.opendata import accounts, apikeys, applications
from govdata.opendata.account_models import PublicAccount
from govdata.opendata.applications import ApplyIn
from govdata.opendata.models import OpenDataset
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role

OP, DO = Role.OPERATOR, Role.DEPT_OFFICER
_A = "/api/v1/opendata/applications"

EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", _A): frozenset({OP, DO}),
    ("GET", f"{_A}/{{app_id}}"): frozenset({OP, DO}),
    ("POST", f"{_A}/{{app_id}}/decide"): frozenset({DO}),
    ("PUT", "/api/v1/opendata/keys/{key_id}/quota"): frozenset({OP}),
    ("GET", "/api/v1/opendata/accounts"): frozenset({OP}),
    ("POST", "/api/v1/opendata/accounts/{account_id}/disable"): frozenset({OP}),
    ("POST", "/api/v1/opendata/accounts/{account_id}/enable"): frozenset({OP}),
}
QUERY: dict[tuple[str, str], str] = {}
UPLOADS: dict[tuple[str, str], tuple[dict[str, str], str]] = {}
BODIES: dict[tuple[str, str], Callable[[Any, int], Any]] = {
    ("POST", f"{_A}/{{app_id}}/decide"): lambda w, n: {"approve": True, "comment": "同意"},
    ("PUT", "/api/v1/opendata/keys/{key_id}/quota"): lambda w, n: {"per_day": 1000},
}

_serial = itertools.count(1)


def _application(w: Any) -> tuple[str, str]:
    """(application id, account id): a pending application for a fresh conditional dataset."""
    n = next(_serial)
    with Caller(w.db, w.settings, SYSTEM, "127.0.0.1").act() as ctx:
        entry = catalog_actions.create_entry(
            ctx,
            EntryCreate(
                classification_code="101001",
                provider_code="xn_civil",
                name=f"开放矩阵目录{n}",
                summary="权限矩阵用的有条件开放目录。",
                format="database",
                share_type="unconditional",
                share_modes=["api"],
                open_type="conditional",
                open_condition="仅限科研用途",
                update_cycle="monthly",
                grade=2,
                contact_name="李明",
                contact_phone="0971-6100000",
                items=[{"name": "名称", "name_en": "name", "data_type": "string", "grade": 1}],
            ),
        )
        catalog_actions.submit_entry(ctx, entry.id)
        catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
    with w.db.transaction(immediate=True) as s:
        ds = OpenDataset(
            entry_id=entry.id,
            name=f"matrix-open-{n}",
            status="open",
            fields=["name"],
            license_id="cc-by-4.0",
            featured=False,
            opened_at=now(),
            views=0,
            downloads=0,
            calls=0,
        )
        account = PublicAccount(
            email=f"matrix{n}@example.cn",
            display_name=f"矩阵用户{n}",
            password_hash=passwords.hash_password(w.settings, "Matrix@2026pw"),
            kind="person",
            verified_at=now(),
        )
        s.add_all([ds, account])
        s.flush()
        ds_name, account_id = ds.name, account.id
        actor = accounts.actor_of(account)
    with Caller(w.db, w.settings, actor, "127.0.0.1").act() as ctx:
        app = applications.submit(
            ctx, ds_name, ApplyIn(purpose="矩阵测试", committed=True, contact="李明")
        )
    return app.id, account_id


def targets(w: Any, path: str) -> dict[str, str]:
    if "{app_id}" in path and path.startswith(_A):
        return {"app_id": _application(w)[0]}
    if "{key_id}" in path and path.startswith("/api/v1/opendata/keys"):
        _, account_id = _application(w)
        with w.db.transaction(immediate=True) as s:
            return {"key_id": apikeys.issue_pending(s, account_id).id}
    if "{account_id}" in path and path.startswith("/api/v1/opendata/accounts"):
        return {"account_id": _application(w)[1]}
    return {}
