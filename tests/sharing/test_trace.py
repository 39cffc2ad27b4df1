"""The auditor traces one data record: the data-service reads that handed it out, with the
grant, the app or user, and the fields; other records' reads do not show."""

from __future__ import annotations

import pytest

from govdata.core.errors import PermissionDenied
from govdata.identity.schemas import RoleAssignmentIn
from govdata.security import actions
from govdata.security.permissions import Role
from govdata.security.schemas import AuditFilter
from govdata.sharing import dataapi
from govdata.sharing.schemas import VerifyIn
from tests.sharing.conftest import PEOPLE, World
from tests.sharing.test_dataapi import granted_entry


def test_a_record_is_traced_to_every_read_that_handed_it_out(world: World) -> None:
    entry = granted_entry(world, "logical", clear_items=["公民身份号码", "姓名"])
    caller = world.caller("hx_officer")
    by_key = sorted(PEOPLE)
    target, other = by_key[0][0], by_key[-1][0]
    dataapi.read_data(
        caller, entry.resource_code, limit=2
    )  # the first page (key order) holds the target
    dataapi.read_data(caller, entry.resource_code, key=other)  # a lookup of another record
    dataapi.read_data(caller, entry.resource_code, key=target)
    dataapi.verify(
        caller,
        entry.resource_code,
        VerifyIn(key="resident_id", checks=[{"key": target, "values": {"name": by_key[0][1]}}]),
    )
    org = world.org
    org.add_user("auditor_t", RoleAssignmentIn(role=Role.AUDITOR))
    with org.as_("auditor_t").act() as ctx:
        page = actions.list_audit_records(ctx, AuditFilter(entry=entry.resource_code, key=target))
        other_reads = actions.list_audit_records(
            ctx, AuditFilter(entry=entry.resource_code, key=other)
        )
    assert [r.action for r in page.items] == [
        "sharing.data.verify",
        "sharing.data.read",
        "sharing.data.read",
    ]
    assert all(
        r.details and r.details["grant"] and r.actor_name == "hx_officer" for r in page.items
    )
    assert all(target in r.details["keys"] for r in page.items)  # type: ignore[index]
    assert other_reads.total == 1
    # 三员分立: the operator, who runs the platform, cannot trace.
    with pytest.raises(PermissionDenied), org.as_("operator").act() as ctx:
        actions.list_audit_records(ctx, AuditFilter(entry=entry.resource_code, key=target))
