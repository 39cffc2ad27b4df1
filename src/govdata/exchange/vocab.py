"""The exchange domain's fixed vocabularies, with their zh-CN / English labels."""

from __future__ import annotations

from enum import StrEnum


class MountMode(StrEnum):
    LOGICAL = "logical"  # 逻辑接入: read at the source at request time
    PHYSICAL = "physical"  # 物理汇聚: copied into a lake table by pipelines


class TargetKind(StrEnum):
    TABLE = "table"
    QUERY = "query"  # a read-only SELECT, checked with SQLGlot
    FILE = "file"
    API = "api"


class PipelineKind(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"
    CDC = "cdc"
    RETURN = "return"  # 回流: lake table down to a region's or department's database


class PipelineState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


MODE_LABELS = {
    MountMode.LOGICAL: ("逻辑接入", "Logical access"),
    MountMode.PHYSICAL: ("物理汇聚", "Physical aggregation"),
}
TARGET_LABELS = {
    TargetKind.TABLE: ("数据表", "Table"),
    TargetKind.QUERY: ("只读查询", "Read-only query"),
    TargetKind.FILE: ("文件", "File"),
    TargetKind.API: ("接口", "API"),
}
PIPELINE_LABELS = {
    PipelineKind.FULL: ("全量", "Full load"),
    PipelineKind.INCREMENTAL: ("增量", "Incremental"),
    PipelineKind.CDC: ("实时变更捕获", "Change data capture"),
    PipelineKind.RETURN: ("回流", "Return flow"),
}
STATE_LABELS = {
    PipelineState.ACTIVE: ("运行中", "Active"),
    PipelineState.PAUSED: ("已暂停", "Paused"),
}
RUN_LABELS = {
    RunStatus.QUEUED: ("排队中", "Queued"),
    RunStatus.RUNNING: ("运行中", "Running"),
    RunStatus.SUCCEEDED: ("成功", "Succeeded"),
    RunStatus.FAILED: ("失败", "Failed"),
    RunStatus.CANCELLED: ("已取消", "Cancelled"),
}
