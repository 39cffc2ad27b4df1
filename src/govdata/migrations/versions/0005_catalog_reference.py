"""Catalog reference data: the classification tree, standard code sets and data elements.

Revision ID: 0005_catalog_reference
Revises: 0004_catalog
Create Date: 2026-11-25

Loads three frozen JSON files from ``govdata/migrations/data/``. They are frozen
because a migration must insert the same rows forever: a later change to the
reference data is a new migration, never an edit of these files.

``catalog_classes.json`` — ``{"nodes": [...]}``, parents before children:
    code         the concatenated classification code (``1``, ``101``, ``101001``, ``10100201``)
    segment      this level's part of the code (类 1 digit, 项 2, 目 3, 细目 1–4)
    level        1 类, 2 项, 3 目, 4 细目
    category     the 类 digit the node falls under (1 基础, 2 主题, 3 部门)
    name         Chinese name
    parent_code  the parent's ``code``; null for a 类
    position     order among siblings

``code_sets.json`` — ``{"code_sets": [...]}``:
    identifier   unique key, usually the standard number with its year (``GB/T 2261.1-2003``)
    name, name_en, standard, version, description
    values       ``[{code, label, label_en, parent_code}]`` in display order

``data_elements.json`` — ``{"data_elements": [...]}``:
    identifier   ``DE`` + 5 digits, unique
    name, name_en (snake_case), definition
    data_type    a ``govdata.catalog.vocab.DataType`` value
    format       representation (``c18``, ``c..50``, ``n..12,2``, ``YYYYMMDD``)
    max_length   characters for strings, total digits for numbers; null when unbounded
    value_domain free-text description of allowed values
    code_set     identifier of a code set in ``code_sets.json``, or null
    unit, version

Every seeded code set and data element has status ``current``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

from govdata.core.clock import now
from govdata.core.db import UTCDateTime
from govdata.core.ids import new_id

revision = "0005_catalog_reference"
down_revision = "0004_catalog"
branch_labels = None
depends_on = None

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# Table shapes as of this revision; the ORM models may move on, this migration must not.
catalog_classes = sa.table(
    "catalog_classes",
    sa.column("id", sa.String),
    sa.column("code", sa.String),
    sa.column("segment", sa.String),
    sa.column("level", sa.Integer),
    sa.column("category", sa.String),
    sa.column("name", sa.String),
    sa.column("parent_id", sa.String),
    sa.column("position", sa.Integer),
    sa.column("is_active", sa.Boolean),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
code_sets = sa.table(
    "code_sets",
    sa.column("id", sa.String),
    sa.column("identifier", sa.String),
    sa.column("name", sa.String),
    sa.column("name_en", sa.String),
    sa.column("standard", sa.String),
    sa.column("version", sa.String),
    sa.column("status", sa.String),
    sa.column("description", sa.Text),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
code_values = sa.table(
    "code_values",
    sa.column("id", sa.String),
    sa.column("code_set_id", sa.String),
    sa.column("code", sa.String),
    sa.column("label", sa.String),
    sa.column("label_en", sa.String),
    sa.column("parent_code", sa.String),
    sa.column("position", sa.Integer),
)
data_elements = sa.table(
    "data_elements",
    sa.column("id", sa.String),
    sa.column("identifier", sa.String),
    sa.column("name", sa.String),
    sa.column("name_en", sa.String),
    sa.column("definition", sa.Text),
    sa.column("data_type", sa.String),
    sa.column("format", sa.String),
    sa.column("max_length", sa.Integer),
    sa.column("value_domain", sa.Text),
    sa.column("code_set_id", sa.String),
    sa.column("unit", sa.String),
    sa.column("version", sa.String),
    sa.column("status", sa.String),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


def _load(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def upgrade() -> None:
    at = now()
    stamps = {"created_at": at, "updated_at": at}

    class_ids: dict[str, str] = {}
    class_rows = []
    for node in _load("catalog_classes.json")["nodes"]:
        class_ids[node["code"]] = new_id()
        parent = node["parent_code"]
        class_rows.append(
            {
                "id": class_ids[node["code"]],
                "code": node["code"],
                "segment": node["segment"],
                "level": node["level"],
                "category": node["category"],
                "name": node["name"],
                "parent_id": class_ids[parent] if parent else None,
                "position": node["position"],
                "is_active": True,
                **stamps,
            }
        )
    op.bulk_insert(catalog_classes, class_rows)

    set_ids: dict[str, str] = {}
    set_rows, value_rows = [], []
    for cs in _load("code_sets.json")["code_sets"]:
        set_id = set_ids[cs["identifier"]] = new_id()
        set_rows.append(
            {
                "id": set_id,
                "identifier": cs["identifier"],
                "name": cs["name"],
                "name_en": cs["name_en"],
                "standard": cs["standard"],
                "version": cs["version"],
                "status": "current",
                "description": cs["description"],
                **stamps,
            }
        )
        for position, value in enumerate(cs["values"]):
            value_rows.append(
                {
                    "id": new_id(),
                    "code_set_id": set_id,
                    "code": value["code"],
                    "label": value["label"],
                    "label_en": value["label_en"],
                    "parent_code": value["parent_code"],
                    "position": position,
                }
            )
    op.bulk_insert(code_sets, set_rows)
    op.bulk_insert(code_values, value_rows)

    element_rows = [
        {
            "id": new_id(),
            "identifier": de["identifier"],
            "name": de["name"],
            "name_en": de["name_en"],
            "definition": de["definition"],
            "data_type": de["data_type"],
            "format": de["format"],
            "max_length": de["max_length"],
            "value_domain": de["value_domain"],
            "code_set_id": set_ids[de["code_set"]] if de["code_set"] else None,
            "unit": de["unit"],
            "version": de["version"],
            "status": "current",
            **stamps,
        }
        for de in _load("data_elements.json")["data_elements"]
    ]
    op.bulk_insert(data_elements, element_rows)


def downgrade() -> None:
    elements = [de["identifier"] for de in _load("data_elements.json")["data_elements"]]
    op.execute(data_elements.delete().where(data_elements.c.identifier.in_(elements)))
    sets = [cs["identifier"] for cs in _load("code_sets.json")["code_sets"]]
    seeded_sets = sa.select(code_sets.c.id).where(code_sets.c.identifier.in_(sets))
    op.execute(code_values.delete().where(code_values.c.code_set_id.in_(seeded_sets)))
    op.execute(code_sets.delete().where(code_sets.c.identifier.in_(sets)))
    nodes = _load("catalog_classes.json")["nodes"]
    # Children before parents: the tree's self-reference is checked row by row.
    for level in sorted({n["level"] for n in nodes}, reverse=True):
        codes = [n["code"] for n in nodes if n["level"] == level]
        op.execute(catalog_classes.delete().where(catalog_classes.c.code.in_(codes)))
