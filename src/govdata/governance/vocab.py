"""The governance domain's fixed vocabularies."""

from __future__ import annotations

from enum import StrEnum


class TicketSource(StrEnum):
    OBJECTION = "objection"  # 数据异议: a consumer reported it
    RULE = "rule"  # a quality rule failed (the governance issue adds these)


class TicketStatus(StrEnum):
    OPEN = "open"
    RECTIFYING = "rectifying"  # the provider accepted it and is fixing the data
    DISPUTED = "disputed"  # the provider holds the data is right
    CLOSED = "closed"


STATUS_LABELS: dict[str, tuple[str, str]] = {
    TicketStatus.OPEN: ("待处理", "Open"),
    TicketStatus.RECTIFYING: ("整改中", "Rectifying"),
    TicketStatus.DISPUTED: ("有异议", "Disputed"),
    TicketStatus.CLOSED: ("已关闭", "Closed"),
}


def status_label(status: str, locale: str = "zh_CN") -> str:
    pair = STATUS_LABELS.get(status)
    if pair is None:
        return status
    return pair[1] if locale.startswith("en") else pair[0]
