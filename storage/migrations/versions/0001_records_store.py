"""records store: people, employers, permits, applications, users, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "conversation_states",
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("journey", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("telegram_user_id", "chat_id", name=op.f("pk_conversation_states")),
    )
    op.create_table(
        "employers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employers")),
        sa.UniqueConstraint("uscc", name=op.f("uq_employers_uscc")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("chinese_name", sa.String(length=100), nullable=True),
        sa.Column("nationality", sa.String(length=2), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("passport_hash", sa.String(length=64), nullable=False),
        sa.Column("passport_masked", sa.String(length=32), nullable=False),
        sa.Column("ss_hash", sa.String(length=64), nullable=False),
        sa.Column("ss_masked", sa.String(length=40), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("phone_masked", sa.String(length=24), nullable=False),
        sa.Column("preferred_locale", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_name_key"), ["name_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_people_passport_hash"), ["passport_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_people_ss_hash"), ["ss_hash"], unique=False)

    op.create_table(
        "telegram_users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("language_code", sa.String(length=35), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_users")),
    )
    op.create_table(
        "social_security_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "ecard_state",
            sa.Enum(
                "not_registered",
                "pending_verification",
                "active",
                name="ecardstate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "card_state",
            sa.Enum(
                "not_issued",
                "in_production",
                "ready_for_pickup",
                "collected",
                name="cardstate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("pickup_place", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_social_security_records_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_security_records")),
        sa.UniqueConstraint("person_id", name=op.f("uq_social_security_records_person_id")),
    )
    op.create_table(
        "work_permits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_no", sa.String(length=18), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum("A", "B", "C", name="permitcategory", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("work_city", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "valid", "expired", "cancelled", name="permitstatus", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employers.id"], name=op.f("fk_work_permits_employer_id_employers")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_work_permits_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_permits")),
        sa.UniqueConstraint("permit_no", name=op.f("uq_work_permits_permit_no")),
        sa.UniqueConstraint("person_id", name=op.f("uq_work_permits_person_id")),
    )
    with op.batch_alter_table("work_permits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_work_permits_employer_id"), ["employer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_work_permits_valid_until"), ["valid_until"], unique=False
        )

    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("reference_no", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "issuance",
                "extension",
                "change",
                "cancellation",
                name="applicationkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "pre_review",
                "documents_requested",
                "under_review",
                "approved",
                "rejected",
                "withdrawn",
                name="applicationstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["permit_id"], ["work_permits.id"], name=op.f("fk_applications_permit_id_work_permits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("reference_no", name=op.f("uq_applications_reference_no")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_applications_permit_id"), ["permit_id"], unique=False)

    op.create_table(
        "telegram_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["permit_id"],
            ["work_permits.id"],
            name=op.f("fk_telegram_links_permit_id_work_permits"),
        ),
        sa.ForeignKeyConstraint(
            ["telegram_user_id"],
            ["telegram_users.id"],
            name=op.f("fk_telegram_links_telegram_user_id_telegram_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_links")),
        sa.UniqueConstraint("permit_id", name=op.f("uq_telegram_links_permit_id")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_telegram_links_telegram_user_id")),
    )
    op.create_table(
        "application_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "pre_review",
                "documents_requested",
                "under_review",
                "approved",
                "rejected",
                "withdrawn",
                name="applicationstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_events_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_events")),
    )
    with op.batch_alter_table("application_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_events_application_id"), ["application_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("application_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_events_application_id"))

    op.drop_table("application_events")
    op.drop_table("telegram_links")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_permit_id"))

    op.drop_table("applications")
    with op.batch_alter_table("work_permits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_permits_valid_until"))
        batch_op.drop_index(batch_op.f("ix_work_permits_employer_id"))

    op.drop_table("work_permits")
    op.drop_table("social_security_records")
    op.drop_table("telegram_users")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_ss_hash"))
        batch_op.drop_index(batch_op.f("ix_people_passport_hash"))
        batch_op.drop_index(batch_op.f("ix_people_name_key"))

    op.drop_table("people")
    op.drop_table("employers")
    op.drop_table("conversation_states")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
