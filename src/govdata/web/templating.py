"""The portal's Jinja2 environment: one loader over ``web/templates``, gettext from core.i18n.

Message ids in templates are English (``{% trans %}`` / ``_()``); the callables
installed here read the per-request locale, so the same environment renders
zh-CN and English pages.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from govdata.core import i18n
from govdata.core.clock import local
from govdata.security.permissions import ROLE_LABELS, Perm, Role

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def N_(message: str) -> str:
    """Marks a message id for extraction; it is translated where it is shown."""
    return message


JOB_STATUS_LABELS = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "succeeded": N_("Succeeded"),
    "failed": N_("Failed"),
    "dead": N_("Gave up"),
    "cancelled": N_("Cancelled"),
}

REGION_LEVEL_LABELS = {
    "province": N_("Province"),
    "prefecture": N_("Prefecture"),
    "county": N_("County"),
}

PERM_LABELS = {
    Perm.REGION_READ: N_("View regions"),
    Perm.REGION_MANAGE: N_("Manage regions"),
    Perm.DEPARTMENT_READ: N_("View departments"),
    Perm.DEPARTMENT_MANAGE: N_("Manage departments"),
    Perm.USER_READ: N_("View users"),
    Perm.USER_MANAGE: N_("Manage users"),
    Perm.CREDENTIAL_READ: N_("View app credentials"),
    Perm.CREDENTIAL_MANAGE: N_("Manage app credentials"),
    Perm.JOB_READ: N_("View jobs"),
    Perm.JOB_MANAGE: N_("Manage jobs"),
    Perm.AUDIT_READ: N_("Read the audit trail"),
    Perm.SECURITY_MANAGE: N_("Manage security policy"),
    Perm.SECURITY_READ: N_("View the security posture"),
    Perm.LEDGER_READ: N_("Read audit ledger heads and proofs"),
    Perm.LEDGER_ANCHOR: N_("Anchor a lower node's audit ledger"),
    Perm.NOTIFICATION_READ: N_("Read notifications"),
    Perm.CATALOG_READ: N_("View the data catalog"),
    Perm.CATALOG_EDIT: N_("Register and edit catalog entries"),
    Perm.CATALOG_REVIEW: N_("Review catalog entries"),
    Perm.CATALOG_MANAGE: N_("Manage the catalog classification and exchange"),
    Perm.STANDARD_READ: N_("View data elements and code sets"),
    Perm.STANDARD_MANAGE: N_("Manage data elements and code sets"),
    Perm.SOURCE_READ: N_("View source systems"),
    Perm.SOURCE_MANAGE: N_("Manage source systems"),
    Perm.EXCHANGE_READ: N_("View mounts, pipelines and lineage"),
    Perm.EXCHANGE_MANAGE: N_("Mount data and run pipelines"),
    Perm.DATA_PREVIEW: N_("Preview the department's own data"),
    Perm.SHARING_READ: N_("View sharing records"),
    Perm.SHARING_APPLY: N_("Apply for shared data"),
    Perm.SHARING_DECIDE: N_("Decide sharing applications"),
    Perm.SHARING_MANAGE: N_("Manage the sharing policy"),
    Perm.DATA_READ: N_("Read granted data through the data API"),
    Perm.QUALITY_READ: N_("View data quality"),
    Perm.QUALITY_MANAGE: N_("Manage and run quality rules"),
    Perm.GOVERNANCE_MANAGE: N_("Manage authoritative sources and base libraries"),
    Perm.OPENDATA_PUBLISH: N_("Propose open datasets and decide open-data applications"),
    Perm.OPENDATA_MANAGE: N_("Review open datasets, the annual open list and reuses"),
}


def _label(labels: dict[Any, str], key: Any) -> str:
    message = labels.get(key)
    return i18n.gettext(message) if message else str(key)


def status_label(status: str) -> str:
    return _label(JOB_STATUS_LABELS, status)


def level_label(level: str) -> str:
    return _label(REGION_LEVEL_LABELS, level)


def perm_label(perm: str) -> str:
    try:
        return _label(PERM_LABELS, Perm(perm))
    except ValueError:
        return perm


def role_label(role: str | Role) -> str:
    zh, en = ROLE_LABELS[Role(role)]
    return en if i18n.current_locale() == "en" else zh


def when(value: datetime | None) -> str:
    """Timestamps are stored in UTC and shown in Asia/Shanghai."""
    return local(value)


def _build() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.globals.update(
        role_label=role_label,
        status_label=status_label,
        level_label=level_label,
        perm_label=perm_label,
        current_locale=i18n.current_locale,
    )
    env.filters["when"] = when
    return env


ENV = _build()


def render_template(name: str, context: dict[str, Any]) -> str:
    return ENV.get_template(name).render(context)
