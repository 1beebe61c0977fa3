"""``aggregator migrate``: the SQLite archive copied into a PostgreSQL database, losing nothing.

Every table but ``workers`` is copied in the order of the foreign keys, in key order, a batch per
transaction; a run killed anywhere is continued by the next run after the largest key each table
has in the destination, which is right because the source does not change meanwhile (the
command line holds the archive's daemon lock). At the end every table is compared on both sides
(rows and a checksum). The destination remembers where it came from in ``migrated_from``, so
that a rerun continues its own copy and never mixes two archives. Text documents and WARC files
are not in the database: they stay in the archive folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aggregator.errors import StoreError
from aggregator.store import iso, utc_now
from aggregator.store.tables import COPIED, LEGACY_PAGES, Row, Tables, open_tables
from aggregator.tools.tablecopy import (
    BATCH_SIZE,
    Progress,
    TableCheck,
    check_lines,
    compare,
    copy_after,
    plan,
    quiet,
    sync,
)

#: The destination's bookkeeping (ours, not the schema's): one row per source and table, and one
#: (table ``*``) written when the copy starts, by which a rerun knows its own copy.
BOOKKEEPING = "migrated_from"
DEFINITION = (
    "source TEXT NOT NULL, table_name TEXT NOT NULL, rows BIGINT, checksum TEXT, done_at TEXT, "
    "PRIMARY KEY (source, table_name)"
)
_COLUMNS = ("source", "table_name", "rows", "checksum", "done_at")
_STARTED = "*"


@dataclass
class Migration:
    """What a run did: rows copied per table, and the comparison of every table."""

    source: str
    destination: str
    copied: dict[str, int] = field(default_factory=dict)
    checks: list[TableCheck] = field(default_factory=list)

    @property
    def differing(self) -> list[TableCheck]:
        return [check for check in self.checks if not check.same]


def source_name(database: Path) -> str:
    """How the destination names its source: the archive file's absolute path."""
    return str(database.resolve())


def migrate(
    database: Path,
    url: str,
    *,
    verify_only: bool = False,
    recheck: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress = quiet,
) -> Migration:
    """Copy the SQLite archive ``database`` into the PostgreSQL database ``url`` (or only compare
    them: ``verify_only``; ``recheck``: compare every batch and rewrite what differs, for a
    source changed since an earlier run). The caller keeps the source unchanged meanwhile."""
    name = source_name(database)
    with open_tables(database) as source, open_tables(url) as destination:
        report = Migration(name, destination.location)
        _refuse_legacy_pages(source)
        plans = [plan(source, destination, spec) for spec in COPIED]
        if not verify_only:
            _claim(destination, name)
            # one moment of the source, so that the foreign keys hold even if something wrote to it
            # meanwhile (a one-off `fetch` takes no daemon lock); the comparison after it reads the
            # source afresh and so tells such a change
            with source.snapshot():
                for table in plans:
                    copy = sync if recheck else copy_after
                    report.copied[table.spec.name] = copy(
                        source, destination, table, size=batch_size, progress=progress
                    )
            destination.advance_sequences()
        report.checks = [compare(source, destination, table, size=batch_size) for table in plans]
        if not verify_only:
            _record(destination, name, report.checks)
    return report


def _refuse_legacy_pages(source: Tables) -> None:
    """Pages kept in the database before WARC captures have no table in PostgreSQL."""
    if source.columns(LEGACY_PAGES) and (kept := source.count_rows(LEGACY_PAGES)):
        raise StoreError(
            f"{source.location}: {kept} pages are still kept in the database from before WARC captures; "
            "run the archiver once (`aggregator fetch` moves them into WARC files), then migrate"
        )


def _claim(destination: Tables, name: str) -> None:
    """Refuse a destination holding another archive; mark it as this source's copy."""
    sources = {row["source"] for row in destination.bookkeeping(BOOKKEEPING)}
    others = sorted(sources - {name})
    if others:
        raise StoreError(
            f"{destination.location}: holds a copy of another archive ({others[0]}); migrate into an empty database"
        )
    if not sources:
        feeds, articles = destination.count_rows("feeds"), destination.count_rows("articles")
        if feeds or articles:
            raise StoreError(
                f"{destination.location}: already holds an archive ({feeds} feeds, {articles} articles) "
                "not migrated from this one; migrate into an empty database"
            )
    destination.ensure_table(BOOKKEEPING, DEFINITION)
    destination.write_batch(BOOKKEEPING, _COLUMNS, _COLUMNS[:2], [(name, _STARTED, None, None, None)])


def _record(destination: Tables, name: str, checks: list[TableCheck]) -> None:
    """Per table, what was compared and when; the start row is marked done when all matched."""
    now = iso(utc_now())
    rows: list[Row] = [(name, check.table, check.destination_rows, check.destination_checksum, now) for check in checks]
    if all(check.same for check in checks):
        rows.append((name, _STARTED, sum(check.destination_rows for check in checks), None, now))
    destination.write_batch(BOOKKEEPING, _COLUMNS, _COLUMNS[:2], rows)


def report_lines(report: Migration, archive_dir: Path) -> list[str]:
    """What to print after a run: the comparison, and where the files are."""
    lines = check_lines(report.checks)
    if report.copied:
        lines.append(f"copied {sum(report.copied.values())} rows from {report.source} to {report.destination}")
    if not report.differing:
        lines.append(
            f"text documents and WARC files stay in {archive_dir}: set `database:` in feeds.yaml "
            f"(or AGGREGATOR_DATABASE) to {report.destination} and keep `archive_dir` pointing there"
        )
    return lines
