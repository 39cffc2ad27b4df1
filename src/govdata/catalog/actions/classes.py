"""The classification tree (类/项/目/细目), seeded by migration and maintained by the operator."""

from __future__ import annotations

from sqlalchemy import select

from govdata.catalog.actions._common import class_by_code
from govdata.catalog.models import CatalogClass
from govdata.catalog.schemas import ClassCreate, ClassNode, ClassOut, ClassTree, ClassUpdate
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm

# Digits of the segment a node adds at each level below 类: 项 2, 目 3, 细目 1–4.
SEGMENT_DIGITS = {2: (2, 2), 3: (3, 3), 4: (1, 4)}


def class_tree(ctx: ActionContext, *, include_inactive: bool = False) -> ClassTree:
    """The whole tree, ordered by position then code."""
    ctx.require(Perm.CATALOG_READ)
    stmt = select(CatalogClass).order_by(
        CatalogClass.level, CatalogClass.position, CatalogClass.code
    )
    if not include_inactive:
        stmt = stmt.where(CatalogClass.is_active)
    nodes: dict[str, ClassNode] = {}
    roots: list[ClassNode] = []
    for row in ctx.session.scalars(stmt):
        node = ClassNode.model_validate(row)
        nodes[row.id] = node
        parent = nodes.get(row.parent_id) if row.parent_id else None
        if parent is not None:
            parent.children.append(node)
        elif row.parent_id is None:
            roots.append(node)
    return ClassTree(items=roots)


def create_class(ctx: ActionContext, data: ClassCreate) -> ClassOut:
    """Add a 项, 目 or 细目 under an existing node. Errors: 422 ``unknown_classification`` /
    ``invalid_segment`` / ``classification_too_deep``, 409 ``classification_exists``."""
    ctx.require(Perm.CATALOG_MANAGE)
    s = ctx.session
    parent = class_by_code(s, data.parent_code)
    if parent is None:
        raise InvalidInput(
            f"上级分类“{data.parent_code}”不存在",
            f"Unknown parent classification '{data.parent_code}'",
            code="unknown_classification",
        )
    level = parent.level + 1
    if level not in SEGMENT_DIGITS:
        raise InvalidInput(
            "细目之下不能再分", "Nothing goes below 细目", code="classification_too_deep"
        )
    low, high = SEGMENT_DIGITS[level]
    if not low <= len(data.segment) <= high:
        digits = str(low) if low == high else f"{low}–{high}"
        raise InvalidInput(
            f"该级分类代码应为 {digits} 位数字",
            f"A segment at this level has {digits} digits",
            code="invalid_segment",
        )
    code = parent.code + data.segment
    if class_by_code(s, code) is not None:
        raise Conflict(
            f"分类代码“{code}”已存在",
            f"Classification '{code}' exists",
            code="classification_exists",
        )
    node = CatalogClass(
        code=code,
        segment=data.segment,
        level=level,
        category=parent.category,
        name=data.name,
        parent_id=parent.id,
        position=data.position,
        is_active=True,
    )
    s.add(node)
    s.flush()
    ctx.audit(
        "catalog.class.create",
        target_type="catalog_class",
        target_id=node.id,
        details={"code": code, "name": data.name},
    )
    return ClassOut.model_validate(node)


def update_class(ctx: ActionContext, code: str, data: ClassUpdate) -> ClassOut:
    """Rename, reorder or (de)activate a node; codes never change, since entries carry them."""
    ctx.require(Perm.CATALOG_MANAGE)
    node = class_by_code(ctx.session, code)
    if node is None:
        raise NotFound("分类不存在", "Classification not found", code="classification_not_found")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for key, value in changes.items():
        setattr(node, key, value)
    ctx.session.flush()
    ctx.audit(
        "catalog.class.update",
        target_type="catalog_class",
        target_id=node.id,
        fields=sorted(changes),
        details={"code": code, **{k: v for k, v in changes.items()}},
    )
    return ClassOut.model_validate(node)
