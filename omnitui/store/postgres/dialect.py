"""The store's SQL, written once, as PostgreSQL reads it.

The store's queries are written in the SQL both databases share, with
SQLite's `?` parameters. What differs is small and mechanical, and is done
here, once per distinct statement (cached):

- `?` parameters become psycopg's `%s`, `:name` ones `%(name)s` (and a
  literal `%` is doubled);
- `INSERT OR IGNORE` becomes `INSERT ... ON CONFLICT DO NOTHING`;
- `LIKE` becomes `ILIKE` (SQLite's LIKE ignores case);
- `group_concat` becomes `string_agg`, `char` `chr`, `AS REAL` a double, a two-argument
  `max`/`min` `GREATEST`/`LEAST`;
- an `INSERT` into a table with an `id` gets `RETURNING id`, which is how
  PostgreSQL tells the new row's id (SQLite's `lastrowid`).

SQLite's `json_extract` and `json_each` exist on PostgreSQL as SQL functions
of the same names over text (made by the migrations, see `FUNCTIONS`), so
the queries that read JSON columns need no second spelling.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Tables whose rows have an integer `id` the store reads back after an insert.
ID_TABLES = frozenset(
    {
        "contact",
        "identity",
        "message",
        "attachment",
        "canned_reply",
        "change",
        "merge_record",
        "field_history",
        "automation_event",
        "rule_firing",
        "conversation",
        "broadcast",
    }
)

_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+(\w+)", re.IGNORECASE)
_WORDS = (
    (re.compile(r"\bLIKE\b"), "ILIKE"),
    (re.compile(r"\bgroup_concat\(", re.IGNORECASE), "string_agg("),
    (re.compile(r"\bchar\(", re.IGNORECASE), "chr("),
    (re.compile(r"\bAS\s+REAL\b", re.IGNORECASE), "AS DOUBLE PRECISION"),
)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement as PostgreSQL takes it."""

    sql: str
    returns_id: bool  # it ends in RETURNING id, added here: the cursor's lastrowid


def _outside_quotes(sql: str) -> list[tuple[bool, str]]:
    """`sql` cut into (quoted, text) pieces: '...' strings and "..." names are quoted."""
    pieces: list[tuple[bool, str]] = []
    i = 0
    start = 0
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"":
            if start < i:
                pieces.append((False, sql[start:i]))
            end = i + 1
            while end < len(sql):
                if sql[end] == ch:
                    if end + 1 < len(sql) and sql[end + 1] == ch:  # '' inside a string
                        end += 2
                        continue
                    break
                end += 1
            pieces.append((True, sql[i : end + 1]))
            i = start = end + 1
            continue
        i += 1
    if start < len(sql):
        pieces.append((False, sql[start:]))
    return pieces


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_MINMAX = re.compile(r"\b(max|min)\(", re.IGNORECASE)


def _scalar_minmax(sql: str) -> str:
    """SQLite's two-argument max(a, b) / min(a, b) as GREATEST / LEAST."""
    out: list[str] = []
    at = 0
    for match in _MINMAX.finditer(sql):
        if match.start() < at:
            continue
        depth = 0
        comma = False
        for ch in sql[match.end() :]:
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                comma = True
        if comma:
            word = "GREATEST(" if match.group(1).lower() == "max" else "LEAST("
            out.append(sql[at : match.start()] + word)
            at = match.end()
    out.append(sql[at:])
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def translate(sql: str, *, many: bool = False) -> Statement:
    """SQLite-flavoured `sql` as PostgreSQL takes it through psycopg."""
    insert = _INSERT.match(sql)
    ignore = bool(insert and insert.group(1))
    if ignore:
        sql = sql[: insert.start(1)] + sql[insert.end(1) :]  # type: ignore[union-attr]
    out: list[str] = []
    for quoted, text in _outside_quotes(sql):
        text = text.replace("%", "%%")
        if not quoted:
            text = text.replace("?", "%s")
            text = _NAMED.sub(r"%(\1)s", text)
            for pattern, word in _WORDS:
                text = pattern.sub(word, text)
            text = _scalar_minmax(text)
        out.append(text)
    sql = "".join(out).rstrip().rstrip(";")
    has_returning = re.search(r"\bRETURNING\b", sql, re.IGNORECASE) is not None
    if ignore:
        if has_returning:
            head, tail = re.split(r"\bRETURNING\b", sql, maxsplit=1, flags=re.IGNORECASE)
            sql = f"{head} ON CONFLICT DO NOTHING RETURNING{tail}"
        else:
            sql += " ON CONFLICT DO NOTHING"
    returns_id = False
    if insert and not many and not has_returning and insert.group(2).lower() in ID_TABLES:
        sql += " RETURNING id"
        returns_id = True
    return Statement(sql, returns_id)


# SQLite's JSON functions the store's queries use, as PostgreSQL SQL functions
# over the same text columns. Made by the migrations on PostgreSQL only.
FUNCTIONS = (
    # json_extract(doc, '$.a.b'): the value at that path as text (NULL if absent).
    """
    CREATE OR REPLACE FUNCTION json_extract(doc text, path text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT CASE WHEN doc IS NULL OR doc = '' THEN NULL
             ELSE (doc::jsonb) #>> string_to_array(substr(path, 3), '.') END
    $$
    """,
    # json_each(doc): an array's elements or an object's members: key, value
    # (as text) and SQLite's name for the value's type.
    """
    CREATE OR REPLACE FUNCTION json_each(doc text)
    RETURNS TABLE(key text, value text, type text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      WITH d AS (SELECT CASE WHEN doc IS NULL OR doc = '' THEN NULL ELSE doc::jsonb END AS j),
      items AS (
        SELECT (e.n - 1)::text AS k, e.v
          FROM d, jsonb_array_elements(CASE WHEN jsonb_typeof(d.j) = 'array' THEN d.j
                                       ELSE '[]'::jsonb END) WITH ORDINALITY AS e(v, n)
        UNION ALL
        SELECT o.k, o.v
          FROM d, jsonb_each(CASE WHEN jsonb_typeof(d.j) = 'object' THEN d.j
                             ELSE '{}'::jsonb END) AS o(k, v)
      )
      SELECT k, v #>> '{}',
             CASE jsonb_typeof(v) WHEN 'string' THEN 'text'
               WHEN 'number' THEN CASE WHEN v::text ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
               WHEN 'boolean' THEN v::text ELSE jsonb_typeof(v) END
        FROM items
    $$
    """,
)
