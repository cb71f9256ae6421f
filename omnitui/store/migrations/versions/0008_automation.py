"""automation: the events rules run on, what fired, no-reply timers, hand-offs

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Events waiting for the rules, written in the same transaction as what
    # caused them (a customer's message, a resolve); the process that runs the
    # channels takes each one out in the transaction that does what the rules
    # said, so an event is evaluated once, and again after a crash.
    op.create_table(
        "automation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("new_conversation", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Every rule that fired: the thread's ⚙ line, the rules screen, once_per
    # and the daily cap of automatic replies read it.
    op.create_table(
        "rule_firing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("replied", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("notify", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("summary", sa.String(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rule_firing_rule_at", "rule_firing", ["rule", "at"])
    op.create_index("ix_rule_firing_contact_at", "rule_firing", ["contact_id", "at"])
    # A no_reply rule's clock per customer: due at `due_at`; NULL once it
    # fired, until an agent answers or the conversation is resolved.
    op.create_table(
        "rule_timer",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("contact_id", "rule"),
    )
    op.create_index("ix_rule_timer_due", "rule_timer", ["due_at"])
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("handoff", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("handoff")
    op.drop_index("ix_rule_timer_due", "rule_timer")
    op.drop_table("rule_timer")
    op.drop_index("ix_rule_firing_contact_at", "rule_firing")
    op.drop_index("ix_rule_firing_rule_at", "rule_firing")
    op.drop_table("rule_firing")
    op.drop_table("automation_event")
