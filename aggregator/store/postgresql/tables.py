"""Whole tables of a PostgreSQL archive, in batches (``store.tables.Tables``): what a migration
writes and an export reads. ``rowid`` of articles and entries is an identity column written as it
was read (``OVERRIDING SYSTEM VALUE``), so the order rows were added in survives the copy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aggregator.store.postgresql.connection import Connection, quoted
from aggregator.store.tables import COMPUTED, Row


def _names(columns: Sequence[str]) -> str:
    return ", ".join(quoted(c) for c in columns)


def _after(key: Sequence[str], op: str) -> str:
    """``(a, b) > (%s, %s)``: a row-value comparison, one index seek."""
    return f"({_names(key)}) {op} ({', '.join('%s' for _ in key)})"


def _where(condition: str) -> str:
    """The backend-neutral condition (``?`` marks) in psycopg's terms (``%s``)."""
    return f"WHERE {condition.replace('?', '%s')}" if condition else ""


class TableRows(Connection):
    """A PostgreSQL archive database opened (migrated) to copy tables in or out."""

    def __enter__(self) -> TableRows:
        return self

    def columns(self, table: str) -> list[str]:
        rows = self.reader.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
            [table],
        )
        return [row["column_name"] for row in rows if row["column_name"] not in COMPUTED]

    def count_rows(self, table: str, where: str = "", params: Sequence[Any] = ()) -> int:
        return int(self.reader.value(f"SELECT COUNT(*) FROM {quoted(table)} {_where(where)}", params) or 0)

    def read_batch(
        self,
        table: str,
        key: Sequence[str],
        columns: Sequence[str],
        after: Row | None,
        limit: int,
        where: str = "",
        params: Sequence[Any] = (),
    ) -> list[Row]:
        conditions = [c for c in (where.replace("?", "%s"), _after(key, ">") if after is not None else "") if c]
        condition = " AND ".join(f"({c})" for c in conditions)
        sql = (
            f"SELECT {_names(columns)} FROM {quoted(table)} {'WHERE ' + condition if condition else ''} "
            f"ORDER BY {_names(key)} LIMIT %s"
        )
        return self._tuples(sql, [*params, *(after or ()), limit])

    def read_range(self, table: str, key: Sequence[str], columns: Sequence[str], first: Row, last: Row) -> list[Row]:
        sql = (
            f"SELECT {_names(columns)} FROM {quoted(table)} WHERE {_after(key, '>=')} AND {_after(key, '<=')} "
            f"ORDER BY {_names(key)}"
        )
        return self._tuples(sql, [*first, *last])

    def last_key(self, table: str, key: Sequence[str]) -> Row | None:
        order = ", ".join(f"{quoted(c)} DESC" for c in key)
        rows = self._tuples(f"SELECT {_names(key)} FROM {quoted(table)} ORDER BY {order} LIMIT 1", [])
        return rows[0] if rows else None

    def write_batch(self, table: str, columns: Sequence[str], primary: Sequence[str], rows: Sequence[Row]) -> None:
        # an identity column GENERATED ALWAYS (rowid) takes a given value only so, and is never updated
        updated = [c for c in columns if c not in primary and c != "rowid"]
        action = f"DO UPDATE SET {', '.join(f'{quoted(c)} = EXCLUDED.{quoted(c)}' for c in updated)}"
        sql = (
            f"INSERT INTO {quoted(table)} ({_names(columns)}) OVERRIDING SYSTEM VALUE "
            f"VALUES ({', '.join('%s' for _ in columns)}) ON CONFLICT ({_names(primary)}) "
            f"{action if updated else 'DO NOTHING'}"
        )
        with self._write() as session:
            session.run_many(sql, rows)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One REPEATABLE READ, read-only transaction on the reading connection."""
        with self.reader.transaction() as session:
            session.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    def change_mark(self) -> str | None:
        """The snapshot's xmin: every transaction it does not see has an id at least this."""
        return str(self.reader.value("SELECT pg_snapshot_xmin(pg_current_snapshot())::text"))

    def changed_since(self, mark: str) -> str:
        """``changed_xid`` (schema version 3) is the last transaction that wrote the row."""
        return "changed_xid >= ?::xid8"

    def advance_sequences(self) -> None:
        identities = self.reader.rows(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name"
        )
        with self._write() as session:
            for row in identities:
                table, column = quoted(row["table_name"]), quoted(row["column_name"])
                # is_called false with 1: an empty table's next value is 1
                session.value(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX({column}), 1), "
                    f"MAX({column}) IS NOT NULL) FROM {table}",
                    [table, row["column_name"]],
                )

    def ensure_table(self, table: str, definition: str) -> None:
        with self._write() as session:
            session.run(f"CREATE TABLE IF NOT EXISTS {quoted(table)} ({definition})")

    def bookkeeping(self, table: str) -> list[dict[str, Any]]:
        if not self.columns(table):
            return []
        return self.reader.rows(f"SELECT * FROM {quoted(table)}")

    def _tuples(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return [tuple(row.values()) for row in self.reader.rows(sql, params)]
