"""Identity operations: regions, departments, users, roles, app credentials, second factor.

Each function is one action: authorise (``ctx.require``) → validate → do →
audit, inside the caller's transaction. Its docstring is its API documentation.
The actions live in one module per concept; this package re-exports them so
callers keep writing ``actions.create_user(ctx, ...)``.
"""

from __future__ import annotations

from govdata.identity.actions._common import (
    DEPARTMENT_ROLES,
    PLATFORM,
    PLATFORM_ROLES,
    assignment_scope,
    department_scope,
    is_locked,
    user_scope,
)
from govdata.identity.actions.account import (
    change_own_password,
    confirm_totp,
    enrol_totp,
    finish_totp_enrolment,
    get_me,
    logout_everywhere,
    me_out,
    reset_totp,
    set_own_locale,
    start_totp_enrolment,
)
from govdata.identity.actions.credentials import (
    TOKEN_PREFIX,
    create_credential,
    credential_status,
    hash_token,
    list_credentials,
    revoke_credential,
)
from govdata.identity.actions.departments import (
    create_department,
    get_department,
    get_department_by_code,
    list_departments,
    update_department,
)
from govdata.identity.actions.regions import (
    create_region,
    get_region,
    list_regions,
    region_level,
)
from govdata.identity.actions.users import (
    assign_role,
    create_user,
    disable_user,
    enable_user,
    get_user,
    get_user_by_username,
    list_roles,
    list_users,
    reset_password,
    revoke_role,
    unlock_user,
    update_user,
)

__all__ = [
    "DEPARTMENT_ROLES",
    "PLATFORM",
    "PLATFORM_ROLES",
    "TOKEN_PREFIX",
    "assign_role",
    "assignment_scope",
    "change_own_password",
    "confirm_totp",
    "create_credential",
    "create_department",
    "create_region",
    "create_user",
    "credential_status",
    "department_scope",
    "disable_user",
    "enable_user",
    "enrol_totp",
    "finish_totp_enrolment",
    "get_department",
    "get_department_by_code",
    "get_me",
    "get_region",
    "get_user",
    "get_user_by_username",
    "hash_token",
    "is_locked",
    "list_credentials",
    "list_departments",
    "list_regions",
    "list_roles",
    "list_users",
    "logout_everywhere",
    "me_out",
    "region_level",
    "reset_password",
    "reset_totp",
    "revoke_credential",
    "revoke_role",
    "set_own_locale",
    "start_totp_enrolment",
    "unlock_user",
    "update_department",
    "update_user",
    "user_scope",
]
