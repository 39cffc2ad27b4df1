"""Rate limits on the sign-in and token endpoints, per client address and per account name.

A sliding window in this process's memory: each key keeps the times of its
accepted attempts within the window. It sits in front of the account lockout
(``login_max_failures``): the lockout stops guessing one account's password,
this stops one address from trying many accounts and anyone from hammering one
account fast enough to hurt the node (argon2 is deliberately slow). Several web
processes each count their own attempts, so the node as a whole allows up to
that many times the limit (docs/security/hardening.md).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import Request, Response

from govdata.config import Settings
from govdata.core.errors import GovDataError

log = logging.getLogger(__name__)

# Forgotten keys (windows that have emptied) are swept out after this many attempts, so
# a flood of made-up account names cannot grow the table without bound.
SWEEP_EVERY = 1024


class TooManyAttempts(GovDataError):
    code = "too_many_attempts"
    status = 429

    def __init__(self, retry_after: float, scope: str) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            f"登录尝试过于频繁，请 {seconds} 秒后再试",
            f"Too many sign-in attempts; try again in {seconds} seconds",
            details={"retry_after": seconds, "limit": scope},
        )
        self.retry_after = seconds


class SlidingWindow:
    """At most ``limit`` accepted events per key within any ``window`` seconds."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[str, deque[float]] = {}

    def wait(self, key: str, at: float) -> float:
        """Seconds until ``key`` may have one more event; 0 when it may now."""
        events = self._events.get(key)
        if events is None:
            return 0.0
        while events and events[0] <= at - self.window:
            events.popleft()
        if len(events) < self.limit:
            return 0.0
        return events[0] + self.window - at

    def record(self, key: str, at: float) -> None:
        self._events.setdefault(key, deque()).append(at)

    def sweep(self, at: float) -> None:
        self._events = {k: v for k, v in self._events.items() if v and v[-1] > at - self.window}


class LoginLimits:
    """The two windows of one web process; an attempt counts only when both accept it."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        window = settings.login_rate_window_seconds
        self.by_address = SlidingWindow(settings.login_rate_per_address, window, clock)
        self.by_account = SlidingWindow(settings.login_rate_per_account, window, clock)
        self.clock = clock
        self._lock = threading.Lock()
        self._attempts = 0

    def attempt(self, address: str, account: str | None) -> None:
        """Count one attempt, or raise TooManyAttempts (uncounted: waiting out the window
        is enough to be let in again)."""
        with self._lock:
            at = self.clock()
            self._attempts += 1
            if self._attempts % SWEEP_EVERY == 0:
                self.by_address.sweep(at)
                self.by_account.sweep(at)
            wait = self.by_address.wait(address, at)
            if wait > 0:
                raise TooManyAttempts(wait, "address")
            if account:
                wait = self.by_account.wait(account, at)
                if wait > 0:
                    raise TooManyAttempts(wait, "account")
                self.by_account.record(account, at)
            self.by_address.record(address, at)


_create_lock = threading.Lock()


def _limits(request: Request) -> LoginLimits:
    state = request.app.state
    found: LoginLimits | None = getattr(state, "login_limits", None)
    if found is None:
        with _create_lock:
            found = getattr(state, "login_limits", None)
            if found is None:
                found = state.login_limits = LoginLimits(state.settings)
    return found


def check_login(request: Request, account: str | None) -> None:
    """Count a sign-in or token attempt from this request; raise TooManyAttempts when over.

    ``account`` is the name as typed; it is compared the way sign-in compares it.
    """
    address = request.client.host if request.client else "unknown"
    name = account.strip().lower() if account else None
    try:
        _limits(request).attempt(address, name)
    except TooManyAttempts as exc:
        log.warning(
            "sign-in attempts refused: %s limit reached (address %s)",
            (exc.details or {}).get("limit"),
            address,
        )
        raise


def with_retry_after(response: Response, error: GovDataError) -> Response:
    """A page answering a refusal tells the browser when to come back, like the API does."""
    if isinstance(error, TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after)
    return response
