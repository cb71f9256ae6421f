"""full-text search index over messages

Revision ID: 0002
Revises: 0001

An FTS5 table whose rowid is the message id. Its text is made by
`omnitui.domain.search.index_terms` (Japanese runs as bigrams), so it is
filled from Python: here for messages already in the store, and by the store
for each message it writes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omnitui.domain.search import index_terms

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL: the same terms as a tsvector in a GIN index
        # (omnitui.domain.search.pg_terms); a new store has no messages yet.
        op.execute(
            "CREATE TABLE message_search (message_id BIGINT PRIMARY KEY, terms TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_message_search_terms ON message_search USING gin (terms)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE message_search USING fts5("
        "terms, tokenize = 'unicode61 remove_diacritics 2', prefix = '1')"
    )
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, subject, text FROM message ORDER BY id"))
    batch: list[dict[str, object]] = []
    insert = sa.text("INSERT INTO message_search(rowid, terms) VALUES (:id, :terms)")
    for message_id, subject, body in rows.fetchall():
        batch.append({"id": message_id, "terms": index_terms(f"{subject}\n{body}")})
        if len(batch) >= 5000:
            bind.execute(insert, batch)
            batch.clear()
    if batch:
        bind.execute(insert, batch)


def downgrade() -> None:
    op.execute("DROP TABLE message_search")
