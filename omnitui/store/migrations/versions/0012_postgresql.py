"""the store on PostgreSQL: SQLite's JSON functions the store's queries use

Revision ID: 0012
Revises: 0011

The store's queries are written once for both databases. On PostgreSQL,
`json_extract` and `json_each` over the store's JSON text columns are SQL
functions made here (`omnitui.store.postgres.dialect.FUNCTIONS`). SQLite
has them built in: nothing changes there.
"""

from __future__ import annotations

from alembic import op

from omnitui.store.postgres.dialect import FUNCTIONS

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in FUNCTIONS:
        op.execute(function)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS json_each(text)")
    op.execute("DROP FUNCTION IF EXISTS json_extract(text, text)")
