"""The governance domain's fixed vocabularies."""

from __future__ import annotations

from enum import StrEnum


class TicketSource(StrEnum):
    OBJECTION = "objection"  # 数据异议: a consumer reported it
    RULE = "rule"  # a quality rule failed (one ticket per entry and rule)


class TicketStatus(StrEnum):
    OPEN = "open"  # reported, the provider has not answered
    ACCEPTED = "accepted"  # the provider accepts it is wrong
    DISPUTED = "disputed"  # the provider holds the data is right: the operator decides
    RECTIFYING = "rectifying"  # the provider is fixing the data
    RECHECKED = "rechecked"  # the fix passed its re-check (or awaits the reporter's word)
    CLOSED = "closed"
    REOPENED = "reopened"  # back into the work after a re-check or a close


# States in which the provider's deadline runs (and overdue tickets escalate).
RUNNING = frozenset(
    {TicketStatus.OPEN, TicketStatus.ACCEPTED, TicketStatus.RECTIFYING, TicketStatus.REOPENED}
)

STATUS_LABELS: dict[str, tuple[str, str]] = {
    TicketStatus.OPEN: ("待处理", "Open"),
    TicketStatus.ACCEPTED: ("已受理", "Accepted"),
    TicketStatus.DISPUTED: ("有异议", "Disputed"),
    TicketStatus.RECTIFYING: ("整改中", "Rectifying"),
    TicketStatus.RECHECKED: ("已复核", "Re-checked"),
    TicketStatus.CLOSED: ("已关闭", "Closed"),
    TicketStatus.REOPENED: ("已重开", "Reopened"),
}


def label(labels: dict[str, tuple[str, str]], value: str | None, locale: str = "zh_CN") -> str:
    """The Chinese or English label of ``value`` in ``labels`` (the value itself when it
    has none)."""
    if value is None:
        return ""
    pair = labels.get(value)
    if pair is None:
        return value
    return pair[1] if locale.startswith("en") else pair[0]


def status_label(status: str, locale: str = "zh_CN") -> str:
    return label(STATUS_LABELS, status, locale)


# Working days the provider has to fix a rule ticket, by the rule's severity (5 = critical).
SEVERITY_DAYS: dict[int, int] = {5: 2, 4: 3, 3: 5, 2: 10, 1: 15}
