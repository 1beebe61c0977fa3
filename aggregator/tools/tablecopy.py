"""Copying tables from one archive to another, and telling whether two copies are the same: the
steps ``migrate`` and ``export --format sqlite`` are made of, for any pair of backends.

Invariants: a table is read in key order and written a batch at a time, each batch one
transaction, so a copy interrupted anywhere holds a prefix (in key order) of every table it was
copying, and whole tables before it. A checksum is a SHA-256 over every row in key order, each
row its copied columns (sorted by name, the key first) in one canonical encoding, so it is the
same on both backends exactly when the rows are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aggregator.errors import StoreError
from aggregator.store.tables import Row, Tables, TableSpec, batches

#: (table, rows done, rows in all): called after each batch, for a progress line
Progress = Callable[[str, int, int], None]

BATCH_SIZE = 1_000


def quiet(table: str, done: int, total: int) -> None:
    """No progress shown."""


@dataclass(frozen=True)
class Plan:
    """How one table is copied: its columns (the key first, the others sorted by name), which of
    them are cleared in the copy, and the rows of the source it takes (``where``: all)."""

    spec: TableSpec
    columns: tuple[str, ...]
    where: str = ""
    params: tuple[Any, ...] = ()

    @property
    def width(self) -> int:
        return len(self.spec.key)

    def kept(self, row: Row) -> Row:
        """The row as the copy holds it: cleared columns NULL."""
        if not self.spec.cleared:
            return row
        cleared = self.spec.cleared
        return tuple(None if name in cleared else value for name, value in zip(self.columns, row, strict=True))

    def narrow(self) -> dict[str, Any]:
        return {"where": self.where, "params": self.params}


def plan(source: Tables, destination: Tables, spec: TableSpec, where: str = "", params: Sequence[Any] = ()) -> Plan:
    """The plan for ``spec``'s table; refuses (StoreError) two schemas whose columns differ, since
    a column one side lacks would be lost."""
    key = spec.key
    theirs = set(source.columns(spec.name)) - set(key)
    ours = set(destination.columns(spec.name)) - set(key)
    if theirs != ours:
        missing = sorted(theirs - ours) or sorted(ours - theirs)
        raise StoreError(
            f"{destination.location}: table {spec.name} does not have the same columns as in {source.location} "
            f"({', '.join(missing)}): bring both to this aggregator's schema first"
        )
    return Plan(spec, (*key, *sorted(theirs)), where, tuple(params))


def copy_after(
    source: Tables, destination: Tables, plan: Plan, *, size: int = BATCH_SIZE, progress: Progress = quiet
) -> int:
    """Copy the rows of the source after the largest key the destination has (all of them into an
    empty table); returns how many. Right only while the source does not change between runs."""
    table = plan.spec.name
    after = destination.last_key(table, plan.spec.key)
    total = source.count_rows(table, plan.where, plan.params)
    done = destination.count_rows(table)
    copied = 0
    for rows in batches(source, plan.spec, plan.columns, size, after=after, **plan.narrow()):
        destination.write_batch(table, plan.columns, plan.spec.primary, [plan.kept(row) for row in rows])
        copied += len(rows)
        progress(table, done + copied, total)
    return copied


def sync(source: Tables, destination: Tables, plan: Plan, *, size: int = BATCH_SIZE, progress: Progress = quiet) -> int:
    """Make the destination's rows equal to the source's (the rows ``plan`` takes): each batch of
    the source is compared with the same key range of the destination, and only the rows missing
    or different there are written. Returns how many were written. Rows the destination has and
    the source not stay (the archive never deletes any)."""
    table, width = plan.spec.name, plan.width
    total = source.count_rows(table, plan.where, plan.params)
    seen = written = 0
    for rows in batches(source, plan.spec, plan.columns, size, **plan.narrow()):
        wanted = [plan.kept(row) for row in rows]
        first, last = rows[0][:width], rows[-1][:width]
        have = {row[:width]: row for row in destination.read_range(table, plan.spec.key, plan.columns, first, last)}
        changed = [row for row in wanted if have.get(row[:width]) != row]
        if changed:
            destination.write_batch(table, plan.columns, plan.spec.primary, changed)
        written += len(changed)
        seen += len(rows)
        progress(table, seen, total)
    return written


def _encoded(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    raise TypeError(f"cannot compare a value of type {type(value).__name__}")


def checksum(tables: Tables, plan: Plan, *, size: int = BATCH_SIZE, narrow: bool = True) -> tuple[int, str]:
    """(rows, SHA-256) of the table's rows in key order, as the copy keeps them (cleared columns
    NULL); ``narrow``: only the rows the plan takes (a source), else all (a destination)."""
    digest = hashlib.sha256()
    count = 0
    where = plan.narrow() if narrow else {}
    for rows in batches(tables, plan.spec, plan.columns, size, **where):
        for row in rows:
            # JSON tells an integer from the text of its digits, and NULL from both
            line = json.dumps(plan.kept(row), ensure_ascii=False, separators=(",", ":"), default=_encoded)
            digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
        count += len(rows)
    return count, digest.hexdigest()


@dataclass(frozen=True)
class TableCheck:
    """One table compared on both sides."""

    table: str
    source_rows: int
    destination_rows: int
    source_checksum: str
    destination_checksum: str

    @property
    def same(self) -> bool:
        return self.source_rows == self.destination_rows and self.source_checksum == self.destination_checksum


def compare(source: Tables, destination: Tables, plan: Plan, *, size: int = BATCH_SIZE) -> TableCheck:
    """The table's row count and checksum on both sides."""
    rows, digest = checksum(source, plan, size=size)
    their_rows, their_digest = checksum(destination, plan, size=size, narrow=False)
    return TableCheck(plan.spec.name, rows, their_rows, digest, their_digest)


def check_lines(checks: Sequence[TableCheck]) -> list[str]:
    """The comparison as a table: one line per table, its rows and whether the checksums match."""
    width = max([len("table"), *(len(check.table) for check in checks)])
    lines = [f"{'table':<{width}}  {'rows':>9}  checksum"]
    for check in checks:
        if check.same:
            verdict = f"match {check.source_checksum[:16]}"
        else:
            verdict = f"DIFFERS ({check.destination_rows} rows in the copy)"
        lines.append(f"{check.table:<{width}}  {check.source_rows:>9}  {verdict}")
    return lines
