"""a merge keeps the profile it changed, and the values that lost

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merge_record") as batch:
        batch.add_column(
            sa.Column("profile_before", sa.String(), nullable=False, server_default="{}")
        )
        batch.add_column(
            sa.Column("profile_after", sa.String(), nullable=False, server_default="{}")
        )
    op.create_table(
        "field_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("merge_record_id", sa.Integer(), nullable=True),
        sa.Column("source_name", sa.String(), nullable=False, server_default=""),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_field_history_contact_id", "field_history", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_field_history_contact_id", "field_history")
    op.drop_table("field_history")
    with op.batch_alter_table("merge_record") as batch:
        batch.drop_column("profile_after")
        batch.drop_column("profile_before")
