"""A base library in the catalog: the entry that catalogs it and the mount on its lake table.

A library is shared like any other data: the operator registers a catalog entry for it the
usual way (classification 1 基础 / 人口 or 法人单位, items for the golden fields, review,
publish) and attaches it here. The library then gets a PHYSICAL mount whose lake table is
the library's golden table (``baselib.<code>``), so applications, grants, the data-service
API and subscriptions reach it exactly as they reach a collected table; every build
rewrites that table in one commit, which subscriptions deliver from the change feed.

A mount needs a source system of the entry's department. The library is not read from any
department system — the platform writes it — so the honest minimal source is one
"platform" source per department: a ``file`` source named ``平台基础库`` whose folder is the
lake's ``baselib`` folder. No pipeline is ever made for the mount (nothing is collected
into the table but by builds); testing the source lists no files, which is the truth.

The mount maps the entry's items to the golden columns: by the item's English name or
Chinese name equal to the field's code or label, else by the item's data element; golden
columns without an item are carried without one, items without a column are listed as
unmapped. The mount's key is ``entity_id``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.access import entry_scope
from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import EntryStatus
from govdata.core.errors import InvalidInput, NotFound
from govdata.exchange import mapping
from govdata.exchange.models import Mount
from govdata.exchange.mounts import entry_items
from govdata.exchange.vocab import MountMode, TargetKind
from govdata.governance import linkage
from govdata.governance.baselib import ensure_library, get_library
from govdata.governance.baselib_models import BaseLibrary
from govdata.governance.baselib_schemas import AttachIn, LibraryOut
from govdata.security.context import ActionContext
from govdata.security.crypto.columns import encryptable
from govdata.security.crypto.policy import encrypted_fields
from govdata.security.permissions import Perm
from govdata.sources.base import ColumnInfo, TableInfo
from govdata.sources.models import SourceSystem

PLATFORM_SOURCE = "平台基础库"


def _entry(ctx: ActionContext, ref: str) -> CatalogEntry:
    s = ctx.session
    if "/" in ref:
        entry = s.scalars(select(CatalogEntry).where(CatalogEntry.resource_code == ref)).first()
    else:
        entry = s.get(CatalogEntry, ref)
    if entry is None:
        raise NotFound(
            "目录不存在", "Catalog entry not found", code="entry_not_found", details={"ref": ref}
        )
    return entry


def platform_source(ctx: ActionContext, department_id: str) -> SourceSystem:
    """The department's platform source (made on first use): see the module docstring."""
    s = ctx.session
    source = s.scalar(
        select(SourceSystem).where(
            SourceSystem.department_id == department_id, SourceSystem.name == PLATFORM_SOURCE
        )
    )
    if source is None:
        source = SourceSystem(
            department_id=department_id,
            name=PLATFORM_SOURCE,
            kind="file",
            description="平台构建的基础库（数据湖 baselib 库），无需归集",
            config={"path": str(ctx.settings.lake_dir / "baselib")},
            status="ok",
            created_by=ctx.actor.id,
        )
        s.add(source)
        s.flush()
    return source


def _mapping(
    s: Session, entry: CatalogEntry, subject: linkage.Subject
) -> tuple[list[dict[str, Any]], list[str]]:
    """The mount mapping of the golden columns onto the entry's items, and unmapped items."""
    items = entry_items(s, entry)
    schema = linkage.golden_schema(subject)
    labels = {f.name: f.label for f in subject.fields}
    table = TableInfo(
        schema="baselib",
        name=subject.code,
        columns=tuple(
            ColumnInfo(
                name=f.name,
                type=str(f.type),
                arrow_type=f.type,
                nullable=f.name != "entity_id",
                is_key=f.name == "entity_id",
                comment=labels.get(f.name),
            )
            for f in schema
        ),
        primary_key=("entity_id",),
    )
    proposed = {m["column"]: m for m in mapping.propose_mapping(items, table)}
    columns = []
    for f in schema:
        found = proposed.get(f.name)
        columns.append(
            {
                "item": found["item"] if found else None,
                "column": f.name,
                "field": f.name,  # the lake column the sharing layer reads
                "type": found["type"] if found else mapping.type_string(f.type),
            }
        )
    mapped = {c["item"] for c in columns if c["item"]}
    return columns, [i.name for i in items if i.name not in mapped]


