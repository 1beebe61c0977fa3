"""The commands that read the archive: ``serve`` (Datasette), ``search``, ``fts-rebuild``,
``export`` (text, JSON Lines, CSV or an SQLite copy), and the two that check or redo it from
what is kept, ``doctor`` and ``reextract``."""

from __future__ import annotations

import io
import os
import re
import sys
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aggregator.cli.app import Context, F, archive_exists, cli, handle_errors, sqlite_only
from aggregator.cli.params import TEXT, Address, ArgText, FilePath, ProfileName
from aggregator.errors import InvalidQuery, StoreError
from aggregator.store import Store, open_store
from aggregator.store.query import RANK_WINDOW, how_many, parse_query, ranked_share
from aggregator.tools.doctor import diagnose
from aggregator.tools.export import (
    FORMATS,
    JSON_MARKS,
    Filters,
    atomic_output,
    documents_text,
    export_rows,
    export_text,
    search_json,
)
from aggregator.tools.reextract import reextract as reextract_articles
from aggregator.tools.reextract import report_lines

_DAY = click.DateTime(formats=["%Y-%m-%d"])
#: Most search results: SQLite takes a 64-bit LIMIT, and a table of more is no longer a search.
MAX_LIMIT = 10_000
_MARKS = ("\x02", "\x03")  # around search matches, turned into highlighting for the terminal


def filter_options(func: F) -> F:
    """--source, --since and --until, as ``search`` and ``export`` share them."""
    options = (
        click.option("--source", default=None, type=TEXT, help="Only articles of this source (case-insensitive)."),
        click.option(
            "--since",
            type=_DAY,
            default=None,
            metavar="YYYY-MM-DD",
            help="Only articles published on or after this day (the publisher's calendar day).",
        ),
        click.option(
            "--until",
            type=_DAY,
            default=None,
            metavar="YYYY-MM-DD",
            help="Only articles published on or before this day (the publisher's calendar day).",
        ),
    )
    for option in reversed(options):
        func = option(func)
    return func


def _filters(source: str | None, since: datetime | None, until: datetime | None) -> Filters:
    if since and until and since > until:
        raise click.BadParameter("--since is after --until", param_hint="'--since'")
    return Filters(
        source=source,
        since=since.date().isoformat() if since else None,
        until=until.date().isoformat() if until else None,
    )


def _open_archive(obj: Context) -> Store:
    """The archive database of the config, which must exist already (read commands never create it)."""
    database = obj.config.settings.database
    if not archive_exists(database):
        raise StoreError(f"{database}: no archive database yet (run `aggregator fetch` first)")
    return open_store(database)


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    type=Address(),
    help="Address to listen on (0.0.0.0 opens it to the network).",
)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--database",
    "copy",
    type=FilePath(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Serve this SQLite file (an `export --format sqlite` copy) instead of the configured archive.",
)
@click.pass_obj
@handle_errors
def serve(obj: Context, host: str, port: int, copy: Path | None) -> None:
    """Browse and search the archive in Datasette (read-only), until Ctrl-C."""
    from aggregator.tools.serve import serve as serve_archive  # Datasette is loaded by this command only

    database = copy if copy is not None else obj.config.settings.database
    sqlite_only(database, "serve")  # Datasette reads an SQLite file
    if not archive_exists(database):
        raise StoreError(f"{database}: no archive database yet (run `aggregator fetch` first)")
    open_store(database).close()  # the schema is brought up to date before Datasette reads it
    serve_archive(Path(database), host=host, port=port, verbose=obj.verbosity >= 1)


@cli.command()
@click.argument("query", type=ArgText(allow_empty=True))
@filter_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, MAX_LIMIT), help="Most results shown.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "text"]),
    default="table",
    show_default=True,
    help="table: snippets with matches highlighted; json: results with snippets; text: the documents.",
)
@click.pass_obj
@handle_errors
def search(
    obj: Context, query: str, source: str | None, since: datetime | None, until: datetime | None, limit: int, fmt: str
) -> None:
    """Full-text search over titles and bodies, best matches first.

    Every word must occur; "an exact phrase", prefix* (any word that begins so), -word or NOT word
    to leave a word out, and OR between two terms for either."""
    try:
        parse_query(query)
    except InvalidQuery as exc:
        raise click.BadParameter(str(exc), param_hint="'QUERY'") from None
    filters = _filters(source, since, until)
    with _open_archive(obj) as store:
        rows = store.search(query, limit=limit, marks=JSON_MARKS if fmt == "json" else _MARKS, **filters.query())
        # counted as far as the ranking goes: a word in half the archive is "more than 10,000"
        counted = fmt == "table" and len(rows) == limit
        total = (
            store.count_matches(
                query, source=filters.source, since=filters.since, until=filters.until, at_most=RANK_WINDOW
            )
            if counted
            else len(rows)
        )
    if fmt == "json":
        click.echo(search_json(rows))
    elif fmt == "text":
        click.echo(documents_text(rows), nl=False)
    elif not rows:
        click.echo(f"no articles match {query!r}", err=True)
    else:
        plural = "s" if total != 1 else ""
        shown = (
            f"{len(rows)} of {how_many(total, RANK_WINDOW)} articles match"
            if total > len(rows)
            else f"{total} article{plural} match"
        )
        share = ranked_share(total, counted_to=RANK_WINDOW)
        title = f"{shown} {query!r}" + (f" ({share})" if share else "")
        table = Table("published", "source", "title", "snippet", "url", title=title)
        for row in rows:
            table.add_row(
                row["published"][:16].replace("T", " "),
                row["source"],
                row["title"],
                _highlight(row["snippet"]),
                row["url"],
            )
        Console(width=200 if not sys.stdout.isatty() else None).print(table)


