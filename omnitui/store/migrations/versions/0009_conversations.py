"""conversations and messages per hour: what reports read, kept as messages arrive

Revision ID: 0009
Revises: 0008

An existing store gets both filled from its messages once, here. Its past
resolves were not recorded, so each customer's past becomes one conversation
from their first message: resolved at their last activity when the customer
is resolved now, open otherwise; its first response is the first reply after
that first message.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False, server_default=""),
        sa.Column("kind", sa.String(), nullable=False, server_default=""),
        sa.Column("first_message_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("first_response_at", sa.Float(), nullable=True),
        sa.Column("first_response_by", sa.String(), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("assignee", sa.String(), nullable=True),
        sa.Column("messages_in", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("messages_out", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("automatic_out", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("csat_asked_at", sa.Float(), nullable=True),
        sa.Column("csat_rating", sa.Integer(), nullable=True),
        sa.Column("csat_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_conversation_contact", "conversation", ["contact_id", "resolved_at"])
    op.create_index("ix_conversation_started", "conversation", ["started_at"])
    op.create_index("ix_conversation_resolved", "conversation", ["resolved_at"])
    op.create_table(
        "message_hour",
        sa.Column("hour", sa.Integer(), nullable=False),  # epoch hours (UTC)
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),  # in | out | auto
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "kind", "direction", "agent"),
    )
    with op.batch_alter_table("automation_event") as batch:
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
    _fill()


def _fill() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # stores on PostgreSQL began after this revision: nothing to fill
    op.execute(
        "INSERT INTO message_hour(hour, kind, direction, agent, count) "
        "SELECT CAST(sent_at / 3600 AS INTEGER), kind, "
        "CASE WHEN direction = 'in' THEN 'in' "
        "WHEN json_extract(meta, '$.automatic') IS NOT NULL THEN 'auto' ELSE 'out' END, "
        "CASE WHEN direction = 'out' AND json_extract(meta, '$.automatic') IS NULL "
        "THEN coalesce(author, '') ELSE '' END, count(*) "
        "FROM message WHERE direction IN ('in', 'out') GROUP BY 1, 2, 3, 4"
    )
    op.execute(
        "INSERT INTO conversation(contact_id, account, kind, first_message_id, started_at, "
        "resolved_at, assignee, messages_in, messages_out) "
        "SELECT c.id, f.account, f.kind, f.id, f.sent_at, "
        "CASE WHEN c.status = 'resolved' THEN max(c.last_activity, f.sent_at) END, c.assignee, "
        "(SELECT count(*) FROM message WHERE contact_id = c.id AND direction = 'in'), "
        "(SELECT count(*) FROM message WHERE contact_id = c.id AND direction = 'out') "
        "FROM contact c JOIN message f ON f.id = ("
        " SELECT id FROM message WHERE contact_id = c.id AND direction = 'in' "
        " ORDER BY sent_at, id LIMIT 1) "
        "WHERE c.merged_into IS NULL"
    )
    op.execute(
        "UPDATE conversation SET (first_response_at, first_response_by) = ("
        " SELECT sent_at, author FROM message WHERE contact_id = conversation.contact_id "
        " AND direction = 'out' AND sent_at >= conversation.started_at "
        " AND json_extract(meta, '$.automatic') IS NULL ORDER BY sent_at, id LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("automation_event") as batch:
        batch.drop_column("rating")
    op.drop_table("message_hour")
    op.drop_index("ix_conversation_resolved", "conversation")
    op.drop_index("ix_conversation_started", "conversation")
    op.drop_index("ix_conversation_contact", "conversation")
    op.drop_table("conversation")
