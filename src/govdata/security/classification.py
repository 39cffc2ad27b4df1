"""The classification policy (分类分级管控): what each grade of data (1–4, 一般 … 核心) allows.

One table, one place to apply it. ``controls_for(session, grade)`` returns a grade's
``GradeControls``; ``check(session, grade, operation)`` returns them, or raises
``classification_forbidden`` when the grade does not allow the operation. Sharing calls them
when an application names its delivery modes, when a subscription plans a delivery and when a
delivered file is downloaded; ``default_masks`` decides a new grant's masks. Open data and the
sandbox call ``check`` before a download or an export (see ``docs/security/classification.md``).

Who approves a share is NOT kept here: the approval chain per grade stays in the sharing
policy (``sharing.policy.chain_for``; the operator keeps it, and grades 3–4 must keep the
operator's step). It is a workflow of sharing alone — step kinds, deadlines, escalation —
that open data and the sandbox do not share, and moving it would leave two editors of one
fact. ``GradeControls.approval_chain`` reads it from there so callers see every control of
a grade in one object.

Rules the table must keep (``update_controls`` refuses a change that breaks one):
- core data (grade 4) is never delivered as a file, downloaded or exported;
- important and core data (grades 3–4) are encrypted at rest, mask personal data by default,
  and carry a watermark when delivered as files;
- a higher grade is never looser than a lower one (download, default masks, encryption,
  watermark).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import pairwise
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import label as catalog_label
from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.security.classification_models import (
    DiscoveryColumn,
    DiscoveryScan,
    GradeControlRow,
)
from govdata.security.classification_schemas import (
    ControlsUpdate,
    GradeControlsOut,
    SuggestionState,
)
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.sharing import masking
from govdata.sharing.policy import chain_for, load_policy

GRADES = (1, 2, 3, 4)
IMPORTANT = 3
CORE = 4
FORBIDDEN = "classification_forbidden"
INVALID = "classification_policy_invalid"


class Operation(StrEnum):
    """What a caller is about to do with data of some grade."""

    API = "api"  # read through the data-service API
    SUBSCRIPTION = "subscription"  # table delivery into the consumer's database
    FILE = "file"  # file delivery, and downloading a delivered file
    DOWNLOAD = "download"  # a download from the portal or open data
    EXPORT = "export"  # a bulk export (sandbox results, spreadsheets of rows)


# The operations that put a copy of the data in a file outside the platform.
LEAVES_AS_FILE = frozenset({Operation.FILE, Operation.DOWNLOAD, Operation.EXPORT})

_OPERATION_LABELS = {
    Operation.API: ("接口调用", "API reads"),
    Operation.SUBSCRIPTION: ("库表订阅", "table delivery"),
    Operation.FILE: ("文件交付与下载", "file delivery and download"),
    Operation.DOWNLOAD: ("下载", "download"),
    Operation.EXPORT: ("批量导出", "bulk export"),
}


@dataclass(frozen=True)
class GradeControls:
    """Every control of one grade."""

    grade: int
    # Approval steps after the first, from the sharing policy (see the module docstring).
    approval_chain: tuple[str, ...]
    allow_download: bool
    default_mask: bool
    encrypt_at_rest: bool
    watermark: bool
    retention_days: int | None

    def allows(self, operation: Operation | str) -> bool:
        return Operation(operation) not in LEAVES_AS_FILE or self.allow_download


def _row(s: Session, grade: int) -> GradeControlRow:
    row = s.get(GradeControlRow, grade)
    if row is None:
        # The migration seeds all four grades; a store without one was tampered with.
        raise RuntimeError(f"security_grade_controls has no row for grade {grade}")
    return row


def _controls(row: GradeControlRow, chain: tuple[str, ...]) -> GradeControls:
    return GradeControls(
        grade=row.grade,
        approval_chain=chain,
        allow_download=row.allow_download,
        default_mask=row.default_mask,
        encrypt_at_rest=row.encrypt_at_rest,
        watermark=row.watermark,
        retention_days=row.retention_days,
    )


def _grade(grade: int) -> int:
    if grade not in GRADES:
        raise InvalidInput(
            f"等级“{grade}”无效，须为 1–4",
            f"Grade {grade!r} is invalid; use 1–4",
            code="classification_grade_invalid",
            details={"grade": grade},
        )
    return grade


def controls_for(s: Session, grade: int) -> GradeControls:
    """The controls of data of ``grade`` (1–4)."""
    chain = tuple(k.value for k in chain_for(load_policy(s), _grade(grade)))
    return _controls(_row(s, grade), chain)


def policy_table(s: Session) -> dict[int, GradeControls]:
    """All four grades' controls at once."""
    policy = load_policy(s)
    rows = {r.grade: r for r in s.scalars(select(GradeControlRow))}
    return {g: _controls(rows[g], tuple(k.value for k in chain_for(policy, g))) for g in GRADES}


