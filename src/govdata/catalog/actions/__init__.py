"""Catalog operations: entries, the review workflow, versions, the classification tree.

Each function is one action (authorise → validate → do → audit) in the
caller's transaction; its docstring is its API documentation. Search lives in
``govdata.catalog.search``, standards in ``govdata.catalog.standards``.
"""

from __future__ import annotations

from govdata.catalog.actions.classes import class_tree, create_class, update_class
from govdata.catalog.actions.entries import (
    create_entry,
    get_entry,
    get_version,
    list_department_entries,
    next_resource_code,
    review_queue,
    update_entry,
)
from govdata.catalog.actions.versions import diff_versions
from govdata.catalog.actions.workflow import (
    check_entry,
    new_version,
    publish_entry,
    return_entry,
    submit_entry,
    withdraw_entry,
)

__all__ = [
    "check_entry",
    "class_tree",
    "create_class",
    "create_entry",
    "diff_versions",
    "get_entry",
    "get_version",
    "list_department_entries",
    "new_version",
    "next_resource_code",
    "publish_entry",
    "return_entry",
    "review_queue",
    "submit_entry",
    "update_class",
    "update_entry",
    "withdraw_entry",
]
