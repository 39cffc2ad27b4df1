"""Who the public visitor is: a signed-in public account, or nobody.

Stub until public accounts land: every visitor is anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request


@dataclass(frozen=True)
class PublicUser:
    id: str
    display_name: str


def current_public_user(request: Request) -> PublicUser | None:
    return None
