"""broadcasts: one canned reply to a segment of customers, each message in the outbox

Revision ID: 0010
Revises: 0009

A broadcast's messages are outbound messages like any other (so a crash
resumes from the store and nothing is sent twice), marked with their
broadcast so the hub paces them and agents' replies never wait behind them.
Each customer's place in a broadcast (the message, or why they were skipped)
is one `broadcast_recipient` row. `identity.broadcast_opt_out` is a customer
who asked for no more broadcasts on that address (配信停止, unsubscribe).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canned", sa.String(), nullable=False),
        sa.Column("audience", sa.String(), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("send_at", sa.Float(), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("cancelled_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "broadcast_recipient",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("skipped", sa.String(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("broadcast_id", "contact_id"),
    )
    op.create_index("ix_broadcast_recipient_message", "broadcast_recipient", ["message_id"])
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("broadcast_id", sa.Integer(), nullable=True))
    op.create_index(
        "ix_message_broadcast",
        "message",
        ["broadcast_id", "status"],
        sqlite_where=sa.text("broadcast_id IS NOT NULL"),
    )
    with op.batch_alter_table("identity") as batch:
        batch.add_column(
            sa.Column("broadcast_opt_out", sa.Boolean(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("identity") as batch:
        batch.drop_column("broadcast_opt_out")
    op.drop_index("ix_message_broadcast", "message")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("broadcast_id")
    op.drop_index("ix_broadcast_recipient_message", "broadcast_recipient")
    op.drop_table("broadcast_recipient")
    op.drop_table("broadcast")