def golden_encryption(s: Session, lib: BaseLibrary) -> dict[str, str]:
    """The golden columns to keep SM4-encrypted at rest, with their mode: the columns of the
    entry's sensitive items when its grade requires encryption (``security.crypto.policy``,
    as for a collected table); none while the library has no published entry."""
    if lib.entry_id is None or lib.code not in linkage.SUBJECTS:
        return {}
    entry = s.get(CatalogEntry, lib.entry_id)
    if entry is None or entry.status != EntryStatus.PUBLISHED or not entry.published_version_id:
        return {}
    mount = s.scalar(select(Mount).where(Mount.entry_id == entry.id))
    schema = linkage.golden_schema(linkage.SUBJECTS[lib.code])
    if mount is not None and mount.lake_table == lib.lake_table:
        columns = list(mount.columns or [])
    else:
        columns = _mapping(s, entry, linkage.SUBJECTS[lib.code])[0]
    # The key (ID number / credit code) deterministic, as a merge key of a collected table
    # is: lookups by key still run inside the scan.
    key = linkage.SUBJECTS[lib.code].key_field
    wanted = encrypted_fields(s, entry.id, columns, ["entity_id", key])
    strings, _others = encryptable(schema, wanted)
    return {name: wanted[name] for name in strings}


def refresh_mount(ctx: ActionContext, lib: BaseLibrary) -> Mount | None:
    """Make or update the PHYSICAL mount of the library's entry on its golden table.

    Nothing happens while the entry is not published (mounts are for published entries).
    An entry already mounted on another table is left alone and reported by the caller.
    """
    s = ctx.session
    if lib.entry_id is None:
        return None
    entry = s.get(CatalogEntry, lib.entry_id)
    if entry is None or entry.status != EntryStatus.PUBLISHED or not entry.published_version_id:
        return None
    subject = linkage.SUBJECTS[lib.code]
    columns, unmapped = _mapping(s, entry, subject)
    mount = s.scalar(select(Mount).where(Mount.entry_id == entry.id))
    if mount is not None and mount.lake_table not in (None, lib.lake_table):
        return None
    if mount is None:
        source = platform_source(ctx, entry.provider_department_id)
        mount = Mount(
            entry_id=entry.id,
            department_id=entry.provider_department_id,
            source_id=source.id,
            mode=MountMode.PHYSICAL.value,
            target_kind=TargetKind.TABLE.value,
            target=lib.lake_table,
            columns=columns,
            unmapped_items=unmapped,
            key_columns=["entity_id"],
            row_cap=10_000,
            timeout_seconds=30,
            lake_table=lib.lake_table,
            source_columns=[c["column"] for c in columns],
            drift=[],
            created_by=ctx.actor.id,
        )
        s.add(mount)
        action = "exchange.mount.create"
    else:
        mount.columns = columns
        mount.unmapped_items = unmapped
        mount.lake_table = lib.lake_table
        mount.target = lib.lake_table
        mount.key_columns = ["entity_id"]
        mount.source_columns = [c["column"] for c in columns]
        action = "exchange.mount.update"
    s.flush()
    ctx.audit(
        action,
        target_type="mount",
        target_id=mount.id,
        details={
            "entry_id": entry.id,
            "library": lib.code,
            "lake_table": lib.lake_table,
            "fields": [c["field"] for c in columns if c["item"]],
        },
    )
    return mount


def attach_entry(ctx: ActionContext, code: str, data: AttachIn) -> LibraryOut:
    """Catalog the library with a published entry: the entry gets a PHYSICAL mount on the
    library's golden table (now if the library was built, else after its first build).
    Operator (``governance.manage``, and ``exchange.manage`` over the entry's department)."""
    ctx.require(Perm.GOVERNANCE_MANAGE)
    s = ctx.session
    entry = _entry(ctx, data.entry)
    ctx.require(Perm.EXCHANGE_MANAGE, entry_scope(entry), target_id=entry.id)
    if entry.status != EntryStatus.PUBLISHED or not entry.published_version_id:
        raise InvalidInput(
            "只能挂接已发布的目录",
            "Only a published catalog entry can catalog a library",
            code="mount_entry_unpublished",
            details={"entry_id": entry.id},
        )
    lib = ensure_library(s, code)
    mount = s.scalar(select(Mount).where(Mount.entry_id == entry.id))
    if mount is not None and mount.lake_table != lib.lake_table:
        raise InvalidInput(
            "该目录已挂载其他数据",
            "The entry already mounts other data",
            code="mount_exists",
            details={"entry_id": entry.id},
        )
    lib.entry_id = entry.id
    lib.department_id = entry.provider_department_id
    s.flush()
    if lib.last_build_id is not None:
        refresh_mount(ctx, lib)
    ctx.audit(
        "governance.baselib.attach",
        target_type="governance_baselib",
        target_id=lib.id,
        details={"library": code, "entry_id": entry.id, "resource_code": entry.resource_code},
    )
    return get_library(ctx, code)
