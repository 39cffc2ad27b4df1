"""The sharing domain's fixed vocabularies, with their zh-CN / English labels."""

from __future__ import annotations

from enum import StrEnum


class DemandStatus(StrEnum):
    OPEN = "open"  # posted, waiting for the operator to route it
    ROUTED = "routed"  # with a provider, waiting for its answer
    ANSWERED = "answered"  # the provider answered (will catalog / no data / cannot share)
    FULFILLED = "fulfilled"  # linked to the entry that now holds the data
    CLOSED = "closed"  # withdrawn by the requester or closed by the operator


class DemandAnswer(StrEnum):
    WILL_CATALOG = "will_catalog"
    NO_DATA = "no_data"
    CANNOT_SHARE = "cannot_share"  # needs its basis


class ApplicationStatus(StrEnum):
    PENDING = "pending"  # some approval step is open
    APPROVED = "approved"  # a grant exists (or was extended)
    REJECTED = "rejected"
    CONTESTED = "contested"  # the consumer asked the operator to coordinate (协调)
    WITHDRAWN = "withdrawn"


class ApplicationKind(StrEnum):
    NEW = "new"
    RENEWAL = "renewal"


class StepKind(StrEnum):
    COMPLIANCE = "compliance"  # 合规性检查: automatic, or the operator's when switched on
    PROVIDER = "provider"  # the provider department's decision
    OPERATOR = "operator"  # the platform operator's approval (grade 3–4 by default)


class StepStatus(StrEnum):
    WAITING = "waiting"  # an earlier step is still open
    PENDING = "pending"  # open now, counting down
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # the application was withdrawn or ended elsewhere


class DeliveryMode(StrEnum):
    API = "api"  # the data-service API
    SUBSCRIPTION = "subscription"  # into the consumer's own database table
    FILE = "file"  # files the consumer downloads


class GrantStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"  # derived from expires_at; never stored


class SubscriptionMode(StrEnum):
    TABLE = "table"
    FILE = "file"


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"  # its grant was revoked or expired


class HolidayKind(StrEnum):
    HOLIDAY = "holiday"  # a weekday off
    WORKDAY = "workday"  # a weekend day worked (调休)


LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "demand_status": {
        DemandStatus.OPEN: ("待分派", "Open"),
        DemandStatus.ROUTED: ("待答复", "Routed"),
        DemandStatus.ANSWERED: ("已答复", "Answered"),
        DemandStatus.FULFILLED: ("已满足", "Fulfilled"),
        DemandStatus.CLOSED: ("已关闭", "Closed"),
    },
    "demand_answer": {
        DemandAnswer.WILL_CATALOG: ("将编目提供", "Will catalog it"),
        DemandAnswer.NO_DATA: ("无此数据", "Holds no such data"),
        DemandAnswer.CANNOT_SHARE: ("不能共享", "Cannot share"),
    },
    "application_status": {
        ApplicationStatus.PENDING: ("审批中", "Pending"),
        ApplicationStatus.APPROVED: ("已通过", "Approved"),
        ApplicationStatus.REJECTED: ("未通过", "Rejected"),
        ApplicationStatus.CONTESTED: ("协调中", "Contested"),
        ApplicationStatus.WITHDRAWN: ("已撤回", "Withdrawn"),
    },
    "step_kind": {
        StepKind.COMPLIANCE: ("合规性检查", "Compliance check"),
        StepKind.PROVIDER: ("提供部门审核", "Provider review"),
        StepKind.OPERATOR: ("主管部门审批", "Operator approval"),
    },
    "step_status": {
        StepStatus.WAITING: ("未开始", "Waiting"),
        StepStatus.PENDING: ("办理中", "Pending"),
        StepStatus.APPROVED: ("同意", "Approved"),
        StepStatus.REJECTED: ("不同意", "Rejected"),
        StepStatus.CANCELLED: ("已取消", "Cancelled"),
    },
    "delivery_mode": {
        DeliveryMode.API: ("接口调用", "API"),
        DeliveryMode.SUBSCRIPTION: ("库表订阅", "Subscription"),
        DeliveryMode.FILE: ("文件下载", "File"),
    },
    "grant_status": {
        GrantStatus.ACTIVE: ("有效", "Active"),
        GrantStatus.REVOKED: ("已撤销", "Revoked"),
        GrantStatus.EXPIRED: ("已过期", "Expired"),
    },
    "subscription_state": {
        SubscriptionState.ACTIVE: ("运行中", "Active"),
        SubscriptionState.PAUSED: ("已暂停", "Paused"),
        SubscriptionState.ENDED: ("已终止", "Ended"),
    },
}

# Stated on every grant and shown with every delivery (政务数据共享条例: no onward transfer).
ONWARD_TRANSFER_NOTICE = (
    "本授权数据仅限申请所述用途和范围使用，不得转让、转借或向第三方提供。",
    "Use only for the stated purpose and scope; onward transfer to any third party is forbidden.",
)


def label(group: str, value: str, locale: str = "zh_CN") -> str:
    pair = LABELS.get(group, {}).get(value)
    if pair is None:
        return value
    return pair[1] if locale.startswith("en") else pair[0]
