"""verification reference on permits, audit lookups by actor and subject

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_action_actor_at", ["action", "actor", "at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_log_action_subject_at", ["action", "subject", "at"], unique=False
        )

    with op.batch_alter_table("work_permits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification_ref", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_work_permits_verification_ref"), ["verification_ref"]
        )


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("work_permits", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_work_permits_verification_ref"), type_="unique")
        batch_op.drop_column("verification_ref")

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_action_subject_at")
        batch_op.drop_index("ix_audit_log_action_actor_at")
