"""webhooks out: the webhooks the channel runner serves and their delivery queue

Revision ID: 0013
Revises: 0012

`webhook` is each `[[webhook]]` of the channel runner's config (its url and
the events it wants), written by the runner at start, so that every process
writing to the store (a console on another machine resolving a conversation)
queues the events the runner will send. `webhook_delivery` is one row per
webhook per event: the JSON body frozen when the event happened, with the
event's stable id (shared by every webhook that receives it), its state
(pending, delivered, failed) and how its attempts went.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("events", sa.String(), nullable=False, server_default="[]"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("failures_in_row", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(), nullable=False, server_default=""),
        sa.Column("last_error_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url", name="uq_webhook_url"),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False, server_default=""),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("attempted_at", sa.Float(), nullable=True),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # Each customer's queue on a webhook, oldest first: what goes next.
    op.create_index(
        "ix_webhook_delivery_queue",
        "webhook_delivery",
        ["webhook_id", "state", "contact_id", "id"],
    )
    # The oldest first, read in order: the sender's next ones without a sort.
    op.create_index("ix_webhook_delivery_order", "webhook_delivery", ["webhook_id", "state", "id"])
    op.create_index("ix_webhook_delivery_event", "webhook_delivery", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_event", "webhook_delivery")
    op.drop_index("ix_webhook_delivery_order", "webhook_delivery")
    op.drop_index("ix_webhook_delivery_queue", "webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook")
