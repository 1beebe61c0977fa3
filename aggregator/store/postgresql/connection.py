"""The database server and its two connections (the only psycopg user): one that writes, in
transactions, one that only reads, each statement on its own (autocommit).

Every statement goes through ``Session``: parameters are always bound (``%s``), rows come back
as dicts, and every psycopg error leaves as a one-line ``StoreError`` naming the database by its
URL without the password. A read never waits behind a write (MVCC); the writing connection takes
one transaction at a time, even when threads share it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from aggregator.errors import StoreError

CONNECT_TIMEOUT_SECONDS = 10


def public_url(url: str) -> str:
    """``url`` without its password (what messages name the database by)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


#: a statement's parameters: positional (``%s``) or named (``%(name)s``)
Params = Sequence[Any] | Mapping[str, Any]


def _bound(params: Params) -> Sequence[Any] | Mapping[str, Any]:
    return params if isinstance(params, Mapping) else list(params)


def _message(exc: BaseException, password: str | None) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.replace(password, "***") if password else text


class Session:
    """One connection to the database, its errors translated."""

    def __init__(self, url: str, location: str) -> None:
        self.location = location
        self._password = urlsplit(url).password
        try:
            self._conn = psycopg.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_SECONDS
            )
        except (psycopg.Error, ValueError) as exc:
            raise StoreError(f"{location}: cannot open the archive database: {_message(exc, self._password)}") from None
        self._lock = threading.RLock()

    def close(self) -> None:
        self._conn.close()

    def _fail(self, what: str, exc: BaseException) -> StoreError:
        return StoreError(f"{self.location}: {what}: {_message(exc, self._password)}")

    def rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        try:
            return self._conn.execute(sql, _bound(params)).fetchall()
        except psycopg.Error as exc:
            raise self._fail("query failed", exc) from None

    def one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = self.one(sql, params)
        return next(iter(row.values())) if row else None

    def run(self, sql: str, params: Params = ()) -> int:
        """A statement whose rows are not wanted; returns how many rows it changed."""
        try:
            return self._conn.execute(sql, _bound(params)).rowcount
        except psycopg.Error as exc:
            raise self._fail("write failed", exc) from None

    def run_many(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(sql, [list(p) for p in params])
        except psycopg.Error as exc:
            raise self._fail("write failed", exc) from None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self._lock:
            try:
                with self._conn.transaction():
                    yield self
            except psycopg.Error as exc:  # the commit itself (a serialization failure, the server gone)
                raise self._fail("commit failed", exc) from None


class Connection:
    """An open archive database on a PostgreSQL server (the base of PostgreSQLStore)."""

    def __init__(self, url: str) -> None:
        from aggregator.store.postgresql.schema import migrate

        self.url = url
        self.location = public_url(url)
        self.path = self.location  # messages of the shared code name ``path``
        self.writer = Session(url, self.location)
        try:
            migrate(self.writer)
            self.reader = Session(url, self.location)
        except BaseException:
            self.writer.close()
            raise

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if hasattr(self, "reader"):
            self.reader.close()
        self.writer.close()

    @property
    def schema_version(self) -> int:
        from aggregator.store.postgresql.schema import schema_version

        return schema_version(self.reader)

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self.writer.transaction() as session:
            yield session

    def _rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        return self.reader.rows(sql, params)


def quoted(name: str) -> str:
    """An identifier of ours (a table or column name, never user input), quoted."""
    return '"' + name.replace('"', '""') + '"'


def insert(session: Session, table: str, row: dict[str, Any], suffix: str = "") -> list[dict[str, Any]]:
    """INSERT one row (``suffix``: ON CONFLICT ..., RETURNING ...); returns the rows it returns."""
    columns = ", ".join(quoted(k) for k in row)
    marks = ", ".join("%s" for _ in row)
    sql = f"INSERT INTO {quoted(table)} ({columns}) VALUES ({marks}) {suffix}"
    if "RETURNING" in suffix:
        return session.rows(sql, list(row.values()))
    session.run(sql, list(row.values()))
    return []


def update(session: Session, table: str, pk: str, values: dict[str, Any]) -> None:
    """UPDATE one existing row by its ``id``."""
    sets = ", ".join(f"{quoted(k)} = %s" for k in values)
    if session.run(f"UPDATE {quoted(table)} SET {sets} WHERE id = %s", [*values.values(), pk]) != 1:
        raise StoreError(f"{session.location}: {table}: no row with id {pk!r}")
