"""Public accounts: register with an e-mail address or a mainland mobile number, verify it
with a six-digit code the operator's gateway sends, sign in and out.

An account is unusable until verified. A code is stored hashed (HMAC with the node's
secret), expires, allows a few attempts and can be resent only after a pause; a new code
voids the old one. Wrong codes and failed sign-ins are counted and audited in their own
transaction before the error is raised, so the count survives the refusal; nothing else
changes on an error.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core import clock
from govdata.core.db import Database
from govdata.core.errors import Conflict, GovDataError, InvalidInput, NotAuthenticated, NotFound
from govdata.identity import passwords
from govdata.opendata import gateway
from govdata.opendata.account_models import PublicAccount, PublicCode, PublicSession
from govdata.security.audit import FAILURE
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm

AUDIT_TARGET = "open_account"
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


class AccountKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"
    RESEARCHER = "researcher"


KIND_LABELS: dict[str, tuple[str, str]] = {
    AccountKind.PERSON: ("个人", "Person"),
    AccountKind.COMPANY: ("企业", "Company"),
    AccountKind.RESEARCHER: ("科研人员", "Researcher"),
}


class RegisterIn(BaseModel):
    account: str = Field(max_length=254, description="E-mail address or mainland mobile number")
    display_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    kind: AccountKind = AccountKind.PERSON
    organisation: str | None = Field(default=None, max_length=128)


class VerifyIn(BaseModel):
    account: str = Field(max_length=254)
    code: str = Field(max_length=16)


class AccountOut(BaseModel):
    id: str
    email: str | None
    mobile: str | None
    display_name: str
    kind: str
    organisation: str | None
    verified: bool
    created_at: datetime


def out(account: PublicAccount) -> AccountOut:
    return AccountOut(
        id=account.id,
        email=account.email,
        mobile=account.mobile,
        display_name=account.display_name,
        kind=account.kind,
        organisation=account.organisation,
        verified=account.verified_at is not None,
        created_at=account.created_at,
    )


def actor_of(account: PublicAccount) -> Actor:
    """A signed-in public account acts as kind "public": no roles, no department."""
    return Actor(kind="public", id=account.id, name=account.display_name)


def address(raw: str) -> tuple[str, str]:
    """("email" | "mobile", the address normalised), or ``opendata_account_format``."""
    value = (raw or "").strip()
    if "@" in value:
        value = value.lower()
        if EMAIL_RE.match(value) and len(value) <= 254:
            return "email", value
    else:
        digits = re.sub(r"[\s-]", "", value)
        digits = digits.removeprefix("+86").removeprefix("0086")
        if MOBILE_RE.match(digits):
            return "mobile", digits
    raise InvalidInput(
        "请填写有效的电子邮箱或中国大陆手机号码",
        "Enter a valid e-mail address or mainland China mobile number",
        code="opendata_account_format",
    )


def find(s: Session, raw: str) -> PublicAccount | None:
    channel, value = address(raw)
    column = PublicAccount.email if channel == "email" else PublicAccount.mobile
    return s.scalars(select(PublicAccount).where(column == value)).one_or_none()


def contact_of(account: PublicAccount) -> str:
    return account.email or account.mobile or ""


def _code_hash(settings: Settings, account_id: str, code: str) -> str:
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, f"{account_id}:{code}".encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _unknown() -> InvalidInput:
    return InvalidInput(
        "账号不存在或已验证",
        "No unverified account with this address",
        code="opendata_account_unknown",
    )


def _issue_code(ctx: ActionContext, account: PublicAccount) -> None:
    """A new code replaces the old one and goes out through the channel's gateway."""
    s, settings, at = ctx.session, ctx.settings, clock.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = s.get(PublicCode, account.id)
    if row is None:
        row = PublicCode(account_id=account.id)
        s.add(row)
    row.code_hash = _code_hash(settings, account.id, code)
    row.sent_at = at
    row.expires_at = at + timedelta(minutes=settings.opendata_code_minutes)
    row.attempts = 0
    s.flush()
    minutes = settings.opendata_code_minutes
    gateway.send(
        settings,
        gateway.Outgoing(
            to=contact_of(account),
            subject="公共数据开放平台验证码 / Open Data Portal verification code",
            body=f"验证码 {code}，{minutes} 分钟内有效。Your code is {code}, valid {minutes} min.",
        ),
    )


def _abandoned(s: Session, account: PublicAccount) -> bool:
    if account.verified_at is not None:
        return False
    code = s.get(PublicCode, account.id)
    return code is None or clock.now() >= code.expires_at


