"""Time-based one-time passwords (RFC 6238) as the second factor, with replay protection."""

from __future__ import annotations

import hmac

import pyotp

from govdata.core.clock import now

ISSUER = "GovData"
# Accept the previous and the next 30-second step to tolerate clock drift.
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, or None when it is wrong or already used.

    A step at or before ``last_step`` was already accepted once; refusing it
    stops an observed code from being replayed within its window.
    """
    code = code.strip()
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now())
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
