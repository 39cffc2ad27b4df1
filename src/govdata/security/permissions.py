"""The permission vocabulary, what each role holds, and how a role's scope covers a target.

Roles follow 三员分立: the platform operator (system administrator) runs the
platform but cannot read the audit trail; the auditor reads it and changes
nothing; the security administrator holds policies and keys only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    REGION_OPERATOR = "region_operator"
    DEPT_OFFICER = "dept_officer"
    DEPT_USER = "dept_user"
    SECADMIN = "secadmin"
    AUDITOR = "auditor"


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.OPERATOR: ("平台运营管理员（系统管理员）", "Platform operator (system administrator)"),
    Role.REGION_OPERATOR: ("地区运营管理员", "Region operator"),
    Role.DEPT_OFFICER: ("部门数据管理员", "Department data officer"),
    Role.DEPT_USER: ("部门用户", "Department user"),
    Role.SECADMIN: ("安全管理员", "Security administrator"),
    Role.AUDITOR: ("审计管理员", "Auditor"),
}

# No user may hold two of these at once.
SEPARATED_ROLES = frozenset({Role.OPERATOR, Role.SECADMIN, Role.AUDITOR})
# These must use a second factor outside the demo.
PRIVILEGED_ROLES = SEPARATED_ROLES


class Perm(StrEnum):
    REGION_READ = "region.read"
    REGION_MANAGE = "region.manage"
    DEPARTMENT_READ = "department.read"
    DEPARTMENT_MANAGE = "department.manage"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    CREDENTIAL_READ = "credential.read"
    CREDENTIAL_MANAGE = "credential.manage"
    JOB_READ = "job.read"
    JOB_MANAGE = "job.manage"
    AUDIT_READ = "audit.read"
    # Signed tree heads, inclusion and consistency proofs of the audit ledger: hashes only,
    # never a record's content (that takes audit.read). Lower nodes' app tokens carry it.
    LEDGER_READ = "ledger.read"
    # Submit this node's tree heads to a higher node for countersigning (peer node tokens).
    LEDGER_ANCHOR = "ledger.anchor"
    SECURITY_MANAGE = "security.manage"
    # The security posture page (态势感知): access volumes, top consumers, alert counts, ledger
    # health; no alert evidence. Security administrators see it through security.manage and
    # auditors through audit.read.
    SECURITY_READ = "security.read"
    NOTIFICATION_READ = "notification.read"
    # Published entries to everyone who holds it; drafts only to their department and reviewers.
    CATALOG_READ = "catalog.read"
    # Register and change the department's own entries, submit and withdraw them.
    CATALOG_EDIT = "catalog.edit"
    # Review (publish / return) and withdraw entries of departments in the scope.
    CATALOG_REVIEW = "catalog.review"
    # The classification tree, search synonyms, national catalog exchange.
    CATALOG_MANAGE = "catalog.manage"
    STANDARD_READ = "standard.read"
    STANDARD_MANAGE = "standard.manage"
    # Registered source systems: connection settings (never secrets), status, schema.
    SOURCE_READ = "source.read"
    # Add, change, test and discover the department's source systems.
    SOURCE_MANAGE = "source.manage"
    # Mounts, pipelines, runs, lineage, lake table metadata, collection reports.
    EXCHANGE_READ = "exchange.read"
    # Mount data to entries; create, schedule, run, pause pipelines.
    EXCHANGE_MANAGE = "exchange.manage"
    # Rows of the department's own sources and lake tables. Operators manage metadata
    # and workflows, not content: they do not hold it.
    DATA_PREVIEW = "data.preview"
    # Demands, applications, grants, subscriptions and objections of the actor's department
    # (both sides: as consumer and as provider); operators see those in their scope.
    SHARING_READ = "sharing.read"
    # Post demands, apply for entries, withdraw, contest, renew, subscribe, object.
    SHARING_APPLY = "sharing.apply"
    # The provider's side: decide applications, answer demands and objections, revoke grants.
    SHARING_DECIDE = "sharing.decide"
    # The operator's side: route demands, operator approval steps, exemptions, contests,
    # the sharing policy and the holiday calendar, app rate limits.
    SHARING_MANAGE = "sharing.manage"
    # Granted data through the data-service API (服务聚合); a grant must also cover it.
    DATA_READ = "data.read"
    # Quality rules, runs, scores and trends of entries in the scope (failing samples need
    # data.preview too: they are rows); lineage graphs; cross-source agreement figures.
    QUALITY_READ = "quality.read"
    # Attach, change and run the quality rules of the department's own entries.
    QUALITY_MANAGE = "quality.manage"
    # The operator's governance: authoritative sources, cross-source checks, base libraries.
    GOVERNANCE_MANAGE = "governance.manage"
    # Propose the department's entries for opening, its annual open-list items, and decide
    # the public's applications for its conditionally open datasets.
    OPENDATA_PUBLISH = "opendata.publish"
    # The operator's open-data work: opening reviews, featuring, the annual open list,
    # reuse reviews, public accounts.
    OPENDATA_MANAGE = "opendata.manage"


_READ_ORG = {Perm.REGION_READ, Perm.DEPARTMENT_READ, Perm.NOTIFICATION_READ}
_READ_CATALOG = {Perm.CATALOG_READ, Perm.STANDARD_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.OPERATOR: frozenset(
        {
            *_READ_ORG,
            Perm.REGION_MANAGE,
            Perm.DEPARTMENT_MANAGE,
            Perm.USER_READ,
            Perm.USER_MANAGE,
            Perm.CREDENTIAL_READ,
            Perm.CREDENTIAL_MANAGE,
            Perm.JOB_READ,
            Perm.JOB_MANAGE,
            *_READ_CATALOG,
            Perm.CATALOG_EDIT,
            Perm.CATALOG_REVIEW,
            Perm.CATALOG_MANAGE,
            Perm.STANDARD_MANAGE,
            Perm.SOURCE_READ,
            Perm.SOURCE_MANAGE,
            Perm.EXCHANGE_READ,
            Perm.EXCHANGE_MANAGE,
            Perm.SHARING_READ,
            Perm.SHARING_MANAGE,
            Perm.QUALITY_READ,
            Perm.QUALITY_MANAGE,
            Perm.GOVERNANCE_MANAGE,
            Perm.OPENDATA_MANAGE,
            Perm.LEDGER_READ,
            Perm.LEDGER_ANCHOR,
            Perm.SECURITY_READ,
        }
    ),
    # job.read outside a platform-wide grant shows only the jobs the actor started.
    Role.REGION_OPERATOR: frozenset(
        {
            *_READ_ORG,
            Perm.DEPARTMENT_MANAGE,
            Perm.USER_READ,
            Perm.USER_MANAGE,
            Perm.CREDENTIAL_READ,
            Perm.JOB_READ,
            *_READ_CATALOG,
            Perm.CATALOG_REVIEW,
            Perm.SOURCE_READ,
            Perm.EXCHANGE_READ,
            Perm.SHARING_READ,
            Perm.QUALITY_READ,
        }
    ),
    Role.DEPT_OFFICER: frozenset(
        {
            *_READ_ORG,
            Perm.USER_READ,
            Perm.CREDENTIAL_READ,
            Perm.CREDENTIAL_MANAGE,
            Perm.JOB_READ,
            *_READ_CATALOG,
            Perm.CATALOG_EDIT,
            Perm.SOURCE_READ,
            Perm.SOURCE_MANAGE,
            Perm.EXCHANGE_READ,
            Perm.EXCHANGE_MANAGE,
            Perm.DATA_PREVIEW,
            Perm.SHARING_READ,
            Perm.SHARING_APPLY,
            Perm.SHARING_DECIDE,
            Perm.DATA_READ,
            Perm.QUALITY_READ,
            Perm.QUALITY_MANAGE,
            Perm.OPENDATA_PUBLISH,
        }
    ),
    # App credentials act as department users, so a lower node's data bureau reaches this
    # node's ledger as an app of its department (heads and proofs are hashes only; a head
    # is countersigned only if signed by a key the security administrator registered).
    Role.DEPT_USER: frozenset(
        {
            *_READ_ORG,
            *_READ_CATALOG,
            Perm.SHARING_READ,
            Perm.SHARING_APPLY,
            Perm.DATA_READ,
            Perm.QUALITY_READ,
            Perm.LEDGER_READ,
            Perm.LEDGER_ANCHOR,
        }
    ),
    Role.SECADMIN: frozenset({Perm.SECURITY_MANAGE, Perm.NOTIFICATION_READ}),
    Role.AUDITOR: frozenset(
        {*_READ_ORG, Perm.USER_READ, Perm.AUDIT_READ, Perm.LEDGER_READ, *_READ_CATALOG}
    ),
}


@dataclass(frozen=True)
class Scope:
    """Where something sits: a region path like ``630000/630100`` and maybe a department.

    A ``Scope()`` with neither set is the whole platform.
    """

    region_path: str | None = None
    department_id: str | None = None


@dataclass(frozen=True)
class RoleGrant:
    role: Role
    # The role applies to this region's subtree, or to this department only;
    # neither set means platform-wide.
    region_path: str | None = None
    department_id: str | None = None

    def covers(self, target: Scope | None) -> bool:
        if target is None:
            return True
        if self.department_id is not None:
            return target.department_id == self.department_id
        if self.region_path is not None:
            return target.region_path is not None and (
                target.region_path == self.region_path
                or target.region_path.startswith(self.region_path + "/")
            )
        return True


def allows(grants: list[RoleGrant], perm: Perm, target: Scope | None) -> bool:
    """True when some grant holds ``perm`` and its scope covers ``target``."""
    return any(perm in ROLE_PERMISSIONS[g.role] and g.covers(target) for g in grants)