def entry_grade(s: Session, entry_id: str) -> int:
    """The grade of a catalog entry as the catalog shows it now."""
    grade = s.scalar(select(CatalogEntry.grade).where(CatalogEntry.id == entry_id))
    if grade is None:
        raise NotFound("目录不存在", "Catalog entry not found", code="entry_not_found")
    return int(grade)


def controls_for_entry(s: Session, entry_id: str) -> GradeControls:
    """The controls of a catalog entry's data, by the entry's current grade."""
    return controls_for(s, entry_grade(s, entry_id))


def forbidden(grade: int, operation: Operation) -> InvalidInput:
    zh, en = _OPERATION_LABELS[operation]
    level_zh, level_en = catalog_label("grade", grade, "zh_CN"), catalog_label("grade", grade, "en")
    return InvalidInput(
        f"{level_zh}不允许{zh}（分类分级管控策略）",
        f"{level_en} does not allow {en} (classification policy)",
        code=FORBIDDEN,
        details={"grade": grade, "operation": operation.value},
    )


def check(s: Session, grade: int, operation: Operation | str) -> GradeControls:
    """The controls of ``grade`` if they allow ``operation``; ``classification_forbidden``
    (422) otherwise."""
    controls = controls_for(s, grade)
    op = Operation(operation)
    if not controls.allows(op):
        raise forbidden(controls.grade, op)
    return controls


# -- default masks ------------------------------------------------------------------------------


class ItemFacts(Protocol):
    """What deciding an item's mask reads (a catalog ``EntryItem`` has it all)."""

    @property
    def name(self) -> str: ...
    @property
    def name_en(self) -> str | None: ...
    @property
    def data_element(self) -> str | None: ...
    @property
    def is_sensitive(self) -> bool: ...
    @property
    def grade(self) -> int: ...


def accepted_masks(s: Session, entry_id: str) -> dict[str, masking.MaskKind]:
    """Mask kinds the provider's officer accepted from discovery scans of the entry, per item
    (the latest decision wins)."""
    rows = s.execute(
        select(DiscoveryColumn.item, DiscoveryColumn.suggest_mask)
        .join(DiscoveryScan, DiscoveryScan.id == DiscoveryColumn.scan_id)
        .where(
            DiscoveryScan.entry_id == entry_id,
            DiscoveryColumn.state == SuggestionState.ACCEPTED.value,
            DiscoveryColumn.item.is_not(None),
            DiscoveryColumn.suggest_mask.is_not(None),
        )
        .order_by(DiscoveryColumn.decided_at)
    )
    return {str(item): masking.MaskKind(str(kind)) for item, kind in rows}


def mask_kind(item: ItemFacts, accepted: dict[str, masking.MaskKind]) -> masking.MaskKind | None:
    """The mask an item needs: what discovery found in its values, else what its names or
    data element say, else the generic mask when it is flagged sensitive."""
    kind = accepted.get(item.name) or masking.detect_kind(
        item.name, item.name_en, item.data_element
    )
    if kind is None and item.is_sensitive:
        kind = masking.MaskKind.GENERIC
    return kind


def default_masks(
    s: Session, entry_id: str, items: Iterable[ItemFacts], clear: Collection[str]
) -> dict[str, str]:
    """A new grant's mask per item holding personal data (item -> mask kind or ``clear``).

    An item is masked unless the grant delivers it clear (``clear``) or its own grade's
    controls switch default masking off; items holding no personal data are left out
    (delivered clear).
    """
    table = policy_table(s)
    accepted = accepted_masks(s, entry_id)
    out: dict[str, str] = {}
    for item in items:
        kind = mask_kind(item, accepted)
        if kind is None:
            continue
        grade = min(max(int(item.grade), 1), CORE)
        masked = item.name not in clear and table[grade].default_mask
        out[item.name] = kind.value if masked else masking.CLEAR
    return out


# -- reading and editing the table --------------------------------------------------------------


