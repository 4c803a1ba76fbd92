"""employer chats and invites; Notification Letter and entry dates

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "employer_chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_type", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("linked_by", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_employer_chats_employer_id_employers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_chats")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_employer_chats_chat_id")),
    )
    with op.batch_alter_table("employer_chats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_employer_chats_employer_id"), ["employer_id"], unique=False
        )

    op.create_table(
        "employer_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_chat", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_employer_invites_employer_id_employers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_employer_invites_code_hash")),
    )
    with op.batch_alter_table("employer_invites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_employer_invites_employer_id"), ["employer_id"], unique=False
        )

    with op.batch_alter_table("work_permits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notification_letter_issued_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("entered_on", sa.Date(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("work_permits", schema=None) as batch_op:
        batch_op.drop_column("entered_on")
        batch_op.drop_column("notification_letter_issued_on")
    with op.batch_alter_table("employer_invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employer_invites_employer_id"))
    op.drop_table("employer_invites")
    with op.batch_alter_table("employer_chats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employer_chats_employer_id"))
    op.drop_table("employer_chats")
