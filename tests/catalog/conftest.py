"""Catalog fixtures: the identity test organisation plus reviewers, and valid entry content."""

from __future__ import annotations

from typing import Any

import pytest

from govdata.catalog import actions
from govdata.catalog.schemas import EntryCreate, EntryOut, PublishRequest
from govdata.config import Settings
from govdata.core.db import Database
from govdata.identity.schemas import RoleAssignmentIn
from govdata.security.permissions import Role
from tests.identity.conftest import Org, build_org

# 人口 → 人口基本信息 (目 level), from the seeded classification tree.
CLASS_CODE = "101001"


def content(**overrides: Any) -> dict[str, Any]:
    """Entry content that passes the conformance check with no errors."""
    data: dict[str, Any] = {
        "name": "户籍人口基本信息",
        "summary": "全省户籍人口的姓名、性别、公民身份号码等基本登记信息。",
        "format": "database",
        "share_type": "conditional",
        "share_condition": "用于政务服务身份核验，须经提供部门同意",
        "share_modes": ["api"],
        "open_type": "closed",
        "update_cycle": "daily",
        "grade": 3,
        "contact_name": "王建国",
        "contact_phone": "0971-8181234",
        "contact_email": "data@police.qh.gov.cn",
        "items": [
            {
                "name": "公民身份号码",
                "name_en": "resident_id",
                "data_type": "string",
                "length": 18,
                "is_key": True,
                "is_sensitive": True,
                "grade": 3,
                "data_element": "DE00001",
            },
            {
                "name": "姓名",
                "name_en": "name",
                "data_type": "string",
                "length": 50,
                "grade": 2,
                "data_element": "DE00002",
            },
            {
                "name": "性别代码",
                "name_en": "gender_code",
                "data_type": "string",
                "length": 1,
                "grade": 1,
                "data_element": "DE00003",
            },
        ],
    }
    data.update(overrides)
    return data


def new_entry(org: Org, user: str, *, provider: str | None = None, **overrides: Any) -> EntryOut:
    with org.as_(user).act() as ctx:
        return actions.create_entry(
            ctx,
            EntryCreate(
                classification_code=overrides.pop("classification_code", CLASS_CODE),
                provider_code=provider,
                **content(**overrides),
            ),
        )


def published_entry(org: Org, user: str = "xn_officer", **overrides: Any) -> EntryOut:
    entry = new_entry(org, user, **overrides)
    with org.as_(user).act() as ctx:
        actions.submit_entry(ctx, entry.id)
    with org.as_("operator").act() as ctx:
        return actions.publish_entry(ctx, entry.id, PublishRequest())


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"argon2_time_cost": 1, "argon2_memory_kib": 1024})


@pytest.fixture
def org(db: Database, settings: Settings) -> Org:
    """build_org's people, plus Haixi's region operator, an auditor and a security admin."""
    org = build_org(db, settings)
    org.add_user("hx_admin", RoleAssignmentIn(role=Role.REGION_OPERATOR, region_code="632800"))
    org.add_user("auditor", RoleAssignmentIn(role=Role.AUDITOR))
    org.add_user("secadmin", RoleAssignmentIn(role=Role.SECADMIN))
    return org
