"""broadcast images and one-click unsubscribe links

Revision ID: 0011
Revises: 0010

A broadcast's image is stored once, on the broadcast, not once per
recipient: 10,000 customers share one copy. `public_token` names it in the
public URL that LINE and Twilio fetch it from. Each recipient's
`unsubscribe_token` is the unguessable part of their one-click unsubscribe
link (RFC 8058), so a link opts out that customer's address and no other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcast") as batch:
        batch.add_column(sa.Column("image", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("image_name", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("image_type", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("public_token", sa.String(), nullable=True))
    op.create_index("ix_broadcast_public_token", "broadcast", ["public_token"], unique=True)
    with op.batch_alter_table("broadcast_recipient") as batch:
        batch.add_column(sa.Column("unsubscribe_token", sa.String(), nullable=True))
    op.create_index(
        "ix_broadcast_recipient_unsubscribe_token",
        "broadcast_recipient",
        ["unsubscribe_token"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_broadcast_recipient_unsubscribe_token", "broadcast_recipient")
    with op.batch_alter_table("broadcast_recipient") as batch:
        batch.drop_column("unsubscribe_token")
    op.drop_index("ix_broadcast_public_token", "broadcast")
    with op.batch_alter_table("broadcast") as batch:
        batch.drop_column("public_token")
        batch.drop_column("image_type")
        batch.drop_column("image_name")
        batch.drop_column("image")
