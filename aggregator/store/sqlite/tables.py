"""Whole tables of an SQLite archive, in batches (``store.tables.Tables``): what a migration reads
and an SQLite export copy is written with. ``rowid`` is a column like any other here (the order
articles and entries were added in), written back as it was read."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aggregator.errors import StoreError
from aggregator.store.sqlite.connection import Connection
from aggregator.store.tables import COMPUTED, Row


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f"[{c}]" for c in columns)


def _after(key: Sequence[str], op: str) -> str:
    """``(a, b) > (?, ?)``: a row-value comparison, one index seek."""
    return f"({_names(key)}) {op} ({', '.join('?' * len(key))})"


class TableRows(Connection):
    """An SQLite archive file opened (created when missing, migrated) to copy tables in or out."""

    def __enter__(self) -> TableRows:
        return self

    def columns(self, table: str) -> list[str]:
        rows = self._rows("SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0", [table])
        return [row["name"] for row in rows if row["name"] not in COMPUTED]

    def count_rows(self, table: str, where: str = "", params: Sequence[Any] = ()) -> int:
        return int(self._rows(f"SELECT COUNT(*) AS n FROM [{table}] {_where(where)}", params)[0]["n"])

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
        conditions = [c for c in (where, _after(key, ">") if after is not None else "") if c]
        sql = (
            f"SELECT {_names(columns)} FROM [{table}] {_where(' AND '.join(f'({c})' for c in conditions))} "
            f"ORDER BY {_names(key)} LIMIT ?"
        )
        return self._tuples(sql, [*params, *(after or ()), limit])

    def read_range(self, table: str, key: Sequence[str], columns: Sequence[str], first: Row, last: Row) -> list[Row]:
        sql = (
            f"SELECT {_names(columns)} FROM [{table}] WHERE {_after(key, '>=')} AND {_after(key, '<=')} "
            f"ORDER BY {_names(key)}"
        )
        return self._tuples(sql, [*first, *last])

    def last_key(self, table: str, key: Sequence[str]) -> Row | None:
        order = ", ".join(f"[{c}] DESC" for c in key)
        rows = self._tuples(f"SELECT {_names(key)} FROM [{table}] ORDER BY {order} LIMIT 1", [])
        return rows[0] if rows else None

    def write_batch(self, table: str, columns: Sequence[str], primary: Sequence[str], rows: Sequence[Row]) -> None:
        updated = [c for c in columns if c not in primary and c != "rowid"]  # a row keeps its rowid
        action = f"DO UPDATE SET {', '.join(f'[{c}] = excluded.[{c}]' for c in updated)}" if updated else "DO NOTHING"
        sql = (
            f"INSERT INTO [{table}] ({_names(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({_names(primary)}) {action}"
        )
        with self._write() as conn:
            conn.executemany(sql, rows)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction on the reading connection (WAL: writers carry on meanwhile)."""
        try:
            self.reader.execute("BEGIN")
            self.reader.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the snapshot starts here
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot start a read: {exc}") from None
        try:
            yield
        finally:
            self.reader.rollback()

    def change_mark(self) -> str | None:
        """None: SQLite keeps no record of when a row changed (a copy compares every row)."""
        return None

    def changed_since(self, mark: str) -> str:
        return ""

    def advance_sequences(self) -> None:
        """Nothing to do: SQLite gives a new row the largest rowid plus one."""

    def ensure_table(self, table: str, definition: str) -> None:
        with self._write() as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS [{table}] ({definition})")

    def bookkeeping(self, table: str) -> list[dict[str, Any]]:
        if not self.columns(table):
            return []
        return self._rows(f"SELECT * FROM [{table}]")

    def _tuples(self, sql: str, params: Sequence[Any]) -> list[Row]:
        try:
            return [tuple(row) for row in self.reader.execute(sql, list(params)).fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: query failed: {exc}") from None


def _where(condition: str) -> str:
    return f"WHERE {condition}" if condition else ""


def read_only_rows(path: Path, table: str) -> list[dict[str, Any]] | None:
    """The rows of ``table`` in the SQLite file at ``path``, opened read-only (nothing migrated,
    nothing created); None when the file has no such table."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open: {exc}") from None
    try:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone()
        if found is None:
            return None
        cursor = conn.execute(f"SELECT * FROM [{table}]")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except sqlite3.Error as exc:  # not a database, or a damaged one
        raise StoreError(f"{path}: not an SQLite database: {exc}") from None
    finally:
        conn.close()
