"""``aggregator migrate``: the configured SQLite archive copied into a PostgreSQL database, with
the archive's daemon lock held throughout (the source must not change while it is copied)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from aggregator.cli.app import Context, cli, fail, handle_errors
from aggregator.cli.params import TEXT
from aggregator.daemon.lock import DaemonLock
from aggregator.errors import AlreadyRunning
from aggregator.models import is_database_url
from aggregator.tools.migrate import migrate as migrate_archive
from aggregator.tools.migrate import report_lines
from aggregator.tools.tablecopy import BATCH_SIZE, Progress

#: Seconds between two progress lines of one table.
PROGRESS_EVERY = 2.0


def progress_lines() -> Progress:
    """Rows copied per table on stderr: a line every few seconds, and one when a table is done."""
    last: dict[str, float] = {}

    def show(table: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last.get(table, 0.0) < PROGRESS_EVERY:
            return
        last[table] = now
        click.echo(f"{table}: {done}/{total} rows", err=True)

    return show


@cli.command()
@click.option(
    "--to",
    "url",
    required=True,
    type=TEXT,
    metavar="URL",
    help="The PostgreSQL database to copy into (postgresql://user@host/db).",
)
@click.option("--verify-only", is_flag=True, help="Copy nothing: compare every table's rows and checksum.")
@click.option(
    "--recheck",
    is_flag=True,
    help="Compare every batch and rewrite what differs (after the archive changed between two runs).",
)
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(1, 100_000), hidden=True)
@click.pass_obj
@handle_errors
def migrate(obj: Context, url: str, verify_only: bool, recheck: bool, batch_size: int) -> None:
    """Copy the SQLite archive into a PostgreSQL database, every table compared at the end.

    Killed halfway, run it again: it continues where it stopped. Text documents and WARC files
    stay in the archive folder."""
    settings = obj.config.settings
    database = settings.database
    if is_database_url(database):
        fail("the configured archive is a PostgreSQL database already; `aggregator migrate` copies an SQLite file", 2)
    if not is_database_url(url):
        raise click.BadParameter(f"{url!r} is not a PostgreSQL URL (postgresql://user@host/db)", param_hint="'--to'")
    path = Path(database)
    if not path.exists():
        fail(f"{path}: no archive database yet (nothing to migrate)", 1)
    try:
        with DaemonLock(path):
            report = migrate_archive(
                path,
                url,
                verify_only=verify_only,
                recheck=recheck,
                batch_size=batch_size,
                progress=progress_lines(),
            )
    except AlreadyRunning:
        fail(f"{path}: a daemon is running on this archive; stop it before migrating (the copy must not change)", 1)
    for line in report_lines(report, settings.archive_dir):
        click.echo(line)
    if report.differing:
        for check in report.differing:
            click.echo(
                f"error: {check.table}: {check.source_rows} rows in {report.source}, "
                f"{check.destination_rows} in {report.destination}, checksums "
                f"{'equal' if check.source_checksum == check.destination_checksum else 'differ'}",
                err=True,
            )
        if not verify_only:
            click.echo("the archive changed while it was copied? run `aggregator migrate --recheck` again", err=True)
        sys.exit(1)
