"""Administrative divisions (GB/T 2260): create, list, look up."""

from __future__ import annotations

from sqlalchemy import select

from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.identity.actions._common import PLATFORM, _input_region, _region_by_code, _region_out
from govdata.identity.models import Region
from govdata.identity.schemas import REGION_CODE_RE, RegionCreate, RegionNode, RegionOut
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm


def region_level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def create_region(ctx: ActionContext, data: RegionCreate) -> RegionOut:
    """Add a GB/T 2260 division under ``parent_code``.

    Errors: 422 ``invalid_region_code`` (not 6 digits, or not consistent with
    the parent), 422 ``unknown_region`` (parent code not found), 409
    ``region_exists``.
    """
    ctx.require(Perm.REGION_MANAGE, PLATFORM)
    s = ctx.session
    code = data.code
    if not REGION_CODE_RE.match(code) or code.startswith("00"):
        raise InvalidInput(
            f"行政区划代码“{code}”须为 6 位数字",
            f"Region code '{code}' must be 6 digits",
            code="invalid_region_code",
        )
    level = region_level(code)
    parent: Region | None = None
    if data.parent_code is not None:
        parent = _input_region(s, data.parent_code)
    consistent = (
        (level == "province" and parent is None)
        or (level == "prefecture" and parent is not None and parent.level == "province"
            and code[:2] == parent.code[:2])
        or (level == "county" and parent is not None and (
            (parent.level == "prefecture" and code[:4] == parent.code[:4])
            or (parent.level == "province" and code[:2] == parent.code[:2])))
    )  # fmt: skip
    if not consistent:
        raise InvalidInput(
            f"行政区划代码“{code}”与上级“{data.parent_code or '无'}”不一致",
            f"Region code '{code}' does not fit under parent '{data.parent_code or '-'}'",
            code="invalid_region_code",
            details={"code": code, "level": level, "parent_code": data.parent_code},
        )
    if _region_by_code(s, code) is not None:
        raise Conflict(
            f"行政区划“{code}”已存在", f"Region {code} already exists", code="region_exists"
        )
    region = Region(
        code=code,
        name=data.name,
        level=level,
        parent_id=parent.id if parent else None,
        path=f"{parent.path}/{code}" if parent else code,
    )
    region.parent = parent
    s.add(region)
    s.flush()
    ctx.audit(
        "region.create",
        target_type="region",
        target_id=region.id,
        details={"code": code, "name": data.name, "parent_code": data.parent_code},
    )
    return _region_out(region)


def list_regions(
    ctx: ActionContext, *, parent_code: str | None = None, tree: bool = False
) -> list[RegionNode]:
    """Regions ordered by code.

    Flat (default): every region, or the direct children of ``parent_code``.
    ``tree=True``: the roots (or ``parent_code``'s children) with nested ``children``.
    """
    ctx.require(Perm.REGION_READ)
    s = ctx.session
    stmt = select(Region).order_by(Region.path)
    parent: Region | None = None
    if parent_code is not None:
        parent = _input_region(s, parent_code)
        if tree:
            stmt = stmt.where(Region.path.like(parent.path + "/%"))
        else:
            stmt = stmt.where(Region.parent_id == parent.id)
    regions = list(s.scalars(stmt))
    nodes = [RegionNode(**_region_out(r).model_dump()) for r in regions]
    if not tree:
        return nodes
    by_id = {n.id: n for n in nodes}
    roots: list[RegionNode] = []
    for region, node in zip(regions, nodes, strict=True):
        up = by_id.get(region.parent_id) if region.parent_id else None
        if up is not None:
            up.children.append(node)
        else:
            roots.append(node)
    return roots


def get_region(ctx: ActionContext, code: str) -> RegionOut:
    """One region by its code; 404 ``region_not_found``."""
    ctx.require(Perm.REGION_READ)
    region = _region_by_code(ctx.session, code)
    if region is None:
        raise NotFound(
            f"行政区划“{code}”不存在", f"Region {code} not found", code="region_not_found"
        )
    return _region_out(region)
