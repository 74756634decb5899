"""The SQL the resolver runs: Core text statements on the hot path, one per dialect."""

from __future__ import annotations

__all__ = [
    "PG_ANSWERS",
    "PG_LOOKUP_MANY",
    "PG_WARM",
    "SQLITE_ANSWERS",
    "SQLITE_CHANGES",
    "SQLITE_LATEST",
    "SQLITE_LOOKUP",
    "SQLITE_REST",
    "SQLITE_WARM",
    "Answers",
]

SQLITE_LOOKUP = (
    "SELECT h.handle, h.record, p.prefix FROM id_handles h JOIN id_prefixes p "
    "ON p.id = h.prefix_id WHERE h.key = ? AND p.status != 'revoked'"
)
# The misses of one batch of datagrams in one statement: json_each keeps the statement text
# the same whatever the number of keys, and SQLite walks the key index in key order. The stored
# answer where there is one, else the record to render it from.
SQLITE_ANSWERS = (
    "SELECT h.key, h.handle, h.wire, CASE WHEN h.wire IS NULL THEN h.record END, p.prefix "
    "FROM id_handles h JOIN id_prefixes p ON p.id = h.prefix_id "
    "WHERE h.key IN (SELECT value FROM json_each(?)) AND p.status != 'revoked'"
)
PG_ANSWERS = (
    "SELECT h.key, h.handle, h.wire, CASE WHEN h.wire IS NULL THEN h.record END, p.prefix "
    "FROM id_handles h JOIN id_prefixes p ON p.id = h.prefix_id "
    "WHERE h.key = ANY($1::varchar[]) AND p.status != 'revoked'"
)
# The records of the misses of one turn of the event loop (every other reader), with the head
# of the stored wire answer (cache seconds, public value count) where the row keeps one.
PG_LOOKUP_MANY = (
    "SELECT h.key, h.handle, h.record, p.prefix, substring(h.wire from 1 for 8) "
    "FROM id_handles h JOIN id_prefixes p "
    "ON p.id = h.prefix_id WHERE h.key = ANY($1::varchar[]) AND p.status != 'revoked'"
)
# An anonymous REST miss on SQLite: the record and the head of its stored wire answer.
SQLITE_REST = (
    "SELECT h.handle, h.record, p.prefix, substr(h.wire, 1, 8) "
    "FROM id_handles h JOIN id_prefixes p "
    "ON p.id = h.prefix_id WHERE h.key = ? AND p.status != 'revoked'"
)
SQLITE_LATEST = "SELECT max(id) FROM id_changes"
SQLITE_CHANGES = "SELECT id, key FROM id_changes WHERE id > ? ORDER BY id"
# key -> (handle, stored answer or None, record when there is no answer, prefix)
Answers = dict[str, tuple[str, bytes | None, str | None, str]]
# The cache's warm-up (warm.py): every served record in id order, a chunk at a time.
SQLITE_WARM = (
    "SELECT h.id, h.key, h.handle, h.record, h.wire, p.prefix "
    "FROM id_handles h JOIN id_prefixes p ON p.id = h.prefix_id "
    "WHERE h.id > ? AND p.status != 'revoked' ORDER BY h.id LIMIT ?"
)
PG_WARM = (
    "SELECT h.id, h.key, h.handle, h.record, h.wire, p.prefix "
    "FROM id_handles h JOIN id_prefixes p ON p.id = h.prefix_id "
    "WHERE h.id > $1 AND p.status != 'revoked' ORDER BY h.id LIMIT $2"
)
