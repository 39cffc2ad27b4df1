"""Retention (留存期限) of delivered copies: files kept longer than their grade allows.

``GradeControls.retention_days`` says how long a copy of data of that grade may stay
delivered. For now expiry produces a report and nothing is deleted: the security
administrator reads ``retention_report`` (``govdata classification retention``, the
classification page) and has the consumer or the operator remove the copies. Copies
delivered into a consumer's own database are outside the platform and not listed; the
files the platform keeps for download are.
"""

from __future__ import annotations

from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.core.clock import now
from govdata.identity import queries as org
from govdata.security.classification import policy_table
from govdata.security.classification_schemas import RetentionItem
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.sharing.delivery import delivered_copies

DAY_SECONDS = 86_400


def retention_report(ctx: ActionContext) -> list[RetentionItem]:
    """Delivered files older than the retention of their entry's grade, oldest first.

    Security administrator only; the report reads file names and ages, never their rows.
    Audited (``security.classification.retention``) with the number of files found.
    """
    ctx.require(Perm.SECURITY_MANAGE)
    s = ctx.session
    limits = {g: c.retention_days for g, c in policy_table(s).items()}
    copies = list(delivered_copies(s, ctx.settings))
    grades = dict(
        s.execute(
            select(CatalogEntry.id, CatalogEntry.grade).where(
                CatalogEntry.id.in_({c.entry_id for c in copies})
            )
        ).all()
    )
    names = org.department_names(s, {c.consumer_department_id for c in copies})
    at = now()
    out: list[RetentionItem] = []
    for copy in copies:
        grade = int(grades.get(copy.entry_id, 4))
        limit = limits.get(grade)
        age = int((at - copy.modified_at).total_seconds() // DAY_SECONDS)
        if limit is None or age < limit:
            continue
        out.append(
            RetentionItem(
                subscription_id=copy.subscription_id,
                grant_code=copy.grant_code,
                consumer_department_id=copy.consumer_department_id,
                consumer_department_name=names.get(copy.consumer_department_id, ""),
                resource_code=copy.resource_code,
                grade=grade,
                file=copy.name,
                delivered_at=copy.modified_at,
                age_days=age,
                retention_days=limit,
            )
        )
    out.sort(key=lambda item: item.delivered_at)
    ctx.audit(
        "security.classification.retention",
        target_type="classification_policy",
        row_count=len(out),
    )
    return out
