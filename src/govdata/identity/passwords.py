"""Password hashing (argon2id) and the complexity policy (GB/T 22239 level 3)."""

from __future__ import annotations

import string
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from govdata.config import Settings
from govdata.core.errors import InvalidInput

_CLASSES = (
    ("lower", frozenset(string.ascii_lowercase)),
    ("upper", frozenset(string.ascii_uppercase)),
    ("digit", frozenset(string.digits)),
)


@cache
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def hasher(settings: Settings) -> PasswordHasher:
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_kib)


def hash_password(settings: Settings, password: str) -> str:
    return hasher(settings).hash(password)


def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    try:
        return hasher(settings).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    return hasher(settings).check_needs_rehash(password_hash)


@cache
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib).hash("not-a-real-password")


def burn_time(settings: Settings, password: str) -> None:
    """Verify against a throwaway hash so unknown usernames take as long as wrong passwords."""
    verify_password(
        settings, _dummy_hash(settings.argon2_time_cost, settings.argon2_memory_kib), password
    )


def policy_problems(settings: Settings, password: str, username: str | None) -> list[str]:
    """Why ``password`` is too weak; empty when it passes."""
    found = []
    if len(password) < settings.password_min_length:
        found.append("too_short")
    classes = sum(1 for _, chars in _CLASSES if any(c in chars for c in password))
    # Everything that is not an ASCII letter or digit counts as a symbol (incl. CJK).
    classes += any(not (c.isascii() and c.isalnum()) for c in password)
    if classes < 3:
        found.append("too_few_character_classes")
    if username and username.lower() in password.lower():
        found.append("contains_username")
    return found


def check_policy(settings: Settings, password: str, username: str | None) -> None:
    found = policy_problems(settings, password, username)
    if found:
        raise InvalidInput(
            f"密码强度不足：至少 {settings.password_min_length} 位，包含大写字母、小写字母、"
            "数字、符号中的至少三类，且不得包含用户名",
            f"Weak password: at least {settings.password_min_length} characters, three of "
            "upper case, lower case, digits and symbols, and not containing the username",
            code="weak_password",
            details={"reasons": found},
        )
