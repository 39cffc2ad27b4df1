"""Fixed vocabularies of anomaly detection: severities, alert states, the audited reads."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_ORDER = {s: i for i, s in enumerate(Severity)}
SEVERITY_LABELS: dict[str, tuple[str, str]] = {
    Severity.LOW: ("低", "Low"),
    Severity.MEDIUM: ("中", "Medium"),
    Severity.HIGH: ("高", "High"),
    Severity.CRITICAL: ("严重", "Critical"),
}
# New alerts at or above this severity are announced to every security administrator.
ANNOUNCE_FROM = Severity.HIGH


class AlertStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    DISPOSING = "disposing"  # 处置中
    CLOSED = "closed"
    FALSE_POSITIVE = "false_positive"


ACTIVE_STATUSES = (AlertStatus.OPEN, AlertStatus.ASSIGNED, AlertStatus.DISPOSING)
STATUS_LABELS: dict[str, tuple[str, str]] = {
    AlertStatus.OPEN: ("待处置", "Open"),
    AlertStatus.ASSIGNED: ("已指派", "Assigned"),
    AlertStatus.DISPOSING: ("处置中", "Disposing"),
    AlertStatus.CLOSED: ("已关闭", "Closed"),
    AlertStatus.FALSE_POSITIVE: ("误报", "False positive"),
}

# What happened to an alert, as its timeline names it.
EVENT_LABELS: dict[str, tuple[str, str]] = {
    "raise": ("产生告警", "Raised"),
    "assign": ("指派", "Assigned"),
    "start": ("开始处置", "Disposal started"),
    "close": ("关闭", "Closed"),
    "false_positive": ("判定误报", "Marked false positive"),
}

# Data reads through the sharing paths, as ``sharing.dataapi`` audits them.
READ_ACTIONS = ("sharing.data.read", "sharing.data.verify")
LOGIN_ACTION = "auth.login"
# A revoked or expired credential presented to the API (``identity.auth`` audits it).
TOKEN_REFUSED_ACTION = "auth.token_refused"  # noqa: S105 (an audit action name)
# Actor kinds that consume data: access statistics and baselines are kept for these.
CONSUMER_KINDS = ("app", "user")


def _pick(pair: tuple[str, str] | None, fallback: str, locale: str) -> str:
    if pair is None:
        return fallback
    return pair[1] if locale.startswith("en") else pair[0]


def severity_label(value: str, locale: str = "zh_CN") -> str:
    return _pick(SEVERITY_LABELS.get(value), value, locale)


def status_label(value: str, locale: str = "zh_CN") -> str:
    return _pick(STATUS_LABELS.get(value), value, locale)


def event_label(value: str, locale: str = "zh_CN") -> str:
    return _pick(EVENT_LABELS.get(value), value, locale)
