"""REST API of the identity domain (mounted under /api/v1): HTTP in, one action, JSON out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from govdata.identity import actions, auth
from govdata.identity.schemas import (
    CredentialCreate,
    CredentialCreated,
    CredentialOut,
    CredentialPage,
    DepartmentCreate,
    DepartmentOut,
    DepartmentPage,
    DepartmentUpdate,
    LocaleUpdate,
    MeOut,
    PasswordChange,
    PasswordReset,
    RegionCreate,
    RegionList,
    RegionOut,
    RoleAssignmentIn,
    RoleList,
    TokenOut,
    TokenRequest,
    TotpConfirm,
    TotpEnrolment,
    UserCreate,
    UserOut,
    UserPage,
    UserUpdate,
)
from govdata.security.permissions import Role
from govdata.web import limits
from govdata.web.deps import CallerDep, DbDep, SettingsDep, client_addr

router = APIRouter(tags=["identity"])


@router.post("/auth/token", response_model=TokenOut)
def token(data: TokenRequest, request: Request, db: DbDep, settings: SettingsDep) -> TokenOut:
    """Exchange username, password (and ``otp`` when TOTP is on) for a bearer token.

    Attempts are rate-limited per client address and per username (429
    ``too_many_attempts`` with ``Retry-After``), on top of the account lockout."""
    limits.check_login(request, data.username)
    return auth.login_for_token(db, settings, data, client_addr(request))


# The signed-in user ----------------------------------------------------------------------


@router.get("/me", response_model=MeOut)
def me(caller: CallerDep) -> MeOut:
    with caller.act() as ctx:
        return actions.get_me(ctx)


@router.patch("/me", response_model=MeOut)
def update_me(data: LocaleUpdate, caller: CallerDep) -> MeOut:
    with caller.act() as ctx:
        return actions.set_own_locale(ctx, data)


@router.post("/me/password", status_code=204)
def change_password(data: PasswordChange, caller: CallerDep) -> Response:
    with caller.act() as ctx:
        actions.change_own_password(ctx, data)
    return Response(status_code=204)


@router.post("/me/logout-all", status_code=204)
def logout_all(caller: CallerDep) -> Response:
    with caller.act() as ctx:
        actions.logout_everywhere(ctx)
    return Response(status_code=204)


@router.post("/me/totp", response_model=TotpEnrolment)
def enrol_totp(caller: CallerDep) -> TotpEnrolment:
    with caller.act() as ctx:
        return actions.enrol_totp(ctx)


@router.post("/me/totp/confirm", response_model=MeOut)
def confirm_totp(data: TotpConfirm, caller: CallerDep) -> MeOut:
    with caller.act() as ctx:
        return actions.confirm_totp(ctx, data)


# Regions ---------------------------------------------------------------------------------


@router.get("/regions", response_model=RegionList)
def list_regions(caller: CallerDep, parent: str | None = None, tree: bool = False) -> RegionList:
    with caller.act() as ctx:
        items = actions.list_regions(ctx, parent_code=parent, tree=tree)
    return RegionList(items=items, total=len(items))


@router.post("/regions", response_model=RegionOut, status_code=201)
def create_region(data: RegionCreate, caller: CallerDep) -> RegionOut:
    with caller.act() as ctx:
        return actions.create_region(ctx, data)


@router.get("/regions/{code}", response_model=RegionOut)
def get_region(code: str, caller: CallerDep) -> RegionOut:
    with caller.act() as ctx:
        return actions.get_region(ctx, code)


# Departments -----------------------------------------------------------------------------


@router.get("/departments", response_model=DepartmentPage)
def list_departments(
    caller: CallerDep,
    q: str | None = None,
    region_code: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> DepartmentPage:
    with caller.act() as ctx:
        return actions.list_departments(
            ctx, q=q, region_code=region_code, limit=limit, cursor=cursor
        )


@router.post("/departments", response_model=DepartmentOut, status_code=201)
def create_department(data: DepartmentCreate, caller: CallerDep) -> DepartmentOut:
    with caller.act() as ctx:
        return actions.create_department(ctx, data)


@router.get("/departments/{department_id}", response_model=DepartmentOut)
def get_department(department_id: str, caller: CallerDep) -> DepartmentOut:
    with caller.act() as ctx:
        return actions.get_department(ctx, department_id)


@router.patch("/departments/{department_id}", response_model=DepartmentOut)
def update_department(
    department_id: str, data: DepartmentUpdate, caller: CallerDep
) -> DepartmentOut:
    with caller.act() as ctx:
        return actions.update_department(ctx, department_id, data)


# Users and roles -------------------------------------------------------------------------


@router.get("/users", response_model=UserPage)
def list_users(
    caller: CallerDep,
    q: str | None = None,
    department_id: str | None = None,
    role: Role | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> UserPage:
    with caller.act() as ctx:
        return actions.list_users(
            ctx, q=q, department_id=department_id, role=role, limit=limit, cursor=cursor
        )


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(data: UserCreate, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.create_user(ctx, data)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: str, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.get_user(ctx, user_id)


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: str, data: UserUpdate, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.update_user(ctx, user_id, data)


@router.post("/users/{user_id}/disable", response_model=UserOut)
def disable_user(user_id: str, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.disable_user(ctx, user_id)


@router.post("/users/{user_id}/enable", response_model=UserOut)
def enable_user(user_id: str, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.enable_user(ctx, user_id)


@router.post("/users/{user_id}/unlock", response_model=UserOut)
def unlock_user(user_id: str, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.unlock_user(ctx, user_id)


@router.post("/users/{user_id}/reset-password", response_model=UserOut)
def reset_password(user_id: str, data: PasswordReset, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.reset_password(ctx, user_id, data)


@router.post("/users/{user_id}/reset-totp", response_model=UserOut)
def reset_totp(user_id: str, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.reset_totp(ctx, user_id)


@router.post("/users/{user_id}/roles", response_model=UserOut, status_code=201)
def assign_role(user_id: str, data: RoleAssignmentIn, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.assign_role(ctx, user_id, data)


@router.delete("/users/{user_id}/roles/{assignment_id}", response_model=UserOut)
def revoke_role(user_id: str, assignment_id: str, caller: CallerDep) -> UserOut:
    with caller.act() as ctx:
        return actions.revoke_role(ctx, user_id, assignment_id)


@router.get("/roles", response_model=RoleList)
def list_roles(caller: CallerDep) -> RoleList:
    with caller.act() as ctx:
        items = actions.list_roles(ctx)
    return RoleList(items=items, total=len(items))


# App credentials -------------------------------------------------------------------------


@router.get("/credentials", response_model=CredentialPage)
def list_credentials(
    caller: CallerDep,
    department_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> CredentialPage:
    with caller.act() as ctx:
        return actions.list_credentials(
            ctx, department_id=department_id, limit=limit, cursor=cursor
        )


@router.post("/credentials", response_model=CredentialCreated, status_code=201)
def create_credential(data: CredentialCreate, caller: CallerDep) -> CredentialCreated:
    with caller.act() as ctx:
        return actions.create_credential(ctx, data)


@router.post("/credentials/{credential_id}/revoke", response_model=CredentialOut)
def revoke_credential(credential_id: str, caller: CallerDep) -> CredentialOut:
    with caller.act() as ctx:
        return actions.revoke_credential(ctx, credential_id)
