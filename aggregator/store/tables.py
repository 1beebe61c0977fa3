"""Whole tables in and out of an archive, whatever its backend: what ``migrate`` and ``export
--format sqlite`` copy, in which order, by which key, and the small interface (``Tables``) each
backend gives them (``sqlite/tables.py``, ``postgresql/tables.py``).

Rows are read in batches in a stable key order after a given key (keyset pagination: never
OFFSET, so a batch costs the same at the end of a table as at its start), and written a batch at
a time as an upsert in one transaction. Keys compare the same on both backends: integers, and
text compared byte by byte (SQLite's BINARY, PostgreSQL's ``COLLATE "C"``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aggregator.models import is_database_url

#: a row as the copy reads and writes it: its values in the order of the columns asked for
Row = tuple[Any, ...]


@dataclass(frozen=True)
class TableSpec:
    """One copied table: the key it is read in order of, its primary key (what an upsert
    conflicts on), and the columns whose value the copy does not keep."""

    name: str
    key: tuple[str, ...]  # the order rows were added in where the table has one (rowid, id)
    primary: tuple[str, ...]
    cleared: tuple[str, ...] = ()  # set to NULL in the copy (claims: transient, a worker's)


#: Every table of the archive a copy holds, parents before children (the foreign keys hold after
#: each batch: PostgreSQL enforces them, and so does SQLite with ``foreign_keys = ON``). Not
#: copied: ``workers`` (transient: who is running now) and the legacy ``pages``.
COPIED: tuple[TableSpec, ...] = (
    TableSpec("feeds", ("id",), ("id",), cleared=("claimed_by", "claim_until")),
    TableSpec("articles", ("rowid",), ("id",)),
    TableSpec("article_urls", ("url",), ("url",)),
    TableSpec("captures", ("id",), ("id",)),
    TableSpec("article_versions", ("article_id", "version"), ("article_id", "version")),
    TableSpec("article_events", ("id",), ("id",)),
    TableSpec("entries", ("rowid",), ("feed_id", "key")),
    TableSpec("polls", ("id",), ("id",)),
    TableSpec("backfill_jobs", ("id",), ("id",)),
    TableSpec("backfill_sources", ("job_id", "source"), ("job_id", "source")),
    TableSpec("gaps", ("id",), ("id",)),
)
SPECS = {spec.name: spec for spec in COPIED}

#: Columns a backend computes itself, never copied nor compared (PostgreSQL's search vector and
#: the transaction that last changed a row).
COMPUTED = frozenset({"fts", "changed_xid"})

#: The table of archives older than WARC captures, which only SQLite has.
LEGACY_PAGES = "pages"


class Tables(Protocol):
    """An open archive, seen as tables of rows (``open_tables``)."""

    location: str

    def close(self) -> None: ...

    def __enter__(self) -> Tables: ...

    def __exit__(self, *exc: object) -> None: ...

    def columns(self, table: str) -> list[str]:
        """The stored columns of ``table`` ([] when there is no such table), generated ones left out."""
        ...

    def count_rows(self, table: str, where: str = "", params: Sequence[Any] = ()) -> int: ...

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
        """Up to ``limit`` rows whose key is greater than ``after`` (None: from the first), in key
        order; ``where`` (our own SQL, ``?`` for its ``params``) narrows them."""
        ...

    def read_range(self, table: str, key: Sequence[str], columns: Sequence[str], first: Row, last: Row) -> list[Row]:
        """The rows whose key is in [first, last], in key order."""
        ...

    def last_key(self, table: str, key: Sequence[str]) -> Row | None:
        """The greatest key in ``table`` (None: empty)."""
        ...

    def write_batch(self, table: str, columns: Sequence[str], primary: Sequence[str], rows: Sequence[Row]) -> None:
        """Insert or update (on ``primary``) these rows, in one transaction."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """Reads inside the block all see the archive as it was when it began."""
        ...

    def change_mark(self) -> str | None:
        """Inside ``snapshot``: the mark of what it sees, for ``changed_since`` in a later one
        (None: this backend does not track changes)."""
        ...

    def changed_since(self, mark: str) -> str:
        """The condition (``?`` for ``mark``) of the rows changed since the snapshot of ``mark``
        (and maybe a few more, never fewer)."""
        ...

    def advance_sequences(self) -> None:
        """Every generated key starts past the largest one copied in, so new rows never collide."""
        ...

    def ensure_table(self, table: str, definition: str) -> None:
        """``CREATE TABLE IF NOT EXISTS table (definition)``: our bookkeeping, not the archive's."""
        ...

    def bookkeeping(self, table: str) -> list[dict[str, Any]]:
        """Every row of one of our bookkeeping tables ([] when it does not exist)."""
        ...


def open_tables(database: str | Path) -> Tables:
    """The archive at ``database`` (a PostgreSQL URL or an SQLite file, created when missing), its
    schema brought up to date first."""
    if is_database_url(database):
        from aggregator.store.postgresql.tables import TableRows as PostgreSQLTables

        return PostgreSQLTables(str(database))
    from aggregator.store.sqlite.tables import TableRows as SQLiteTables

    return SQLiteTables(database)


def sqlite_bookkeeping(path: Path, table: str) -> list[dict[str, Any]] | None:
    """The rows of a bookkeeping table of an existing SQLite file, read without changing the file
    (no migration): None when the file has no such table. Raises StoreError when it is not an
    SQLite database."""
    from aggregator.store.sqlite.tables import read_only_rows

    return read_only_rows(path, table)


def batches(tables: Tables, spec: TableSpec, columns: Sequence[str], size: int, **narrow: Any) -> Iterator[list[Row]]:
    """Every row of ``spec``'s table in key order, ``size`` at a time (the key columns first in
    ``columns``); ``narrow``: ``where`` and ``params`` of ``read_batch``, and ``after``."""
    after: Row | None = narrow.pop("after", None)
    width = len(spec.key)
    while True:
        rows = tables.read_batch(spec.name, spec.key, columns, after, size, **narrow)
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        after = rows[-1][:width]