def _out(c: GradeControls, row: GradeControlRow, locale: str) -> GradeControlsOut:
    return GradeControlsOut(
        grade=c.grade,
        label=catalog_label("grade", c.grade, locale),
        approval_chain=list(c.approval_chain),
        allow_download=c.allow_download,
        default_mask=c.default_mask,
        encrypt_at_rest=c.encrypt_at_rest,
        watermark=c.watermark,
        retention_days=c.retention_days,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def get_controls(ctx: ActionContext) -> list[GradeControlsOut]:
    """The controls of every grade. Everyone who works with the catalog may read them (they
    say what a grant of such data allows); only the security administrator changes them."""
    if not ctx.actor.can(Perm.CATALOG_READ):
        ctx.require(Perm.SECURITY_MANAGE)
    table = policy_table(ctx.session)
    rows = {r.grade: r for r in ctx.session.scalars(select(GradeControlRow))}
    return [_out(table[g], rows[g], ctx.locale) for g in GRADES]


# (field, True when the stricter value is True, zh, en) for the "never looser" rule.
_STRICTER = (
    ("allow_download", False, "允许文件交付和下载", "allows downloads"),
    ("default_mask", True, "不默认脱敏", "skips default masks"),
    ("encrypt_at_rest", True, "不加密存储", "skips encryption at rest"),
)


def _problems(table: dict[int, GradeControls]) -> list[tuple[int, str, str]]:
    """Every rule the table breaks, as (grade, zh, en)."""
    found: list[tuple[int, str, str]] = []
    if table[CORE].allow_download:
        found.append((CORE, "核心数据不得以文件交付、下载或导出", "core data is never downloaded"))
    for g in (IMPORTANT, CORE):
        c = table[g]
        if not c.encrypt_at_rest:
            found.append((g, "重要和核心数据须加密存储", "grades 3–4 are encrypted at rest"))
        if not c.default_mask:
            found.append((g, "重要和核心数据须默认脱敏", "grades 3–4 mask personal data"))
        if c.allow_download and not c.watermark:
            found.append((g, "重要数据的文件须加水印", "files of grades 3–4 carry a watermark"))
    for lower, higher in pairwise(GRADES):
        lo, hi = table[lower], table[higher]
        for name, strict_value, zh, en in _STRICTER:
            if getattr(hi, name) != strict_value and getattr(lo, name) == strict_value:
                found.append(
                    (higher, f"比{lower}级更宽松（{zh}）", f"looser than grade {lower} ({en})")
                )
        if lo.watermark and hi.allow_download and not hi.watermark:
            found.append(
                (
                    higher,
                    f"比{lower}级更宽松（文件无水印）",
                    f"looser than grade {lower} (no watermark)",
                )
            )
    return found


def update_controls(ctx: ActionContext, data: ControlsUpdate) -> list[GradeControlsOut]:
    """Change the controls of one or more grades (security administrator only).

    The changes are merged into the table and the whole table checked against the rules in
    the module docstring; a change that breaks one is refused (422
    ``classification_policy_invalid``, each problem named) and nothing changes. Audited as
    ``security.classification.update`` with the values before and after.
    """
    ctx.require(Perm.SECURITY_MANAGE)
    s = ctx.session
    rows = {r.grade: r for r in s.scalars(select(GradeControlRow).order_by(GradeControlRow.grade))}
    table = policy_table(s)
    before = {g: _plain(table[g]) for g in GRADES}
    changes: dict[int, dict[str, object]] = {}
    for key, given in data.grades.items():
        grade = int(key) if key.isdigit() else 0
        if grade not in GRADES:
            raise InvalidInput(
                f"等级“{key}”无效，须为 1–4",
                f"Grade {key!r} is invalid; use 1–4",
                code=INVALID,
                details={"grade": key},
            )
        fields = given.model_dump(exclude_none=True)
        if fields.get("retention_days") == 0:
            fields["retention_days"] = None
        changes[grade] = fields
        table[grade] = replace(table[grade], **fields)
    problems = _problems(table)
    if problems:
        raise InvalidInput(
            "分类分级管控策略不合规：" + "；".join(f"{g}级：{zh}" for g, zh, _en in problems),
            "The classification policy breaks its rules: "
            + "; ".join(f"grade {g}: {en}" for g, _zh, en in problems),
            code=INVALID,
            details={"problems": [{"grade": g, "rule": en} for g, _zh, en in problems]},
        )
    at = now()
    for grade, fields in changes.items():
        row = rows[grade]
        for name, value in fields.items():
            setattr(row, name, value)
        row.updated_at = at
        row.updated_by = ctx.actor.name
    ctx.audit(
        "security.classification.update",
        target_type="classification_policy",
        target_id=",".join(str(g) for g in sorted(changes)),
        details={
            "before": {str(g): before[g] for g in sorted(changes)},
            "after": {str(g): _plain(table[g]) for g in sorted(changes)},
        },
    )
    s.flush()
    return get_controls(ctx)


def _plain(c: GradeControls) -> dict[str, object]:
    return {
        "allow_download": c.allow_download,
        "default_mask": c.default_mask,
        "encrypt_at_rest": c.encrypt_at_rest,
        "watermark": c.watermark,
        "retention_days": c.retention_days,
    }