def register(ctx: ActionContext, data: RegisterIn) -> AccountOut:
    """Create an unverified account and send its code. Duplicate addresses are refused."""
    s = ctx.session
    channel, value = address(data.account)
    display_name = data.display_name.strip()
    if not display_name:
        raise InvalidInput("请填写名称", "Enter a display name", code="opendata_name_required")
    passwords.check_policy(ctx.settings, data.password, value.split("@")[0])
    existing = find(s, value)
    if existing is not None and _abandoned(s, existing):
        # An unverified registration whose code has lapsed does not hold the address: else
        # anyone could block someone else's e-mail or number by registering it first.
        s.execute(delete(PublicCode).where(PublicCode.account_id == existing.id))
        s.delete(existing)
        s.flush()
        existing = None
    if existing is not None:
        raise Conflict(
            "该邮箱或手机号已注册",
            "An account with this address already exists",
            code="opendata_account_exists",
        )
    organisation = (data.organisation or "").strip() or None
    if data.kind == AccountKind.COMPANY and organisation is None:
        raise InvalidInput(
            "企业账号请填写单位名称",
            "A company account needs the organisation's name",
            code="opendata_organisation_required",
        )
    account = PublicAccount(
        email=value if channel == "email" else None,
        mobile=value if channel == "mobile" else None,
        display_name=display_name,
        password_hash=passwords.hash_password(ctx.settings, data.password),
        kind=data.kind.value,
        organisation=organisation,
    )
    s.add(account)
    s.flush()
    _issue_code(ctx, account)
    ctx.audit(
        "opendata.account.register",
        target_type=AUDIT_TARGET,
        target_id=account.id,
        details={"channel": channel, "kind": account.kind},
    )
    return out(account)


def resend_code(ctx: ActionContext, raw: str) -> None:
    """A new code for an unverified account, no sooner than the pause after the last one."""
    account = find(ctx.session, raw)
    if account is None or account.verified_at is not None:
        raise _unknown()
    row = ctx.session.get(PublicCode, account.id)
    if row is not None:
        left = timedelta(seconds=ctx.settings.opendata_code_resend_seconds) - (
            clock.now() - row.sent_at
        )
        if left > timedelta(0):
            wait = max(1, math.ceil(left.total_seconds()))
            raise InvalidInput(
                f"请 {wait} 秒后再获取验证码",
                f"Wait {wait} seconds before asking for a new code",
                code="opendata_code_too_soon",
                details={"retry_after": wait},
            )
    _issue_code(ctx, account)
    ctx.audit("opendata.account.code_resend", target_type=AUDIT_TARGET, target_id=account.id)


def verify(caller: Caller, data: VerifyIn) -> AccountOut:
    """Check the code; a right one verifies the account and voids the code. A wrong one
    counts an attempt (committed) before ``opendata_code_invalid`` is raised."""
    failed: GovDataError | None = None
    with caller.act() as ctx:
        s = ctx.session
        account = find(s, data.account)
        row = s.get(PublicCode, account.id) if account is not None else None
        if account is None or account.verified_at is not None or row is None:
            raise _unknown()
        settings = ctx.settings
        if row.attempts >= settings.opendata_code_attempts:
            raise InvalidInput(
                "验证码错误次数过多，请重新获取",
                "Too many wrong codes; ask for a new one",
                code="opendata_code_expired",
                details={"reason": "attempts"},
            )
        if clock.now() >= row.expires_at:
            raise InvalidInput(
                "验证码已过期，请重新获取",
                "The code has expired; ask for a new one",
                code="opendata_code_expired",
                details={"reason": "expired"},
            )
        expected = row.code_hash
        given = _code_hash(settings, account.id, data.code.strip())
        if not hmac.compare_digest(expected, given):
            row.attempts += 1
            left = settings.opendata_code_attempts - row.attempts
            ctx.audit(
                "opendata.account.verify",
                target_type=AUDIT_TARGET,
                target_id=account.id,
                outcome=FAILURE,
                details={"attempts_left": left},
            )
            failed = InvalidInput(
                "验证码错误",
                "The code is wrong",
                code="opendata_code_invalid",
                details={"attempts_left": left},
            )
        else:
            account.verified_at = clock.now()
            s.delete(row)
            ctx.audit("opendata.account.verify", target_type=AUDIT_TARGET, target_id=account.id)
            return out(account)
    assert failed is not None
    raise failed


def _bad_login() -> NotAuthenticated:
    return NotAuthenticated(
        "账号或密码错误", "Wrong account or password", code="opendata_login_failed"
    )


