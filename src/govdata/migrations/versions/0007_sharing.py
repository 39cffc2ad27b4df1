"""Sharing: policy, holiday calendar, demands, applications and steps, exemptions, grants,
app limits and usage, subscriptions and runs; governance tickets (objections).

Revision ID: 0007_sharing
Revises: 0006_exchange
Create Date: 2026-12-06 02:14:07.427564
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0007_sharing"
down_revision = "0006_exchange"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_core_counters")),
    )
    op.create_table(
        "sharing_api_usage",
        sa.Column("caller_id", sa.String(length=36), nullable=False),
        sa.Column("window", sa.String(length=24), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("caller_id", "window", name=op.f("pk_sharing_api_usage")),
    )
    op.create_table(
        "sharing_holidays",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_sharing_holidays")),
    )
    op.create_table(
        "sharing_policy",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("operator_compliance_check", sa.Boolean(), nullable=False),
        sa.Column("compliance_days", sa.Integer(), nullable=False),
        sa.Column("provider_days", sa.Integer(), nullable=False),
        sa.Column("operator_days", sa.Integer(), nullable=False),
        sa.Column("demand_days", sa.Integer(), nullable=False),
        sa.Column("objection_days", sa.Integer(), nullable=False),
        sa.Column("grade_chains", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_policy")),
    )
    op.create_table(
        "governance_tickets",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("entry_name", sa.String(length=255), nullable=False),
        sa.Column("provider_department_id", sa.String(length=36), nullable=False),
        sa.Column("provider_region_path", sa.String(length=64), nullable=False),
        sa.Column("reporter_department_id", sa.String(length=36), nullable=True),
        sa.Column("reporter_region_path", sa.String(length=64), nullable=True),
        sa.Column("reporter_id", sa.String(length=36), nullable=True),
        sa.Column("reporter_name", sa.String(length=128), nullable=False),
        sa.Column("grant_id", sa.String(length=36), nullable=True),
        sa.Column("record_key", sa.JSON(), nullable=False),
        sa.Column("field", sa.String(length=128), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by_name", sa.String(length=128), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_note", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_governance_tickets_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["departments.id"],
            name=op.f("fk_governance_tickets_provider_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter_department_id"],
            ["departments.id"],
            name=op.f("fk_governance_tickets_reporter_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_tickets")),
        sa.UniqueConstraint("code", name=op.f("uq_governance_tickets_code")),
    )
    with op.batch_alter_table("governance_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_governance_tickets_entry_id"), ["entry_id"], unique=False
        )
        batch_op.create_index(
            "ix_governance_tickets_provider", ["provider_department_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_governance_tickets_status_due", ["status", "due_at"], unique=False
        )

    op.create_table(
        "sharing_app_limits",
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.Column("per_day", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["app_credentials.id"],
            name=op.f("fk_sharing_app_limits_credential_id_app_credentials"),
        ),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_sharing_app_limits")),
    )
    op.create_table(
        "sharing_demands",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("requester_department_id", sa.String(length=36), nullable=False),
        sa.Column("requester_region_path", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("items_wanted", sa.JSON(), nullable=False),
        sa.Column("suggested_department_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_department_id", sa.String(length=36), nullable=True),
        sa.Column("provider_region_path", sa.String(length=64), nullable=True),
        sa.Column("routed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("answer_note", sa.Text(), nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by_name", sa.String(length=128), nullable=True),
        sa.Column("entry_id", sa.String(length=36), nullable=True),
        sa.Column("escalated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_by_name", sa.String(length=128), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_sharing_demands_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_demands_provider_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_demands_requester_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["suggested_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_demands_suggested_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_demands")),
        sa.UniqueConstraint("code", name=op.f("uq_sharing_demands_code")),
    )
    with op.batch_alter_table("sharing_demands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sharing_demands_provider_department_id"),
            ["provider_department_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_sharing_demands_requester_department_id"),
            ["requester_department_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_sharing_demands_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "sharing_exemptions",
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("consumer_department_id", sa.String(length=36), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(length=36), nullable=True),
        sa.Column("granted_by_name", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_exemptions_consumer_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_sharing_exemptions_entry_id_catalog_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_exemptions")),
    )
    with op.batch_alter_table("sharing_exemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sharing_exemptions_entry", ["entry_id", "consumer_department_id"], unique=False
        )

    op.create_table(
        "sharing_grants",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("entry_name", sa.String(length=255), nullable=False),
        sa.Column("provider_department_id", sa.String(length=36), nullable=False),
        sa.Column("provider_region_path", sa.String(length=64), nullable=False),
        sa.Column("consumer_department_id", sa.String(length=36), nullable=False),
        sa.Column("consumer_region_path", sa.String(length=64), nullable=False),
        sa.Column("app_ids", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("masks", sa.JSON(), nullable=False),
        sa.Column("delivery_modes", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_name", sa.String(length=128), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("renewed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_grants_consumer_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_sharing_grants_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_grants_provider_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_grants")),
        sa.UniqueConstraint("code", name=op.f("uq_sharing_grants_code")),
    )
    with op.batch_alter_table("sharing_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sharing_grants_consumer_entry", ["consumer_department_id", "entry_id"], unique=False
        )
        batch_op.create_index(
            "ix_sharing_grants_provider", ["provider_department_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sharing_grants_resource_code"), ["resource_code"], unique=False
        )

    op.create_table(
        "governance_ticket_events",
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_name", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["governance_tickets.id"],
            name=op.f("fk_governance_ticket_events_ticket_id_governance_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_ticket_events")),
    )
    with op.batch_alter_table("governance_ticket_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_governance_ticket_events_ticket", ["ticket_id", "at"], unique=False
        )

    op.create_table(
        "sharing_applications",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("entry_name", sa.String(length=255), nullable=False),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("provider_department_id", sa.String(length=36), nullable=False),
        sa.Column("provider_region_path", sa.String(length=64), nullable=False),
        sa.Column("consumer_department_id", sa.String(length=36), nullable=False),
        sa.Column("consumer_region_path", sa.String(length=64), nullable=False),
        sa.Column("applicant_id", sa.String(length=36), nullable=True),
        sa.Column("applicant_name", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("row_scope_note", sa.Text(), nullable=True),
        sa.Column("delivery_modes", sa.JSON(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("contact_name", sa.String(length=64), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("clear_items", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_step", sa.String(length=16), nullable=True),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("contest_reason", sa.Text(), nullable=True),
        sa.Column("contested_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("contest_outcome", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("exemption_id", sa.String(length=36), nullable=True),
        sa.Column("renews_grant_id", sa.String(length=36), nullable=True),
        sa.Column("grant_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_applications_consumer_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_sharing_applications_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["exemption_id"],
            ["sharing_exemptions.id"],
            name=op.f("fk_sharing_applications_exemption_id_sharing_exemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["sharing_grants.id"],
            name=op.f("fk_sharing_applications_grant_id_sharing_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_applications_provider_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["renews_grant_id"],
            ["sharing_grants.id"],
            name=op.f("fk_sharing_applications_renews_grant_id_sharing_grants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_applications")),
        sa.UniqueConstraint("code", name=op.f("uq_sharing_applications_code")),
    )
    with op.batch_alter_table("sharing_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sharing_applications_consumer",
            ["consumer_department_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_sharing_applications_entry_id"), ["entry_id"], unique=False
        )
        batch_op.create_index(
            "ix_sharing_applications_provider", ["provider_department_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_sharing_applications_status_due", ["status", "due_at"], unique=False
        )

    op.create_table(
        "sharing_subscriptions",
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("consumer_department_id", sa.String(length=36), nullable=False),
        sa.Column("provider_department_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("target_source_id", sa.String(length=36), nullable=True),
        sa.Column("target_table", sa.String(length=64), nullable=True),
        sa.Column("file_format", sa.String(length=16), nullable=True),
        sa.Column("schedule", sa.String(length=128), nullable=True),
        sa.Column("schedule_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("delivered_version", sa.BigInteger(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("source_time", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_run_id", sa.String(length=36), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_subscriptions_consumer_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["sharing_grants.id"],
            name=op.f("fk_sharing_subscriptions_grant_id_sharing_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_subscriptions_provider_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["job_schedules.id"],
            name=op.f("fk_sharing_subscriptions_schedule_id_job_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["target_source_id"],
            ["source_systems.id"],
            name=op.f("fk_sharing_subscriptions_target_source_id_source_systems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_subscriptions")),
    )
    with op.batch_alter_table("sharing_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sharing_subscriptions_consumer_department_id"),
            ["consumer_department_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_sharing_subscriptions_grant_id"), ["grant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sharing_subscriptions_provider_department_id"),
            ["provider_department_id"],
            unique=False,
        )

    op.create_table(
        "sharing_application_steps",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_by_name", sa.String(length=128), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["sharing_applications.id"],
            name=op.f("fk_sharing_application_steps_application_id_sharing_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_application_steps")),
    )
    with op.batch_alter_table("sharing_application_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sharing_application_steps_application_id"),
            ["application_id"],
            unique=False,
        )
        batch_op.create_index("ix_sharing_steps_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "sharing_subscription_runs",
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("version_from", sa.BigInteger(), nullable=True),
        sa.Column("version_to", sa.BigInteger(), nullable=True),
        sa.Column("rows_upserted", sa.BigInteger(), nullable=False),
        sa.Column("rows_deleted", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["sharing_subscriptions.id"],
            name=op.f("fk_sharing_subscription_runs_subscription_id_sharing_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_subscription_runs")),
    )
    with op.batch_alter_table("sharing_subscription_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sharing_sub_runs_sub_started", ["subscription_id", "started_at"], unique=False
        )

    # The default rules: grade 3–4 (important/core) data also needs the operator.
    policy = sa.table(
        "sharing_policy",
        sa.column("id", sa.Integer),
        sa.column("operator_compliance_check", sa.Boolean),
        sa.column("compliance_days", sa.Integer),
        sa.column("provider_days", sa.Integer),
        sa.column("operator_days", sa.Integer),
        sa.column("demand_days", sa.Integer),
        sa.column("objection_days", sa.Integer),
        sa.column("grade_chains", sa.JSON),
        sa.column("updated_at", UTCDateTime(timezone=True)),
    )
    op.bulk_insert(
        policy,
        [
            {
                "id": 1,
                "operator_compliance_check": False,
                "compliance_days": 2,
                "provider_days": 10,
                "operator_days": 5,
                "demand_days": 10,
                "objection_days": 5,
                "grade_chains": {"1": [], "2": [], "3": ["operator"], "4": ["operator"]},
                "updated_at": datetime.now(UTC),
            }
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("sharing_subscription_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sharing_sub_runs_sub_started")

    op.drop_table("sharing_subscription_runs")
    with op.batch_alter_table("sharing_application_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_sharing_steps_status_due")
        batch_op.drop_index(batch_op.f("ix_sharing_application_steps_application_id"))

    op.drop_table("sharing_application_steps")
    with op.batch_alter_table("sharing_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_subscriptions_provider_department_id"))
        batch_op.drop_index(batch_op.f("ix_sharing_subscriptions_grant_id"))
        batch_op.drop_index(batch_op.f("ix_sharing_subscriptions_consumer_department_id"))

    op.drop_table("sharing_subscriptions")
    with op.batch_alter_table("sharing_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_sharing_applications_status_due")
        batch_op.drop_index("ix_sharing_applications_provider")
        batch_op.drop_index(batch_op.f("ix_sharing_applications_entry_id"))
        batch_op.drop_index("ix_sharing_applications_consumer")

    op.drop_table("sharing_applications")
    with op.batch_alter_table("governance_ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_governance_ticket_events_ticket")

    op.drop_table("governance_ticket_events")
    with op.batch_alter_table("sharing_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_grants_resource_code"))
        batch_op.drop_index("ix_sharing_grants_provider")
        batch_op.drop_index("ix_sharing_grants_consumer_entry")

    op.drop_table("sharing_grants")
    with op.batch_alter_table("sharing_exemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_sharing_exemptions_entry")

    op.drop_table("sharing_exemptions")
    with op.batch_alter_table("sharing_demands", schema=None) as batch_op:
        batch_op.drop_index("ix_sharing_demands_status_created")
        batch_op.drop_index(batch_op.f("ix_sharing_demands_requester_department_id"))
        batch_op.drop_index(batch_op.f("ix_sharing_demands_provider_department_id"))

    op.drop_table("sharing_demands")
    op.drop_table("sharing_app_limits")
    with op.batch_alter_table("governance_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_governance_tickets_status_due")
        batch_op.drop_index("ix_governance_tickets_provider")
        batch_op.drop_index(batch_op.f("ix_governance_tickets_entry_id"))

    op.drop_table("governance_tickets")
    op.drop_table("sharing_policy")
    op.drop_table("sharing_holidays")
    op.drop_table("sharing_api_usage")
    op.drop_table("core_counters")
