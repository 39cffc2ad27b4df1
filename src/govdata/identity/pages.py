"""Portal pages of the identity domain: regions, departments, users, roles, app credentials, me."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Response

from govdata.core.errors import GovDataError
from govdata.identity import actions
from govdata.identity.schemas import (
    CredentialCreate,
    DepartmentCreate,
    DepartmentOut,
    DepartmentUpdate,
    PasswordChange,
    RegionCreate,
    RegionNode,
    RoleAssignmentIn,
    TotpConfirm,
    UserCreate,
)
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role, Scope
from govdata.web.deps import SESSION_COOKIE
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

PAGE_SIZE = 20
# Choice lists in forms; a province has far fewer departments than this on one screen.
CHOICES_LIMIT = 200


def _refusal(exc: GovDataError) -> bool:
    """Refusals and missing targets get the error page; everything else is shown in the form."""
    return exc.status in (401, 403, 404)


def _query(**params: str) -> str:
    return urlencode({k: v for k, v in params.items() if v})


# Regions ---------------------------------------------------------------------------------


def _flat_regions(ctx: ActionContext) -> list[dict[str, Any]]:
    return [
        {"code": r.code, "name": r.name, "depth": r.path.count("/")}
        for r in actions.list_regions(ctx)
    ]


def _count(nodes: list[RegionNode]) -> int:
    return sum(1 + _count(n.children) for n in nodes)


def _regions_page(
    page: Page, *, status: int = 200, error: str | None = None, form: dict[str, str] | None = None
) -> Response:
    with page.act() as ctx:
        tree = actions.list_regions(ctx, tree=True)
        flat = _flat_regions(ctx)
    return page.render(
        "identity/regions.html",
        status=status,
        tree=tree,
        flat=flat,
        total=_count(tree),
        can_manage=page.actor.can(Perm.REGION_MANAGE, Scope()),
        error=error,
        form=form or {"code": "", "name": "", "parent_code": ""},
    )


@router.get("/admin/regions")
def regions(page: UserPage) -> Response:
    return _regions_page(page)


REGION_LABELS = {
    "code": N_("Division code"),
    "name": N_("Name"),
    "parent_code": N_("Parent region"),
}


@router.post("/admin/regions")
def create_region(page: UserForm) -> Response:
    form = {k: page.field(k) for k in ("code", "name", "parent_code")}
    try:
        data = parse(
            RegionCreate,
            {**form, "parent_code": form["parent_code"] or None},
            REGION_LABELS,
        )
        with page.act() as ctx:
            actions.create_region(ctx, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _regions_page(page, status=exc.status, error=page.message(exc), form=form)
    return page.redirect("/admin/regions", notice="region_created")


# Departments -----------------------------------------------------------------------------

DEPARTMENT_FIELDS = ("name", "short_name", "code", "credit_code", "region_code")
DEPARTMENT_LABELS = {
    "name": N_("Name"),
    "short_name": N_("Short name"),
    "code": N_("Code"),
    "credit_code": N_("Unified social credit code"),
    "region_code": N_("Region"),
    "parent_id": N_("Parent department"),
}


def _departments_page(
    page: Page,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    params = page.request.query_params
    q, region, cursor = params.get("q", ""), params.get("region", ""), params.get("cursor", "")
    list_error = None
    with page.act() as ctx:
        regions = _flat_regions(ctx) if page.actor.can(Perm.REGION_READ) else []
        try:
            result = actions.list_departments(
                ctx, q=q or None, region_code=region or None, limit=PAGE_SIZE, cursor=cursor or None
            )
        except GovDataError as exc:
            if _refusal(exc):
                raise
            list_error = page.message(exc)
            result = actions.list_departments(ctx, limit=PAGE_SIZE)
    return page.render(
        "identity/departments.html",
        status=status,
        result=result,
        regions=regions,
        q=q,
        region=region,
        cursor=cursor,
        base_query=_query(q=q, region=region),
        can_manage=page.actor.can(Perm.DEPARTMENT_MANAGE),
        error=error or list_error,
        form=form or dict.fromkeys(DEPARTMENT_FIELDS, ""),
    )


@router.get("/admin/departments")
def departments(page: UserPage) -> Response:
    return _departments_page(page)


@router.post("/admin/departments")
def create_department(page: UserForm) -> Response:
    form = {k: page.field(k) for k in DEPARTMENT_FIELDS}
    try:
        data = parse(
            DepartmentCreate,
            {**form, "short_name": form["short_name"] or None},
            DEPARTMENT_LABELS,
        )
        with page.act() as ctx:
            actions.create_department(ctx, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _departments_page(page, status=exc.status, error=page.message(exc), form=form)
    return page.redirect("/admin/departments", notice="department_created")


def _department_form(d: DepartmentOut) -> dict[str, Any]:
    return {
        "name": d.name,
        "short_name": d.short_name or "",
        "credit_code": d.credit_code,
        "is_active": d.is_active,
    }


def _department_page(
    page: Page,
    department_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    with page.act() as ctx:
        department = actions.get_department(ctx, department_id)
    can_manage = page.actor.can(
        Perm.DEPARTMENT_MANAGE,
        Scope(region_path=department.region_path, department_id=department.id),
    )
    return page.render(
        "identity/department.html",
        status=status,
        department=department,
        can_manage=can_manage,
        error=error,
        form=form or _department_form(department),
    )


@router.get("/admin/departments/{department_id}")
def department(page: UserPage, department_id: str) -> Response:
    return _department_page(page, department_id)


@router.post("/admin/departments/{department_id}")
def update_department(page: UserForm, department_id: str) -> Response:
    form: dict[str, Any] = {k: page.field(k) for k in ("name", "short_name", "credit_code")}
    form["is_active"] = page.field("is_active") == "1"
    try:
        data = parse(
            DepartmentUpdate, {**form, "short_name": form["short_name"] or None}, DEPARTMENT_LABELS
        )
        with page.act() as ctx:
            actions.update_department(ctx, department_id, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _department_page(
            page, department_id, status=exc.status, error=page.message(exc), form=form
        )
    return page.redirect(f"/admin/departments/{department_id}", notice="department_updated")


# Users -----------------------------------------------------------------------------------

USER_FIELDS = (
    "username",
    "display_name",
    "department_id",
    "email",
    "phone",
    "role",
    "role_region",
    "role_department",
)
USER_LABELS = {
    "username": N_("Username"),
    "display_name": N_("Full name"),
    "password": N_("Initial password"),
    "department_id": N_("Department"),
    "email": N_("Email"),
    "phone": N_("Phone"),
    "roles": N_("Role"),
    "role": N_("Role"),
    "region_code": N_("Region (for region operators)"),
    "department_code": N_("Department (for department roles)"),
}


def _choices(page: Page, ctx: ActionContext) -> dict[str, Any]:
    """Lists for the select boxes; each only when the actor may read it."""
    actor = page.actor
    return {
        "departments": actions.list_departments(ctx, limit=CHOICES_LIMIT).items
        if actor.can(Perm.DEPARTMENT_READ)
        else [],
        "regions": _flat_regions(ctx) if actor.can(Perm.REGION_READ) else [],
        "roles": actions.list_roles(ctx) if actor.can(Perm.USER_READ) else [],
    }


def _role_input(page: Page) -> dict[str, Any] | None:
    role = page.field("role")
    if not role:
        return None
    return {
        "role": role,
        "region_code": page.field("role_region") or None,
        "department_id": page.field("role_department") or None,
    }


def _users_page(
    page: Page, *, status: int = 200, error: str | None = None, form: dict[str, str] | None = None
) -> Response:
    params = page.request.query_params
    q, role, department_id = (
        params.get("q", ""),
        params.get("role", ""),
        params.get("department", ""),
    )
    cursor = params.get("cursor", "")
    list_error = None
    with page.act() as ctx:
        choices = _choices(page, ctx)
        try:
            result = actions.list_users(
                ctx,
                q=q or None,
                role=Role(role) if role in set(Role) else None,
                department_id=department_id or None,
                limit=PAGE_SIZE,
                cursor=cursor or None,
            )
        except GovDataError as exc:
            if _refusal(exc):
                raise
            list_error = page.message(exc)
            result = actions.list_users(ctx, limit=PAGE_SIZE)
    return page.render(
        "identity/users.html",
        status=status,
        result=result,
        q=q,
        filter_role=role,
        filter_department=department_id,
        cursor=cursor,
        base_query=_query(q=q, role=role, department=department_id),
        can_manage=page.actor.can(Perm.USER_MANAGE),
        password_min_length=page.caller.settings.password_min_length,
        error=error or list_error,
        form=form or dict.fromkeys(USER_FIELDS, ""),
        **choices,
    )


@router.get("/admin/users")
def users(page: UserPage) -> Response:
    return _users_page(page)


@router.post("/admin/users")
def create_user(page: UserForm) -> Response:
    form = {k: page.field(k) for k in USER_FIELDS}
    role = _role_input(page)
    try:
        data = parse(
            UserCreate,
            {
                "username": form["username"],
                "display_name": form["display_name"],
                "password": page.form_raw("password"),
                "department_id": form["department_id"] or None,
                "email": form["email"] or None,
                "phone": form["phone"] or None,
                "locale": "zh_CN",
                "roles": [role] if role else [],
            },
            USER_LABELS,
        )
        with page.act() as ctx:
            actions.create_user(ctx, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _users_page(page, status=exc.status, error=page.message(exc), form=form)
    return page.redirect("/admin/users", notice="user_created")


def _user_page(
    page: Page,
    user_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    action_error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    with page.act() as ctx:
        user = actions.get_user(ctx, user_id)
        choices = _choices(page, ctx)
    return page.render(
        "identity/user.html",
        status=status,
        user=user,
        can_manage=page.actor.can(Perm.USER_MANAGE),
        error=error,
        action_error=action_error,
        form=form or {"role": "", "role_region": "", "role_department": ""},
        **choices,
    )


@router.get("/admin/users/{user_id}")
def user(page: UserPage, user_id: str) -> Response:
    return _user_page(page, user_id)


def _user_operation(
    page: Page, user_id: str, action: Callable[[ActionContext, str], Any], notice: str
) -> Response:
    try:
        with page.act() as ctx:
            action(ctx, user_id)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _user_page(page, user_id, status=exc.status, action_error=page.message(exc))
    return page.redirect(f"/admin/users/{user_id}", notice=notice)


@router.post("/admin/users/{user_id}/disable")
def disable_user(page: UserForm, user_id: str) -> Response:
    return _user_operation(page, user_id, actions.disable_user, "user_disabled")


@router.post("/admin/users/{user_id}/enable")
def enable_user(page: UserForm, user_id: str) -> Response:
    return _user_operation(page, user_id, actions.enable_user, "user_enabled")


@router.post("/admin/users/{user_id}/unlock")
def unlock_user(page: UserForm, user_id: str) -> Response:
    return _user_operation(page, user_id, actions.unlock_user, "user_unlocked")


@router.post("/admin/users/{user_id}/roles")
def assign_role(page: UserForm, user_id: str) -> Response:
    form = {k: page.field(k) for k in ("role", "role_region", "role_department")}
    try:
        data = parse(RoleAssignmentIn, _role_input(page) or {}, USER_LABELS)
        with page.act() as ctx:
            actions.assign_role(ctx, user_id, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _user_page(page, user_id, status=exc.status, error=page.message(exc), form=form)
    return page.redirect(f"/admin/users/{user_id}", notice="role_assigned")


@router.post("/admin/users/{user_id}/roles/{assignment_id}/revoke")
def revoke_role(page: UserForm, user_id: str, assignment_id: str) -> Response:
    try:
        with page.act() as ctx:
            actions.revoke_role(ctx, user_id, assignment_id)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _user_page(page, user_id, status=exc.status, action_error=page.message(exc))
    return page.redirect(f"/admin/users/{user_id}", notice="role_revoked")


@router.get("/roles")
def roles(page: UserPage) -> Response:
    with page.act() as ctx:
        definitions = actions.list_roles(ctx)
    return page.render("identity/roles.html", roles=definitions)


# App credentials -------------------------------------------------------------------------

CREDENTIAL_LABELS = {
    "name": N_("Name"),
    "department_id": N_("Department"),
    "scopes": N_("Scopes"),
    "days": N_("Valid for (days)"),
}


def _credentials_page(
    page: Page,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    created: Any = None,
) -> Response:
    cursor = page.request.query_params.get("cursor", "")
    with page.act() as ctx:
        result = actions.list_credentials(ctx, limit=PAGE_SIZE, cursor=cursor or None)
        departments = (
            actions.list_departments(ctx, limit=CHOICES_LIMIT).items
            if page.actor.can(Perm.DEPARTMENT_READ)
            else []
        )
    actor = page.actor
    # Only where the actor may issue credentials, and only scopes they hold themselves.
    departments = [
        d
        for d in departments
        if actor.can(Perm.CREDENTIAL_MANAGE, Scope(region_path=d.region_path, department_id=d.id))
    ]
    return page.render(
        "identity/credentials.html",
        status=status,
        result=result,
        cursor=cursor,
        base_query="",
        departments=departments,
        scope_choices=[p for p in Perm if actor.can(p)],
        can_manage=actor.can(Perm.CREDENTIAL_MANAGE),
        error=error,
        created=created,
        form=form or {"name": "", "department_id": "", "days": "90", "scopes": []},
    )


@router.get("/admin/credentials")
def credentials(page: UserPage) -> Response:
    return _credentials_page(page)


@router.post("/admin/credentials")
def create_credential(page: UserForm) -> Response:
    form: dict[str, Any] = {k: page.field(k) for k in ("name", "department_id", "days")}
    form["scopes"] = page.fields("scopes")
    try:
        data = parse(
            CredentialCreate,
            {
                "name": form["name"],
                "department_id": form["department_id"] or None,
                "scopes": form["scopes"],
                "days": form["days"] or None,
            },
            CREDENTIAL_LABELS,
        )
        with page.act() as ctx:
            created = actions.create_credential(ctx, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _credentials_page(page, status=exc.status, error=page.message(exc), form=form)
    # Rendered, not redirected: the token must appear once and never travel in a URL.
    response = _credentials_page(page, created=created)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/credentials/{credential_id}/revoke")
def revoke_credential(page: UserForm, credential_id: str) -> Response:
    try:
        with page.act() as ctx:
            actions.revoke_credential(ctx, credential_id)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _credentials_page(page, status=exc.status, error=page.message(exc))
    return page.redirect("/admin/credentials", notice="credential_revoked")


# My account ------------------------------------------------------------------------------

PASSWORD_LABELS = {
    "current_password": N_("Current password"),
    "new_password": N_("New password"),
}


def _me_page(page: Page, *, status: int = 200, **context: Any) -> Response:
    with page.act() as ctx:
        me = actions.get_me(ctx)
    return page.render(
        "identity/me.html",
        status=status,
        me=me,
        password_min_length=page.caller.settings.password_min_length,
        **context,
    )


@router.get("/me")
def me(page: UserPage) -> Response:
    return _me_page(page)


@router.post("/me/password")
def change_password(page: UserForm) -> Response:
    try:
        data = parse(
            PasswordChange,
            {
                "current_password": page.form_raw("current_password"),
                "new_password": page.form_raw("new_password"),
            },
            PASSWORD_LABELS,
        )
        with page.act() as ctx:
            actions.change_own_password(ctx, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _me_page(page, status=exc.status, password_error=page.message(exc))
    # Changing the password ends every session, this one included: sign in again.
    response = page.redirect("/login", notice="password_changed")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/me/totp")
def enrol_totp(page: UserForm) -> Response:
    try:
        with page.act() as ctx:
            enrolment = actions.enrol_totp(ctx)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _me_page(page, status=exc.status, totp_error=page.message(exc))
    response = _me_page(page, enrolment=enrolment)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/me/totp/confirm")
def confirm_totp(page: UserForm) -> Response:
    try:
        data = parse(TotpConfirm, {"code": page.field("code")}, {"code": N_("Verification code")})
        with page.act() as ctx:
            actions.confirm_totp(ctx, data)
    except GovDataError as exc:
        if _refusal(exc):
            raise
        return _me_page(page, status=exc.status, totp_error=page.message(exc))
    return page.redirect("/me", notice="totp_enabled")
