"""The database file and its two connections: one that writes, one that only reads.

Reads never wait behind writes: in WAL mode a reader sees the last committed state while another
connection (or process) holds the write lock, so the daemon can ask what is due while a write
queues on the busy timeout. The async pipeline calls each connection from a thread of its own;
synchronous callers use both from one thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from aggregator.errors import StoreError
from aggregator.store.sqlite.schema import migrate, schema_version

BUSY_TIMEOUT_SECONDS = 60.0


class Connection:
    """An open archive database file (the base of SQLiteStore)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._sql: dict[tuple[Any, ...], str] = {}  # INSERT/UPDATE statements by table and columns
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = self._connect()
            self.db = sqlite_utils.Database(self.conn)
            self.db.enable_wal()
            migrate(self.db, self.location)
            self.reader = self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the archive database: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if hasattr(self, "reader"):
            self.reader.close()
        self.conn.close()

    @property
    def schema_version(self) -> int:
        return schema_version(self.reader)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the writing connection, taken at once (BEGIN IMMEDIATE), so that
        concurrent writers queue on the busy timeout and never deadlock."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot start a write: {exc}") from None
        try:
            yield conn
        except sqlite3.Error as exc:
            conn.rollback()
            raise StoreError(f"{self.path}: write failed: {exc}") from None
        except BaseException:
            conn.rollback()
            raise
        try:
            if conn.in_transaction:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.rollback()
            raise StoreError(f"{self.path}: commit failed: {exc}") from None

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        """INSERT one row inside a write (plain SQL: sqlite-utils' ``insert`` reads the table's
        schema on every call)."""
        keys = tuple(row)
        sql = self._sql.get((table, keys))
        if sql is None:
            sql = self._sql[(table, keys)] = (
                f"INSERT INTO [{table}] ({', '.join(f'[{k}]' for k in keys)}) VALUES ({', '.join('?' * len(keys))})"
            )
        self.conn.execute(sql, list(row.values()))

    def _update(self, table: str, pk: str, values: dict[str, Any]) -> None:
        """UPDATE one existing row by its ``id`` inside a write."""
        keys = tuple(values)
        sql = self._sql.get((table, "update", keys))
        if sql is None:
            sql = self._sql[(table, "update", keys)] = (
                f"UPDATE [{table}] SET {', '.join(f'[{k}] = ?' for k in keys)} WHERE id = ?"
            )
        if self.conn.execute(sql, [*values.values(), pk]).rowcount != 1:
            raise StoreError(f"{self.path}: {table}: no row with id {pk!r}")

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """A read on the reading connection, as dicts."""
        try:
            cursor = self.reader.execute(sql, list(params))
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: query failed: {exc}") from None