def login(caller: Caller, raw_address: str, password: str) -> tuple[str, AccountOut]:
    """Check the password; returns a new session token (the cookie's value) and the account.
    Unknown accounts take as long as wrong passwords; failures are audited."""
    settings = caller.settings
    failed: GovDataError | None = None
    with caller.act() as ctx:
        s = ctx.session
        try:
            account = find(s, raw_address)
        except InvalidInput:
            account = None
        if account is None:
            passwords.burn_time(settings, password)
            raise _bad_login()
        if not passwords.verify_password(settings, account.password_hash, password):
            ctx.audit(
                "opendata.account.login",
                target_type=AUDIT_TARGET,
                target_id=account.id,
                outcome=FAILURE,
            )
            failed = _bad_login()
        elif account.disabled_at is not None:
            failed = NotAuthenticated(
                "账号已停用", "The account is disabled", code="opendata_account_disabled"
            )
        elif account.verified_at is None:
            failed = NotAuthenticated(
                "账号尚未验证，请先完成验证",
                "The account is not verified yet",
                code="opendata_account_unverified",
            )
        else:
            token = secrets.token_urlsafe(32)
            at = clock.now()
            s.add(
                PublicSession(
                    account_id=account.id,
                    token_hash=token_hash(token),
                    created_at=at,
                    expires_at=at + timedelta(hours=settings.opendata_session_hours),
                )
            )
            account.last_login_at = at
            ctx.actor = actor_of(account)
            ctx.audit("opendata.account.login", target_type=AUDIT_TARGET, target_id=account.id)
            return token, out(account)
    assert failed is not None
    raise failed


def logout(db: Database, token: str) -> None:
    with db.transaction() as s:
        s.execute(delete(PublicSession).where(PublicSession.token_hash == token_hash(token)))


def session_account(s: Session, token: str) -> PublicAccount | None:
    """The verified, enabled account of a live session token."""
    if not token:
        return None
    row = s.execute(
        select(PublicAccount, PublicSession.expires_at)
        .join(PublicSession, PublicSession.account_id == PublicAccount.id)
        .where(PublicSession.token_hash == token_hash(token))
    ).first()
    if row is None or clock.now() >= row[1]:
        return None
    account: PublicAccount = row[0]
    if account.verified_at is None or account.disabled_at is not None:
        return None
    return account


def purge_sessions(s: Session) -> int:
    """Drop expired sessions (the sweep calls it)."""
    result = s.execute(delete(PublicSession).where(PublicSession.expires_at <= clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def accounts_by_ids(s: Session, ids: list[str]) -> dict[str, PublicAccount]:
    if not ids:
        return {}
    rows = s.scalars(select(PublicAccount).where(PublicAccount.id.in_(ids)))
    return {a.id: a for a in rows}


class AccountAdminOut(AccountOut):
    disabled: bool
    last_login_at: datetime | None


def _admin_out(account: PublicAccount) -> AccountAdminOut:
    return AccountAdminOut(
        **out(account).model_dump(),
        disabled=account.disabled_at is not None,
        last_login_at=account.last_login_at,
    )


def list_accounts(
    ctx: ActionContext, q: str | None = None, limit: int = 100, offset: int = 0
) -> list[AccountAdminOut]:
    """The operator's list of public accounts, newest first; ``q`` matches address or name."""
    ctx.require(Perm.OPENDATA_MANAGE)
    stmt = select(PublicAccount).order_by(PublicAccount.created_at.desc())
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(PublicAccount.email).like(like),
                PublicAccount.mobile.like(like),
                func.lower(PublicAccount.display_name).like(like),
            )
        )
    return [_admin_out(a) for a in ctx.session.scalars(stmt.limit(limit).offset(offset))]


def set_disabled(ctx: ActionContext, account_id: str, disabled: bool) -> AccountAdminOut:
    """The operator disables an account (its sessions end, its keys stop at once) or
    enables it again."""
    ctx.require(Perm.OPENDATA_MANAGE, target_id=account_id)
    s = ctx.session
    account = s.get(PublicAccount, account_id)
    if account is None:
        raise NotFound(
            "公众账号不存在", "Public account not found", code="opendata_account_not_found"
        )
    if disabled and account.disabled_at is None:
        account.disabled_at = clock.now()
        s.execute(delete(PublicSession).where(PublicSession.account_id == account.id))
    elif not disabled:
        account.disabled_at = None
    ctx.audit(
        "opendata.account.disable" if disabled else "opendata.account.enable",
        target_type=AUDIT_TARGET,
        target_id=account.id,
    )
    return _admin_out(account)
