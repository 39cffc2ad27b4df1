"""The open-data domain's fixed vocabularies."""

from __future__ import annotations

from enum import StrEnum

from govdata.governance.vocab import label

__all__ = ["LICENSES", "OPENABLE_GRADE", "DatasetStatus", "UsageKind", "label"]

# Only general and sensitive-but-minor data opens (grades 1–2); important and core never.
OPENABLE_GRADE = 2


class DatasetStatus(StrEnum):
    PROPOSED = "proposed"  # the provider asked to open it; the operator's review is pending
    OPEN = "open"  # the public sees it (while the entry still qualifies)
    REJECTED = "rejected"  # the review said no; the provider may propose again
    WITHDRAWN = "withdrawn"  # taken off the portal; its history stays


class UsageKind(StrEnum):
    VIEW = "view"  # a dataset page seen (portal) or shown (package_show)
    DOWNLOAD = "download"  # a file of the dataset handed out
    CALL = "call"  # a call of the dataset's open API (datastore_search, the data API)


STATUS_LABELS: dict[str, tuple[str, str]] = {
    DatasetStatus.PROPOSED: ("待审核", "Under review"),
    DatasetStatus.OPEN: ("已开放", "Open"),
    DatasetStatus.REJECTED: ("未通过", "Rejected"),
    DatasetStatus.WITHDRAWN: ("已撤下", "Withdrawn"),
}

# id -> (zh title, en title, url). The first is the default of a new open dataset.
LICENSES: dict[str, tuple[str, str, str]] = {
    "cc-by-4.0": (
        "知识共享署名 4.0",
        "Creative Commons Attribution 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
    ),
    "cc0-1.0": (
        "知识共享零 1.0（公共领域）",
        "Creative Commons CC0 1.0",
        "https://creativecommons.org/publicdomain/zero/1.0/",
    ),
    "odc-by": (
        "开放数据共享署名许可",
        "Open Data Commons Attribution License",
        "https://opendatacommons.org/licenses/by/1-0/",
    ),
}
DEFAULT_LICENSE = "cc-by-4.0"