def _highlight(snippet: str) -> Text:
    text = Text()
    for index, part in enumerate(re.split("[\x02\x03]", snippet)):
        text.append(part, style="bold yellow" if index % 2 else "")
    return text


@cli.command("fts-rebuild")
@click.pass_obj
@handle_errors
def fts_rebuild(obj: Context) -> None:
    """Rebuild the full-text search index from the articles table."""
    with _open_archive(obj) as store:
        count = store.rebuild_fts()
    click.echo(f"full-text index rebuilt: {count} articles")


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice((*FORMATS, "sqlite")),
    required=True,
    help="text: the archive documents as files; jsonl or csv: one row per article; "
    "sqlite: a copy of the archive database, brought up to date when run again.",
)
@filter_options
@click.option(
    "--out",
    type=FilePath(path_type=Path),
    default=None,
    help="text: folder to write to (default: the archive folder); jsonl/csv: file (default: stdout); "
    "sqlite: the copy (required).",
)
@click.pass_obj
@handle_errors
def export(
    obj: Context, fmt: str, source: str | None, since: datetime | None, until: datetime | None, out: Path | None
) -> None:
    """Regenerate the text documents from the database, stream the articles as JSON Lines or CSV,
    or write an SQLite copy of the archive that `aggregator serve --database` serves."""
    filters = _filters(source, since, until)
    if fmt == "sqlite":
        _export_sqlite(obj, filters, out)
        return
    with _open_archive(obj) as store:
        if fmt == "text":
            root = out or obj.config.settings.archive_dir
            done = export_text(store, root, filters)
            click.echo(
                f"{done.written + done.unchanged} documents in {root}: {done.written} written, "
                f"{done.unchanged} already identical"
            )
        elif out is not None:
            with atomic_output(out) as handle:
                count = export_rows(store, fmt, handle, filters)
            click.echo(f"{count} articles written to {out}")
        else:
            _export_to_stdout(store, fmt, filters)


def _export_sqlite(obj: Context, filters: Filters, out: Path | None) -> None:
    """The SQLite copy: the whole archive, or the articles since a day with what hangs off them."""
    from aggregator.cli.transfer import progress_lines
    from aggregator.tools.sqlite_copy import export_sqlite, report_line

    if out is None:
        raise click.BadParameter("--format sqlite needs --out FILE (the copy to write)", param_hint="'--out'")
    if filters.source is not None or filters.until is not None:
        which = "--source" if filters.source is not None else "--until"
        raise click.BadParameter(f"{which} does not apply to --format sqlite (only --since)", param_hint=f"'{which}'")
    database = obj.config.settings.database
    if not archive_exists(database):
        raise StoreError(f"{database}: no archive database yet (run `aggregator fetch` first)")
    report = export_sqlite(database, out, since=filters.since, progress=progress_lines())
    click.echo(report_line(report))


def _export_to_stdout(store: Store, fmt: str, filters: Filters) -> None:
    stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    try:
        export_rows(store, fmt, stream, filters)
        stream.flush()
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    finally:
        stream.detach()


@cli.command()
@click.option(
    "--profile",
    default=None,
    type=ProfileName(),
    help="Extraction profile to force (default: the feed's, else by site).",
)
@filter_options
@click.option("--dry-run", is_flag=True, help="Report what would change, write nothing.")
@click.pass_obj
@handle_errors
def reextract(
    obj: Context,
    profile: str | None,
    source: str | None,
    since: datetime | None,
    until: datetime | None,
    dry_run: bool,
) -> None:
    """Re-run extraction on the kept pages; update the articles and text files that changed."""
    filters = _filters(source, since, until)
    with _open_archive(obj) as store:
        report = reextract_articles(store, obj.config, profile=profile, filters=filters, dry_run=dry_run)
    for line in report_lines(report):
        click.echo(line)
    if report.failed:
        sys.exit(1)


@cli.command()
@click.option("--repair", is_flag=True, help="Rewrite missing or differing text files, delete leftover temp files.")
@click.pass_obj
@handle_errors
def doctor(obj: Context, repair: bool) -> None:
    """Check the database against the archive folder (and repair what can be repaired)."""
    with _open_archive(obj) as store:
        findings = diagnose(store, obj.config.settings, repair=repair)
        articles = store.count("articles")
    for finding in findings:
        click.echo(finding.line())
    remaining = sum(finding.count for finding in findings if not finding.repaired)
    repaired = sum(finding.count for finding in findings if finding.repaired)
    click.echo(
        f"checked {articles} article{'s' if articles != 1 else ''}: {repaired} repaired, "
        f"{remaining} problem{'s' if remaining != 1 else ''}"
    )
    if remaining:
        sys.exit(1)
