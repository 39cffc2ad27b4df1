"""The pipeline engine: one runner function per pipeline kind, each given a ``RunContext``.

Runners live in their own modules and are imported on first use, so a worker that only
runs full loads never imports the CDC readers (and their replication libraries).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from govdata.core.errors import InvalidInput
from govdata.exchange.engine.context import (
    Committed,
    MountFacts,
    PipelineFacts,
    RunContext,
    RunCounts,
)
from govdata.exchange.vocab import PipelineKind

Runner = Callable[[RunContext], None]

# Pipeline kind -> "module:function".
RUNNERS: dict[str, str] = {
    PipelineKind.FULL: "govdata.exchange.engine.full:run_full",
    PipelineKind.INCREMENTAL: "govdata.exchange.engine.incremental:run_incremental",
    PipelineKind.CDC: "govdata.exchange.engine.cdc:run_cdc",
    PipelineKind.RETURN: "govdata.exchange.engine.returnflow:run_return",
}


def runner_for(kind: str) -> Runner:
    """The runner of pipeline ``kind``."""
    target = RUNNERS.get(kind)
    if target is None:
        raise InvalidInput(
            f"未知的管道类型 {kind}",
            f"Unknown pipeline kind {kind}",
            code="pipeline_kind_unknown",
            details={"kind": kind},
        )
    module, _, name = target.partition(":")
    fn: Runner = getattr(importlib.import_module(module), name)
    return fn


__all__ = [
    "RUNNERS",
    "Committed",
    "MountFacts",
    "PipelineFacts",
    "RunContext",
    "RunCounts",
    "Runner",
    "runner_for",
]
